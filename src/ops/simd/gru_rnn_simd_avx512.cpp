// The fused GRU and SimpleRNN kernels built for AVX-512 (16 floats per vector, tiles of 6
// rows). Compiled with -mavx512f -mavx512vl -mavx512dq -mfma, and only called after cpuid
// reports those features (recur/ops/cpu.hpp).
#include <immintrin.h>

#include <cstdint>

#include "gru_rnn_simd.hpp"

namespace recur::ops::simd::avx512 {
namespace {

#include "vec_avx512.inc"

// Rows per tile: 6 rows x 3 GRU gates (or 4 SimpleRNN unit blocks), their weights and a
// broadcast fit the 32 zmm registers.
#define RECUR_SIMD_MAX_ROWS 6
#include "gru_rnn_simd_impl.inc"

}  // namespace

const GruRnnSimdKernels kGruRnnKernels{
    "avx512",        VW,           RECUR_SIMD_MAX_ROWS, gru_forward,      gru_forward_rb1,
    gru_forward_rb2, rnn_forward, gru_pointwise,      rnn_pointwise,    gru_backward,
    gru_backward_rb1, rnn_backward};

}  // namespace recur::ops::simd::avx512
