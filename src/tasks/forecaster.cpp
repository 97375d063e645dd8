#include "recur/tasks/forecaster.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "recur/callbacks/callbacks.hpp"
#include "recur/core/error.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/lstm.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace recur::tasks {
namespace {

using json = nlohmann::json;

struct TransformName {
  SeriesTransform t;
  const char* name;
};
constexpr TransformName kTransforms[] = {
    {SeriesTransform::kNone, "none"},
    {SeriesTransform::kDiff, "diff"},
    {SeriesTransform::kLogDiff, "log-diff"},
    {SeriesTransform::kSeasonalDiff, "seasonal-diff"},
    {SeriesTransform::kLogSeasonalDiff, "log-seasonal-diff"},
    {SeriesTransform::kHoltWinters, "holt-winters"},
    {SeriesTransform::kLogHoltWinters, "log-holt-winters"},
};

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// Forecast paths are (origins, horizon) doubles; a horizon from a model file times the rows of a
// CSV must not become an allocation of any size.
constexpr double kMaxPathValues = 2e7;
void check_path_count(std::size_t origins, std::size_t horizon, const char* where) {
  const double values = static_cast<double>(origins) * static_cast<double>(horizon);
  if (values > kMaxPathValues)
    throw ValueError(std::string(where) + ": " + std::to_string(origins) + " origins x horizon " +
                         std::to_string(horizon) + " is more than the " + std::to_string(static_cast<long>(kMaxPathValues)) +
                         " forecast values recur computes at once. Forecast from fewer rows, or use a "
                         "model with a shorter horizon.",
                     codes::kValue);
}

// A number for a message: 6 significant digits (1e+300, not 301 digits).
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::unique_ptr<Layer> recurrent_layer(const std::string& layer, std::size_t units) {
  if (layer == "lstm") return std::make_unique<LSTM>(LstmOptions(units));
  if (layer == "gru") return std::make_unique<GRU>(GruOptions(units));
  if (layer == "simple_rnn") return std::make_unique<SimpleRNN>(SimpleRnnOptions(units));
  throw ValueError("layer must be lstm, gru or simple_rnn, got \"" + layer + "\".",
                   codes::kBadHyperparameter);
}

std::size_t gate_count(const std::string& layer) {
  return layer == "lstm" ? 4 : layer == "gru" ? 3 : 1;
}

Sequential build_model(const ForecasterConfig& c, std::size_t units, std::size_t channels,
                       std::size_t horizon, std::uint64_t seed, float learning_rate) {
  Sequential model("forecaster");
  model.add(recurrent_layer(c.layer, units));
  model.add(Dense(horizon));
  model.build({c.lookback, channels}, seed);
  auto adam = make_optimizer("adam", learning_rate);
  model.compile(std::move(adam), "mse", {});
  return model;
}

// Early stopping that always ends on the best epoch's weights (Keras restores them only when it
// stops training itself; a forecaster wants the best validation weights either way).
class BestWeights : public Callback {
 public:
  explicit BestWeights(int patience) : patience_(patience) {}
  void set_patience(int patience) { patience_ = patience; }
  bool on_epoch_end(TrainingTarget& model, const EpochLogs& logs) override {
    const auto it = logs.values.find("val_loss");
    if (it == logs.values.end()) return true;
    if (std::isfinite(it->second) && it->second < best_) {
      best_ = it->second;
      best_epoch_ = logs.epoch;
      weights_ = model.get_weights();
    }
    return logs.epoch - best_epoch_ < patience_;
  }
  void on_train_end(TrainingTarget& model) override {
    if (!weights_.empty()) model.set_weights(weights_);
  }
  int best_epoch() const { return best_epoch_; }

 private:
  int patience_;
  double best_ = std::numeric_limits<double>::infinity();
  int best_epoch_ = 0;
  std::vector<Tensor> weights_;
};

// Folds N trained members (each recurrent(U) -> Dense(H)) into one model recurrent(N*U) ->
// Dense(H) whose output is their mean: member k owns units [kU, (k+1)U) of every gate block;
// its kernel, recurrent kernel and bias go to those columns (the recurrent kernel is
// block-diagonal, so the members never see each other's state), and the Dense kernel stacks the
// members' kernels divided by N with the mean bias. The averaging is exact up to float rounding.
Sequential merge_members(std::vector<Sequential>& members, const ForecasterConfig& c,
                         std::size_t channels, std::size_t horizon, float learning_rate) {
  const std::size_t n = members.size(), u = c.units, g = gate_count(c.layer);
  if (n == 1) return std::move(members[0]);
  Sequential merged = build_model(c, n * u, channels, horizon, 0, learning_rate);
  std::vector<Tensor> out = merged.get_weights();
  for (Tensor& w : out) std::fill(w.data(), w.data() + w.size(), 0.0f);
  const std::size_t nu = n * u, gn = g * nu;
  for (std::size_t k = 0; k < n; ++k) {
    const std::vector<Tensor> w = members[k].get_weights();
    // kernel (F, G*U), recurrent_kernel (U, G*U), bias (G*U) or (2, G*U), dense kernel (U, H),
    // dense bias (H).
    auto column = [&](std::size_t col) {  // member column -> merged column
      const std::size_t gate = col / u, j = col % u;
      return gate * nu + k * u + j;
    };
    for (std::size_t f = 0; f < channels; ++f)
      for (std::size_t col = 0; col < g * u; ++col) out[0][f * gn + column(col)] = w[0][f * g * u + col];
    for (std::size_t i = 0; i < u; ++i)
      for (std::size_t col = 0; col < g * u; ++col)
        out[1][(k * u + i) * gn + column(col)] = w[1][i * g * u + col];
    const std::size_t bias_rows = w[2].size() / (g * u);
    for (std::size_t r = 0; r < bias_rows; ++r)
      for (std::size_t col = 0; col < g * u; ++col) out[2][r * gn + column(col)] = w[2][r * g * u + col];
    for (std::size_t i = 0; i < u; ++i)
      for (std::size_t h = 0; h < horizon; ++h)
        out[3][(k * u + i) * horizon + h] = w[3][i * horizon + h] / static_cast<float>(n);
    for (std::size_t h = 0; h < horizon; ++h) out[4][h] += w[4][h] / static_cast<float>(n);
  }
  merged.set_weights(out);
  return merged;
}

// The split-conformal quantile: the ceil((n+1) level)-th smallest |residual|, or the largest
// when there are too few residuals for that rank.
double conformal_width(std::vector<double> abs_residuals, double level) {
  if (abs_residuals.empty()) return NAN;
  std::sort(abs_residuals.begin(), abs_residuals.end());
  const std::size_t n = abs_residuals.size();
  std::size_t k = static_cast<std::size_t>(std::ceil((static_cast<double>(n) + 1) * level));
  k = std::clamp<std::size_t>(k, 1, n);
  return abs_residuals[k - 1];
}

// Long series: at most kMaxWindows windows per epoch, every s-th origin (overlapping windows
// carry nearly the same information), so a 3,000-point series trains about as fast as a
// 1,000-point one.
constexpr std::size_t kMaxWindows = 512;
// Work per training, in window timesteps (windows x lookback x epochs, forward and backward):
// about 2 s of one core for LSTM(32). Long series get fewer epochs (each has many steps).
constexpr double kWorkPerTraining = 0.75e6;
int epoch_cap(int max_epochs, std::size_t windows, std::size_t lookback) {
  const double per_epoch = static_cast<double>(windows) * static_cast<double>(lookback);
  return std::clamp(static_cast<int>(kWorkPerTraining / per_epoch), std::min(max_epochs, 20), max_epochs);
}
std::size_t window_stride(std::size_t windows) { return (windows + kMaxWindows - 1) / kMaxWindows; }

int auto_batch_size(std::size_t windows) {
  return static_cast<int>(std::clamp<std::size_t>(windows / 16, 8, 128));
}

struct TrainedModel {
  Sequential model;
  int epochs_run = 0, best_epoch = 0;
  std::vector<double> loss, val_loss;
  bool interrupted = false;
};

}  // namespace

