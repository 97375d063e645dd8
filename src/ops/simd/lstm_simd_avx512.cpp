// The fused LSTM kernels built for AVX-512 (16 floats per vector, tiles of 6 rows: 24
// accumulators + broadcasts fit the 32 zmm registers). Compiled with -mavx512f -mavx512vl
// -mavx512dq -mfma, and only called after cpuid reports those features (recur/ops/cpu.hpp).
#include <immintrin.h>

#include "lstm_simd.hpp"

namespace recur::ops::simd::avx512 {
namespace {

#include "vec_avx512.inc"

// Rows per tile (kMaxRows): 6 rows x kGates accumulators + kGates weights + broadcasts of the
// 32 zmm registers.
#define RECUR_SIMD_MAX_ROWS 6
#include "lstm_simd_impl.inc"

}  // namespace

const LstmSimdKernels kKernels{"avx512",     VW,        RECUR_SIMD_MAX_ROWS,
                               forward_tile, pointwise, backward_tile,
                               sigmoid_n,    tanh_n};

}  // namespace recur::ops::simd::avx512
