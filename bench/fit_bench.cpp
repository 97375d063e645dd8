// recur-fit-bench: whole fit() epochs of two models, in samples per second (issue 14, item 6).
// Its PyTorch counterpart is bench/fit_bench_torch.py; scripts/bench_fit.sh runs both and prints
// the comparison (BENCHMARKS.md, "Training end to end").
//
// Models (same shapes, batch sizes and data generators as the torch script):
//   padded     Embedding(10000, 64, mask_zero) -> Bidirectional(LSTM(64)) -> Dense(1, sigmoid),
//              binary_crossentropy, Adam; 4096 sequences of 20..100 token ids pre-padded to 100
//              (Keras's pad_sequences default), batch 64.
//   forecast   `recur forecast`'s model with its defaults: LSTM(32) -> Dense(1) (horizon 1),
//              windows of lookback 12 x 1 channel, mse, Adam; 4096 windows of a synthetic
//              seasonal series, batch 128 (the CLI's rule: clamp(windows / 16, 8, 128)).
//   forecast-air  the same model at the size of the bundled airline job: 96 windows, batch 8.
// Shuffling on, no validation, no metrics. One untimed warm-up epoch, then --epochs timed ones;
// the time of an epoch is the wall time between two on_epoch_end calls.
//
// --profile also times the parts of a training step through the public API (Model::forward,
// Model::backward, Optimizer::step on the same batches) and compares their sum with fit's time
// per batch; the rest is fit's own work (batch gathering, loss, checks).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <recur/ops/cpu.hpp>
#include <recur/recur.hpp>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name = "?", family, model;
  while (std::getline(in, line)) {
    auto value = [&] { return line.substr(line.find(':') + 2); };
    if (line.rfind("model name", 0) == 0 && name == "?") name = value();
    else if (line.rfind("cpu family", 0) == 0 && family.empty()) family = value();
    else if (line.rfind("model\t", 0) == 0 && model.empty()) model = value();
  }
  return name + " (family " + family + ", model " + model + ")";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Job {
  std::string name;
  recur::Sequential model;
  recur::Tensor x, y;
  int batch = 0;
  int epochs = 0;  // timed
  bool bce = false;  // loss for --profile's gradient: binary crossentropy, else mse
};

// Token sequences of 20..100 ids in [1, vocab), pre-padded with 0 to maxlen. Label: more small
// ids (< vocab / 2) than large ones.
Job padded_job(std::size_t samples, std::uint64_t seed) {
  const std::size_t vocab = 10000, maxlen = 100;
  recur::Rng rng(seed);
  std::vector<std::vector<float>> tokens(samples);
  std::vector<float> labels(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    const std::size_t len = 20 + rng.below(maxlen - 20 + 1);
    int balance = 0;
    for (std::size_t t = 0; t < len; ++t) {
      const auto id = 1 + rng.below(vocab - 1);
      balance += id < vocab / 2 ? 1 : -1;
      tokens[i].push_back(static_cast<float>(id));
    }
    labels[i] = balance > 0 ? 1.0f : 0.0f;
  }
  Job j;
  j.name = "padded";
  j.x = recur::pad_sequences(tokens, recur::PadOptions().maxlen(maxlen)).x;  // (samples, 100)
  j.y = recur::Tensor({samples}, labels);
  j.model.add(recur::Embedding(recur::EmbeddingOptions(vocab, 64).mask_zero(true)));
  j.model.add(recur::Bidirectional(recur::LSTM(recur::LstmOptions(64))));
  j.model.add(recur::Dense(1, "sigmoid"));
  j.model.build({maxlen}, seed);
  j.model.compile("adam", "binary_crossentropy");
  j.batch = 64;
  j.bce = true;
  return j;
}

// Windows (lookback 12, 1 channel) of a scaled seasonal series with noise; target: next value.
Job forecast_job(const std::string& name, std::size_t windows, std::uint64_t seed) {
  const std::size_t lookback = 12;
  recur::Rng rng(seed);
  std::vector<float> s(windows + lookback);
  for (std::size_t t = 0; t < s.size(); ++t)
    s[t] = static_cast<float>(std::sin(2 * M_PI * static_cast<double>(t) / 12.0) + 0.2 * rng.normal());
  recur::Tensor x({windows, lookback, 1}), y({windows, 1});
  for (std::size_t i = 0; i < windows; ++i) {
    for (std::size_t k = 0; k < lookback; ++k) x.data()[i * lookback + k] = s[i + k];
    y.data()[i] = s[i + lookback];
  }
  Job j;
  j.name = name;
  j.x = std::move(x);
  j.y = std::move(y);
  j.model.add(recur::LSTM(recur::LstmOptions(32)));
  j.model.add(recur::Dense(1));
  j.model.build({lookback, 1}, seed);
  j.model.compile("adam", "mse");
  j.batch = static_cast<int>(std::clamp<std::size_t>(windows / 16, 8, 128));  // auto_batch_size
  return j;
}

