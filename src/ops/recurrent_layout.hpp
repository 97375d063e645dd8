#pragma once
// The time-major layout that the portable scan (recurrent_scan.cpp) and the fused LSTM
// (lstm_fused.cpp) share (internal). Neither path calls the other: both call these.
#include <cstddef>

#include "recur/ops/recurrent_kernels.hpp"

namespace recur::ops::detail {

/// Sizes a cache buffer to n (zeros) only when its size differs, so a second call with the same
/// shape allocates nothing.
template <typename V>
void ensure(V& v, std::size_t n) {
  if (v.size() != n) v.assign(n, 0);
}

/// The input timestep processed at position s (the sequence runs backwards with go_backwards).
inline std::size_t step_index(std::size_t s, std::size_t timesteps, bool go_backwards) {
  return go_backwards ? timesteps - 1 - s : s;
}

/// Sizes cache.x (T, B, F) and, when extras has them, cache.mask (T, B); sets has_mask /
/// has_rmask; copies x (B, T, F) and the mask into processing order.
template <typename T>
void load_time_major(RecurrentCache<T>& cache, const T* x, const RecurrentExtras<T>& extras,
                     const RecurrentDims& dims, bool go_backwards);

/// Copies cache.dx (T, B, F) in processing order back to dx (B, T, F) in input order.
template <typename T>
void store_input_gradient(T* dx, const RecurrentCache<T>& cache);

/// Copies the outputs of a forward from the state history hs ((T+1, B, ld), hs[0] the initial
/// state, row stride ld >= U) into y: every step's h (B, T, U) with return_sequences (zeros at
/// masked steps), else the last (B, U).
template <typename T>
void store_outputs(T* y, const T* hs, std::size_t ld, const RecurrentCache<T>& cache);

}  // namespace recur::ops::detail
