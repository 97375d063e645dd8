// recur-bench: one recurrent layer (f32, return_sequences, zero initial state; LSTM, GRU with
// reset_after=True or GRU with reset_after=False) in recur and in the peers that were built
// (oneDNN's lstm / lbr_gru / vanilla_gru primitives, libtorch's torch::nn::LSTM / GRU), on the
// same configurations in one run, interleaved: for every mode, each repetition times every
// implementation once, in turn. Each implementation runs in its own worker process
// (bench/worker.hpp). Before timing, every peer's outputs and gradients on the same weights
// are compared with recur's; a peer that disagrees is not timed. After each configuration it
// prints the thread counts recur learned and where its forward put the input projection.
//
//   recur-bench [--cell lstm|gru|gru_v1|all] [--configs 0,1,2,3] [--reps 7] [--min-time 0.05]
//               [--sweep] [--out DIR]
//   recur-bench --worker            (internal: the recur worker)
//
// FLOP (GEMM part, the peers' convention): forward 2*B*G*(F+U)*T with G = 4U (LSTM) or 3U
// (GRU); backward twice that. Peaks: OpenBLAS sgemm 2048^3 and the register-only FMA kernel of
// bench/fma_peak.hpp, both on --threads threads.
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "recur/core/tensor_pool.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/streaming.hpp"
#include "recur/ops/cpu.hpp"
#include "recur/ops/gemm.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "fma_peak.hpp"
#include "worker.hpp"
#include "../src/ops/gru_rnn_fused.hpp"
#include "../src/ops/lstm_fused.hpp"
#include "../src/ops/fused_tiling.hpp"
#include "../src/ops/thread_pool.hpp"

// OpenBLAS's own cblas.h (the include path recur's CMakeLists finds) declares it; declared here
// so that a cblas.h of another BLAS on the include path cannot hide it.
extern "C" char* openblas_get_corename(void);

