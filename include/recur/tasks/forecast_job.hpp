#pragma once
// The forecasting job around a trained forecaster: its paths on the test points scored against
// the classical baselines on the same points and steps, the coverage of its intervals there,
// the path past the end of the data, and the model file's forecast metadata (what
// `recur predict` and `recur summary` read back). Nothing here prints or writes files.
//
// Test protocol: rows [0, train_end) are the training part (the forecaster and Holt-Winters
// never read past it); rows [train_end, N) are the test points. A test point t is scored at
// step h by the forecast made at origin t - h from the actual values up to that origin, so
// every model and baseline is scored on the same (point, step) pairs.
//
// Sources: the baselines of recur/tasks/baselines.hpp (Hyndman & Athanasopoulos, FPP 3.1 and
// ch. 7); RMSE and MAE as in FPP 5.8.
#include <cstddef>
#include <string>
#include <vector>

#include "recur/model/sequential.hpp"
#include "recur/tasks/baselines.hpp"
#include "recur/tasks/forecaster.hpp"
#include "recur/tasks/series_spec.hpp"

namespace recur::tasks {

/// Root mean square and mean absolute error, in the series' units; NaN when undefined.
struct ErrorPair {
  double rmse = 0;
  double mae = 0;
};

/// One model's test errors: over every (test point, step) pair, and per horizon step.
struct ModelScore {
  std::string key;   // "recur", "naive", "seasonal_naive", "drift", "holt_winters"
  std::string name;  // the wording of a results table, e.g. "seasonal naive (season 12)"
  ErrorPair all;
  std::vector<ErrorPair> per_step;  // (horizon,): step h at index h - 1
};

/// Scores forecast paths on the points [begin, end) of y. paths: row-major (origins, horizon),
/// row i made at origin first_origin + i, column h - 1 forecasting y[first_origin + i + h].
/// Step h of point t uses row t - h - first_origin. A step is NaN (both errors) when one of
/// its points has no forecast (t < first_origin + h) or a non-finite one; `all` is then NaN too
/// (a model is never ranked on fewer points than the others). Throws ValueError
/// (RECUR-E0013) when horizon is 0, end > y.size(), or paths is too short for a point scored.
ModelScore score_paths(const std::string& key, const std::string& name, const std::vector<double>& y,
                       const std::vector<double>& paths, std::size_t first_origin, std::size_t horizon,
                       std::size_t begin, std::size_t end);

/// The baselines on the same points and steps as the model.
struct BaselineScores {
  /// naive, seasonal_naive, drift and (when it could be fitted) holt_winters, in that order.
  std::vector<ModelScore> scores;
  /// Each baseline's paths, in the order of `scores`: row-major (origins, horizon), origins
  /// first_origin .. y.size() - 1 (the last one forecasts past the data).
  std::vector<std::vector<double>> paths;
  /// The Holt-Winters model chosen by AICc on y[0, train_end), described ("Holt-Winters
  /// (additive trend, multiplicative season 12)"), or "not fitted: <reason>".
  std::string holt_winters;
};

/// Naive, seasonal naive (season `season`; naive, named "no season", when season < 2), drift,
/// and Holt-Winters fitted on y[0, train_end) with that season, forecast from every origin in
/// [first_origin, y.size()) (none when first_origin >= y.size(): every score is NaN then) and
/// scored on the points [train_end, y.size()) with score_paths. A Holt-Winters fit that throws
/// ValueError is left out (holt_winters says why). Throws ValueError as the simple baselines do
/// (a non-finite value in y up to the last origin, RECUR-E0005).
BaselineScores score_baselines(const std::vector<double>& y, std::size_t first_origin, std::size_t horizon,
                               std::size_t train_end, std::size_t season);

/// Share of (point, step) pairs in [begin, end) whose actual value lies inside the 80% and
/// the 95% interval of `paths` (bounds included); NaN when no pair has a forecast.
struct IntervalCoverage {
  double coverage80 = 0;
  double coverage95 = 0;
};
IntervalCoverage interval_coverage(const std::vector<double>& y, const PathForecast& paths, std::size_t begin,
                                   std::size_t end);

/// A trained forecaster evaluated on the test points.
struct ForecastEvaluation {
  /// Paths from every origin that reaches a test point (train_end - horizon on, or the
  /// forecaster's first origin) to the last row, which forecasts past the data.
  PathForecast paths;
  std::size_t first_origin = 0;  // paths.origins.front(), or N when there is none
  /// The forecaster first (key "recur", name `model_name`), then the baselines.
  std::vector<ModelScore> scores;
  /// Each baseline's paths (BaselineScores::paths), in the order of scores[1..].
  std::vector<std::vector<double>> baseline_paths;
  std::string holt_winters;  // BaselineScores::holt_winters
  IntervalCoverage coverage;
  /// The path from the last row: step h at index h - 1, in the series' units.
  std::vector<double> future_mean, future_lower95, future_upper95;
};

/// Forecasts the test points [train_end, N) of `data` with `forecaster` and scores it and the
/// baselines (season `season`) there; N = data.rows(). Reads every row: call it only after
/// training on [0, train_end). Throws ValueError (RECUR-E0013) when train_end is 0 or >= N,
/// and as predict_paths and score_baselines.
ForecastEvaluation evaluate_forecaster(Forecaster& forecaster, const SeriesData& data, std::size_t train_end,
                                       std::size_t season, const std::string& model_name);

/// The metadata a forecast model file carries: forecaster_metadata plus task "forecast",
/// format_version 2, target (features[0]), features, time_column, season and the missing-cell
/// policy (parse_missing_policy's name), as JSON text.
std::string forecast_model_metadata(const Forecaster& forecaster, const std::vector<std::string>& features,
                                    const std::string& time_column, std::size_t season,
                                    const std::string& missing);

/// A forecast model read back from its file.
struct ForecastModel {
  Forecaster forecaster;              // with its model
  std::vector<std::string> features;  // the target first
  std::string time_column;            // "" without one
  std::string missing = "error";     // the missing-cell policy's name (parse_missing_policy)
};

/// Checks a loaded model against its forecast metadata (`metadata_json`, task "forecast") and
/// joins them. `path` names the file in messages. Throws ModelFormatError when the metadata is
/// from format 1 ("older recur"), lacks features or time_column, has a field of the wrong type,
/// lists a feature count other than the coder's channels, or when the model's input is not
/// (lookback, features) or its output not (horizon,).
ForecastModel read_forecast_model(Sequential model, const std::string& metadata_json, const std::string& path);

/// Paths with intervals from every origin of `series` that has a full window, to the last row
/// (whose steps forecast past the data). Throws ValueError (RECUR-E0200) naming the rows needed
/// when the series is shorter than the model's first origin + 1.
PathForecast predict_series(ForecastModel& model, const SeriesSpec& series);

}  // namespace recur::tasks
