// recur-blas-compare: the BLAS choice measured (issue 14, item 2). Times the GEMM shapes that an
// LSTM layer issues in recur (row-major, the transposes recur uses) in every BLAS at hand, side
// by side, each library in its own child process (this binary run with --child), so that
// environment variables read at load time (OPENBLAS_CORETYPE, BLIS_ARCH_TYPE) and each
// library's threads stay per variant:
//
//   openblas-auto    OpenBLAS (linked, as recur is) with the core it detects itself
//   openblas-<core>  the same library with OPENBLAS_CORETYPE set to the core that fits this CPU
//                    (SkylakeX on AVX-512); skipped when that is the detected one
//   openblas-Haswell OPENBLAS_CORETYPE=Haswell, its AVX2 kernels, on a CPU with AVX-512 (what a
//                    user with that variable set, or an OpenBLAS that does not know the CPU, gets)
//   blis-auto        BLIS (dlopen, RTLD_LOCAL | RTLD_DEEPBIND: its sgemm_ never meets
//                    OpenBLAS's), bli_sgemm, the sub-configuration it detects; when that is
//                    "generic" (reference C kernels) it runs in the first round only
//   blis-<arch>      BLIS with BLIS_ARCH_TYPE set to the fitting sub-configuration (skx on
//                    AVX-512); skipped when that is the detected one
//   onednn           oneDNN's dnnl_sgemm (dlopen), which dispatches on the ISA at run time
//   recur-gemm       recur::ops::gemm: OpenBLAS (detected core) one thread per call, large
//                    calls split over recur's own pool: what recur runs today
//   recur-fused      recur's packed fused-LSTM tiles (src/ops/lstm_fused.cpp), only for the
//                    per-timestep shapes they replace: they are not a plain GEMM (the forward
//                    step includes the LSTM update; the backward step is the dh product alone)
//
// Every variant's result is checked against a double-precision reference (sampled entries,
// relative error max |c - ref| / max |ref| < 1e-4) before it is timed; a variant that fails is
// not timed. Rounds interleave the variants (round r runs every variant once), so slow drifts in
// background load spread over all of them.
//
//   recur-blas-compare [--rounds 2] [--threads 2,1] [--min-time 0.02] [--reps 5]
//                      [--budget 0.15] [--configs 0,1,2,3,4] [--out DIR]
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lstm_fused.hpp"  // src/ops (internal): fused_lstm_step, pack_step_weights, and
                            // (via fused_tiling.hpp) unit_offsets, pack_transposed
#include "recur/ops/cpu.hpp"
#include "recur/ops/gemm.hpp"
#include "recur/ops/recurrent_kernels.hpp"  // CacheLineAllocator
#include "thread_pool.hpp"  // src/ops (internal): the pool the fused tiles run on

namespace {

// --- shapes ------------------------------------------------------------------------------------

struct Cfg {
  std::size_t batch, timesteps, features, units;
};
// The four configurations of recur-bench (issue 5) and streaming (batch 1, F 8, U 32).
const Cfg kConfigs[] = {{32, 100, 32, 64}, {64, 100, 128, 256}, {64, 50, 512, 512},
                        {16, 200, 1024, 1024}, {1, 1, 8, 32}};
constexpr std::size_t kStreamConfig = 4;

enum class Fused { kNone, kForwardStep, kBackwardStep, kStreamStep };

struct Shape {
  std::size_t cfg;
  std::string name;  // what it computes
  bool ta, tb;
  std::size_t m, n, k;
  float beta;
  std::size_t calls;  // calls per training step (fwd + bwd) of one layer; streaming: per step
  Fused fused;
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }
  std::string op() const {
    return std::string(ta ? "T" : "N") + (tb ? "T" : "N") + " " + std::to_string(m) + "x" +
           std::to_string(n) + "x" + std::to_string(k);
  }
};

std::vector<Shape> make_shapes() {
  std::vector<Shape> s;
  for (std::size_t i = 0; i < std::size(kConfigs); ++i) {
    const Cfg& c = kConfigs[i];
    const std::size_t B = c.batch, T = c.timesteps, F = c.features, U = c.units, G = 4 * U;
    if (i == kStreamConfig) {
      s.push_back({i, "stream x_t.W", false, false, B, G, F, 1.0f, 1, Fused::kNone});
      s.push_back({i, "stream h.R", false, false, B, G, U, 1.0f, 1, Fused::kNone});
      s.push_back({i, "stream [x h].[W;R]", false, false, B, G, F + U, 1.0f, 1,
                   Fused::kStreamStep});
      continue;
    }
    // Forward: the input projection of all timesteps at once (beta 1: the bias is preloaded),
    // then per timestep the recurrent product. Backward per timestep dh = dz R^T; then the
    // weight gradients and dx over all timesteps (the fused path's calls, lstm_fused.cpp).
    s.push_back({i, "fwd X.W", false, false, T * B, G, F, 1.0f, 1, Fused::kNone});
    s.push_back({i, "fwd step h.R", false, false, B, G, U, 1.0f, T, Fused::kForwardStep});
    s.push_back({i, "bwd step dz.R^T", false, true, B, U, G, 0.0f, T, Fused::kBackwardStep});
    s.push_back({i, "bwd X^T.dZ", true, false, F, G, T * B, 0.0f, 1, Fused::kNone});
    s.push_back({i, "bwd H^T.dZ", true, false, U, G, T * B, 0.0f, 1, Fused::kNone});
    s.push_back({i, "bwd dZ.W^T", false, true, T * B, F, G, 0.0f, 1, Fused::kNone});
  }
  return s;
}