namespace {

using bench::Config;
using bench::Mode;

// --- the recur worker --------------------------------------------------------------------------

class RecurWorker : public bench::Worker {
 public:
  void setup(const bench::Data& d) override {
    const Config& c = d.cfg;
    // The weights are overwritten below: skip the orthogonal initializer (slow at 1024 units).
    if (c.cell == bench::Cell::kLstm)
      layer_ = std::make_unique<recur::LSTM>(
          recur::LstmOptions(c.units).return_sequences(true).recurrent_initializer("zeros"));
    else
      layer_ = std::make_unique<recur::GRU>(recur::GruOptions(c.units)
                                                .return_sequences(true)
                                                .reset_after(c.cell == bench::Cell::kGru)
                                                .recurrent_initializer("zeros"));
    recur::Rng rng(0);
    layer_->build({c.timesteps, c.features}, rng);
    set_weights(layer_->cell(), d);
    x_ = recur::Tensor({c.batch, c.timesteps, c.features}, d.x);
    dy_ = recur::Tensor({c.batch, c.timesteps, c.units}, d.dy);
  }
  void run(Mode m) override {
    // As inside a Model's fit / predict: the previous call's outputs go back to a TensorPool
    // that the next call's outputs come from (the peers, too, write into buffers they
    // allocated once). Without it each call would fault in and zero a fresh (B, T, U) output.
    recur::TensorPoolScope scope(&pool_);
    if (m != Mode::kBackward) recur::recycle(std::move(y_));
    if (m == Mode::kBackward || m == Mode::kForwardBackward) recur::recycle(std::move(dx_));
    switch (m) {
      case Mode::kForward: y_ = layer_->forward(x_, false); break;
      case Mode::kForwardTraining: y_ = layer_->forward(x_, true); break;
      case Mode::kBackward:
        layer_->zero_grad();
        dx_ = layer_->backward(dy_);
        break;
      default:
        layer_->zero_grad();
        y_ = layer_->forward(x_, true);
        dx_ = layer_->backward(dy_);
    }
  }
  void check(bench::Outputs& o) override {
    run(Mode::kForwardBackward);
    o.y.assign(y_.data(), y_.data() + y_.size());
    o.dx.assign(dx_.data(), dx_.data() + dx_.size());
    auto copy = [](const recur::Tensor& t) { return std::vector<float>(t.data(), t.data() + t.size()); };
    recur::RecurrentCell& cell = layer_->cell();
    o.dkernel = copy(cell.kernel().grad);
    o.drecurrent_kernel = copy(cell.recurrent_kernel().grad);
    o.dbias = copy(cell.bias().grad);
  }
  bool stream_setup(const bench::Data& d) override {
    if (d.cfg.cell == bench::Cell::kLstm)
      cell_ = std::make_unique<recur::LSTMCell>(
          recur::LstmCellOptions(d.cfg.units).recurrent_initializer("zeros"));
    else
      cell_ = std::make_unique<recur::GRUCell>(recur::GruCellOptions(d.cfg.units)
                                                   .reset_after(d.cfg.cell == bench::Cell::kGru)
                                                   .recurrent_initializer("zeros"));
    recur::Rng rng(0);
    cell_->build(d.cfg.features, rng);
    set_weights(*cell_, d);
    stream_ = std::make_unique<recur::RecurrentStream>(*cell_);
    xs_ = d.x;
    features_ = d.cfg.features;
    steps_ = d.cfg.timesteps;
    return true;
  }
  void stream_step() override {
    stream_->step(xs_.data() + (t_++ % steps_) * features_);
  }
  double sgemm_peak() override {
    const std::size_t n = 2048;
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
    std::vector<double> rates;
    for (int rep = 0; rep < 7; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      recur::ops::gemm<float>(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
                              c.data(), n);
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (rep > 0) rates.push_back(2.0 * n * n * n / s / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    return rates.back();  // the best: a peak
  }
  std::string blas_core() override {
    const char* name = openblas_get_corename();
    return name ? name : "?";
  }
  std::string thread_choices() override {
    std::string all;
    for (const std::string& line : recur::ops::detail::learned_step_threads())
      all += (all.empty() ? "" : "; ") + line;
    for (const std::string& line : recur::ops::detail::rows_mode_loops())
      all += (all.empty() ? "" : "; ") + line;
    return all.empty() ? "-" : all;
  }

 private:
  static void set_weights(recur::RecurrentCell& cell, const bench::Data& d) {
    std::copy(d.kernel.begin(), d.kernel.end(), cell.kernel().value.data());
    std::copy(d.recurrent_kernel.begin(), d.recurrent_kernel.end(),
              cell.recurrent_kernel().value.data());
    std::copy(d.bias.begin(), d.bias.end(), cell.bias().value.data());
  }
  std::unique_ptr<recur::RNN> layer_;
  recur::Tensor x_, dy_, y_, dx_;
  recur::TensorPool pool_;
  std::unique_ptr<recur::RecurrentCell> cell_;
  std::unique_ptr<recur::RecurrentStream> stream_;
  std::vector<float> xs_;
  std::size_t features_ = 0, steps_ = 1, t_ = 0;
};

// --- the driver's side of a worker -------------------------------------------------------------

class Peer {
 public:
  Peer(std::string name, std::string path, std::vector<std::string> args,
       std::vector<std::pair<std::string, std::string>> env)
      : name_(std::move(name)) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> argv{const_cast<char*>(path.c_str())};
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(path.c_str(), argv.data());
      std::fprintf(stderr, "cannot start %s: %s\n", path.c_str(), std::strerror(errno));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    out_ = fdopen(to_child[1], "w");
    in_ = fdopen(from_child[0], "r");
  }
  ~Peer() {
    if (out_) {
      std::fprintf(out_, "quit\n");
      std::fclose(out_);
    }
    if (in_) std::fclose(in_);
    int status = 0;
    if (pid_ > 0) waitpid(pid_, &status, 0);
  }
  const std::string& name() const { return name_; }
  // Sends one command; returns the reply after "ok ", throws on "error" or a dead worker.
  std::string ask(const std::string& cmd) {
    std::fprintf(out_, "%s\n", cmd.c_str());
    std::fflush(out_);
    char buf[4096];
    if (!std::fgets(buf, sizeof buf, in_))
      throw std::runtime_error(name_ + " worker exited during \"" + cmd + "\"");
    std::string reply(buf);
    while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
    if (reply.rfind("ok", 0) != 0) throw std::runtime_error(name_ + ": " + reply);
    return reply.size() > 3 ? reply.substr(3) : "";
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  FILE* in_ = nullptr;
};

struct PeerSpec {
  std::string name, path;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
};

std::string self_dir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string p(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  return p.substr(0, p.rfind('/'));
}

// The implementations built next to this binary, each at its best thread setting on this
// machine (see BENCHMARKS.md): recur and oneDNN 2 threads; libtorch 1 OpenMP thread for its
// own kernels + 2 OpenBLAS threads for its GEMMs (its 2+2 default oversubscribes the cores).
//
// OpenBLAS 0.3.21 (Debian 12) does not know AMD Zen 4/5 and falls back to its AVX2 (Haswell)
// kernels there; on a CPU with AVX-512 the workers that call OpenBLAS (recur, libtorch) get
// OPENBLAS_CORETYPE=SkylakeX, its AVX-512 kernels, unless the caller set OPENBLAS_CORETYPE.
// The sgemm peak is measured under the same setting.
std::vector<PeerSpec> available_peers(const std::string& threads, bool torch_default) {
  const std::string dir = self_dir();
  std::vector<PeerSpec> peers;
  const char* user_core = std::getenv("OPENBLAS_CORETYPE");
  const std::string core = user_core ? user_core
                           : recur::ops::detected_isa() == recur::ops::Isa::kAvx512 ? "SkylakeX"
                                                                                    : "";
  auto blas_env = [&](std::vector<std::pair<std::string, std::string>> env) {
    if (!core.empty()) env.emplace_back("OPENBLAS_CORETYPE", core);
    return env;
  };
  peers.push_back({"recur", dir + "/recur-bench", {"--worker"},
                   blas_env({{"RECUR_NUM_THREADS", threads}, {"OPENBLAS_NUM_THREADS", threads}})});
  if (access((dir + "/recur-bench-onednn").c_str(), X_OK) == 0)
    peers.push_back({"onednn", dir + "/recur-bench-onednn", {}, {{"OMP_NUM_THREADS", threads}}});
  if (access((dir + "/recur-bench-libtorch").c_str(), X_OK) == 0) {
    peers.push_back({"libtorch", dir + "/recur-bench-libtorch", {},
                     blas_env({{"BENCH_TORCH_THREADS", "1"}, {"OMP_NUM_THREADS", "1"},
                               {"OPENBLAS_NUM_THREADS", threads}})});
    if (torch_default)
      peers.push_back({"libtorch-default", dir + "/recur-bench-libtorch", {},
                       blas_env({{"BENCH_TORCH_THREADS", threads}, {"OMP_NUM_THREADS", threads},
                                 {"OPENBLAS_NUM_THREADS", threads}})});
  }
  return peers;
}

// Why a peer does not run a cell; null when it does.
const char* skip_reason(const PeerSpec& p, bench::Cell cell) {
  if (p.name.rfind("libtorch", 0) == 0 && cell == bench::Cell::kGruV1)
    return "torch::nn::GRU has only the reset_after=True form";
  return nullptr;
}

// --- statistics and reports --------------------------------------------------------------------

struct Stat {
  double median = 0, min = 0;
};

Stat stat_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front()};
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kForward: return "fwd";
    case Mode::kForwardTraining: return "fwd_tr";
    case Mode::kBackward: return "bwd";
    case Mode::kForwardBackward: return "fwdbwd";
    default: return "stream";
  }
}