std::string transform_name(SeriesTransform t) {
  for (const auto& e : kTransforms)
    if (e.t == t) return e.name;
  return "?";
}

SeriesTransform parse_transform(const std::string& name) {
  std::string list;
  for (const auto& e : kTransforms) {
    if (name == e.name) return e.t;
    list += std::string(list.empty() ? "" : ", ") + e.name;
  }
  throw ValueError("unknown transform \"" + name + "\"; expected one of " + list + ".",
                   codes::kBadHyperparameter);
}

std::string transform_description(SeriesTransform t, std::size_t season_lag) {
  switch (t) {
    case SeriesTransform::kNone: return "levels";
    case SeriesTransform::kDiff: return "difference";
    case SeriesTransform::kLogDiff: return "log-difference";
    case SeriesTransform::kSeasonalDiff: return "seasonal difference (lag " + std::to_string(season_lag) + ")";
    case SeriesTransform::kLogSeasonalDiff: return "log seasonal difference (lag " + std::to_string(season_lag) + ")";
    case SeriesTransform::kHoltWinters:
      return "residual over Holt-Winters" + (season_lag > 1 ? " (season " + std::to_string(season_lag) + ")" : std::string());
    case SeriesTransform::kLogHoltWinters:
      return "log residual over Holt-Winters on the log series" +
             (season_lag > 1 ? " (season " + std::to_string(season_lag) + ")" : std::string());
  }
  return "?";
}

bool is_log(SeriesTransform t) {
  return t == SeriesTransform::kLogDiff || t == SeriesTransform::kLogSeasonalDiff ||
         t == SeriesTransform::kLogHoltWinters;
}
bool is_holt_winters(SeriesTransform t) {
  return t == SeriesTransform::kHoltWinters || t == SeriesTransform::kLogHoltWinters;
}
bool is_seasonal(SeriesTransform t) {
  return t == SeriesTransform::kSeasonalDiff || t == SeriesTransform::kLogSeasonalDiff;
}

std::string ForecasterConfig::describe() const {
  const char* kind = layer == "lstm" ? "LSTM" : layer == "gru" ? "GRU" : "SimpleRNN";
  std::ostringstream out;
  out << transform_name(transform);
  if (is_seasonal(transform) || (is_holt_winters(transform) && season_lag > 1)) out << ' ' << season_lag;
  out << ", lookback " << lookback << ", " << kind << '(' << units << ')';
  return out.str();
}

// ---- SeriesCoder ----

std::size_t SeriesCoder::first_input_row() const {
  if (config.transform == SeriesTransform::kNone) return 0;
  return is_seasonal(config.transform) ? config.season_lag : 1;
}

std::size_t SeriesCoder::first_origin() const { return first_input_row() + config.lookback - 1; }

double SeriesCoder::base(const CodedSeries& coded, std::size_t o, std::size_t h) const {
  switch (config.transform) {
    case SeriesTransform::kNone: return 0.0;
    case SeriesTransform::kDiff:
    case SeriesTransform::kLogDiff: return coded.z[o];
    case SeriesTransform::kHoltWinters:
    case SeriesTransform::kLogHoltWinters: return coded.hw_paths[o * horizon + h - 1];
    default: {
      const std::size_t m = config.season_lag;
      return coded.z[o + h - m * ceil_div(h, m)];
    }
  }
}

namespace {

// The columns with the log applied where chosen: z[c][r].
std::vector<std::vector<double>> logged(const SeriesCoder& coder, const SeriesData& data) {
  std::vector<std::vector<double>> z = data.columns;
  for (std::size_t c = 0; c < z.size(); ++c)
    if (coder.log[c])
      for (std::size_t r = 0; r < z[c].size(); ++r) {
        if (!(z[c][r] > 0))
          throw ValueError("the " + transform_name(coder.config.transform) + " transform needs values > 0, "
                           "but column \"" + data.names[c] + "\" has " + short_number(z[c][r]) +
                           " at data row " + std::to_string(r + 1) + ". Use a transform without log.",
                           codes::kValue);
        z[c][r] = std::log(z[c][r]);
      }
  return z;
}

// Channel value of column c at row r (r >= first_input_row), unscaled.
double channel_value(const SeriesCoder& coder, const std::vector<std::vector<double>>& z,
                     const std::vector<double>& hw_one_step, std::size_t c, std::size_t r) {
  const SeriesTransform t = coder.config.transform;
  if (t == SeriesTransform::kNone) return z[c][r];
  if (c == 0 && is_seasonal(t)) return z[0][r] - z[0][r - coder.config.season_lag];
  if (c == 0 && is_holt_winters(t)) return z[0][r] - hw_one_step[r];
  return z[c][r] - z[c][r - 1];
}

// Holt-Winters one-step forecasts and paths from every origin of z under fixed parameters.
void holt_winters_cache(const SeriesCoder& coder, const std::vector<double>& z, CodedSeries* out) {
  check_path_count(z.size(), coder.horizon, "the Holt-Winters base");
  out->hw_one_step = holt_winters_one_step(coder.hw, z);
  std::vector<std::size_t> origins(z.size());
  std::iota(origins.begin(), origins.end(), 0);
  const ForecastPaths p = holt_winters_forecast(coder.hw, z, origins, coder.horizon);
  out->hw_paths.clear();
  out->hw_paths.reserve(z.size() * coder.horizon);
  for (const auto& row : p.values) out->hw_paths.insert(out->hw_paths.end(), row.begin(), row.end());
}

}  // namespace