std::string cfg_name(std::size_t i) {
  const Cfg& c = kConfigs[i];
  char buf[96];
  if (i == kStreamConfig)
    std::snprintf(buf, sizeof buf, "stream (B %zu, F %zu, U %zu)", c.batch, c.features, c.units);
  else
    std::snprintf(buf, sizeof buf, "(%zu, %zu, %zu, %zu)", c.batch, c.timesteps, c.features,
                  c.units);
  return buf;
}

// --- data and the reference --------------------------------------------------------------------

struct Rng {
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  float uniform(float scale) {  // [-scale, scale)
    return scale * (static_cast<float>(next() >> 40) / 8388608.0f - 1.0f);
  }
};

// Every operand on 64-byte boundaries, as recur keeps its packed weights and states (and as a
// caller that cares would): a vector load never straddles two cache lines, and the timings do
// not depend on where malloc happened to put a buffer (seen: the streaming step 0.17 us or
// 0.30 us with the same code).
using Buffer = std::vector<float, recur::ops::CacheLineAllocator<float>>;

void fill(Buffer& v, Rng& r, float scale) {
  for (auto& x : v) x = r.uniform(scale);
}

// max |got - ref| / max |ref|
double rel_err(const std::vector<double>& got, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    num = std::max(num, std::fabs(got[i] - ref[i]));
    den = std::max(den, std::fabs(ref[i]));
  }
  if (!std::isfinite(num)) return INFINITY;
  return den > 0 ? num / den : num;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// --- the libraries (child side) ----------------------------------------------------------------

using GemmFn = std::function<void(const Shape&, const float* a, std::size_t lda, const float* b,
                                  std::size_t ldb, float* c, std::size_t ldc)>;

void* must_dlopen(std::initializer_list<const char*> names, int flags) {
  for (const char* n : names)
    if (void* h = dlopen(n, flags)) return h;
  throw std::runtime_error(std::string("cannot load ") + *names.begin() + ": " + dlerror());
}
template <typename F>
F must_dlsym(void* h, const char* name) {
  void* p = dlsym(h, name);
  if (!p) throw std::runtime_error(std::string("missing symbol ") + name);
  return reinterpret_cast<F>(p);
}

// BLIS 0.9.0's typed API (frame/3/bli_l3_tapi.h); dim_t and inc_t are 64-bit on LP64.
using bli_sgemm_t = void (*)(int transa, int transb, std::int64_t m, std::int64_t n,
                             std::int64_t k, const float* alpha, const float* a, std::int64_t rsa,
                             std::int64_t csa, const float* b, std::int64_t rsb, std::int64_t csb,
                             const float* beta, float* c, std::int64_t rsc, std::int64_t csc);
void* blis_handle() {
  static void* h = must_dlopen({"libblis.so.4", "libblis.so"}, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  return h;
}
// oneDNN's dnnl_sgemm: row-major, transposes as 'N' / 'T'.
using dnnl_sgemm_t = int (*)(char, char, std::int64_t, std::int64_t, std::int64_t, float,
                             const float*, std::int64_t, const float*, std::int64_t, float,
                             float*, std::int64_t);
void* dnnl_handle() {
  static void* h = must_dlopen({"libdnnl.so.3", "libdnnl.so.2"}, RTLD_NOW | RTLD_LOCAL);
  return h;
}
struct DnnlVersion {
  int major, minor, patch;
  const char* hash;
  unsigned cpu_runtime, gpu_runtime;
};

GemmFn make_gemm(const std::string& lib, int threads) {
  if (lib == "openblas") {
    openblas_set_num_threads(threads);
    return [](const Shape& s, const float* a, std::size_t lda, const float* b, std::size_t ldb,
              float* c, std::size_t ldc) {
      cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans,
                  s.tb ? CblasTrans : CblasNoTrans, int(s.m), int(s.n), int(s.k), 1.0f, a,
                  int(lda), b, int(ldb), s.beta, c, int(ldc));
    };
  }
  if (lib == "recur") {
    recur::ops::set_num_threads(std::size_t(threads));
    return [](const Shape& s, const float* a, std::size_t lda, const float* b, std::size_t ldb,
              float* c, std::size_t ldc) {
      recur::ops::gemm<float>(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a, lda, b, ldb, s.beta, c, ldc);
    };
  }
  if (lib == "blis") {
    void* h = blis_handle();
    must_dlsym<void (*)(std::int64_t)>(h, "bli_thread_set_num_threads")(threads);
    const auto sgemm = must_dlsym<bli_sgemm_t>(h, "bli_sgemm");
    // General strides: op(A) row-major (m, k) is rs = lda, cs = 1; its transpose rs = 1, cs = lda.
    return [sgemm](const Shape& s, const float* a, std::size_t lda, const float* b,
                   std::size_t ldb, float* c, std::size_t ldc) {
      const float one = 1.0f;
      const std::int64_t la = std::int64_t(lda), lb = std::int64_t(ldb);
      sgemm(0, 0, std::int64_t(s.m), std::int64_t(s.n), std::int64_t(s.k), &one, a,
            s.ta ? 1 : la, s.ta ? la : 1, b, s.tb ? 1 : lb, s.tb ? lb : 1, &s.beta, c,
            std::int64_t(ldc), 1);
    };
  }
  if (lib == "onednn") {
    const auto sgemm = must_dlsym<dnnl_sgemm_t>(dnnl_handle(), "dnnl_sgemm");
    return [sgemm](const Shape& s, const float* a, std::size_t lda, const float* b,
                   std::size_t ldb, float* c, std::size_t ldc) {
      const int st = sgemm(s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', std::int64_t(s.m),
                           std::int64_t(s.n), std::int64_t(s.k), 1.0f, a, std::int64_t(lda), b,
                           std::int64_t(ldb), s.beta, c, std::int64_t(ldc));
      if (st != 0) throw std::runtime_error("dnnl_sgemm status " + std::to_string(st));
    };
  }
  throw std::runtime_error("unknown library " + lib);
}