double flops(const Config& c, Mode m) {
  const double G = static_cast<double>(bench::gate_count(c.cell) * c.units);
  const double fwd = 2.0 * static_cast<double>(c.batch) * G *
                     static_cast<double>(c.features + c.units) * static_cast<double>(c.timesteps);
  switch (m) {
    case Mode::kBackward: return 2 * fwd;
    case Mode::kForwardBackward: return 3 * fwd;
    default: return fwd;
  }
}

std::string cfg_name(const Config& c) {
  std::ostringstream s;
  s << "(" << c.batch << ", " << c.timesteps << ", " << c.features << ", " << c.units << ")";
  return s.str();
}

std::vector<float> read_floats(const std::string& path, std::size_t n) {
  std::vector<float> v(n);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  if (!in) throw std::runtime_error("short output file " + path);
  return v;
}

// max |a - b| / max |b|
double rel_diff(const float* a, const float* b, std::size_t n) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < n; ++i) {
    num = std::max(num, std::fabs(double(a[i]) - b[i]));
    den = std::max(den, std::fabs(double(b[i])));
  }
  return den > 0 ? num / den : num;
}

// Compares every worker's training-step outputs with recur's (worker 0); returns the workers
// that agree (recur first). The tolerance is for float32 sums over up to T*B terms.
std::vector<Peer*> check_agreement(std::vector<std::unique_ptr<Peer>>& peers, const Config& c,
                                   const std::string& tmp) {
  const std::size_t B = c.batch, T = c.timesteps, F = c.features, U = c.units;
  const std::size_t G = bench::gate_count(c.cell) * U;
  const std::size_t sizes[] = {B * T * U, B * T * F, F * G, U * G, bench::bias_size(c.cell, U)};
  std::size_t total = 0;
  for (auto s : sizes) total += s;
  std::vector<std::vector<float>> outs;
  for (auto& p : peers) {
    const std::string path = tmp + "/check-" + p->name() + ".f32";
    p->ask("check " + path);
    outs.push_back(read_floats(path, total));
    std::remove(path.c_str());
  }
  std::vector<Peer*> ok{peers[0].get()};
  std::printf("\ncheck %s %s: max |peer - recur| / max |recur| per array\n\n",
              bench::cell_entry(c.cell).title, cfg_name(c).c_str());
  std::printf("| peer | y | dx | dkernel | drecurrent_kernel | dbias | verdict |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 1; i < peers.size(); ++i) {
    std::printf("| %s |", peers[i]->name().c_str());
    std::size_t off = 0;
    bool agree = true;
    for (std::size_t a = 0; a < 5; ++a) {
      const double d = rel_diff(outs[i].data() + off, outs[0].data() + off, sizes[a]);
      agree = agree && d <= (a == 0 ? 1e-4 : 1e-3);
      std::printf(" %.1e |", d);
      off += sizes[a];
    }
    std::printf(" %s |\n", agree ? "agrees" : "DISAGREES: not timed");
    if (agree) ok.push_back(peers[i].get());
  }
  std::fflush(stdout);
  return ok;
}