void SeriesCoder::fit(const SeriesData& data, std::size_t fit_end) {
  const std::size_t channels = data.columns.size();
  log.assign(channels, false);
  if (is_log(config.transform)) {
    log[0] = true;
    for (std::size_t c = 1; c < channels; ++c) {
      bool positive = true;
      for (double v : data.columns[c]) positive = positive && v > 0;
      log[c] = positive;
    }
  }
  const std::size_t o0 = first_origin();
  if (fit_end < o0 + horizon + 2)
    throw ValueError("the training part (" + std::to_string(fit_end) + " rows before validation) "
                     "is too short for lookback " + std::to_string(config.lookback) + " and horizon " +
                     std::to_string(horizon) + ": it needs at least " + std::to_string(o0 + horizon + 2) +
                     " rows. Use a shorter lookback or horizon, or a longer series.",
                     codes::kBadHyperparameter);
  const auto z = logged(*this, data);
  CodedSeries hw_cache;
  if (uses_holt_winters()) {
    hw = fit_holt_winters(z[0], fit_end, is_holt_winters(config.transform) ? config.season_lag : combine_season).params;
    holt_winters_cache(*this, z[0], &hw_cache);
  }
  input_scaler = Scaler{ScalerKind::kStandard, {}, {}};
  for (std::size_t c = 0; c < channels; ++c) {
    std::vector<double> u;
    for (std::size_t r = first_input_row(); r < fit_end; ++r)
      u.push_back(channel_value(*this, z, hw_cache.hw_one_step, c, r));
    input_scaler.fit_column(u, u.size());
  }
  target_scaler = Scaler{ScalerKind::kStandard, {}, {}};
  hw_cache.z = z[0];
  for (std::size_t h = 1; h <= horizon; ++h) {
    std::vector<double> u;
    for (std::size_t o = o0; o + horizon < fit_end; ++o) u.push_back(z[0][o + h] - base(hw_cache, o, h));
    target_scaler.fit_column(u, u.size());
  }
}

CodedSeries SeriesCoder::encode(const SeriesData& data) const {
  const auto z = logged(*this, data);
  CodedSeries out;
  out.z = z[0];
  if (uses_holt_winters()) holt_winters_cache(*this, z[0], &out);
  const std::size_t n = data.rows(), channels = z.size();
  out.inputs = Tensor({n, channels});
  for (std::size_t r = first_input_row(); r < n; ++r)
    for (std::size_t c = 0; c < channels; ++c)
      out.inputs[r * channels + c] =
          to_float32(input_scaler.transform(channel_value(*this, z, out.hw_one_step, c, r), c), "a scaled input value");
  return out;
}

void SeriesCoder::windows(const CodedSeries& coded, std::size_t begin, std::size_t end,
                          bool with_targets, Tensor* x, Tensor* y, std::size_t stride) const {
  // x: (S, L, C) from inputs (N, C); y: (S, H)
  const Tensor& inputs = coded.inputs;
  stride = std::max<std::size_t>(stride, 1);
  const std::size_t s = (end - begin + stride - 1) / stride, lb = config.lookback, channels = inputs.dim(1);
  begin = end - 1 - (s - 1) * stride;  // the latest origin is always end - 1
  *x = Tensor({s, lb, channels});
  for (std::size_t i = 0; i < s; ++i) {
    const std::size_t o = begin + i * stride;
    std::copy_n(inputs.data() + (o + 1 - lb) * channels, lb * channels, x->data() + i * lb * channels);
  }
  if (!with_targets) return;
  *y = Tensor({s, horizon});
  for (std::size_t i = 0; i < s; ++i)
    for (std::size_t h = 1; h <= horizon; ++h) {
      const std::size_t o = begin + i * stride;
      (*y)[i * horizon + h - 1] =
          to_float32(target_scaler.transform(coded.z[o + h] - base(coded, o, h), h - 1), "a scaled target value");
    }
}

// ---- training, search, ensemble ----

namespace {

struct Context {
  const SeriesData& data;
  std::size_t fit_end, train_end;
  const ForecasterOptions& o;
  bool stop = false;
};

TrainedModel train_one_fresh(Context& ctx, const SeriesCoder& coder, std::uint64_t seed) {
  const std::size_t channels = ctx.data.columns.size(), h = coder.horizon;
  const CodedSeries coded = coder.encode(ctx.data);
  Tensor x, y, vx, vy;
  // Training windows: every target before the validation segment; validation windows: origins
  // from the last training row, every target inside the validation segment.
  coder.windows(coded, coder.first_origin(), ctx.fit_end - h, true, &x, &y,
                window_stride(ctx.fit_end - h - coder.first_origin()));
  coder.windows(coded, ctx.fit_end - 1, ctx.train_end - h, true, &vx, &vy,
                window_stride(ctx.train_end - h - ctx.fit_end + 1));
  TrainedModel t;
  t.model = build_model(coder.config, coder.config.units, channels, h, seed, ctx.o.learning_rate);
  auto best = std::make_shared<BestWeights>(ctx.o.patience);
  const int batch = ctx.o.batch_size > 0 ? ctx.o.batch_size : auto_batch_size(x.dim(0));
  const int epochs = epoch_cap(ctx.o.max_epochs, x.dim(0), coder.config.lookback);
  best->set_patience(std::min(ctx.o.patience, std::max(5, epochs / 8)));
  bool interrupted = false;
  const History hist = t.model.fit(
      x, y,
      FitOptions()
          .epochs(epochs)
          .batch_size(batch)
          .shuffle(true)
          .seed(seed)
          .validation_data(vx, vy)
          .callbacks({best})
          .on_epoch_end([&](const EpochLogs& logs) {
            if (ctx.o.on_epoch_end && !ctx.o.on_epoch_end(logs)) {
              interrupted = true;
              return false;
            }
            return true;
          }));
  t.epochs_run = static_cast<int>(hist.epochs());
  t.best_epoch = best->best_epoch();
  t.loss = hist.history.at("loss");
  if (hist.history.count("val_loss")) t.val_loss = hist.history.at("val_loss");
  t.interrupted = interrupted;
  return t;
}

// The refit: the same configuration and seed trained on every window of the training part
// (validation segment included) for a fixed number of epochs, the member's best epoch.
TrainedModel train_fixed_fresh(Context& ctx, const SeriesCoder& coder, std::uint64_t seed, int epochs) {
  const std::size_t channels = ctx.data.columns.size(), h = coder.horizon;
  const CodedSeries coded = coder.encode(ctx.data);
  Tensor x, y;
  coder.windows(coded, coder.first_origin(), ctx.train_end - h, true, &x, &y,
                window_stride(ctx.train_end - h - coder.first_origin()));
  TrainedModel t;
  t.model = build_model(coder.config, coder.config.units, channels, h, seed, ctx.o.learning_rate);
  const int batch = ctx.o.batch_size > 0 ? ctx.o.batch_size : auto_batch_size(x.dim(0));
  const History hist = t.model.fit(x, y,
                                   FitOptions()
                                       .epochs(std::max(epochs, 1))
                                       .batch_size(batch)
                                       .shuffle(true)
                                       .seed(seed)
                                       .on_epoch_end([&](const EpochLogs& logs) {
                                         if (ctx.o.on_epoch_end && !ctx.o.on_epoch_end(logs)) {
                                           t.interrupted = true;
                                           return false;
                                         }
                                         return true;
                                       }));
  t.epochs_run = static_cast<int>(hist.epochs());
  t.best_epoch = t.epochs_run;
  return t;
}

// ---- the training journal (ForecasterOptions::checkpoint_dir) ----

// Identifies the data: a CRC of every value, hex.
std::string data_fingerprint(const SeriesData& data) {
  std::string bytes;
  for (const auto& column : data.columns)
    bytes.append(reinterpret_cast<const char*>(column.data()), column.size() * sizeof(double));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x-%zu", crc32(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()),
                bytes.size());
  return buf;
}

