#include "forecast.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "bundled_data.hpp"
#include "classify.hpp"
#include "common.hpp"
#include "plot.hpp"
#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/data/scaler.hpp"
#include "recur/data/windows.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/lstm.hpp"

namespace recur::cli {
namespace {

using json = nlohmann::json;
constexpr const char* kBundledName = "airpassengers.csv (bundled)";

// How raw columns become model inputs and targets; stored in the model file so that
// `recur predict` repeats it exactly.
struct SeriesSpec {
  std::string target;
  std::vector<std::string> features;  // features[0] == target
  std::string time_column;            // "" when there is none
  std::size_t lookback = 0, horizon = 1;
  bool diff = true;
  std::vector<bool> log;  // per feature
  Scaler input_scaler, target_scaler;

  std::size_t first_row() const { return diff ? 1 : 0; }
  // The first target index with a full window of transformed inputs.
  std::size_t first_target() const { return first_row() + lookback + horizon - 1; }

  json to_json() const {
    return {{"task", "forecast"},
            {"target", target},
            {"features", features},
            {"time_column", time_column},
            {"lookback", lookback},
            {"horizon", horizon},
            {"diff", diff},
            {"log", log},
            {"scaler", scaler_name(input_scaler.kind)},
            {"input_offset", input_scaler.offset},
            {"input_scale", input_scaler.scale},
            {"target_offset", target_scaler.offset},
            {"target_scale", target_scaler.scale}};
  }
  static SeriesSpec from_json(const json& j) {
    SeriesSpec s;
    s.target = j.at("target").get<std::string>();
    s.features = j.at("features").get<std::vector<std::string>>();
    s.time_column = j.at("time_column").get<std::string>();
    s.lookback = j.at("lookback").get<std::size_t>();
    s.horizon = j.at("horizon").get<std::size_t>();
    s.diff = j.at("diff").get<bool>();
    s.log = j.at("log").get<std::vector<bool>>();
    s.input_scaler.kind = s.target_scaler.kind = parse_scaler(j.at("scaler").get<std::string>());
    s.input_scaler.offset = j.at("input_offset").get<std::vector<double>>();
    s.input_scaler.scale = j.at("input_scale").get<std::vector<double>>();
    s.target_scaler.offset = j.at("target_offset").get<std::vector<double>>();
    s.target_scaler.scale = j.at("target_scale").get<std::vector<double>>();
    const std::size_t f = s.features.size();
    if (f == 0 || s.log.size() != f || s.input_scaler.offset.size() != f ||
        s.input_scaler.scale.size() != f || s.target_scaler.offset.size() != 1 ||
        s.target_scaler.scale.size() != 1 || s.lookback == 0 || s.horizon == 0)
      throw ModelFormatError("the forecast metadata is inconsistent (feature, log and scaler "
                             "lists differ in length, or lookback/horizon is 0).");
    return s;
  }
};

// Log (where chosen) of each column: z[c][r].
std::vector<std::vector<double>> log_columns(const NumericColumns& nc, const SeriesSpec& spec,
                                             const CsvTable& table) {
  std::vector<std::vector<double>> z = nc.values;
  for (std::size_t c = 0; c < z.size(); ++c) {
    if (!spec.log[c]) continue;
    for (std::size_t r = 0; r < z[c].size(); ++r) {
      if (!(z[c][r] > 0)) {
        const std::size_t row = nc.rows[r];
        throw ValueError(table.source + ":" + std::to_string(table.line_numbers[row]) +
                         " (column \"" + spec.features[c] + "\"): the log-diff transform needs "
                         "values > 0, got " + std::to_string(z[c][r]) +
                         ". Use --transform diff for a series that can be zero or negative.");
      }
      z[c][r] = std::log(z[c][r]);
    }
  }
  return z;
}

// Scaled model inputs (rows, features): differences (or levels) of z, scaled per column.
Tensor model_inputs(const std::vector<std::vector<double>>& z, const SeriesSpec& spec) {
  const std::size_t n = z[0].size(), f = z.size();
  Tensor inputs({n, f});
  for (std::size_t r = spec.first_row(); r < n; ++r)
    for (std::size_t c = 0; c < f; ++c) {
      const double u = spec.diff ? z[c][r] - z[c][r - 1] : z[c][r];
      inputs[r * f + c] = static_cast<float>(spec.input_scaler.transform(u, c));
    }
  return inputs;
}

// Unscaled target at index t: the horizon-step change of z (diff) or z itself.
double raw_target(const std::vector<double>& zt, const SeriesSpec& spec, std::size_t t) {
  return spec.diff ? zt[t] - zt[t - spec.horizon] : zt[t];
}

// The forecast of the original series at t from a scaled model output.
double reconstruct(double scaled, const std::vector<double>& zt, const SeriesSpec& spec,
                   std::size_t t) {
  const double change = spec.target_scaler.inverse(scaled, 0);
  const double z = spec.diff ? zt[t - spec.horizon] + change : change;
  return spec.log[0] ? std::exp(z) : z;
}

ErrorPair errors(const std::vector<double>& actual, const std::vector<double>& pred) {
  double se = 0, ae = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double d = pred[i] - actual[i];
    se += d * d;
    ae += std::fabs(d);
  }
  const double n = static_cast<double>(actual.size());
  return {std::sqrt(se / n), ae / n};
}

// The lag in [2, n/2] where the autocorrelation of the differenced series has its highest local
// peak; 1 (no season) when no peak reaches 0.3.
std::size_t guess_season(const std::vector<double>& v) {
  std::vector<double> d;
  for (std::size_t i = 1; i < v.size(); ++i) d.push_back(v[i] - v[i - 1]);
  const std::size_t n = d.size();
  if (n < 8) return 1;
  double mean = 0;
  for (double x : d) mean += x;
  mean /= static_cast<double>(n);
  double var = 0;
  for (double x : d) var += (x - mean) * (x - mean);
  if (var <= 0) return 1;
  const std::size_t max_lag = n / 2;
  std::vector<double> acf(max_lag + 2, 0.0);
  for (std::size_t lag = 1; lag <= max_lag + 1 && lag < n; ++lag) {
    double s = 0;
    for (std::size_t i = lag; i < n; ++i) s += (d[i] - mean) * (d[i - lag] - mean);
    acf[lag] = s / var;
  }
  // A season is a local peak of the autocorrelation; a persistent (trending) series has a
  // decaying autocorrelation with no peak, and gets no season.
  std::size_t best = 1;
  double best_acf = 0.3;
  for (std::size_t lag = 2; lag <= max_lag; ++lag)
    if (acf[lag] > best_acf && acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1]) {
      best_acf = acf[lag];
      best = lag;
    }
  return best;
}

