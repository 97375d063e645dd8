#pragma once
// The machine's f32 FMA peak, measured: the ceiling no GEMM or recurrent kernel can pass, beside
// the sgemm peak (what OpenBLAS reaches on a large square product) in recur-bench's reports.
#include <cstddef>
#include <string>

namespace bench {

struct FmaPeak {
  double gflops = 0;       // best of the repetitions, all threads together
  std::string isa;         // "avx512" or "avx2"; empty: no FMA kernel for this CPU
  std::size_t chains = 0;  // independent accumulators per thread
};

/// Runs a register-only FMA kernel on `threads` threads at once: each thread updates 12
/// independent accumulators (a_k = a_k * m + c) with the widest FMA this CPU has, AVX-512 when
/// `avx512`, else AVX2 + FMA. Twelve chains cover the FMA latency (4 cycles) times the FMA
/// pipes (2) of current x86 cores with room to spare, and leave registers for m and c. Counts
/// 2 FLOP per lane per FMA; reports the best of 5 repetitions of about 0.1 s each.
FmaPeak measure_fma_peak(bool avx512, std::size_t threads);

}  // namespace bench