// A finished training from the journal when there is one for `key`, else `train()`, stored in
// the journal when it ran to its end (an interrupted training is redone on resume). Trainings are
// pure functions of data, configuration and seed, so a resumed run makes the same decisions and
// ends with bit-identical models.
TrainedModel journaled(Context& ctx, const SeriesCoder& coder, const std::string& what,
                       const std::function<TrainedModel()>& train) {
  if (ctx.o.checkpoint_dir.empty()) return train();
  std::uint32_t lr_bits = 0;
  std::memcpy(&lr_bits, &ctx.o.learning_rate, sizeof lr_bits);
  const std::size_t channels = ctx.data.columns.size(), h = coder.horizon;
  const std::string key = what + "|rows " + std::to_string(ctx.fit_end) + "/" + std::to_string(ctx.train_end) +
                          "|data " + data_fingerprint(ctx.data) + "|channels " + std::to_string(channels) +
                          "|horizon " + std::to_string(h) + "|epochs " + std::to_string(ctx.o.max_epochs) +
                          "|patience " + std::to_string(ctx.o.patience) + "|batch " + std::to_string(ctx.o.batch_size) +
                          "|lr bits " + std::to_string(lr_bits) + "|layer " + ctx.o.layer;
  char name[48];
  std::snprintf(name, sizeof name, "training-%08x%08x.recur",
                crc32(reinterpret_cast<const unsigned char*>(key.data()), key.size()),
                crc32(reinterpret_cast<const unsigned char*>(key.data()), key.size() / 2));
  const std::string path = ctx.o.checkpoint_dir + "/" + name;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    // An entry is untrusted like any model file, and checked against what this training would
    // make; a damaged or foreign one is removed and the training done again.
    try {
      std::string meta_text;
      TrainedModel t;
      t.model = Sequential::load(path, &meta_text);
      const auto meta = nlohmann::json::parse(meta_text);
      if (meta.at("key").get<std::string>() == key) {
        t.epochs_run = meta.at("epochs_run").get<int>();
        t.best_epoch = meta.at("best_epoch").get<int>();
        t.loss = meta.at("loss").get<std::vector<double>>();
        t.val_loss = meta.at("val_loss").get<std::vector<double>>();
        const bool fits = t.model.input_shape() == Shape{coder.config.lookback, channels} &&
                          t.model.output_shape() == Shape{h} && t.epochs_run >= 1 &&
                          t.epochs_run <= std::max(ctx.o.max_epochs, 1) && t.best_epoch >= 0 &&
                          t.best_epoch <= t.epochs_run && t.loss.size() == static_cast<std::size_t>(t.epochs_run) &&
                          (t.val_loss.empty() || t.val_loss.size() == t.loss.size());
        if (fits) return t;
      }
    } catch (const Error&) {
    } catch (const nlohmann::json::exception&) {
    }
    std::filesystem::remove(path, ec);
  }
  TrainedModel t = train();
  bool finite = true;
  for (double v : t.loss) finite = finite && std::isfinite(v);
  for (double v : t.val_loss) finite = finite && std::isfinite(v);
  if (!t.interrupted && finite)
    t.model.save(path, nlohmann::json{{"key", key}, {"epochs_run", t.epochs_run}, {"best_epoch", t.best_epoch},
                                      {"loss", t.loss}, {"val_loss", t.val_loss}}.dump());
  return t;
}

TrainedModel train_one(Context& ctx, const SeriesCoder& coder, std::uint64_t seed) {
  return journaled(ctx, coder, "early " + coder.config.describe() + "|seed " + std::to_string(seed),
                   [&] { return train_one_fresh(ctx, coder, seed); });
}

TrainedModel train_fixed(Context& ctx, const SeriesCoder& coder, std::uint64_t seed, int epochs) {
  return journaled(ctx, coder, "fixed " + coder.config.describe() + "|seed " + std::to_string(seed) + "|for " +
                            std::to_string(epochs),
                   [&] { return train_fixed_fresh(ctx, coder, seed, epochs); });
}

// Forecasts (in the model's z space) for origins [first, last], row-major (origins, H).
std::vector<double> z_paths(Sequential& model, const SeriesCoder& coder, const CodedSeries& coded,
                            std::size_t first, std::size_t last) {
  Tensor x, unused;
  coder.windows(coded, first, last + 1, false, &x, &unused);
  const Tensor out = model.predict(x, 256);
  const std::size_t h_max = coder.horizon;
  std::vector<double> paths((last + 1 - first) * h_max);
  for (std::size_t i = 0; i + first <= last; ++i)
    for (std::size_t h = 1; h <= h_max; ++h)
      paths[i * h_max + h - 1] =
          coder.base(coded, first + i, h) + coder.target_scaler.inverse(out[i * h_max + h - 1], h - 1);
  return paths;
}

// The combination with Holt-Winters (SeriesCoder::hw_weight) of a forecast zhat of z_{o+h}.
double combined(const SeriesCoder& coder, const CodedSeries& coded, double weight, double zhat, std::size_t o,
                std::size_t h) {
  if (weight == 0.0) return zhat;
  return (1 - weight) * zhat + weight * coded.hw_paths[o * coder.horizon + h - 1];
}

// A lookback must leave enough training windows before `fit_end`: a third of the rows after the
// first origin, and at least 8.
bool leaves_enough_windows(const SeriesCoder& c, std::size_t fit_end) {
  const std::size_t o0 = c.first_origin();
  if (o0 >= fit_end) return false;
  return o0 + c.horizon + std::max<std::size_t>(8, (fit_end - o0) / 3) <= fit_end;
}

double from_z(const SeriesCoder& c, double z) { return c.log[0] ? std::exp(z) : z; }

// Rolling-origin validation of the members' mean: every row t of [fit_end, train_end)
// forecast from origin t - h, h = 1..H, with the correction shrunk by `shrink` (zhat = base + shrink * (model - base); 1 is the model as trained, 0 its base alone).
// Returns the RMSE in the series' units; fills the residuals in z space per step when asked,
// and with `best_shrink` picks the shrink of kShrinkGrid with the lowest RMSE (ties: the largest).
// The forecast is combined with Holt-Winters by the coder's hw_weight; with `best_weight` (after
// the shrink) the weight of kWeightGrid with the lowest RMSE is picked instead, the first (equal
// weights) unless another wins by kWeightMargin.
constexpr double kShrinkGrid[] = {1.0, 0.75, 0.5, 0.25, 0.0};
constexpr double kWeightGrid[] = {0.5, 0.25, 0.75, 0.0, 1.0};
// Another weight must beat the equal-weight combination by this factor on validation: the model
// was stopped early on the same validation rows, so its score there is optimistic against
// Holt-Winters' (fitted before them), and simple equal weights are hard to beat out of sample
// (the "forecast combination puzzle", Smith & Wallis 2009; measured on the development series,
// README). Only a clear loss, such as a Holt-Winters model that misses a long season, moves it.
constexpr double kWeightMargin = 1.25;

