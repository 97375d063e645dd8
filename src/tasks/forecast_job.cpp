#include "recur/tasks/forecast_job.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"

namespace recur::tasks {
namespace {

using json = nlohmann::json;

std::vector<double> flat(const ForecastPaths& p) {
  std::vector<double> v;
  for (const auto& row : p.values) v.insert(v.end(), row.begin(), row.end());
  return v;
}

ErrorPair errors(double se, double ae, std::size_t n) {
  const double dn = static_cast<double>(n);
  return {std::sqrt(se / dn), ae / dn};
}

ForecastModel read_forecast_model_unchecked(Sequential model, const std::string& metadata_json,
                                            const std::string& path) {
  const json meta = json::parse(metadata_json);
  if (meta.value("format_version", 1) < 2)
    throw ModelFormatError(path + ": this forecaster was written by an older recur (one "
                           "horizon step, no intervals); train it again with `recur forecast`.");
  ForecastModel m;
  Forecaster& f = m.forecaster;
  forecaster_from_metadata(metadata_json, &f);
  try {
    m.features = meta.at("features").get<std::vector<std::string>>();
    m.time_column = meta.at("time_column").get<std::string>();
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the forecast metadata is incomplete: " + e.what());
  }
  if (m.features.size() != f.coder.log.size())
    throw ModelFormatError(path + ": the forecast metadata lists " + std::to_string(m.features.size()) +
                           " features for " + std::to_string(f.coder.log.size()) + " input channels.");
  const Shape& in = model.input_shape();
  if (in.size() != 2 || in[0] != f.coder.config.lookback || in[1] != m.features.size() ||
      model.output_shape().size() != 1 || model.output_shape()[0] != f.coder.horizon)
    throw ModelFormatError(path + ": the model's input " + shape_str(in) + " or output does "
                           "not match its forecast metadata (lookback " + std::to_string(f.coder.config.lookback) +
                           ", " + std::to_string(m.features.size()) + " features, horizon " +
                           std::to_string(f.coder.horizon) + ").");
  m.missing = meta.value("missing", "error");
  f.model = std::move(model);
  return m;
}

}  // namespace

ModelScore score_paths(const std::string& key, const std::string& name, const std::vector<double>& y,
                       const std::vector<double>& paths, std::size_t first_origin, std::size_t horizon,
                       std::size_t begin, std::size_t end) {
  if (horizon == 0 || end > y.size())
    throw ValueError("score_paths(\"" + key + "\"): horizon must be >= 1 and end <= " + std::to_string(y.size()) +
                     " (the series' length), got horizon " + std::to_string(horizon) + ", end " +
                     std::to_string(end) + ".", codes::kBadHyperparameter);
  ModelScore s{key, name, {}, {}};
  double se_all = 0, ae_all = 0;
  std::size_t n_all = 0;
  for (std::size_t h = 1; h <= horizon; ++h) {
    double se = 0, ae = 0;
    std::size_t n = 0;
    bool missing = false;
    for (std::size_t t = begin; t < end; ++t) {
      if (t < first_origin + h) {
        missing = true;
        continue;
      }
      const std::size_t k = (t - h - first_origin) * horizon + h - 1;
      if (k >= paths.size())
        throw ValueError("score_paths(\"" + key + "\"): point " + std::to_string(t) + " step " + std::to_string(h) +
                         " needs path value " + std::to_string(k) + ", but the paths hold " +
                         std::to_string(paths.size()) + " (origins from " + std::to_string(first_origin) +
                         ", horizon " + std::to_string(horizon) + ").", codes::kBadHyperparameter);
      const double p = paths[k];
      if (!std::isfinite(p)) {
        missing = true;
        continue;
      }
      const double d = p - y[t];
      se += d * d;
      ae += std::fabs(d);
      ++n;
    }
    s.per_step.push_back(missing || n == 0 ? ErrorPair{NAN, NAN} : errors(se, ae, n));
    se_all += se;
    ae_all += ae;
    n_all += n;
    if (missing) n_all = 0, se_all = NAN;
  }
  s.all = n_all == 0 || !std::isfinite(se_all) ? ErrorPair{NAN, NAN} : errors(se_all, ae_all, n_all);
  return s;
}

BaselineScores score_baselines(const std::vector<double>& y, std::size_t first_origin, std::size_t horizon,
                               std::size_t train_end, std::size_t season) {
  const std::size_t n = y.size(), h = horizon;
  std::vector<std::size_t> origins;
  for (std::size_t o = first_origin; o < n; ++o) origins.push_back(o);
  BaselineScores b;
  auto add = [&](const std::string& key, const std::string& name, const ForecastPaths& p) {
    b.paths.push_back(flat(p));
    b.scores.push_back(score_paths(key, name, y, b.paths.back(), first_origin, h, train_end, n));
  };
  add("naive", "naive (last value)", naive_forecast(y, origins, h));
  add("seasonal_naive",
      season > 1 ? "seasonal naive (season " + std::to_string(season) + ")" : "seasonal naive (no season)",
      season > 1 ? seasonal_naive_forecast(y, origins, h, season) : naive_forecast(y, origins, h));
  add("drift", "drift", drift_forecast(y, origins, h));
  try {
    const HoltWintersFit hw = fit_holt_winters(y, train_end, season);
    b.holt_winters = describe(hw.params);
    add("holt_winters", "Holt-Winters", holt_winters_forecast(hw, y, origins, h));
  } catch (const ValueError& e) {
    b.holt_winters = std::string("not fitted: ") + e.message();
  }
  return b;
}

IntervalCoverage interval_coverage(const std::vector<double>& y, const PathForecast& p, std::size_t begin,
                                   std::size_t end) {
  const std::size_t first = p.origins.empty() ? end : p.origins.front();
  std::size_t in80 = 0, in95 = 0, count = 0;
  for (std::size_t t = begin; t < end; ++t)
    for (std::size_t s = 1; s <= p.horizon; ++s) {
      if (t < first + s) continue;
      const std::size_t i = t - s - first;
      if (i >= p.origins.size()) continue;
      in80 += y[t] >= p.at(p.lower80, i, s) && y[t] <= p.at(p.upper80, i, s);
      in95 += y[t] >= p.at(p.lower95, i, s) && y[t] <= p.at(p.upper95, i, s);
      ++count;
    }
  return {count ? static_cast<double>(in80) / static_cast<double>(count) : NAN,
          count ? static_cast<double>(in95) / static_cast<double>(count) : NAN};
}

ForecastEvaluation evaluate_forecaster(Forecaster& f, const SeriesData& data, std::size_t train_end,
                                       std::size_t season, const std::string& model_name) {
  const std::size_t n = data.rows(), h = f.coder.horizon;
  if (train_end == 0 || train_end >= n)
    throw ValueError("evaluate_forecaster: train_end must be in [1, " + std::to_string(n) + "), got " +
                     std::to_string(train_end) + "; the rows after it are the test points.",
                     codes::kBadHyperparameter);
  const std::vector<double>& y = data.columns[0];
  ForecastEvaluation e;
  // Paths from every origin that reaches a test point, and from the last row into the future.
  const std::size_t first = train_end > h ? train_end - h : 0;
  e.paths = predict_paths(f, data, first, n - 1);
  e.first_origin = e.paths.origins.empty() ? n : e.paths.origins.front();
  e.scores.push_back(score_paths("recur", model_name, y, e.paths.mean, e.first_origin, h, train_end, n));
  BaselineScores b = score_baselines(y, e.first_origin, h, train_end, season);
  e.scores.insert(e.scores.end(), b.scores.begin(), b.scores.end());
  e.baseline_paths = std::move(b.paths);
  e.holt_winters = std::move(b.holt_winters);
  e.coverage = interval_coverage(y, e.paths, train_end, n);
  const std::size_t last = n - 1 - e.first_origin;
  for (std::size_t s = 1; s <= h; ++s) {
    e.future_mean.push_back(e.paths.at(e.paths.mean, last, s));
    e.future_lower95.push_back(e.paths.at(e.paths.lower95, last, s));
    e.future_upper95.push_back(e.paths.at(e.paths.upper95, last, s));
  }
  return e;
}

std::string forecast_model_metadata(const Forecaster& f, const std::vector<std::string>& features,
                                    const std::string& time_column, std::size_t season,
                                    const std::string& missing) {
  json meta = json::parse(forecaster_metadata(f));
  meta["task"] = "forecast";
  meta["format_version"] = 2;
  meta["target"] = features.at(0);
  meta["features"] = features;
  meta["time_column"] = time_column;
  meta["season"] = season;
  meta["missing"] = missing;
  return meta.dump();
}

// The metadata of a model file is untrusted: a field of the wrong type ("format_version": "2")
// is a ModelFormatError, never nlohmann's exception.
ForecastModel read_forecast_model(Sequential model, const std::string& metadata_json, const std::string& path) {
  try {
    return read_forecast_model_unchecked(std::move(model), metadata_json, path);
  } catch (const json::exception& e) {
    throw ModelFormatError(path + ": the stored metadata has a field of the wrong type: " + e.what());
  }
}

PathForecast predict_series(ForecastModel& model, const SeriesSpec& series) {
  Forecaster& f = model.forecaster;
  const std::size_t n = series.rows();
  if (n <= f.coder.first_origin())
    throw ValueError(series.table.source + " has " + std::to_string(n) + " rows; the model needs at "
                     "least " + std::to_string(f.coder.first_origin() + 1) + " (lookback " +
                     std::to_string(f.coder.config.lookback) + ").", codes::kValue);
  return predict_paths(f, series.data(), 0, n - 1);
}

}  // namespace recur::tasks