// One shape set up for one implementation: run() is one call, error() the check after the
// first call.
struct Bench {
  std::function<void()> run;
  std::function<double()> error;
};

Bench gemm_bench(const Shape& s, const GemmFn& gemm) {
  struct Buf {
    Buffer a, b, c;
    std::vector<std::pair<std::size_t, std::size_t>> at;  // sampled (i, j)
    std::vector<double> ref;
    std::size_t lda, ldb, ldc;
  };
  auto d = std::make_shared<Buf>();
  Rng r;
  d->a.resize(s.m * s.k);
  d->b.resize(s.k * s.n);
  d->c.resize(s.m * s.n);
  fill(d->a, r, 1.0f);
  fill(d->b, r, 1.0f);
  fill(d->c, r, 1.0f);
  d->lda = s.ta ? s.m : s.k;
  d->ldb = s.tb ? s.k : s.n;
  d->ldc = s.n;
  // The reference on up to 512 entries (all of them when C is that small), in double.
  if (s.m * s.n <= 512) {
    for (std::size_t i = 0; i < s.m; ++i)
      for (std::size_t j = 0; j < s.n; ++j) d->at.emplace_back(i, j);
  } else {
    for (int q = 0; q < 512; ++q) d->at.emplace_back(r.next() % s.m, r.next() % s.n);
  }
  for (auto [i, j] : d->at) {
    double acc = 0;
    for (std::size_t p = 0; p < s.k; ++p) {
      const double av = s.ta ? d->a[p * d->lda + i] : d->a[i * d->lda + p];
      const double bv = s.tb ? d->b[j * d->ldb + p] : d->b[p * d->ldb + j];
      acc += av * bv;
    }
    d->ref.push_back(acc + double(s.beta) * d->c[i * d->ldc + j]);
  }
  Bench b;
  b.run = [d, s, gemm] {
    gemm(s, d->a.data(), d->lda, d->b.data(), d->ldb, d->c.data(), d->ldc);
  };
  b.error = [d] {
    std::vector<double> got;
    for (auto [i, j] : d->at) got.push_back(d->c[i * d->ldc + j]);
    return rel_err(got, d->ref);
  };
  return b;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The fused forward step: h_next, c = LSTM(x_t W + h R + b) for (B, F, U); F = 0 is the
// recurrent product alone (the per-timestep work of a layer's forward, whose x W is one GEMM).
Bench fused_step_bench(recur::ops::RecurrentKernel path, std::size_t B, std::size_t F,
                       std::size_t U) {
  namespace rd = recur::ops::detail;
  struct Buf {
    Buffer x, w, r, bias, px, pr, bil, h, c, c0, hn;
    std::vector<double> ref_h, ref_c;
  };
  auto d = std::make_shared<Buf>();
  const std::size_t G = 4 * U, Up = rd::fused_padded_units(path, U);
  Rng rng;
  const float ws = 1.0f / std::sqrt(float(F + U));
  d->x.resize(std::max<std::size_t>(1, B * F));
  d->w.resize(std::max<std::size_t>(1, F * G));
  d->r.resize(U * G);
  d->bias.resize(G);
  fill(d->x, rng, 1.0f);
  fill(d->w, rng, ws);
  fill(d->r, rng, ws);
  fill(d->bias, rng, 0.1f);
  d->px.resize(std::max<std::size_t>(1, F * 4 * Up));
  d->pr.resize(U * 4 * Up);
  d->bil.resize(4 * Up);
  rd::pack_step_weights(path, d->px.data(), d->pr.data(), d->bil.data(), d->w.data(),
                        d->r.data(), d->bias.data(), F, U);
  d->h.assign(B * Up, 0.0f);
  d->c.assign(B * Up, 0.0f);
  d->hn.assign(B * Up, 0.0f);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t u = 0; u < U; ++u) {
      d->h[b * Up + u] = rng.uniform(1.0f);
      d->c[b * Up + u] = rng.uniform(1.0f);
    }
  d->c0 = d->c;
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t u = 0; u < U; ++u) {
      double z[4];
      for (std::size_t g = 0; g < 4; ++g) {
        double acc = d->bias[g * U + u];
        for (std::size_t k = 0; k < F; ++k) acc += double(d->x[b * F + k]) * d->w[k * G + g * U + u];
        for (std::size_t k = 0; k < U; ++k) acc += double(d->h[b * Up + k]) * d->r[k * G + g * U + u];
        z[g] = acc;
      }
      const double c = sigmoid(z[1]) * d->c0[b * Up + u] + sigmoid(z[0]) * std::tanh(z[2]);
      d->ref_c.push_back(c);
      d->ref_h.push_back(sigmoid(z[3]) * std::tanh(c));
    }
  Bench bench;
  bench.run = [d, path, B, F, U] {
    rd::fused_lstm_step(path, d->hn.data(), d->c.data(), d->x.data(), d->h.data(), d->px.data(),
                        d->pr.data(), d->bil.data(), B, F, U);
  };
  bench.error = [d, B, U, Up] {
    std::vector<double> h, c;
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t u = 0; u < U; ++u) {
        h.push_back(d->hn[b * Up + u]);
        c.push_back(d->c[b * Up + u]);
      }
    return std::max(rel_err(h, d->ref_h), rel_err(c, d->ref_c));
  };
  return bench;
}