double validate(const std::vector<Sequential*>& models, const SeriesCoder& coder, const SeriesData& data,
                std::size_t fit_end, std::size_t train_end,
                std::vector<std::vector<double>>* residuals = nullptr, double shrink = 1.0,
                double* best_shrink = nullptr, double* best_weight = nullptr) {
  const std::size_t h_max = coder.horizon, o0 = coder.first_origin();
  const std::size_t first = std::max(o0, fit_end > h_max ? fit_end - h_max : 0);
  // The members' mean in the model's space (what the merged ensemble outputs).
  const CodedSeries coded = coder.encode(data);
  std::vector<double> paths;
  for (Sequential* m : models) {
    const std::vector<double> p = z_paths(*m, coder, coded, first, train_end - 2);
    if (paths.empty()) paths.assign(p.size(), 0.0);
    for (std::size_t i = 0; i < p.size(); ++i) paths[i] += p[i] / static_cast<double>(models.size());
  }
  double weight = coder.hw_weight;
  auto rmse_at = [&](double lambda, std::vector<std::vector<double>>* res) {
    if (res) res->assign(h_max, {});
    double se = 0;
    std::size_t count = 0;
    for (std::size_t t = fit_end; t < train_end; ++t)
      for (std::size_t h = 1; h <= h_max; ++h) {
        if (t < h || t - h < first) continue;
        const double base = coder.base(coded, t - h, h);
        const double zhat = combined(coder, coded, weight, base + lambda * (paths[(t - h - first) * h_max + h - 1] - base),
                                     t - h, h);
        const double d = from_z(coder, zhat) - data.columns[0][t];
        se += d * d;
        ++count;
        if (res) (*res)[h - 1].push_back(coded.z[t] - zhat);
      }
    const double rmse = count ? std::sqrt(se / static_cast<double>(count)) : NAN;
    return std::isfinite(rmse) ? rmse : std::numeric_limits<double>::infinity();
  };
  if (best_shrink) {
    double best = std::numeric_limits<double>::infinity();
    for (double lambda : kShrinkGrid) {
      const double r = rmse_at(lambda, nullptr);
      if (r < best * (1 - 1e-9)) {
        best = r;
        shrink = lambda;
      }
    }
    *best_shrink = shrink;
  }
  if (best_weight) {
    double best = std::numeric_limits<double>::infinity();
    double chosen = weight;
    for (double w : kWeightGrid) {
      weight = w;
      const double r = rmse_at(shrink, nullptr) * (w == kWeightGrid[0] ? 1.0 : kWeightMargin);
      if (r < best * (1 - 1e-9)) {
        best = r;
        chosen = w;
      }
    }
    weight = *best_weight = chosen;
  }
  return rmse_at(shrink, residuals);
}

// Bakes a shrink into the model's Dense head: out' = shrink * out + (1 - shrink) * s0, where s0
// is the scaled value of a zero correction (the base itself), step by step.
void apply_shrink(Sequential& model, const SeriesCoder& coder, double shrink) {
  if (shrink == 1.0) return;
  std::vector<Tensor> w = model.get_weights();
  Tensor& kernel = w[w.size() - 2];
  Tensor& bias = w[w.size() - 1];
  for (std::size_t i = 0; i < kernel.size(); ++i) kernel[i] = static_cast<float>(shrink * kernel[i]);
  for (std::size_t h = 0; h < bias.size(); ++h) {
    const double s0 = coder.target_scaler.transform(0.0, h);
    bias[h] = static_cast<float>(shrink * bias[h] + (1 - shrink) * s0);
  }
  model.set_weights(w);
}

}  // namespace

