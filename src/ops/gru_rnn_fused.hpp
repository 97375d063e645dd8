#pragma once
// The fused GRU and SimpleRNN paths of recurrent_forward / recurrent_backward (internal): float,
// activation tanh (and recurrent_activation sigmoid for the GRU), on AVX2 or AVX-512.
// select_kernel() (recurrent_kernels.cpp) decides when they run.
//
// The same plan as the fused LSTM (lstm_fused.hpp): per call the kernel is permuted to the
// block-interleaved column order and the input projection of all timesteps is one BLAS gemm,
// or, for the GRU where fused_gru_input_in_tiles says so, part of each timestep's tiles; per
// timestep tiles (rows x unit blocks, or panels of unit blocks for the SimpleRNN) do the
// recurrent product and the element-wise update from registers; backward tiles compute
// dh_{t-1} from the recurrent product's gradient and, in the same tile, the gate gradients of
// the step before; the weight gradients are gemms at the end. The tiles run by rows or one
// region per pass of a timestep (TimeLoop, fused_tiling.hpp). The GRU without reset_after
// needs r of the whole row before (r h) R_h, so it runs two passes per step each way: forward
// [z, r and r h] then [hh and h]; backward [d(r h) = dhh R_h^T and dz_r] then [dh_{t-1}].
#include "recur/ops/recurrent_kernels.hpp"

namespace recur::ops::detail {

void fused_gru_rnn_forward(RecurrentKernel path, float* y, float* h_last,
                           RecurrentCache<float>& cache, const float* x, const float* kernel,
                           const float* recurrent_kernel, const float* bias,
                           const RecurrentDims& dims, const RecurrentConfig& config,
                           const RecurrentExtras<float>& extras);

/// Whether fused_gru_rnn_forward computes the input projection inside its timestep tiles
/// instead of one gemm: a GRU (either reset_after form) on the AVX-512 path where
/// input_in_tiles_pays (fused_tiling.hpp). A function of the shape, config and path only (not
/// the thread count).
bool fused_gru_input_in_tiles(RecurrentKernel path, const RecurrentConfig& config,
                              const RecurrentDims& dims);

/// Backward with the kernel recorded in cache.kernel by fused_gru_rnn_forward.
void fused_gru_rnn_backward(float* dx, float* dh0, float* dkernel, float* drecurrent_kernel,
                            float* dbias, RecurrentCache<float>& cache, const float* dy,
                            const float* dh_last, const float* recurrent_kernel);

}  // namespace recur::ops::detail
