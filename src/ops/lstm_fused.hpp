#pragma once
// The fused LSTM path of recurrent_forward / recurrent_backward (internal): float, activation
// tanh and recurrent_activation sigmoid (Keras's defaults), on AVX2 or AVX-512.
//
// Per call: the kernel is permuted to the block-interleaved column order and the input
// projection of all timesteps is one BLAS gemm (T*B, F) x (F, Gp); recurrent_kernel is packed
// once for the forward tiles. Per timestep: one parallel region over tiles (rows x unit blocks)
// in which each tile does its share of the recurrent product h_{t-1} x recurrent_kernel for all
// four gates and the element-wise update, straight from registers. Backward per timestep: one
// region whose tiles compute dh_{t-1} = dz_t x recurrent_kernel^T and, in the same tile, dz_{t-1};
// the weight gradients are BLAS gemms over all timesteps at the end.
#include <vector>

#include "recur/ops/recurrent_kernels.hpp"
#include "simd/lstm_simd.hpp"

namespace recur::ops::detail {

/// Sizes a cache buffer to n (zeros) only when its size differs, so a second call with the same
/// shape allocates nothing. Shared by both kernel paths.
template <typename V>
void ensure(V& v, std::size_t n) {
  if (v.size() != n) v.assign(n, 0);
}

/// The fused kernels for the active instruction set, or null when `config` or the CPU has no
/// fused path (then the portable code runs).
const simd::LstmSimdKernels* fused_lstm_kernels(const RecurrentConfig& config);
/// The kernels that wrote a cache (cache.fused), never null for fused != 0.
const simd::LstmSimdKernels* fused_kernels_for_isa(int isa);

void fused_lstm_forward(const simd::LstmSimdKernels& k, float* y, float* h_last, float* c_last,
                        RecurrentCache<float>& cache, const float* x, const float* kernel,
                        const float* recurrent_kernel, const float* bias,
                        const RecurrentDims& dims, const RecurrentConfig& config,
                        const RecurrentExtras<float>& extras);

void fused_lstm_backward(const simd::LstmSimdKernels& k, float* dx, float* dh0, float* dc0,
                         float* dkernel, float* drecurrent_kernel, float* dbias,
                         RecurrentCache<float>& cache, const float* dy, const float* dh_last,
                         const float* dc_last, const float* kernel,
                         const float* recurrent_kernel);

/// What both paths share (defined in recurrent_kernels.cpp, for float and double):
/// sizes cache.x (T, B, F) and, when extras has them, cache.mask (T, B); sets has_mask /
/// has_rmask; copies x (B, T, F) and the mask into processing order (reversed for go_backwards).
template <typename T>
void load_time_major(RecurrentCache<T>& cache, const T* x, const RecurrentExtras<T>& extras,
                     const RecurrentDims& dims, bool go_backwards);
/// Copies cache.dx (T, B, F) in processing order back to dx (B, T, F) in input order.
template <typename T>
void store_input_gradient(T* dx, const RecurrentCache<T>& cache);

/// Packs a (K, 4U) Keras-layout matrix for FwdTile: per block j, (K, 4, VW), zero-padded.
void pack_forward(float* packed, const float* w, std::size_t K, std::size_t U, std::size_t VW);
/// off[u] = the interleaved column of unit u's first gate ((u / VW) 4VW + u % VW).
void unit_offsets(std::vector<std::size_t>& off, std::size_t U, std::size_t VW);
/// Permutes a (K, 4U) matrix (or a (4U,) bias with K = 1) to (K, Gp) block-interleaved columns
/// (pad columns zero); `off` from unit_offsets.
void interleave_columns(float* out, const float* w, std::size_t K, std::size_t U,
                        std::size_t VW, const std::size_t* off);

}  // namespace recur::ops::detail