Forecaster fit_forecaster(const SeriesData& data, std::size_t train_end, const ForecasterOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (data.columns.empty() || train_end > data.rows())
    throw ValueError("fit_forecaster: train_end " + std::to_string(train_end) + " is past the " +
                     std::to_string(data.rows()) + " rows of the series.", codes::kValue);
  if (o.horizon == 0)
    throw ValueError("the horizon must be >= 1 (1 forecasts the next step), got 0.", codes::kBadHyperparameter);
  // Squared errors, scalers and Holt-Winters states must stay finite in double precision.
  constexpr double kMaxMagnitude = 1e100;
  for (std::size_t c = 0; c < data.columns.size(); ++c)
    for (std::size_t r = 0; r < data.columns[c].size(); ++r)
      if (!(std::fabs(data.columns[c][r]) <= kMaxMagnitude))
        throw ValueError("column \"" + (c < data.names.size() ? data.names[c] : std::to_string(c)) +
                             "\" has " + short_number(data.columns[c][r]) + " at data row " +
                             std::to_string(r + 1) + ": values must be finite and at most 1e100 in "
                             "magnitude (their squares must stay finite). Rescale the column (e.g. "
                             "divide by 1e6, as a change of units).",
                         codes::kNonFiniteData);
  // Only the training part from here on: later rows are cut off so nothing can read them.
  SeriesData train;
  train.names = data.names;
  for (const auto& col : data.columns) train.columns.emplace_back(col.begin(), col.begin() + static_cast<long>(train_end));

  const std::size_t h = o.horizon;
  std::size_t v = o.validation_size;
  if (v == 0) v = std::max<std::size_t>(static_cast<std::size_t>(std::lround(0.2 * static_cast<double>(train_end))), 2 * h);
  v = std::max(v, h);
  if (v + 10 > train_end)
    throw ValueError("the training part has " + std::to_string(train_end) + " rows: too short for a "
                     "validation segment of " + std::to_string(v) + " rows (horizon " + std::to_string(h) +
                     ") and training windows. Use a longer series, a smaller --test-size or a "
                     "shorter --horizon.", codes::kBadHyperparameter);
  const std::size_t fit_end = train_end - v;
  Context ctx{train, fit_end, train_end, o};

  bool positive = true;
  for (double x : train.columns[0]) positive = positive && x > 0;
  for (std::size_t i = train_end; i < data.rows(); ++i) positive = positive && data.columns[0][i] > 0;

  // Candidates, most plausible first (the first of each is the --search off choice).
  std::vector<std::size_t> seasons;
  for (std::size_t m : o.seasons)
    if (m >= 2 && fit_end >= 2 * m + 8) seasons.push_back(m);
  const std::size_t m0 = seasons.empty() ? 1 : seasons[0];
  std::vector<ForecasterConfig> transforms;
  auto add_transform = [&](SeriesTransform t, std::size_t lag) {
    ForecasterConfig c;
    c.transform = t;
    c.season_lag = lag;
    c.layer = o.layer;
    transforms.push_back(c);
  };
  if (!o.transform.empty()) {
    const SeriesTransform t = parse_transform(o.transform);
    if (is_log(t) && !positive)
      throw ValueError("--transform " + o.transform + " needs a target > 0 everywhere; \"" +
                       data.names[0] + "\" has values <= 0. Use diff or seasonal-diff.",
                       codes::kBadHyperparameter);
    if (is_seasonal(t) && seasons.empty())
      throw ValueError("--transform " + o.transform + " needs a season that the training part "
                       "covers at least twice; none is known (give --season M).",
                       codes::kBadHyperparameter);
    add_transform(t, is_seasonal(t) || is_holt_winters(t) ? m0 : 0);
  } else {
    if (positive) add_transform(SeriesTransform::kLogDiff, 0);
    add_transform(SeriesTransform::kDiff, 0);
    for (std::size_t m : seasons) {
      if (positive) add_transform(SeriesTransform::kLogSeasonalDiff, m);
      add_transform(SeriesTransform::kSeasonalDiff, m);
    }
    if (positive) add_transform(SeriesTransform::kLogHoltWinters, m0);
    add_transform(SeriesTransform::kHoltWinters, m0);
    add_transform(SeriesTransform::kNone, 0);
  }
  // Lookbacks of 1 to 3 seasons, at most kMaxLookback steps (a longer season enters through
  // the seasonal difference or Holt-Winters instead).
  constexpr std::size_t kMaxLookback = 128;
  std::vector<std::size_t> lookbacks;
  if (o.lookback > 0) {
    lookbacks = {o.lookback};
  } else if (m0 >= 2 && m0 <= kMaxLookback) {
    for (std::size_t k = 1; k <= 3; ++k)
      if (k * m0 <= kMaxLookback || k == 1) lookbacks.push_back(k * m0);
  } else {
    lookbacks = {12, 6, 24};
  }
  std::vector<std::size_t> units = o.units > 0      ? std::vector<std::size_t>{o.units}
                                   : o.search_units ? std::vector<std::size_t>{32, 16, 64}
                                                    : std::vector<std::size_t>{32};
  if (!o.search) {
    transforms.resize(1);
    lookbacks.resize(1);
    units.resize(1);
  }
  auto feasible = [&](const ForecasterConfig& c) {
    SeriesCoder k;
    k.config = c;
    k.horizon = h;
    return leaves_enough_windows(k, fit_end);
  };

  Forecaster f;
  f.train_end = train_end;
  f.fit_end = fit_end;
  struct Done {
    SearchTrial trial;
    SeriesCoder coder;
    std::vector<TrainedModel> models;  // seeds seed, seed+1, ... (search_seeds of them)
  };
  std::deque<Done> done;  // a deque: pointers to finished trials stay valid as more are added
  const std::size_t search_seeds = o.search_seeds, search_folds = o.search_folds;
  auto run_trial = [&](ForecasterConfig c, const char* stage, std::size_t index, std::size_t count) -> Done* {
    for (auto& d : done)
      if (d.trial.config.describe() == c.describe()) return &d;
    if (!feasible(c) || ctx.stop) return nullptr;
    const auto t0 = std::chrono::steady_clock::now();
    Done d;
    d.coder.config = c;
    d.coder.horizon = h;
    d.coder.fit(train, fit_end);
    // Each configuration is scored by the mean of search_seeds models on search_folds validation
    // segments: one seed's luck, or one segment's, moves a validation RMSE by 10-25%, as much as
    // the differences the search must tell apart.
    std::vector<Sequential*> scored;
    // A long validation segment (200 rows or more) is a steady score already: one seed, one fold.
    const std::size_t seeds = train_end - fit_end >= 200 ? 1 : std::max<std::size_t>(search_seeds, 1);
    const std::size_t folds = train_end - fit_end >= 200 ? 1 : search_folds;
    for (std::size_t k = 0; k < seeds && !ctx.stop; ++k) {
      d.models.push_back(train_one(ctx, d.coder, o.seed + k));
      ctx.stop = ctx.stop || d.models.back().interrupted;
    }
    for (auto& m : d.models) scored.push_back(&m.model);
    d.trial.config = c;
    double shrink = 1.0;
    d.trial.validation_rmse = validate(scored, d.coder, train, fit_end, train_end, nullptr, 1.0,
                                       o.shrink ? &shrink : nullptr);
    d.trial.shrink = shrink;
    // Earlier folds: the same configuration trained on the rows before an earlier validation
    // segment of the same length and scored there (rolling origin over several segments); the
    // score is the root mean square of the folds' RMSEs.
    double sum_sq = d.trial.validation_rmse * d.trial.validation_rmse;
    std::size_t folds_scored = 1;
    const std::size_t v = train_end - fit_end;
    for (std::size_t fold = 1; fold < std::max<std::size_t>(folds, 1) && !ctx.stop; ++fold) {
      if (fit_end < fold * v) break;
      const std::size_t fe = fit_end - fold * v;
      SeriesCoder k = d.coder;
      if (!leaves_enough_windows(k, fe)) break;
      k.fit(train, fe);
      Context fold_ctx{train, fe, fe + v, o};
      TrainedModel m = train_one(fold_ctx, k, o.seed);
      ctx.stop = ctx.stop || m.interrupted;
      double unused = 1.0;
      const double r = validate({&m.model}, k, train, fe, fe + v, nullptr, 1.0, o.shrink ? &unused : nullptr);
      sum_sq += r * r;
      ++folds_scored;
    }
    d.trial.validation_rmse = std::sqrt(sum_sq / static_cast<double>(folds_scored));
    d.trial.folds = folds_scored;
    d.trial.epochs_run = d.models[0].epochs_run;
    d.trial.best_epoch = d.models[0].best_epoch;
    d.trial.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.on_trial) o.on_trial(stage, index, count, d.trial);
    done.push_back(std::move(d));
    return &done.back();
  };
  auto best_of = [&](const std::vector<ForecasterConfig>& cands, const char* stage) {
    Done* best = nullptr;
    std::size_t i = 0;
    // Levels ("none") carry no prior: an output of 0 is the training mean, where every other
    // form falls back to naive, seasonal naive or Holt-Winters. On a short validation segment a
    // lucky levels model wins by chance and then loses on new data, so it must win by 10%.
    auto score = [](const Done* d) {
      return d->trial.validation_rmse * (d->trial.config.transform == SeriesTransform::kNone ? 1.1 : 1.0);
    };
    for (const auto& c : cands) {
      Done* d = run_trial(c, stage, ++i, cands.size());
      if (d && (!best || score(d) < score(best))) best = d;
    }
    return best ? best->trial.config : cands[0];
  };

  // Staged search: transform (at the first lookback and size), then lookback, then size.
  ForecasterConfig chosen;
  {
    std::vector<ForecasterConfig> cands;
    for (auto c : transforms) {
      c.lookback = lookbacks[0];
      c.units = units[0];
      if (!feasible(c)) c.lookback = std::max<std::size_t>(2, lookbacks[0] / 2);
      cands.push_back(c);
    }
    chosen = best_of(cands, "transform");
  }
  // Then one field at a time, the others as chosen so far.
  auto vary = [&](const char* stage, std::size_t ForecasterConfig::*field, const std::vector<std::size_t>& values) {
    std::vector<ForecasterConfig> cands;
    for (std::size_t v : values) {
      auto c = chosen;
      c.*field = v;
      // The larger size costs about four times as much; on long windows of a long series it
      // is left out of the search (the default size is kept).
      if (field == &ForecasterConfig::units && v > 32 && std::min(kMaxWindows, fit_end) * c.lookback > 40000) continue;
      cands.push_back(c);
    }
    chosen = best_of(cands, stage);
  };
  vary("lookback", &ForecasterConfig::lookback, lookbacks);
  vary("size", &ForecasterConfig::units, units);
  Done* winner = nullptr;
  for (auto& d : done) {
    d.trial.chosen = d.trial.config.describe() == chosen.describe();
    if (d.trial.chosen) winner = &d;
    f.trials.push_back(d.trial);
  }
  if (!winner && o.lookback > 0)
    throw ValueError("--lookback " + std::to_string(o.lookback) + " is too long for the " + std::to_string(fit_end) +
                     " training rows before the validation segment (a window needs lookback + horizon "
                     "rows, and a third of the rows must be left as windows). Use a shorter --lookback "
                     "(0 lets the search choose one).", codes::kBadHyperparameter);
  if (!winner)
    throw ValueError("no configuration could be trained: the training part (" + std::to_string(train_end) +
                     " rows) is too short for the lookbacks tried. Give a shorter --lookback.",
                     codes::kBadHyperparameter);

  // The ensemble: the winner's model (seed) plus members from seeds seed+1, ...
  f.coder = winner->coder;
  std::vector<Sequential> members;
  f.loss_curve = winner->models[0].loss;
  f.validation_loss_curve = winner->models[0].val_loss;
  for (auto& m : winner->models) {
    if (members.size() >= std::max<std::size_t>(o.ensemble, 1)) break;
    f.member_epochs.push_back(m.best_epoch);
    f.member_validation_loss.push_back(m.val_loss);
    members.push_back(std::move(m.model));
  }
  for (std::size_t k = members.size(); k < std::max<std::size_t>(o.ensemble, 1) && !ctx.stop; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    TrainedModel t = train_one(ctx, f.coder, o.seed + k);
    if (t.interrupted) {
      ctx.stop = true;
      if (t.best_epoch == 0) break;
    }
    SearchTrial report;
    report.config = chosen;
    report.validation_rmse = validate({&t.model}, f.coder, train, fit_end, train_end);
    report.epochs_run = t.epochs_run;
    report.best_epoch = t.best_epoch;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.on_trial) o.on_trial("ensemble", k + 1, o.ensemble, report);
    f.member_epochs.push_back(t.best_epoch);
    f.member_validation_loss.push_back(t.val_loss);
    members.push_back(std::move(t.model));
  }
  f.members = members.size();
  f.interrupted = ctx.stop;
  f.model = merge_members(members, chosen, train.columns.size(), h, o.learning_rate);

  // The ensemble's correction shrunk toward its base where validation says the base alone
  // does better (on a near-random-walk series the model adds noise to naive), then the
  // interval widths from its validation residuals.
  if (o.shrink) validate({&f.model}, f.coder, train, fit_end, train_end, nullptr, 1.0, &f.shrink);
  apply_shrink(f.model, f.coder, f.shrink);
  // Then the combination with a Holt-Winters forecast of the same z, fitted on the same rows,
  // weighted as validation says.
  if (o.combine && !is_holt_winters(chosen.transform)) {
    f.coder.combine = true;
    f.coder.combine_season = m0;
    f.coder.fit(train, fit_end);
    validate({&f.model}, f.coder, train, fit_end, train_end, nullptr, 1.0, nullptr, &f.coder.hw_weight);
  }
  std::vector<std::vector<double>> residuals;
  f.validation_rmse = validate({&f.model}, f.coder, train, fit_end, train_end, &residuals);
  for (std::size_t s = 0; s < h; ++s) {
    std::vector<double> a;
    for (double r : residuals[s]) a.push_back(std::fabs(r));
    f.width80.push_back(conformal_width(a, 0.8));
    f.width95.push_back(conformal_width(a, 0.95));
  }

  // The refit on the whole training part: the validation rows are the most recent ones, the
  // ones that matter most. Each member keeps its seed and trains for its best epoch count; the
  // interval widths stay those measured above (the refit models have not seen fewer rows, so
  // their errors are no larger in expectation). An interrupted run keeps the models above.
  if (o.refit && !ctx.stop) {
    // The coder too is fitted again on the whole training part (scalers, Holt-Winters).
    SeriesCoder full = f.coder;
    full.fit(train, train_end);
    std::vector<Sequential> refit;
    for (std::size_t k = 0; k < f.members && !ctx.stop; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      TrainedModel t = train_fixed(ctx, full, o.seed + k, f.member_epochs[k]);
      if (t.interrupted) {
        ctx.stop = true;
        break;
      }
      SearchTrial report;
      report.config = chosen;
      report.validation_rmse = NAN;  // trained on the validation rows: no honest score
      report.epochs_run = t.epochs_run;
      report.best_epoch = t.best_epoch;
      report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (o.on_trial) o.on_trial("refit", k + 1, f.members, report);
      refit.push_back(std::move(t.model));
    }
    if (!ctx.stop) {
      f.model = merge_members(refit, chosen, train.columns.size(), h, o.learning_rate);
      apply_shrink(f.model, full, f.shrink);
      f.coder = full;
      f.refit = true;
    }
    f.interrupted = ctx.stop;
  }
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return f;
}

