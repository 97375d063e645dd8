#include "recur/ops/gemm.hpp"

#include <cblas.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <thread>
#include <type_traits>

#include "recur/ops/cpu.hpp"
#include "thread_pool.hpp"

namespace recur::ops {
namespace {

// recur runs its BLAS calls single-threaded inside its own thread pool (split across the
// threads by rows or columns of C), so one set of threads serves both the GEMMs and the
// per-timestep kernels: OpenBLAS's own workers spin for up to 2^28 cycles after each call and,
// interleaved with recur's timestep regions, took cores from them (a training step's time
// varied by 2x). Done once, on the first gemm; RECUR_BLAS_THREADS=native keeps OpenBLAS's own
// threading instead.
bool blas_in_pool() {
  static const bool in_pool = [] {
    const char* env = std::getenv("RECUR_BLAS_THREADS");
    if (env != nullptr && std::string(env) == "native") return false;
    openblas_set_num_threads(1);
    return true;
  }();
  return in_pool;
}

// Multiply-adds per part at least. A part on a worker reads its operands from the core that
// wrote them (a training step's gemms read what its timestep loop just produced), which for
// small gemms costs about what the split saves: an LSTM(32) backward's recurrent-kernel
// gradient (32 x 128 x 1536, 6.3M) in a fit ran 115 us split over 2 cores against 99 us on
// one, and the whole fit 215k against 297k samples/s unsplit (2-core Zen 5 VM). Hot in the
// caches the same gemm splits to 60 us.
constexpr double kSplitMacs = 1 << 23;
// Rows or columns per part at least: each part packs the other operand whole again.
constexpr std::size_t kMinPartExtent = 64;

// How many parts a gemm is split into: a function of its shape and of the machine (hardware
// threads), never of the thread count. OpenBLAS's kernels for some cores (Haswell's: AVX2 CPUs
// such as Zen 3, or any CPU under OPENBLAS_CORETYPE=Haswell) round an element differently with
// the width of the block it falls in, so parts that followed num_threads() would make results
// change with it (README, "Determinism"). Fewer threads than parts run several parts each.
std::size_t gemm_parts(std::size_t extent, double macs) {
  static const std::size_t machine = std::max(1u, std::thread::hardware_concurrency());
  const double by_work = macs / kSplitMacs;
  std::size_t parts = std::min(machine, extent / kMinPartExtent);
  if (by_work < double(parts)) parts = static_cast<std::size_t>(by_work);
  return std::max<std::size_t>(parts, 1);
}

template <typename T>
void blas(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
          std::size_t ldc) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
          std::size_t ldc) {
  if (m == 0 || n == 0) return;
  // Split C by rows when it is at least as tall as wide, else by columns (in multiples of 16
  // so every part keeps whole vectors).
  const bool by_rows = m >= n;
  const std::size_t extent = by_rows ? m : n;
  const std::size_t parts =
      blas_in_pool() ? gemm_parts(extent, double(m) * double(n) * double(k)) : 1;
  if (parts <= 1) {
    blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  auto part = [&](std::size_t p) {
    const std::size_t lo = extent * p / parts / 16 * 16;
    const std::size_t hi = p + 1 == parts ? extent : extent * (p + 1) / parts / 16 * 16;
    if (hi <= lo) return;
    if (by_rows)
      blas(trans_a, trans_b, hi - lo, n, k, alpha, trans_a ? a + lo : a + lo * lda, lda, b, ldb,
           beta, c + lo * ldc, ldc);
    else
      blas(trans_a, trans_b, m, hi - lo, k, alpha, a, lda, trans_b ? b + lo * ldb : b + lo, ldb,
           beta, c + lo, ldc);
  };
  const std::size_t threads = std::min(num_threads(), parts);
  auto body = [&](std::size_t tid) {
    for (std::size_t p = tid; p < parts; p += threads) part(p);
  };
  detail::ThreadPool::instance().run(threads, body);
}
template void gemm<float>(bool, bool, std::size_t, std::size_t, std::size_t, float, const float*,
                          std::size_t, const float*, std::size_t, float, float*, std::size_t);
template void gemm<double>(bool, bool, std::size_t, std::size_t, std::size_t, double,
                           const double*, std::size_t, const double*, std::size_t, double,
                           double*, std::size_t);

template <typename T>
void gemm_naive(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
                const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
                std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      T acc = 0;
      for (std::size_t p = 0; p < k; ++p) {
        T av = trans_a ? a[p * lda + i] : a[i * lda + p];
        T bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      T& out = c[i * ldc + j];
      out = alpha * acc + (beta == T(0) ? T(0) : beta * out);
    }
  }
}

std::string blas_core_note() {
  if (detected_isa() != Isa::kAvx512) return "";  // AVX2 kernels are the widest there
  const char* core = openblas_get_corename();
  if (core == nullptr) return "";
  const std::string name = core;
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // OpenBLAS's x86-64 cores with AVX-512 kernels (0.3.21: SkylakeX and Cooperlake; later
  // releases add SapphireRapids).
  for (const char* wide : {"skylakex", "cooperlake", "sapphirerapids"})
    if (lower == wide) return "";
  const char* env = std::getenv("OPENBLAS_CORETYPE");
  return "OpenBLAS runs its " + name + " kernels on this AVX-512 CPU" +
         (env != nullptr ? " (OPENBLAS_CORETYPE=" + std::string(env) + " in the environment)" : std::string()) +
         ", so recur's large GEMMs run at about half speed; unset OPENBLAS_CORETYPE (OpenBLAS then "
         "detects the CPU) or set it to SkylakeX.";
}

template void gemm_naive<float>(bool, bool, std::size_t, std::size_t, std::size_t, float,
                                const float*, std::size_t, const float*, std::size_t, float,
                                float*, std::size_t);
template void gemm_naive<double>(bool, bool, std::size_t, std::size_t, std::size_t, double,
                                 const double*, std::size_t, const double*, std::size_t, double,
                                 double*, std::size_t);

}  // namespace recur::ops