struct Row {
  std::string config, mode, impl;
  Stat s;
  double gflops = 0, pct_peak = 0, pct_fma = 0, vs_recur = 0;
};

// Pause before each timed repetition (--settle).
double g_settle_seconds = 0.3;

// Interleaved timing: for each repetition, each worker runs the mode once (after an untimed
// warm-up each). Returns one Stat per worker.
std::vector<Stat> time_mode(const std::vector<Peer*>& ws, Mode m, int reps, double min_time) {
  std::vector<std::vector<double>> t(ws.size());
  const std::string cmd = std::string("time ") + mode_name(m) + " ";
  if (m == Mode::kBackward)
    for (auto* w : ws) w->ask("time fwd_tr 0");
  // Untimed warm-up, as long as a repetition: first-touch page faults, caches, clocks.
  for (auto* w : ws) w->ask(cmd + std::to_string(min_time));
  for (int r = 0; r < reps; ++r)
    for (std::size_t i = 0; i < ws.size(); ++i) {
      // Idle BLAS / OpenMP threads of the worker that ran last spin for a while before they
      // sleep (OpenBLAS: 2^28 time-stamp-counter ticks, over 100 ms); the pause keeps them off
      // the next one's cores.
      usleep(static_cast<useconds_t>(g_settle_seconds * 1e6));
      t[i].push_back(std::stod(ws[i]->ask(cmd + std::to_string(min_time))));
    }
  std::vector<Stat> out;
  for (auto& v : t) out.push_back(stat_of(v));
  return out;
}

void print_rows(const std::vector<Row>& rows) {
  std::printf("\n| config (B, T, F, U) | mode | impl | median ms | min ms | GFLOP/s | %% of sgemm peak |");
  std::printf(" %% of FMA peak | peer time / recur time |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : rows) {
    const bool stream = r.mode == "stream";
    std::printf("| %s | %s | %s | %.4g%s | %.4g%s | %.1f | %.0f%% | %.0f%% | %s |\n",
                r.config.c_str(), r.mode.c_str(), r.impl.c_str(),
                stream ? r.s.median * 1e6 : r.s.median * 1e3, stream ? " us" : "",
                stream ? r.s.min * 1e6 : r.s.min * 1e3, stream ? " us" : "", r.gflops,
                r.pct_peak, r.pct_fma,
                r.impl == "recur" ? "1" : (std::to_string(r.vs_recur).substr(0, 5) + "x").c_str());
  }
  std::fflush(stdout);
}