PathForecast predict_paths(Forecaster& f, const SeriesData& data, std::size_t first, std::size_t last) {
  const SeriesCoder& c = f.coder;
  if (data.columns.size() != c.log.size())
    throw ValueError("predict_paths: the data has " + std::to_string(data.columns.size()) +
                     " columns, the forecaster was trained on " + std::to_string(c.log.size()) + ".",
                     codes::kFeatureCount);
  if (data.rows() == 0 || last >= data.rows())
    throw ValueError("predict_paths: the last origin " + std::to_string(last) + " is past the " +
                     std::to_string(data.rows()) + " rows of the series.", codes::kValue);
  first = std::max(first, c.first_origin());
  PathForecast p;
  p.horizon = c.horizon;
  if (first > last) return p;
  check_path_count(last + 1 - first, c.horizon, "predict_paths");
  const CodedSeries coded = c.encode(data);
  std::vector<double> z = z_paths(f.model, c, coded, first, last);
  for (std::size_t i = 0; i < z.size(); ++i)
    z[i] = combined(c, coded, c.hw_weight, z[i], first + i / c.horizon, i % c.horizon + 1);
  for (std::size_t o = first; o <= last; ++o) p.origins.push_back(o);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const std::size_t s = i % c.horizon;
    p.mean.push_back(from_z(c, z[i]));
    p.lower80.push_back(from_z(c, z[i] - f.width80[s]));
    p.upper80.push_back(from_z(c, z[i] + f.width80[s]));
    p.lower95.push_back(from_z(c, z[i] - f.width95[s]));
    p.upper95.push_back(from_z(c, z[i] + f.width95[s]));
  }
  return p;
}

