#include "fma_peak.hpp"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace bench {
namespace {

constexpr std::size_t kChains = 12;

// The chains start from distinct values and pass through an empty asm statement, so the
// compiler can neither merge them nor fold the loop; without -ffast-math it cannot reassociate
// the FMAs either. Returns a sum so the work is used.
__attribute__((target("avx512f"))) float chains_avx512(long iters) {
  __m512 a[kChains];
  for (std::size_t k = 0; k < kChains; ++k)
    a[k] = _mm512_set1_ps(1.0f + 0.01f * static_cast<float>(k));
  __asm__ volatile("" : "+v"(a[0]), "+v"(a[1]), "+v"(a[2]), "+v"(a[3]), "+v"(a[4]), "+v"(a[5]),
                   "+v"(a[6]), "+v"(a[7]), "+v"(a[8]), "+v"(a[9]), "+v"(a[10]), "+v"(a[11]));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i)
    for (std::size_t k = 0; k < kChains; ++k) a[k] = _mm512_fmadd_ps(a[k], m, c);
  __m512 s = a[0];
  for (std::size_t k = 1; k < kChains; ++k) s = _mm512_add_ps(s, a[k]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) float chains_avx2(long iters) {
  __m256 a[kChains];
  for (std::size_t k = 0; k < kChains; ++k)
    a[k] = _mm256_set1_ps(1.0f + 0.01f * static_cast<float>(k));
  __asm__ volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]),
                   "+x"(a[6]), "+x"(a[7]), "+x"(a[8]), "+x"(a[9]), "+x"(a[10]), "+x"(a[11]));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i)
    for (std::size_t k = 0; k < kChains; ++k) a[k] = _mm256_fmadd_ps(a[k], m, c);
  __m256 s = a[0];
  for (std::size_t k = 1; k < kChains; ++k) s = _mm256_add_ps(s, a[k]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

}  // namespace

FmaPeak measure_fma_peak(bool avx512, std::size_t threads) {
  FmaPeak p;
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return p;
  p.isa = avx512 ? "avx512" : "avx2";
  p.chains = kChains;
  threads = std::max<std::size_t>(threads, 1);
  const double lanes = avx512 ? 16 : 8;
  // About 0.1 s at 4 GHz with two FMA pipes: 12 FMAs per iteration, 6 cycles.
  const long iters = 60'000'000;
  std::atomic<float> sink{0};
  auto run = [&] {
    std::vector<std::thread> pool;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        const float s = avx512 ? chains_avx512(iters) : chains_avx2(iters);
        sink.store(s, std::memory_order_relaxed);
      });
    for (auto& th : pool) th.join();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  run();  // warm-up: clocks up, threads created once before timing
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double flop = 2.0 * lanes * static_cast<double>(kChains) * static_cast<double>(iters) *
                        static_cast<double>(threads);
    best = std::max(best, flop / run() / 1e9);
  }
  p.gflops = best;
  return p;
}

}  // namespace bench