// A log-log SVG: one line per implementation, x = the swept size, y = ms.
void write_sweep_svg(const std::string& path, const std::string& title, const std::string& xname,
                     const std::vector<double>& xs,
                     const std::map<std::string, std::vector<double>>& lines) {
  const double W = 640, H = 400, L = 70, R = 150, T = 40, Bm = 50;
  double ymin = 1e300, ymax = 0;
  for (const auto& [n, v] : lines)
    for (double y : v)
      if (y > 0) ymin = std::min(ymin, y), ymax = std::max(ymax, y);
  const double lx0 = std::log10(xs.front()), lx1 = std::log10(xs.back());
  const double ly0 = std::floor(std::log10(ymin)), ly1 = std::ceil(std::log10(ymax));
  auto px = [&](double x) { return L + (std::log10(x) - lx0) / (lx1 - lx0) * (W - L - R); };
  auto py = [&](double y) { return H - Bm - (std::log10(y) - ly0) / (ly1 - ly0) * (H - T - Bm); };
  std::ofstream f(path);
  f << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n"
    << "<text x='" << W / 2 << "' y='20' text-anchor='middle' font-size='14'>" << title << "</text>\n";
  for (double e = ly0; e <= ly1; ++e) {
    f << "<line x1='" << L << "' x2='" << W - R << "' y1='" << py(std::pow(10, e)) << "' y2='"
      << py(std::pow(10, e)) << "' stroke='#ddd'/><text x='" << L - 5 << "' y='"
      << py(std::pow(10, e)) + 4 << "' text-anchor='end'>" << std::pow(10, e) << " ms</text>\n";
  }
  for (double x : xs)
    f << "<text x='" << px(x) << "' y='" << H - Bm + 16 << "' text-anchor='middle'>" << x
      << "</text>\n";
  f << "<text x='" << (L + W - R) / 2 << "' y='" << H - 12 << "' text-anchor='middle'>" << xname
    << "</text>\n";
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  int i = 0;
  for (const auto& [name, v] : lines) {
    const char* col = colors[i % 4];
    f << "<polyline fill='none' stroke='" << col << "' stroke-width='2' points='";
    for (std::size_t k = 0; k < v.size(); ++k)
      if (v[k] > 0) f << px(xs[k]) << "," << py(v[k]) << " ";
    f << "'/>\n<text x='" << W - R + 10 << "' y='" << T + 20 + 18 * i << "' fill='" << col
      << "'>" << name << "</text>\n";
    ++i;
  }
  f << "</svg>\n";
}

// The CPU as /proc/cpuinfo names it. Some VMs show only "AMD EPYC": family and model numbers
// tell the generation (family 25: Zen 3/4, 26: Zen 5; Intel 6 with the model).
std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name, family, model;
  auto value = [](const std::string& l) {
    const auto p = l.find(':');
    return p == std::string::npos || p + 2 > l.size() ? std::string() : l.substr(p + 2);
  };
  while (std::getline(in, line) && (name.empty() || family.empty() || model.empty())) {
    if (line.rfind("model name", 0) == 0) name = value(line);
    else if (line.rfind("cpu family", 0) == 0) family = value(line);
    else if (line.rfind("model\t", 0) == 0) model = value(line);
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return (name.empty() ? "unknown CPU" : name) + " (family " + (family.empty() ? "?" : family) +
         ", model " + (model.empty() ? "?" : model) + "), " + std::to_string(online) +
         " online CPUs";
}

// The recurrent kernel recur's worker runs for `cell` (the same RECUR_ISA as this process).
const char* kernel_for(bench::Cell cell) {
  recur::ops::RecurrentConfig config;
  config.kind = cell == bench::Cell::kLstm ? recur::ops::CellKind::kLstm
                                           : recur::ops::CellKind::kGru;
  config.reset_after = cell == bench::Cell::kGru;
  config.return_sequences = true;
  return recur::ops::recurrent_kernel_name(
      recur::ops::select_kernel<float>(config, recur::ops::active_isa()));
}