// The fused backward step's product dh_{t-1} (B, U) = dz (B, 4U, interleaved) . R^T, on the
// panels of packed R^T, as fused_lstm_backward runs it (without the pointwise pass of step t-1
// that it fuses into the same tile).
Bench fused_backward_bench(recur::ops::RecurrentKernel path, std::size_t B, std::size_t U) {
  namespace rd = recur::ops::detail;
  namespace simd = recur::ops::simd;
  const simd::LstmSimdKernels& k = rd::fused_lstm_kernels(path);
  const std::size_t VW = k.width, Up = (U + VW - 1) / VW * VW, nb = Up / VW, Gp = 4 * Up,
                    G = 4 * U;
  const std::size_t PB = simd::kPanelBlocks, panels = (nb + PB - 1) / PB,
                    panel_size = Gp * PB * VW;
  struct Buf {
    Buffer r, dz, packed, dh;
    std::vector<std::size_t> off;
    std::vector<double> ref;
  };
  auto d = std::make_shared<Buf>();
  Rng rng;
  d->r.resize(U * G);
  fill(d->r, rng, 1.0f / std::sqrt(float(U)));
  d->dz.assign(B * Gp, 0.0f);
  rd::unit_offsets(d->off, U, VW, 4);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t g = 0; g < 4; ++g)
      for (std::size_t u = 0; u < U; ++u) d->dz[b * Gp + d->off[u] + g * VW] = rng.uniform(1.0f);
  // R^T in panels (lstm_fused.cpp).
  d->packed.assign(panels * panel_size, 0.0f);
  rd::pack_transposed(d->packed.data(), d->r.data(), U, VW, 4);
  d->dh.assign(B * Up, 0.0f);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t unit = 0; unit < U; ++unit) {
      double acc = 0;
      for (std::size_t g = 0; g < 4; ++g)
        for (std::size_t u = 0; u < U; ++u)
          acc += double(d->dz[b * Gp + d->off[u] + g * VW]) * d->r[unit * G + g * U + u];
      d->ref.push_back(acc);
    }
  const std::size_t row_tiles = (B + k.max_rows - 1) / k.max_rows, tiles = row_tiles * panels;
  // lstm_fused.cpp's threads_for: one thread below 2^20 multiply-adds per step.
  const std::size_t threads =
      B * U * 4 * U < (std::size_t(1) << 20)
          ? 1
          : std::max<std::size_t>(1, std::min(recur::ops::num_threads(), tiles));
  Bench bench;
  bench.run = [d, &k, B, Up, Gp, VW, nb, PB, panel_size, row_tiles, tiles, threads] {
    auto body = [&](std::size_t tid) {
      std::size_t begin, end;
      rd::split_range(tiles, tid, threads, begin, end);
      for (std::size_t t = begin; t < end; ++t) {
        const std::size_t p = t / row_tiles, r0 = (t % row_tiles) * k.max_rows;
        simd::BwdTile bt;
        bt.rows = std::min(k.max_rows, B - r0);
        bt.nv = std::min(PB, nb - PB * p);
        bt.dz = d->dz.data() + r0 * Gp;
        bt.kp = Gp;
        bt.ldz = Gp;
        bt.packed_t = d->packed.data() + p * panel_size;
        bt.dh = d->dh.data() + r0 * Up + p * PB * VW;
        bt.ld = Up;
        k.backward_tile(bt);
      }
    };
    rd::ThreadPool::instance().run(threads, body);
  };
  bench.error = [d, B, U, Up] {
    std::vector<double> got;
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t u = 0; u < U; ++u) got.push_back(d->dh[b * Up + u]);
    return rel_err(got, d->ref);
  };
  return bench;
}

struct TimingOptions {
  double min_time = 0.02;  // seconds per repetition (calls averaged)
  int reps = 5;            // repetitions per shape and round
  double budget = 0.15;    // stop repeating after this long (at least one repetition)
  double slow = 1.0;       // a first call longer than this is the only sample
  double child = 30.0;     // a child past this many seconds skips its remaining shapes
  double batch_s = 5e-6;   // short calls run in batches of about this long between clock reads
};

std::vector<double> time_bench(Bench& b, double first, const TimingOptions& o) {
  if (first > o.slow) return {first};
  // Warm-up (thread start-up, caches, clocks), which also measures the call: short calls are
  // then run in batches of about 5 us between clock reads (a read costs 50-70 ns here).
  long batch = 1;
  if (first < o.min_time) {
    long calls = 0;
    const double s = now();
    double e;
    do {
      b.run();
      ++calls;
      e = now();
    } while (e - s < o.min_time);
    batch = std::max(1L, static_cast<long>(o.batch_s / ((e - s) / double(calls))));
  }
  std::vector<double> samples;
  const double start = now();
  for (int r = 0; r < o.reps; ++r) {
    long calls = 0;
    const double s = now();
    double e;
    do {
      for (long q = 0; q < batch; ++q) b.run();
      calls += batch;
      e = now();
    } while (e - s < o.min_time);
    samples.push_back((e - s) / double(calls));
    if (now() - start > o.budget) break;
  }
  return samples;
}