// First non-numeric column that is not a feature (a date or month column), or "".
std::string find_time_column(const CsvTable& table, const std::vector<std::string>& features) {
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    if (std::find(features.begin(), features.end(), table.header[c]) != features.end()) continue;
    if (!is_numeric_column(table, c)) return table.header[c];
  }
  return "";
}

std::vector<std::string> row_labels(const CsvTable& table, const NumericColumns& nc,
                                    const std::string& time_column) {
  std::vector<std::string> labels;
  const std::size_t tc = time_column.empty() ? 0 : column_index(table, time_column);
  for (std::size_t r : nc.rows)
    labels.push_back(time_column.empty() ? std::to_string(r + 1) : table.rows[r][tc]);
  return labels;
}


}  // namespace

ForecastResult run_forecast(const ForecastConfig& cfg, const TrainingCallbacks& callbacks) {
  Preflight pf(cfg.check_only);
  pf.run([&] { require_positive("--lookback", static_cast<double>(cfg.lookback), "It is the number of past steps the LSTM sees, e.g. 12."); });
  pf.run([&] { require_positive("--horizon", static_cast<double>(cfg.horizon), "1 forecasts the next step."); });
  pf.run([&] { require_positive("--units", static_cast<double>(cfg.units), "Typical values are 16 to 256."); });
  pf.run([&] { require_positive("--epochs", cfg.epochs, "E.g. 100."); });
  pf.run([&] { require_positive("--batch-size", cfg.batch_size, "E.g. 16."); });
  pf.run([&] { require_positive("--learning-rate", cfg.learning_rate, "Typical values are 1e-4 to 1e-2."); });
  pf.run([&] { require_positive("--test-size", static_cast<double>(cfg.test_size), "E.g. 24."); });
  pf.run([&] {
    if (!(cfg.validation_split >= 0 && cfg.validation_split < 1))
      throw ValueError("--validation-split must be in [0, 1), got " + csv_number(cfg.validation_split) + ".",
                       codes::kBadHyperparameter);
  });
  pf.run([&] {
    if (cfg.transform != "auto" && cfg.transform != "none" && cfg.transform != "diff" &&
        cfg.transform != "log-diff")
      throw ValueError("--transform: unknown value \"" + cfg.transform +
                       "\"; expected auto, none, diff or log-diff.");
  });
  pf.run([&] { parse_missing_policy(cfg.missing); });
  pf.run([&] { parse_scaler(cfg.scaler); });
  pf.run([&] { make_recurrent_layer(cfg.layer, 1, false); });
  if (!pf.problems.empty()) {
    ForecastResult res;
    res.problems = pf.problems;
    return res;
  }
  const MissingPolicy policy = parse_missing_policy(cfg.missing);

  ForecastResult res;
  const bool bundled = cfg.data_path.empty();
  const CsvTable table = bundled ? parse_csv(kAirPassengersCsv, kBundledName) : read_csv(cfg.data_path);
  res.data_name = table.source;
  SeriesSpec spec;
  spec.target = cfg.target.empty() && bundled ? "passengers" : cfg.target;
  if (spec.target.empty()) {
    throw ValueError("--target is required with --data; name the column to forecast. The "
                     "columns of " + table.source + " are: " + column_list(table) + ".");
  }
  column_index(table, spec.target);  // a clear error for an unknown name
  spec.features = {spec.target};
  if (cfg.features.size() == 1 && cfg.features[0] == "all") {
    for (std::size_t c = 0; c < table.header.size(); ++c)
      if (table.header[c] != spec.target && is_numeric_column(table, c))
        spec.features.push_back(table.header[c]);
  } else {
    for (const auto& f : cfg.features)
      if (f != spec.target) spec.features.push_back(f);
  }
  spec.lookback = cfg.lookback;
  spec.horizon = cfg.horizon;
  spec.diff = cfg.transform != "none";
  spec.time_column = find_time_column(table, spec.features);
  const NumericColumns nc = select_numeric(table, spec.features, policy);
  const std::size_t n = nc.rows.size(), f = spec.features.size();
  res.rows = n;
  for (std::size_t c = 0; c < f; ++c) {
    bool positive = true;
    for (double v : nc.values[c]) positive = positive && v > 0;
    spec.log.push_back(cfg.transform == "log-diff" || (cfg.transform == "auto" && positive));
  }

  const std::size_t t0 = spec.first_target();
  if (cfg.test_size >= n || n - cfg.test_size < t0 + 2)
    throw ValueError("the series has " + std::to_string(n) + " rows; with --test-size " +
                     std::to_string(cfg.test_size) + ", --lookback " + std::to_string(cfg.lookback) +
                     " and --horizon " + std::to_string(cfg.horizon) + " that leaves " +
                     std::to_string(n > cfg.test_size + t0 ? n - cfg.test_size - t0 : 0) +
                     " training windows; at least 2 are needed. The lookback is too long for "
                     "the series: shorten --lookback or --test-size.");
  const std::size_t train_end = n - cfg.test_size;  // targets [t0, train_end) train

  // Transform, then fit the scalers on the training part only.
  const auto z = log_columns(nc, spec, table);
  spec.input_scaler.kind = spec.target_scaler.kind = parse_scaler(cfg.scaler);
  for (std::size_t c = 0; c < f; ++c) {
    std::vector<double> u;
    for (std::size_t r = spec.first_row(); r < train_end; ++r)
      u.push_back(spec.diff ? z[c][r] - z[c][r - 1] : z[c][r]);
    spec.input_scaler.fit_column(u, u.size());
  }
  std::vector<double> train_targets;
  for (std::size_t t = t0; t < train_end; ++t) train_targets.push_back(raw_target(z[0], spec, t));
  spec.target_scaler.fit_column(train_targets, train_targets.size());

  const Tensor inputs = model_inputs(z, spec);
  std::vector<float> target(n, 0.0f);
  for (std::size_t t = t0; t < n; ++t)
    target[t] = static_cast<float>(spec.target_scaler.transform(raw_target(z[0], spec, t), 0));
  const Windows train = make_windows(inputs, target, cfg.lookback, cfg.horizon, t0, train_end);
  const Windows test = make_windows(inputs, target, cfg.lookback, cfg.horizon, train_end, n);

  Sequential model("forecaster");
  model.add(make_recurrent_layer(cfg.layer, cfg.units, false));
  model.add(Dense(1));
  model.build({cfg.lookback, f}, cfg.seed);
  model.compile(make_optimizer("adam", cfg.learning_rate), "mse", {"mae"});
  if (cfg.check_only) {
    res.problems = model.check(train.x, train.y,
                               FitOptions().epochs(cfg.epochs).batch_size(cfg.batch_size)
                                   .validation_split(cfg.validation_split));
    return res;
  }
  const auto start = std::chrono::steady_clock::now();
  const History h = model.fit(train.x, train.y,
                              FitOptions()
                                  .epochs(cfg.epochs)
                                  .batch_size(cfg.batch_size)
                                  .validation_split(cfg.validation_split)
                                  .shuffle(true)
                                  .seed(cfg.seed)
                                  .callbacks(with_progress({}, callbacks))
                                  .on_epoch_end(callbacks.on_epoch_end));
  res.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  res.train_samples = h.train_samples;
  res.validation_samples = h.validation_samples;
  res.epochs_run = static_cast<int>(h.epochs());
  res.final_loss = h.history.at("loss").back();
  if (h.history.count("val_loss")) res.final_val_loss = h.history.at("val_loss").back();

  // Test forecasts and baselines on the same points, in the series' own units.
  const Tensor pred = model.predict(test.x);
  const std::vector<double>& v = nc.values[0];
  std::vector<std::string> labels = row_labels(table, nc, spec.time_column);
  res.season = cfg.season > 0 ? cfg.season : guess_season({v.begin(), v.begin() + static_cast<long>(train_end)});
  res.season_guessed = cfg.season == 0;
  const std::size_t back = res.season * ((cfg.horizon + res.season - 1) / res.season);
  std::vector<double> actual, lstm, naive, snaive, forecast_full(n, NAN);
  bool snaive_ok = true;
  for (std::size_t i = 0; i < test.target_index.size(); ++i) {
    const std::size_t t = test.target_index[i];
    actual.push_back(v[t]);
    lstm.push_back(reconstruct(pred[i], z[0], spec, t));
    forecast_full[t] = lstm.back();
    naive.push_back(v[t - cfg.horizon]);
    snaive_ok = snaive_ok && t >= back;
    snaive.push_back(t >= back ? v[t - back] : NAN);
  }
  res.test_points = actual.size();
  res.lstm = errors(actual, lstm);
  res.naive = errors(actual, naive);
  res.seasonal_naive = snaive_ok ? errors(actual, snaive) : ErrorPair{NAN, NAN};
  res.test_from = labels[train_end];
  res.test_to = labels[n - 1];
  res.target = spec.target;
  res.features = spec.features;

  // Files: model, forecast CSV, plot.
  ensure_folder(cfg.output_dir);
  res.model_path = cfg.model_path.empty() ? cfg.output_dir + "/model.recur" : cfg.model_path;
  json meta = spec.to_json();
  meta["season"] = res.season;
  meta["missing"] = cfg.missing;
  model.save(res.model_path, meta.dump());
  res.summary = model.summary();

  std::ostringstream csv;
  csv << (spec.time_column.empty() ? "row" : spec.time_column)
      << ",actual,lstm,naive,seasonal_naive\n";
  for (std::size_t i = 0; i < actual.size(); ++i)
    csv << labels[test.target_index[i]] << "," << csv_number(actual[i]) << "," << csv_number(lstm[i]) << ","
        << csv_number(naive[i]) << "," << csv_number(snaive[i]) << "\n";
  res.csv_path = cfg.output_dir + "/forecast.csv";
  write_text_atomic(res.csv_path, csv.str());
  res.plot_path = cfg.output_dir + "/forecast.svg";
  std::ostringstream title;
  title.precision(3);
  title << spec.target << ": LSTM "
        << (cfg.horizon == 1 ? std::string("one") : std::to_string(cfg.horizon))
        << "-step-ahead test forecast (RMSE " << res.lstm.rmse << ", naive " << res.naive.rmse
        << ")";
  write_forecast_svg(res.plot_path, title.str(), labels, v, forecast_full, train_end, spec.target);
  return res;
}