// Where recur's fused forward computes the input projection on this shape (the rule in
// src/ops/fused_tiling.hpp, input_in_tiles_pays; same RECUR_ISA as the worker).
const char* input_projection_for(const Config& c) {
  recur::ops::RecurrentConfig config;
  config.kind = c.cell == bench::Cell::kLstm ? recur::ops::CellKind::kLstm
                                             : recur::ops::CellKind::kGru;
  config.reset_after = c.cell == bench::Cell::kGru;
  config.return_sequences = true;
  const recur::ops::RecurrentKernel path =
      recur::ops::select_kernel<float>(config, recur::ops::active_isa());
  if (path == recur::ops::RecurrentKernel::kPortable) return "the portable kernel";
  const recur::ops::RecurrentDims dims{c.batch, c.timesteps, c.features, c.units};
  const bool in_tiles = c.cell == bench::Cell::kLstm
                            ? recur::ops::detail::fused_lstm_input_in_tiles(path, dims)
                            : recur::ops::detail::fused_gru_input_in_tiles(path, config, dims);
  return in_tiles ? "inside the timestep tiles" : "one gemm before the time loop";
}

std::string setup_cmd(const Config& c) {
  return std::string("setup ") + bench::cell_name(c.cell) + " " + std::to_string(c.batch) + " " +
         std::to_string(c.timesteps) + " " + std::to_string(c.features) + " " +
         std::to_string(c.units);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--worker") {
    RecurWorker w;
    return bench::serve(w);
  }
  CLI::App app{"recur-bench: one LSTM or GRU layer in recur and its peers, side by side"};
  std::string configs = "0,1,2,3", out_dir = ".", threads = "2", cell_arg = "lstm";
  int reps = 7;
  double min_time = 0.05;
  bool sweep = false, torch_default = false, no_main = false;
  std::vector<std::string> cell_names;
  for (const auto& e : bench::kCells) cell_names.push_back(e.name);
  cell_names.push_back("all");
  app.add_option("--cell", cell_arg,
                 "Layer to time: lstm, gru (Keras GRU, reset_after=True), gru_v1 "
                 "(reset_after=False) or all, one after the other")
      ->check(CLI::IsMember(cell_names));
  app.add_option("--configs", configs, "Which of the four issue-5 configurations (0-3)");
  app.add_option("--reps", reps, "Timed repetitions per implementation and mode")
      ->check(CLI::PositiveNumber);
  app.add_option("--min-time", min_time, "Seconds each repetition runs at least (calls averaged)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--threads", threads, "Threads for every implementation and both peaks")
      ->check(CLI::PositiveNumber);
  app.add_option("--settle", g_settle_seconds,
                 "Seconds of pause before each timed repetition (lets the last worker's idle "
                 "threads stop spinning)")
      ->check(CLI::Range(0.0, 10.0));
  app.add_flag("--sweep", sweep, "Also sweep timesteps 10..1000 and units 16..2048");
  app.add_flag("--no-main", no_main, "Skip the four configurations (with --sweep)");
  app.add_flag("--torch-default", torch_default,
               "Also time libtorch at its default threads (2 OpenMP + 2 OpenBLAS)");
  app.add_option("--out", out_dir, "Folder for sweep.csv and the sweep plots");
  CLI11_PARSE(app, argc, argv);

  std::vector<bench::Cell> cells;
  if (cell_arg == "all")
    for (const auto& e : bench::kCells) cells.push_back(e.cell);
  else {
    bench::Cell c;
    bench::parse_cell(cell_arg, c);  // checked by IsMember
    cells.push_back(c);
  }
  const Config all[] = {{32, 100, 32, 64}, {64, 100, 128, 256}, {64, 50, 512, 512},
                        {16, 200, 1024, 1024}};
  const auto specs = available_peers(threads, torch_default);
  try {
    std::filesystem::create_directories(out_dir);
    // The FMA peak first, in this process, before any worker's threads exist.
    const bool avx512 = recur::ops::detected_isa() == recur::ops::Isa::kAvx512;
    const bench::FmaPeak fma =
        bench::measure_fma_peak(avx512, static_cast<std::size_t>(std::stoul(threads)));
    double peak = 0;
    std::string blas_core;
    {
      Peer recur_peer(specs[0].name, specs[0].path, specs[0].args, specs[0].env);
      peak = std::stod(recur_peer.ask("peak"));
      blas_core = recur_peer.ask("blas");
    }
    const char* core = std::getenv("OPENBLAS_CORETYPE");
    std::printf("# recur-bench\n\ncpu: %s; threads %s\n", cpu_description().c_str(),
                threads.c_str());
    std::printf("recur isa: %s; implementations:",
                recur::ops::isa_name(recur::ops::active_isa()).c_str());
    for (const auto& s : specs) std::printf(" %s", s.name.c_str());
    std::printf("\nrecurrent kernel:");
    for (std::size_t i = 0; i < cells.size(); ++i)
      std::printf("%s %s %s", i ? ";" : "", bench::cell_name(cells[i]), kernel_for(cells[i]));
    std::printf("\nOpenBLAS core in recur's worker: %s (%s)\n", blas_core.c_str(),
                core     ? (std::string("OPENBLAS_CORETYPE=") + core).c_str()
                : avx512 ? "OPENBLAS_CORETYPE=SkylakeX"
                         : "OpenBLAS's own core choice");
    std::printf("measured OpenBLAS sgemm 2048^3 peak (%s threads): %.1f GFLOP/s\n",
                threads.c_str(), peak);
    if (fma.isa.empty())
      std::printf("measured FMA peak: none (no AVX2 + FMA on this CPU)\n");
    else
      std::printf("measured FMA peak (%s threads, %s, %zu independent FMA chains per thread): "
                  "%.1f GFLOP/s; sgemm reaches %.0f%% of it\n",
                  threads.c_str(), fma.isa.c_str(), fma.chains, fma.gflops,
                  100 * peak / fma.gflops);
    std::printf("reps %d (median and min over reps; each rep runs >= %.3f s and averages)\n",
                reps, min_time);
    std::fflush(stdout);

    std::ofstream csv;
    if (sweep) {
      csv.open(out_dir + "/sweep.csv");
      csv << "sweep,batch,timesteps,features,units,mode,impl,median_ms,min_ms,gflops,cell\n";
    }
    for (const bench::Cell cell : cells) {
      std::vector<PeerSpec> cell_specs;
      std::printf("\n## %s\n", bench::cell_entry(cell).title);
      for (const auto& s : specs) {
        if (const char* why = skip_reason(s, cell))
          std::printf("\n%s skipped: %s\n", s.name.c_str(), why);
        else
          cell_specs.push_back(s);
      }
      std::fflush(stdout);

      auto start_all = [&](const Config& c) {
        std::vector<std::unique_ptr<Peer>> ps;
        for (const auto& s : cell_specs) {
          ps.push_back(std::make_unique<Peer>(s.name, s.path, s.args, s.env));
          ps.back()->ask(setup_cmd(c));
        }
        return ps;
      };
      auto rows_for = [&](const Config& c, Mode m, const std::vector<Peer*>& ws,
                          const std::vector<Stat>& st, std::vector<Row>& rows) {
        for (std::size_t i = 0; i < ws.size(); ++i) {
          Row r{cfg_name(c), mode_name(m), ws[i]->name(), st[i]};
          r.gflops = flops(c, m) / st[i].median / 1e9;
          r.pct_peak = 100 * r.gflops / peak;
          r.pct_fma = fma.gflops > 0 ? 100 * r.gflops / fma.gflops : 0;
          r.vs_recur = st[i].median / st[0].median;
          rows.push_back(r);
        }
      };

      if (!no_main) {
        std::vector<Row> rows;
        std::vector<std::pair<std::string, std::vector<std::pair<std::string, double>>>> mem;
        std::stringstream ss(configs);
        std::string item;
        while (std::getline(ss, item, ',')) {
          const int idx = std::stoi(item);
          if (idx < 0 || idx > 3) throw std::runtime_error("--configs takes 0..3, got " + item);
          Config c = all[idx];
          c.cell = cell;
          auto ps = start_all(c);
          const auto ws = check_agreement(ps, c, out_dir);
          for (Mode m : {Mode::kForward, Mode::kForwardTraining, Mode::kBackward,
                         Mode::kForwardBackward})
            rows_for(c, m, ws, time_mode(ws, m, reps, min_time), rows);
          // The thread counts recur's kernels learned on this shape (src/ops/thread_pool.hpp).
          if (!ws.empty() && ws[0]->name() == "recur") {
            std::string choices = ws[0]->ask("threads");
            for (std::size_t at; (at = choices.find("; ")) != std::string::npos;) choices.replace(at, 2, "\n  ");
            std::printf("\nrecur's thread choices after %s:\n  %s\n", cfg_name(c).c_str(), choices.c_str());
            std::printf("recur's input projection on %s: %s\n", cfg_name(c).c_str(),
                        input_projection_for(c));
            std::fflush(stdout);
          }
          ps.clear();
          // Peak memory of a training step, each in a fresh worker.
          std::vector<std::pair<std::string, double>> m;
          for (const auto& s : cell_specs) {
            Peer p(s.name, s.path, s.args, s.env);
            p.ask(setup_cmd(c));
            p.ask("time fwdbwd 0");
            m.emplace_back(s.name, std::stod(p.ask("mem")) / (1 << 20));
          }
          mem.emplace_back(cfg_name(c), m);
        }
        // Streaming: batch 1, features 8, units 32, one step per call.
        {
          Config sc{1, 1, 8, 32};
          sc.cell = cell;
          std::vector<std::unique_ptr<Peer>> ps;
          std::vector<Peer*> ws;
          for (const auto& s : cell_specs) {
            ps.push_back(std::make_unique<Peer>(s.name, s.path, s.args, s.env));
            try {
              ps.back()->ask(std::string("stream ") + bench::cell_name(cell) + " 8 32");
              ws.push_back(ps.back().get());
            } catch (const std::exception&) {
            }
          }
          rows_for(sc, Mode::kStream, ws, time_mode(ws, Mode::kStream, reps, min_time), rows);
        }
        print_rows(rows);
        std::printf("\npeak RSS growth of one training step (MiB; setup + fwd + bwd, data excluded)\n\n");
        std::printf("| config | impl | MiB |\n|---|---|---|\n");
        for (const auto& [cfg, m] : mem)
          for (const auto& [name, mib] : m)
            std::printf("| %s | %s | %.1f |\n", cfg.c_str(), name.c_str(), mib);
        std::fflush(stdout);
      }

      if (sweep) {
        struct Sweep {
          const char* name;
          std::vector<Config> cfgs;
          std::vector<double> xs;
        };
        Sweep by_t{"timesteps", {}, {}}, by_u{"units", {}, {}};
        for (std::size_t t : {10, 30, 100, 300, 1000}) {
          by_t.cfgs.push_back({32, t, 64, 256, cell});
          by_t.xs.push_back(double(t));
        }
        for (std::size_t u : {16, 32, 64, 128, 256, 512, 1024, 2048}) {
          by_u.cfgs.push_back({32, 50, 64, u, cell});
          by_u.xs.push_back(double(u));
        }
        for (const Sweep* sw : {&by_t, &by_u}) {
          std::map<std::string, std::vector<double>> lines;
          std::vector<Row> rows;
          for (const auto& c : sw->cfgs) {
            auto ps = start_all(c);
            std::vector<Peer*> ws;
            for (auto& p : ps) ws.push_back(p.get());
            for (Mode m : {Mode::kForward, Mode::kForwardBackward}) {
              const auto st = time_mode(ws, m, std::max(3, reps / 2), min_time);
              rows_for(c, m, ws, st, rows);
              for (std::size_t i = 0; i < ws.size(); ++i) {
                csv << sw->name << "," << c.batch << "," << c.timesteps << "," << c.features
                    << "," << c.units << "," << mode_name(m) << "," << ws[i]->name() << ","
                    << st[i].median * 1e3 << "," << st[i].min * 1e3 << ","
                    << flops(c, m) / st[i].median / 1e9 << "," << bench::cell_name(cell) << "\n";
                if (m == Mode::kForwardBackward)
                  lines[ws[i]->name()].push_back(st[i].median * 1e3);
              }
            }
          }
          std::printf("\nsweep over %s (B 32, F 64, %s)\n", sw->name,
                      sw == &by_t ? "U 256" : "T 50");
          print_rows(rows);
          // The LSTM plots keep their names (sweep_timesteps.svg); the GRU ones are prefixed.
          const std::string prefix =
              cell == bench::Cell::kLstm ? "" : std::string(bench::cell_name(cell)) + "_";
          const std::string svg = out_dir + "/sweep_" + prefix + sw->name + ".svg";
          write_sweep_svg(svg,
                          std::string(bench::cell_entry(cell).title) +
                              " training step (fwd+bwd) vs " + sw->name +
                              (sw == &by_t ? " (B 32, F 64, U 256)" : " (B 32, T 50, F 64)"),
                          sw->name, sw->xs, lines);
          std::printf("\nplot: %s\n", svg.c_str());
        }
      }
    }
    if (sweep) std::printf("table: %s/sweep.csv\n", out_dir.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recur-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
