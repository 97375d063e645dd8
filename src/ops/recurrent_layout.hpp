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

/// Sizes cache.x (T, B, F) and, when extras has them, cache.mask (T, B) and cache.first_kept
/// (B,); sets has_mask / has_rmask; copies x (B, T, F) and the mask into processing order.
template <typename T>
void load_time_major(RecurrentCache<T>& cache, const T* x, const RecurrentExtras<T>& extras,
                     const RecurrentDims& dims, bool go_backwards);

/// Copies cache.dx (T, B, F) in processing order back to dx (B, T, F) in input order.
template <typename T>
void store_input_gradient(T* dx, const RecurrentCache<T>& cache);

/// Whether the output of processing step s of sample b is that step's h_{s+1} (true) or zeros
/// (false). h is carried unchanged through masked steps, so at a masked step "repeat the
/// previous output" is h_{s+1} once the sample has had a kept step, and zeros before.
/// `zero_masked`: zero_output_for_mask. Forward (store_outputs) and both backward passes (the
/// gradient of an output goes into dh at step s exactly when this is true) share it.
template <typename T>
inline bool output_is_state(const RecurrentCache<T>& cache, std::size_t s, std::size_t b,
                            bool zero_masked) {
  if (!cache.has_mask || cache.mask[s * cache.dims.batch + b] != T(0)) return true;
  return !zero_masked && s > cache.first_kept[b];
}

/// Whether sequence output s of sample b is h_{s+1}: output_is_state with the config's flag.
template <typename T>
inline bool sequence_output_is_state(const RecurrentCache<T>& cache, std::size_t s,
                                     std::size_t b) {
  return output_is_state(cache, s, b, cache.config.zero_output_for_mask);
}

/// Whether the last output (no return_sequences) of sample b is h_T: zero_output_for_mask
/// applies only to sequences, so zeros only for a sample with no kept step.
template <typename T>
inline bool last_output_is_state(const RecurrentCache<T>& cache, std::size_t b) {
  return cache.dims.timesteps == 0 || output_is_state(cache, cache.dims.timesteps - 1, b, false);
}

/// Copies the outputs of a forward from the state history hs ((T+1, B, ld), hs[0] the initial
/// state, row stride ld >= U) into y: every step's h (B, T, U) with return_sequences, else the
/// last (B, U); zeros where sequence_output_is_state / last_output_is_state say so.
template <typename T>
void store_outputs(T* y, const T* hs, std::size_t ld, const RecurrentCache<T>& cache);

/// Rows of (B, U) into a padded (B, Up) layout, pad lanes zero; all zeros when src is null.
void padded_rows(float* dst, const float* src, std::size_t B, std::size_t U, std::size_t Up);

/// Recurrent dropout's start in the padded layout: the (B, U) keep-mask into rmask (B, Up) and
/// the initial state hs (B, Up) times it into hd.
void padded_dropout_start(float* rmask, float* hd, const float* hs, const float* mask,
                          std::size_t B, std::size_t U, std::size_t Up);

/// The output gradients of a fused backward in its padded layout (row stride Up >= U, pad lanes
/// zero): with return_sequences and dy, dy_pad (T, B, Up) in processing order holds the
/// gradient of output s at step s exactly where that output was h_{s+1}
/// (sequence_output_is_state: a masked step passes dh through to the sample's last kept step),
/// zeros elsewhere; dh (B, Up) starts as dh_last plus the last output's gradient. dy_pad may be
/// null when there is no sequence gradient.
void padded_output_gradients(float* dy_pad, float* dh, const float* dy, const float* dh_last,
                             const RecurrentCache<float>& cache, std::size_t Up);

}  // namespace recur::ops::detail
