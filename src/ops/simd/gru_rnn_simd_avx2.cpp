// The fused GRU and SimpleRNN kernels built for AVX2 + FMA (8 floats per vector, tiles of 3
// rows). Compiled with -mavx2 -mfma, and only called after cpuid says the CPU has both
// (recur/ops/cpu.hpp).
#include <immintrin.h>

#include <cstdint>

#include "gru_rnn_simd.hpp"

namespace recur::ops::simd::avx2 {
namespace {

#include "vec_avx2.inc"

// Rows per tile: 3 rows x 3 GRU gates (or 4 SimpleRNN unit blocks) of the 16 ymm registers.
#define RECUR_SIMD_MAX_ROWS 3
#include "gru_rnn_simd_impl.inc"

}  // namespace

const GruRnnSimdKernels kGruRnnKernels{
    "avx2",        VW,           RECUR_SIMD_MAX_ROWS, gru_forward,      gru_forward_rb1,
    gru_forward_rb2, rnn_forward, gru_pointwise,      rnn_pointwise,    gru_backward,
    gru_backward_rb1, rnn_backward};

}  // namespace recur::ops::simd::avx2
