// The fused LSTM kernels built for AVX2 + FMA (8 floats per vector, tiles of 3 rows: 12
// accumulators + 1 broadcast fit the 16 ymm registers). This file is compiled with
// -mavx2 -mfma and is only called after cpuid says the CPU has both (recur/ops/cpu.hpp).
#include <immintrin.h>

#include "lstm_simd.hpp"

namespace recur::ops::simd::avx2 {
namespace {

#include "vec_avx2.inc"

// Rows per tile (kMaxRows): 3 rows x kGates accumulators + 1 broadcast of the 16 ymm registers.
#define RECUR_SIMD_MAX_ROWS 3
#include "lstm_simd_impl.inc"

}  // namespace

const LstmSimdKernels kKernels{"avx2",       VW,        RECUR_SIMD_MAX_ROWS,
                               forward_tile, pointwise, backward_tile,
                               sigmoid_n,    tanh_n};

}  // namespace recur::ops::simd::avx2