// Prints "info key value" lines: what each library picked on this CPU, in this environment.
int child_info() {
  std::printf("info openblas_core %s\n", openblas_get_corename());
  std::printf("info openblas_config %s\n", openblas_get_config());
  try {
    void* h = blis_handle();
    const auto query = must_dlsym<int (*)()>(h, "bli_arch_query_id");
    const auto name = must_dlsym<const char* (*)(int)>(h, "bli_arch_string");
    const auto ver = must_dlsym<const char* (*)()>(h, "bli_info_get_version_str");
    std::printf("info blis_version %s\n", ver());
    std::printf("info blis_arch %s\n", name(query()));
    for (int i = 0; i < 64; ++i) {
      const char* n = name(i);
      if (!n) break;
      std::printf("info blis_arch_id_%s %d\n", n, i);
      if (std::strcmp(n, "generic") == 0) break;
    }
  } catch (const std::exception& e) {
    std::printf("info blis_error %s\n", e.what());
  }
  try {
    void* h = dnnl_handle();
    const auto* v = must_dlsym<const DnnlVersion* (*)()>(h, "dnnl_version")();
    std::printf("info onednn_version %d.%d.%d\n", v->major, v->minor, v->patch);
    const int isa = must_dlsym<int (*)()>(h, "dnnl_get_effective_cpu_isa")();
    const char* isa_name = isa == 0x7      ? "avx2"
                           : isa == 0x27   ? "avx512_core"
                           : isa == 0x67   ? "avx512_core_vnni"
                           : isa == 0xe7   ? "avx512_core_bf16"
                           : isa == 0x3e7  ? "avx512_core_amx"
                           : isa == 0x407  ? "avx2_vnni"
                                           : "other";
    std::printf("info onednn_isa %s (0x%x)\n", isa_name, isa);
  } catch (const std::exception& e) {
    std::printf("info onednn_error %s\n", e.what());
  }
  std::printf("info recur_isa %s\n", recur::ops::isa_name(recur::ops::active_isa()).c_str());
  return 0;
}

int child(const std::string& lib, int threads, const std::set<std::size_t>& cfgs,
          const TimingOptions& o) {
  if (lib == "info") return child_info();
  const auto shapes = make_shapes();
  GemmFn gemm;
  recur::ops::RecurrentKernel path = recur::ops::RecurrentKernel::kPortable;
  if (lib == "fused") {
    recur::ops::set_num_threads(std::size_t(threads));
    path = recur::ops::select_kernel<float>(recur::ops::RecurrentConfig{},
                                            recur::ops::active_isa());
    if (path == recur::ops::RecurrentKernel::kPortable) {
      std::printf("info fused none (portable kernels on this CPU)\n");
      return 0;
    }
  } else {
    gemm = make_gemm(lib, threads);
  }
  const double child_start = now();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    if (!cfgs.count(s.cfg)) continue;
    if (now() - child_start > o.child) {  // a library far off the pace (e.g. generic kernels)
      std::printf("skip %zu 0\n", i);
      continue;
    }
    Bench b;
    if (lib == "fused") {
      const Cfg& c = kConfigs[s.cfg];
      if (s.fused == Fused::kForwardStep) b = fused_step_bench(path, c.batch, 0, c.units);
      else if (s.fused == Fused::kBackwardStep) b = fused_backward_bench(path, c.batch, c.units);
      else if (s.fused == Fused::kStreamStep)
        b = fused_step_bench(path, c.batch, c.features, c.units);
      else continue;
    } else {
      b = gemm_bench(s, gemm);
    }
    const double t0 = now();
    b.run();
    const double first = now() - t0;
    const double err = b.error();
    if (!(err < 1e-4)) {
      std::printf("bad %zu %.3e\n", i, err);
      std::fflush(stdout);
      continue;
    }
    const auto samples = time_bench(b, first, o);
    std::printf("res %zu %.3e", i, err);
    for (double t : samples) std::printf(" %.6e", t);
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}

// --- the driver --------------------------------------------------------------------------------

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return std::string(buf, n > 0 ? std::size_t(n) : 0);
}

// Runs this binary with args in an environment with `set` set and `unset` removed; returns its
// stdout (stderr passes through).
std::string run_child(const std::vector<std::string>& args,
                      const std::vector<std::pair<std::string, std::string>>& set,
                      const std::vector<std::string>& unset) {
  int fd[2];
  if (pipe(fd) != 0) throw std::runtime_error("pipe failed");
  const std::string exe = self_exe();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    for (const auto& u : unset) unsetenv(u.c_str());
    for (const auto& [k, v] : set) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(fd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd[0], buf, sizeof buf)) > 0) out.append(buf, std::size_t(n));
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    std::fprintf(stderr, "recur-blas-compare: child %s exited with status %d\n",
                 args.size() > 1 ? args[1].c_str() : "?", status);
  return out;
}

struct CpuInfo {
  std::string model, vendor, family, model_no;
  std::set<std::string> flags;
  bool has(const char* f) const { return flags.count(f) > 0; }
  bool avx512() const {
    return has("avx512f") && has("avx512dq") && has("avx512cd") && has("avx512bw") &&
           has("avx512vl");
  }
};

CpuInfo read_cpuinfo() {
  CpuInfo c;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  auto value = [](const std::string& l) {
    const auto p = l.find(':');
    return p == std::string::npos || p + 2 > l.size() ? std::string() : l.substr(p + 2);
  };
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 && c.model.empty()) c.model = value(line);
    else if (line.rfind("vendor_id", 0) == 0 && c.vendor.empty()) c.vendor = value(line);
    else if (line.rfind("cpu family", 0) == 0 && c.family.empty()) c.family = value(line);
    else if (line.rfind("model\t", 0) == 0 && c.model_no.empty()) c.model_no = value(line);
    else if (line.rfind("flags", 0) == 0 && c.flags.empty()) {
      std::istringstream f(value(line));
      std::string w;
      while (f >> w) c.flags.insert(w);
    }
  }
  return c;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct Variant {
  std::string name, lib;
  std::vector<std::pair<std::string, std::string>> env;
  bool once = false;  // first round only
};

