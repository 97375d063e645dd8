// The fused LSTM kernels built for AVX2 + FMA (8 floats per vector, tiles of 3 rows: 12
// accumulators + 1 broadcast fit the 16 ymm registers). This file is compiled with
// -mavx2 -mfma and is only called after cpuid says the CPU has both (recur/ops/cpu.hpp).
#include <immintrin.h>

#include "lstm_simd.hpp"

namespace recur::ops::simd::avx2 {
namespace {

struct V {
  using Reg = __m256;
  static constexpr std::size_t kRegisters = 16;
  static constexpr std::size_t kWidth = 8;
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm256_div_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm256_min_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg round(Reg x) {
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integral n in [-126, 127].
  static Reg pow2(Reg n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static Reg abs(Reg x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
  static Reg copysign(Reg mag, Reg sign) {
    return _mm256_or_ps(mag, _mm256_and_ps(sign, _mm256_set1_ps(-0.0f)));
  }
  // a < b ? t : f, per lane
  static Reg select_lt(Reg a, Reg b, Reg t, Reg f) {
    return _mm256_blendv_ps(f, t, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
  }
};

// Rows per tile (kMaxRows): 3 rows x kGates accumulators + 1 broadcast of the 16 ymm registers.
#define RECUR_SIMD_MAX_ROWS 3
#include "lstm_simd_impl.inc"

}  // namespace

const LstmSimdKernels kKernels{"avx2",       VW,        RECUR_SIMD_MAX_ROWS,
                               forward_tile, pointwise, backward_tile,
                               sigmoid_n,    tanh_n};

}  // namespace recur::ops::simd::avx2
