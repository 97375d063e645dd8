// The fused LSTM kernels built for AVX-512 (16 floats per vector, tiles of 6 rows: 24
// accumulators + broadcasts fit the 32 zmm registers). Compiled with -mavx512f -mavx512vl
// -mavx512dq -mfma, and only called after cpuid reports those features (recur/ops/cpu.hpp).
#include <immintrin.h>

#include "lstm_simd.hpp"

namespace recur::ops::simd::avx512 {
namespace {

struct V {
  using Reg = __m512;
  static constexpr std::size_t kRegisters = 32;
  static constexpr std::size_t kWidth = 16;
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm512_div_ps(a, b); }
  static Reg min(Reg a, Reg b) { return _mm512_min_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg round(Reg x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integral n in [-126, 127].
  static Reg pow2(Reg n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static Reg abs(Reg x) { return _mm512_abs_ps(x); }
  static Reg copysign(Reg mag, Reg sign) {
    const __m512i m = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(mag), _mm512_and_si512(_mm512_castps_si512(sign), m)));
  }
  // a < b ? t : f, per lane
  static Reg select_lt(Reg a, Reg b, Reg t, Reg f) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), f, t);
  }
};

// Rows per tile (kMaxRows): 6 rows x kGates accumulators + kGates weights + broadcasts of the
// 32 zmm registers.
#define RECUR_SIMD_MAX_ROWS 6
#include "lstm_simd_impl.inc"

}  // namespace

const LstmSimdKernels kKernels{"avx512",     VW,        RECUR_SIMD_MAX_ROWS,
                               forward_tile, pointwise, backward_tile,
                               sigmoid_n,    tanh_n};

}  // namespace recur::ops::simd::avx512