int driver(int rounds, const std::vector<int>& thread_list, const std::set<std::size_t>& cfgs,
           const TimingOptions& o, const std::string& out_dir) {
  const double t_start = now();
  const CpuInfo cpu = read_cpuinfo();
  const std::vector<std::string> unset_all{"OPENBLAS_CORETYPE", "BLIS_ARCH_TYPE",
                                           "RECUR_BLAS_THREADS", "RECUR_ISA"};
  std::map<std::string, std::string> info;
  {
    std::istringstream in(run_child({"--child", "info"}, {{"OPENBLAS_NUM_THREADS", "1"}}, unset_all));
    std::string tag, key, line;
    while (in >> tag >> key && std::getline(in, line))
      if (tag == "info") info[key] = line.empty() ? line : line.substr(1);
  }
  // The cores that fit this CPU (issue 14): OpenBLAS 0.3.21's SkylakeX kernels on any CPU with
  // AVX-512 F/CD/BW/DQ/VL (it detects Zen 4 / Zen 5 as Haswell), else Haswell/Zen (AVX2).
  const bool amd = cpu.vendor == "AuthenticAMD";
  const std::string ob_core = cpu.avx512() ? "SkylakeX"
                              : (cpu.has("avx2") && cpu.has("fma")) ? (amd ? "Zen" : "Haswell")
                                                                    : "";
  const std::string blis_arch = cpu.avx512() ? "skx"
                                : (cpu.has("avx2") && cpu.has("fma")) ? (amd ? "zen3" : "haswell")
                                                                      : "";
  std::vector<Variant> variants{{"openblas-auto", "openblas", {}}};
  if (!ob_core.empty() && strcasecmp(ob_core.c_str(), info["openblas_core"].c_str()) != 0)
    variants.push_back({"openblas-" + ob_core, "openblas", {{"OPENBLAS_CORETYPE", ob_core}}});
  if (cpu.avx512() && info["openblas_core"] != "Haswell")
    variants.push_back({"openblas-Haswell", "openblas", {{"OPENBLAS_CORETYPE", "Haswell"}}});
  const bool have_blis = info.count("blis_arch") > 0;
  if (have_blis) {
    variants.push_back({"blis-auto", "blis", {}, info["blis_arch"] == "generic"});
    const auto id = info.find("blis_arch_id_" + blis_arch);
    if (!blis_arch.empty() && blis_arch != info["blis_arch"] && id != info.end())
      variants.push_back({"blis-" + blis_arch, "blis", {{"BLIS_ARCH_TYPE", id->second}}});
  }
  if (info.count("onednn_isa")) variants.push_back({"onednn", "onednn", {}});
  variants.push_back({"recur-gemm", "recur", {}});
  variants.push_back({"recur-fused", "fused", {}});

  char date[32];
  const std::time_t tt = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&tt));
  std::printf("# recur-blas-compare\n\n");
  std::printf("- date: %s; load average at start: %s\n", date, loadavg().c_str());
  if (const char* user_core = std::getenv("OPENBLAS_CORETYPE"))
    std::printf("- this environment sets OPENBLAS_CORETYPE=%s; removed for every variant but those "
                "that set it themselves\n", user_core);
  std::printf("- CPU: %s (%s, family %s, model %s), %ld online CPUs; avx2 %s, fma %s, avx512f %s, "
              "avx512bw/dq/vl/cd %s, avx512_bf16 %s\n",
              cpu.model.c_str(), cpu.vendor.c_str(), cpu.family.c_str(), cpu.model_no.c_str(),
              sysconf(_SC_NPROCESSORS_ONLN), cpu.has("avx2") ? "yes" : "no",
              cpu.has("fma") ? "yes" : "no", cpu.has("avx512f") ? "yes" : "no",
              cpu.avx512() ? "yes" : "no", cpu.has("avx512_bf16") ? "yes" : "no");
  std::printf("- OpenBLAS: %s; detected core %s; fitting core %s\n",
              info["openblas_config"].c_str(), info["openblas_core"].c_str(),
              ob_core.empty() ? "-" : ob_core.c_str());
  if (have_blis)
    std::printf("- BLIS %s: detected sub-configuration %s; fitting %s\n",
                info["blis_version"].c_str(), info["blis_arch"].c_str(),
                blis_arch.empty() ? "-" : blis_arch.c_str());
  else
    std::printf("- BLIS: not available (%s)\n", info["blis_error"].c_str());
  if (info.count("onednn_isa"))
    std::printf("- oneDNN %s: effective ISA %s\n", info["onednn_version"].c_str(),
                info["onednn_isa"].c_str());
  else
    std::printf("- oneDNN: not available (%s)\n", info["onednn_error"].c_str());
  std::printf("- recur fused kernels: %s\n", info["recur_isa"].c_str());
  std::printf("- variants:");
  for (const auto& v : variants) {
    std::printf(" %s%s", v.name.c_str(), v.once ? " (first round only)" : "");
    for (const auto& [k, val] : v.env) std::printf(" (%s=%s)", k.c_str(), val.c_str());
  }
  std::printf("\n- rounds %d; per shape and round: up to %d repetitions of >= %.3f s (calls "
              "averaged), at most %.2f s; a first call over %.1f s is the only sample; a child (one "
              "variant, one thread count, one round) past %.0f s skips its remaining shapes\n\n",
              rounds, o.reps, o.min_time, o.budget, o.slow, o.child);
  std::fflush(stdout);

  const auto shapes = make_shapes();
  std::string cfg_arg;
  for (auto c : cfgs) cfg_arg += (cfg_arg.empty() ? "" : ",") + std::to_string(c);
  // samples[threads][variant][shape], err likewise (max over rounds); bad: failed the check.
  std::map<int, std::map<std::string, std::map<std::size_t, std::vector<double>>>> samples;
  std::map<std::string, std::map<std::size_t, double>> errs;
  std::map<std::string, std::set<std::size_t>> bad, skipped;
  std::vector<std::string> round_load;
  for (int r = 0; r < rounds; ++r, round_load.push_back(loadavg()))
    for (int th : thread_list)
      for (const auto& v : variants) {
        if (v.once && r > 0) continue;
        const std::string ts = std::to_string(th);
        auto env = v.env;
        // Every library at `th` threads; OpenBLAS idle (one thread) where it is not timed.
        env.emplace_back("OPENBLAS_NUM_THREADS", v.lib == "openblas" ? ts : "1");
        env.emplace_back("OMP_NUM_THREADS", ts);
        env.emplace_back("BLIS_NUM_THREADS", ts);
        env.emplace_back("RECUR_NUM_THREADS", ts);
        const std::string out = run_child(
            {"--child", v.lib, "--threads", ts, "--configs", cfg_arg, "--min-time",
             std::to_string(o.min_time), "--reps", std::to_string(o.reps), "--budget",
             std::to_string(o.budget), "--child-budget", std::to_string(v.once ? 10.0 : o.child)},
            env, unset_all);
        std::istringstream in(out);
        std::string line;
        while (std::getline(in, line)) {
          std::istringstream l(line);
          std::string tag;
          std::size_t idx;
          double err;
          l >> tag >> idx >> err;
          if (tag == "res") {
            errs[v.name][idx] = std::max(errs[v.name][idx], err);
            for (double t; l >> t;) samples[th][v.name][idx].push_back(t);
          } else if (tag == "skip") {
            skipped[v.name].insert(idx);
          } else if (tag == "bad") {
            errs[v.name][idx] = std::max(errs[v.name][idx], err);
            bad[v.name].insert(idx);
          }
        }
        std::fprintf(stderr, "round %d, %d threads, %s: done (%.0f s)\n", r + 1, th,
                     v.name.c_str(), now() - t_start);
      }

  // Numerical check.
  std::printf("## Check: max |C - ref| / max |ref| over sampled entries (double reference), "
              "worst shape per variant (limit 1e-4)\n\n");
  std::printf("| variant | worst relative error | failed shapes |\n|---|---|---|\n");
  for (const auto& v : variants) {
    double worst = 0;
    for (const auto& [i, e] : errs[v.name]) worst = std::max(worst, e);
    std::string failed;
    for (auto i : bad[v.name]) failed += (failed.empty() ? "" : ", ") + shapes[i].name + " " + cfg_name(shapes[i].cfg);
    std::printf("| %s | %.1e | %s |\n", v.name.c_str(), worst, failed.empty() ? "none" : failed.c_str());
  }

  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? NAN : v[v.size() / 2];
  };
  std::ofstream csv;
  if (!out_dir.empty()) csv.open(out_dir + "/blas_compare.csv");
  if (csv)
    csv << "threads,config,shape,op,m,n,k,calls,variant,median_s,min_s,gflops_median,"
           "gflops_best,samples,rel_err\n";
  // Two statistics per cell: the median over all samples (what a call costs under this
  // machine's load), and the fastest sample (what the library does when it has the cores).
  for (int th : thread_list)
   for (const bool fastest : {false, true}) {
    std::printf("\n## %d thread%s, %s: GFLOP/s, and / the row's best\n\n", th,
                th == 1 ? "" : "s", fastest ? "fastest sample" : "median over samples");
    std::printf("| config (B, T, F, U) | shape | op MxNxK | calls/step |");
    for (const auto& v : variants) std::printf(" %s |", v.name.c_str());
    std::printf("\n|---|---|---|---|");
    for (std::size_t i = 0; i < variants.size(); ++i) std::printf("---|");
    std::printf("\n");
    // Per config: GEMM time of one training step (sum of calls x median) per variant.
    std::map<std::size_t, std::map<std::string, double>> step_ms;
    std::map<std::string, std::pair<double, int>> geo;  // sum of log(ratio), count
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const Shape& s = shapes[i];
      if (!cfgs.count(s.cfg)) continue;
      std::map<std::string, double> med;
      double best = 0;
      for (const auto& v : variants) {
        const auto it = samples[th][v.name].find(i);
        if (it == samples[th][v.name].end() || it->second.empty()) continue;
        med[v.name] = fastest ? *std::min_element(it->second.begin(), it->second.end())
                              : median(it->second);
        best = std::max(best, s.flops() / med[v.name] / 1e9);
        if (csv && !fastest) {
          const double mn = *std::min_element(it->second.begin(), it->second.end());
          csv << th << ",\"" << cfg_name(s.cfg) << "\"," << s.name << "," << s.op() << "," << s.m
              << "," << s.n << "," << s.k << "," << s.calls << "," << v.name << ","
              << med[v.name] << "," << mn << "," << s.flops() / med[v.name] / 1e9 << ","
              << s.flops() / mn / 1e9 << "," << it->second.size() << "," << errs[v.name][i]
              << "\n";
        }
      }
      std::printf("| %s | %s | %s | %zu |", cfg_name(s.cfg).c_str(), s.name.c_str(),
                  s.op().c_str(), s.calls);
      for (const auto& v : variants) {
        if (!med.count(v.name)) {
          std::printf(" %s |", bad[v.name].count(i)       ? "FAILED"
                               : skipped[v.name].count(i) ? "skipped"
                                                          : "-");
          continue;
        }
        const double gf = s.flops() / med[v.name] / 1e9;
        std::printf(" %.1f (%.2f) |", gf, gf / best);
        if (v.lib != "fused") {
          geo[v.name].first += std::log(gf / best);
          geo[v.name].second += 1;
        }
      }
      std::printf("\n");
      // A training step's GEMM time: the BLAS variants run every shape; recur-fused runs its
      // tiles for the per-step shapes and recur-gemm for the rest (what recur does today). The
      // streaming rows count the two-call form for BLAS and the one fused call for recur.
      for (const auto& v : variants) {
        if (v.lib == "fused") continue;
        if (s.fused == Fused::kStreamStep) continue;
        if (med.count(v.name)) step_ms[s.cfg][v.name] += double(s.calls) * med[v.name] * 1e3;
      }
      const bool fused_here = s.fused != Fused::kNone && med.count("recur-fused");
      if (s.fused == Fused::kStreamStep) {
        if (med.count("recur-fused")) step_ms[s.cfg]["recur-fused"] += med["recur-fused"] * 1e3;
      } else if (fused_here) {
        step_ms[s.cfg]["recur-fused"] += double(s.calls) * med["recur-fused"] * 1e3;
      } else if (med.count("recur-gemm")) {
        step_ms[s.cfg]["recur-fused"] += double(s.calls) * med["recur-gemm"] * 1e3;
      }
    }
    std::printf("\nGeometric mean of (GFLOP/s / best in row) over the GEMM rows (recur-fused "
                "left out: it has only the step rows):");
    for (const auto& v : variants)
      if (geo.count(v.name))
        std::printf(" %s %.2f;", v.name.c_str(), std::exp(geo[v.name].first / geo[v.name].second));
    std::printf("\n\nGEMM time of one training step (fwd + bwd) of one layer, sum of calls x "
                "time per call, ms (streaming: one step, us); recur-fused = its tiles for the step "
                "shapes + recur-gemm for the rest\n\n| config |");
    for (const auto& v : variants) std::printf(" %s |", v.name.c_str());
    std::printf("\n|---|");
    for (std::size_t i = 0; i < variants.size(); ++i) std::printf("---|");
    std::printf("\n");
    for (auto c : cfgs) {
      std::printf("| %s |", cfg_name(c).c_str());
      for (const auto& v : variants) {
        const auto it = step_ms[c].find(v.name);
        if (it == step_ms[c].end()) std::printf(" - |");
        else if (c == kStreamConfig) std::printf(" %.3g us |", it->second * 1e3);
        else std::printf(" %.3g |", it->second);
      }
      std::printf("\n");
    }
  }
  std::printf("\nload average after each round:");
  for (const auto& l : round_load) std::printf(" [%s]", l.c_str());
  std::printf("; total %.0f s\n", now() - t_start);
  return 0;
}