std::string forecaster_metadata(const Forecaster& f) {
  const SeriesCoder& c = f.coder;
  json trials = json::array();
  for (const auto& t : f.trials)
    trials.push_back({{"config", t.config.describe()}, {"validation_rmse", t.validation_rmse}, {"shrink", t.shrink},
                      {"best_epoch", t.best_epoch}, {"chosen", t.chosen}});
  json j = {{"transform", transform_name(c.config.transform)},
            {"season_lag", c.config.season_lag},
            {"lookback", c.config.lookback},
            {"units", c.config.units},
            {"layer", c.config.layer},
            {"horizon", c.horizon},
            {"log", c.log},
            {"input_offset", c.input_scaler.offset},
            {"input_scale", c.input_scaler.scale},
            {"target_offset", c.target_scaler.offset},
            {"target_scale", c.target_scaler.scale},
            {"hw", {{"trend", static_cast<int>(c.hw.trend)},
                    {"season_kind", static_cast<int>(c.hw.season_kind)},
                    {"season", c.hw.season},
                    {"alpha", c.hw.alpha},
                    {"beta", c.hw.beta},
                    {"gamma", c.hw.gamma},
                    {"phi", c.hw.phi},
                    {"level0", c.hw.level0},
                    {"trend0", c.hw.trend0},
                    {"season0", c.hw.season0}}},
            {"combine", c.combine},
            {"combine_season", c.combine_season},
            {"hw_weight", c.hw_weight},
            {"width80", f.width80},
            {"width95", f.width95},
            {"members", f.members},
            {"shrink", f.shrink},
            {"validation_rmse", f.validation_rmse},
            {"trials", trials}};
  return j.dump();
}

void forecaster_from_metadata(const std::string& text, Forecaster* f) {
  try {
    const json j = json::parse(text);
    SeriesCoder& c = f->coder;
    c.config.transform = parse_transform(j.at("transform").get<std::string>());
    c.config.season_lag = j.at("season_lag").get<std::size_t>();
    c.config.lookback = j.at("lookback").get<std::size_t>();
    c.config.units = j.at("units").get<std::size_t>();
    c.config.layer = j.at("layer").get<std::string>();
    c.horizon = j.at("horizon").get<std::size_t>();
    c.log = j.at("log").get<std::vector<bool>>();
    c.input_scaler = Scaler{ScalerKind::kStandard, j.at("input_offset").get<std::vector<double>>(),
                            j.at("input_scale").get<std::vector<double>>()};
    c.target_scaler = Scaler{ScalerKind::kStandard, j.at("target_offset").get<std::vector<double>>(),
                             j.at("target_scale").get<std::vector<double>>()};
    c.combine = j.value("combine", false);
    c.combine_season = j.value("combine_season", std::size_t{0});
    c.hw_weight = j.value("hw_weight", 0.0);
    if (!(c.hw_weight >= 0.0 && c.hw_weight <= 1.0) || (c.hw_weight > 0 && !c.combine))
      throw ModelFormatError("the forecast metadata's Holt-Winters weight must lie in [0, 1] and needs "
                             "\"combine\": true.");
    if (c.uses_holt_winters()) {
      const json& hw = j.at("hw");
      const int trend = hw.at("trend").get<int>(), kind = hw.at("season_kind").get<int>();
      if (trend < 0 || trend > 2 || kind < 0 || kind > 2)
        throw ModelFormatError("the forecast metadata has an unknown Holt-Winters trend or season kind.");
      c.hw.trend = static_cast<TrendKind>(trend);
      c.hw.season_kind = static_cast<SeasonKind>(kind);
      c.hw.season = hw.at("season").get<std::size_t>();
      c.hw.alpha = hw.at("alpha").get<double>();
      c.hw.beta = hw.at("beta").get<double>();
      c.hw.gamma = hw.at("gamma").get<double>();
      c.hw.phi = hw.at("phi").get<double>();
      c.hw.level0 = hw.at("level0").get<double>();
      c.hw.trend0 = hw.at("trend0").get<double>();
      c.hw.season0 = hw.at("season0").get<std::vector<double>>();
      constexpr std::size_t kMaxSeason = 100000;
      if (c.hw.season > kMaxSeason || c.hw.season0.size() != (c.hw.season_kind == SeasonKind::kNone ? 0 : c.hw.season))
        throw ModelFormatError("the forecast metadata's Holt-Winters season (" + std::to_string(c.hw.season) +
                               ") does not match its " + std::to_string(c.hw.season0.size()) + " seasonal states.");
      for (double x : {c.hw.alpha, c.hw.beta, c.hw.gamma, c.hw.phi, c.hw.level0, c.hw.trend0})
        if (!std::isfinite(x)) throw ModelFormatError("the forecast metadata holds a non-finite Holt-Winters parameter.");
      for (double x : c.hw.season0)
        if (!std::isfinite(x)) throw ModelFormatError("the forecast metadata holds a non-finite Holt-Winters state.");
    }
    f->width80 = j.at("width80").get<std::vector<double>>();
    f->width95 = j.at("width95").get<std::vector<double>>();
    f->members = j.at("members").get<std::size_t>();
    f->shrink = j.value("shrink", 1.0);
    f->validation_rmse = j.value("validation_rmse", 0.0);
    const std::size_t ch = c.log.size(), h = c.horizon;
    constexpr std::size_t kMaxHorizon = 100000, kMaxLookback = 100000;
    if (ch == 0 || h == 0 || h > kMaxHorizon || c.config.lookback == 0 || c.config.lookback > kMaxLookback ||
        c.input_scaler.offset.size() != ch || c.input_scaler.scale.size() != ch ||
        c.target_scaler.offset.size() != h || c.target_scaler.scale.size() != h ||
        f->width80.size() != h || f->width95.size() != h ||
        (is_seasonal(c.config.transform) && (c.config.season_lag == 0 || c.config.season_lag > kMaxLookback)))
      throw ModelFormatError("the forecast metadata is inconsistent (channel, horizon, scaler or "
                             "interval lists differ in length, or lookback/horizon/season lag is "
                             "0 or absurdly large).");
    for (const auto* v : {&c.input_scaler.offset, &c.input_scaler.scale, &c.target_scaler.offset,
                          &c.target_scaler.scale, &f->width80, &f->width95})
      for (double x : *v)
        if (!std::isfinite(x))
          throw ModelFormatError("the forecast metadata holds a non-finite scaler or interval value.");
  } catch (const json::exception& e) {
    throw ModelFormatError(std::string("the forecast metadata is incomplete: ") + e.what());
  } catch (const ValueError& e) {
    throw ModelFormatError(std::string("the forecast metadata is invalid: ") + e.what());
  }
}

}  // namespace recur::tasks