PredictResult run_predict(const std::string& model_path, const std::string& data_path,
                          const std::string& output_path) {
  std::string meta_text;
  Sequential model = Sequential::load(model_path, &meta_text);
  json meta = json::parse(meta_text);
  if (meta.value("task", "") == "classify")
    return run_predict_classifier(model, model_path, meta_text, data_path, output_path);
  if (meta.value("task", "") != "forecast")
    throw ModelFormatError(model_path + ": this model has no forecast or classifier metadata "
                           "(task \"" + meta.value("task", "") + "\"); `recur predict` needs a "
                           "model written by `recur forecast` or `recur classify`.");
  SeriesSpec spec;
  try {
    spec = SeriesSpec::from_json(meta);
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the forecast metadata is incomplete: " + e.what());
  }
  const CsvTable table = data_path.empty() ? parse_csv(kAirPassengersCsv, kBundledName) : read_csv(data_path);
  const NumericColumns nc = select_numeric(table, spec.features,
                                           parse_missing_policy(meta.value("missing", "error")));
  const std::size_t n = nc.rows.size(), t0 = spec.first_target();
  if (n < spec.first_row() + spec.lookback)
    throw ValueError(table.source + " has " + std::to_string(n) + " rows; the model needs at "
                     "least " + std::to_string(spec.first_row() + spec.lookback) +
                     " (lookback " + std::to_string(spec.lookback) + ").");
  const auto z = log_columns(nc, spec, table);
  const Tensor inputs = model_inputs(z, spec);
  const std::size_t t_end = n + spec.horizon;  // forecasts up to horizon steps past the data
  const Windows w = make_windows(inputs, {}, spec.lookback, spec.horizon, t0, t_end);
  const Tensor pred = model.predict(w.x);
  std::string time_column = spec.time_column;
  if (!time_column.empty()) {
    const auto& hdr = table.header;
    if (std::find(hdr.begin(), hdr.end(), time_column) == hdr.end()) time_column.clear();
  }
  const auto labels = row_labels(table, nc, time_column);
  std::ostringstream csv;
  csv << (time_column.empty() ? "row" : time_column) << ",actual," << spec.target << "_forecast\n";
  for (std::size_t i = 0; i < w.target_index.size(); ++i) {
    const std::size_t t = w.target_index[i];
    if (t < n) csv << labels[t];
    else csv << '+' << (t - n + 1);  // steps past the end of the data
    csv << ","
        << (t < n ? csv_number(nc.values[0][t]) : "") << "," << csv_number(reconstruct(pred[i], z[0], spec, t))
        << "\n";
  }
  write_text_atomic(output_path, csv.str());
  return {w.target_index.size(), output_path};
}

std::string describe_model(const std::string& model_path) {
  std::string meta_text;
  const Sequential model = Sequential::load(model_path, &meta_text);
  std::ostringstream out;
  out << model.summary();
  const json meta = json::parse(meta_text);
  if (meta.value("task", "") == "forecast") {
    out << "Forecast of \"" << meta.at("target").get<std::string>() << "\" from";
    for (const auto& f : meta.at("features")) out << " " << f.get<std::string>();
    out << "\n  lookback " << meta.at("lookback") << ", horizon " << meta.at("horizon")
        << ", inputs " << (meta.at("diff").get<bool>() ? "differenced" : "levels")
        << ", scaler " << meta.at("scaler").get<std::string>() << ", season "
        << meta.value("season", 0) << "\n";
  } else if (meta.value("task", "") == "classify") {
    out << describe_classifier(meta_text);
  }
  return out.str();
}

}  // namespace recur::cli