// Times forward, backward and the optimizer step on the first `batches` batches (in order),
// after one untimed pass; prints the means per batch.
void profile(Job& j, int batches, double fit_seconds_per_batch) {
  const std::size_t n = j.x.dim(0), B = static_cast<std::size_t>(j.batch);
  const std::size_t row = j.x.size() / n, yrow = j.y.size() / n;
  double t_fwd = 0, t_bwd = 0, t_step = 0;
  int timed = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (int b = 0; b < batches; ++b) {
      const std::size_t begin = (static_cast<std::size_t>(b) * B) % n, rows = std::min(B, n - begin);
      recur::Shape xs = j.x.shape();
      xs[0] = rows;
      recur::Tensor xb(xs);
      std::copy_n(j.x.data() + begin * row, rows * row, xb.data());
      j.model.zero_grad();
      auto t0 = Clock::now();
      const recur::Tensor p = j.model.forward(xb, true);
      const double f = seconds_since(t0);
      recur::Tensor dy(p.shape());
      for (std::size_t i = 0; i < rows * yrow; ++i) {
        const float yi = j.y.data()[begin * yrow + i], pi = p.data()[i];
        if (j.bce) {
          const float q = std::clamp(pi, 1e-7f, 1.0f - 1e-7f);
          dy.data()[i] = (q - yi) / (q * (1.0f - q)) / static_cast<float>(rows);
        } else {
          dy.data()[i] = 2.0f * (pi - yi) / static_cast<float>(rows * yrow);
        }
      }
      t0 = Clock::now();
      j.model.backward(dy);
      const double g = seconds_since(t0);
      t0 = Clock::now();
      j.model.optimizer()->step(j.model.trainable_weights());
      const double s = seconds_since(t0);
      if (pass == 1) {
        t_fwd += f;
        t_bwd += g;
        t_step += s;
        ++timed;
      }
    }
  }
  const double ms = 1e3 / timed, sum = (t_fwd + t_bwd + t_step) * ms;
  std::printf("PROFILE model=%s batch=%d batches=%d forward_ms=%.3f backward_ms=%.3f step_ms=%.3f "
              "sum_ms=%.3f fit_ms_per_batch=%.3f other_ms=%.3f\n",
              j.name.c_str(), j.batch, timed, t_fwd * ms, t_bwd * ms, t_step * ms, sum,
              fit_seconds_per_batch * 1e3, fit_seconds_per_batch * 1e3 - sum);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"recur-fit-bench: whole fit() epochs in samples/s (see BENCHMARKS.md)"};
  std::vector<std::string> models{"padded", "forecast", "forecast-air"};
  int epochs = 0, profile_batches = 0;
  std::size_t threads = 0, samples = 4096;
  std::uint64_t seed = 1;
  app.add_option("--models", models, "padded, forecast, forecast-air")->delimiter(',')->capture_default_str();
  app.add_option("--epochs", epochs,
                 "Timed epochs after one warm-up (0: padded 3, forecast 10, forecast-air 50)")
      ->capture_default_str();
  app.add_option("--samples", samples, "Samples of padded and forecast")->capture_default_str();
  app.add_option("--threads", threads, "recur threads (0: its default, RECUR_NUM_THREADS or all cores)")
      ->capture_default_str();
  app.add_option("--profile", profile_batches,
                 "Also time forward / backward / optimizer step over this many batches (0: off)")
      ->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (threads > 0) recur::ops::set_num_threads(threads);
  std::printf("CPU %s\n", cpu_model().c_str());
  std::printf("recur threads %zu, isa %s\n", recur::ops::num_threads(),
              recur::ops::isa_name(recur::ops::active_isa()).c_str());

  for (const std::string& m : models) {
    Job j;
    if (m == "padded") {
      j = padded_job(samples, seed);
      j.epochs = 3;
    } else if (m == "forecast") {
      j = forecast_job(m, samples, seed);
      j.epochs = 10;
    } else if (m == "forecast-air") {
      j = forecast_job(m, 96, seed);
      j.epochs = 50;
    } else {
      std::fprintf(stderr, "unknown model %s\n", m.c_str());
      return 2;
    }
    if (epochs > 0) j.epochs = epochs;
    const std::size_t n = j.x.dim(0);
    const int batches = static_cast<int>((n + j.batch - 1) / j.batch);
    std::vector<double> times;
    auto last = Clock::now();
    j.model.fit(j.x, j.y,
                recur::FitOptions()
                    .epochs(j.epochs + 1)
                    .batch_size(j.batch)
                    .shuffle(true)
                    .seed(seed)
                    .on_epoch_end([&](const recur::EpochLogs& logs) {
                      const double s = seconds_since(last);
                      if (logs.epoch > 1) {
                        times.push_back(s);
                        std::printf("EPOCH model=%s epoch=%d seconds=%.4f samples_per_s=%.1f loss=%.4f\n",
                                    m.c_str(), logs.epoch - 1, s, n / s, logs.values.at("loss"));
                      }
                      std::fflush(stdout);
                      last = Clock::now();
                      return true;
                    }));
    const double med = median(times);
    std::printf("RESULT impl=recur model=%s samples=%zu batch=%d epochs=%d threads=%zu median_s=%.4f "
                "samples_per_s=%.1f\n",
                m.c_str(), n, j.batch, j.epochs, recur::ops::num_threads(), med, n / med);
    std::fflush(stdout);
    if (profile_batches > 0) profile(j, std::min(profile_batches, batches), med / batches);
  }
  return 0;
}