std::set<std::size_t> parse_configs(const std::string& s) {
  std::set<std::size_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const unsigned long v = std::stoul(item);
    if (v >= std::size(kConfigs)) throw std::runtime_error("--configs takes 0..4, got " + item);
    out.insert(v);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string child_lib, out_dir, configs = "0,1,2,3,4", threads = "";
    int rounds = 2, thread_n = 1;
    TimingOptions o;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
        return argv[++i];
      };
      if (a == "--child") child_lib = next();
      else if (a == "--threads") threads = next();
      else if (a == "--configs") configs = next();
      else if (a == "--rounds") rounds = std::stoi(next());
      else if (a == "--min-time") o.min_time = std::stod(next());
      else if (a == "--reps") o.reps = std::stoi(next());
      else if (a == "--budget") o.budget = std::stod(next());
      else if (a == "--child-budget") o.child = std::stod(next());
      else if (a == "--batch") o.batch_s = std::stod(next());
      else if (a == "--out") out_dir = next();
      else if (a == "-h" || a == "--help") {
        std::printf("recur-blas-compare [--rounds 2] [--threads N,1 (default: online CPUs, 1)] "
                    "[--min-time 0.02] [--reps 5] [--budget 0.15] [--configs 0,1,2,3,4] "
                    "[--out DIR]\n");
        return 0;
      } else {
        throw std::runtime_error("unknown argument " + a);
      }
    }
    const auto cfgs = parse_configs(configs);
    if (!child_lib.empty()) {
      thread_n = threads.empty() ? 1 : std::stoi(threads);
      return child(child_lib, thread_n, cfgs, o);
    }
    std::vector<int> thread_list;
    if (threads.empty()) {
      const int n = int(sysconf(_SC_NPROCESSORS_ONLN));
      thread_list.push_back(n);
      if (n != 1) thread_list.push_back(1);
    } else {
      std::stringstream ss(threads);
      std::string item;
      while (std::getline(ss, item, ',')) thread_list.push_back(std::stoi(item));
    }
    return driver(rounds, thread_list, cfgs, o, out_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recur-blas-compare: %s\n", e.what());
    return 1;
  }
}
