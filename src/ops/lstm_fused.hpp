#pragma once
// The fused LSTM path of recurrent_forward / recurrent_backward (internal): float, activation
// tanh and recurrent_activation sigmoid (Keras's defaults), on AVX2 or AVX-512. select_kernel()
// (recurrent_kernels.cpp) decides when it runs.
//
// Per call: the kernel is permuted to the block-interleaved column order and the input
// projection of all timesteps is one BLAS gemm (T*B, F) x (F, Gp), or, where
// fused_lstm_input_in_tiles says so, part of each timestep's tiles; recurrent_kernel is packed
// once for the forward tiles. Per timestep, tiles (rows x unit blocks) each do their share of
// the recurrent product h_{t-1} x recurrent_kernel for all four gates and the element-wise
// update, straight from registers. Backward per timestep, tiles compute dh_{t-1} = dz_t x
// recurrent_kernel^T and, in the same tile, dz_{t-1}; the weight gradients are BLAS gemms over
// all timesteps at the end. The tiles run by rows (each thread its own batch rows through every
// step, one parallel region per call) or one region per timestep (TimeLoop, fused_tiling.hpp).
//
// One step at a time (RecurrentStepper): fused_lstm_step runs the same forward tiles with the
// input projection inside the tile too, on weights packed once by pack_step_weights.
#include <cstddef>
#include <vector>

#include "fused_tiling.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "simd/lstm_simd.hpp"

namespace recur::ops::detail {

/// The fused kernels of `path` (not kPortable: select_kernel chose a fused one).
inline const simd::LstmSimdKernels& fused_lstm_kernels(RecurrentKernel path) {
#if defined(__x86_64__) && !defined(RECUR_NO_X86_KERNELS)
  if (path == RecurrentKernel::kFusedLstmAvx512) return simd::avx512::kKernels;
  if (path == RecurrentKernel::kFusedLstmAvx2) return simd::avx2::kKernels;
#endif
  no_fused_kernel(path);
}

void fused_lstm_forward(RecurrentKernel path, float* y, float* h_last, float* c_last,
                        RecurrentCache<float>& cache, const float* x, const float* kernel,
                        const float* recurrent_kernel, const float* bias,
                        const RecurrentDims& dims, const RecurrentConfig& config,
                        const RecurrentExtras<float>& extras);

/// Whether fused_lstm_forward computes the input projection x_t kernel inside its timestep
/// tiles (each tile's product then runs over K = features + units) instead of one BLAS gemm
/// for all timesteps before the time loop: on the AVX-512 path where input_in_tiles_pays
/// (fused_tiling.hpp). A function of the shape and path only, never of the thread count, so
/// results stay bit-identical across thread counts.
bool fused_lstm_input_in_tiles(RecurrentKernel path, const RecurrentDims& dims);

/// Backward with the kernel recorded in cache.kernel by fused_lstm_forward.
void fused_lstm_backward(float* dx, float* dh0, float* dc0, float* dkernel,
                         float* drecurrent_kernel, float* dbias, RecurrentCache<float>& cache,
                         const float* dy, const float* dh_last, const float* dc_last,
                         const float* recurrent_kernel);

/// Units rounded up to whole vectors of `path` (the padded state width Up).
std::size_t fused_padded_units(RecurrentKernel path, std::size_t units);

/// Weights packed for fused_lstm_step, with Up = fused_padded_units: packed_x (F * 4Up) and
/// packed_r (U * 4Up) from kernel (F, 4U) and recurrent_kernel (U, 4U) per unit block
/// (pack_forward), bias_il (4Up) interleaved (zeros when bias is null).
void pack_step_weights(RecurrentKernel path, float* packed_x, float* packed_r, float* bias_il,
                       const float* kernel, const float* recurrent_kernel, const float* bias,
                       std::size_t features, std::size_t units);

/// One LSTM timestep for a batch on weights from pack_step_weights:
///   z = x_t W + h R + b;  c = f c + i g (in place);  h_next = o tanh(c).
/// h, h_next, c: (B, Up) with Up = fused_padded_units, pad lanes zero; x_t: (B, F).
void fused_lstm_step(RecurrentKernel path, float* h_next, float* c, const float* x_t,
                     const float* h, const float* packed_x, const float* packed_r,
                     const float* bias_il, std::size_t batch, std::size_t features,
                     std::size_t units);

}  // namespace recur::ops::detail
