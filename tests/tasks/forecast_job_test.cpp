// The forecasting job around a forecaster (recur/tasks/forecast_job.hpp): test errors by hand,
// the rule that a step with a missing forecast is not ranked, the baselines on series whose
// errors are known in closed form, interval coverage, the evaluation of a trained forecaster
// (its scores are the scores of its own paths; the baselines the same as alone), and the model
// file's forecast metadata read back and refused when it does not fit.
#include "recur/tasks/forecast_job.hpp"

#include <gtest/gtest.h>

#include "support/expect_error.hpp"

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"

namespace {

using recur::tasks::ModelScore;
using Names = std::vector<std::string>;

constexpr double kPi = 3.14159265358979323846;

using recur::test::expect_error;

TEST(TaskForecastJob, ScoresOneStepForecastsByHand) {
  const std::vector<double> y{0, 1, 2, 3, 4, 5};
  // Origins 2, 3, 4 forecast rows 3, 4, 5: errors +0.5, -1, +1.
  const ModelScore s = recur::tasks::score_paths("m", "model", y, {3.5, 3.0, 6.0}, 2, 1, 3, 6);
  EXPECT_EQ(s.key, "m");
  EXPECT_EQ(s.name, "model");
  EXPECT_NEAR(s.all.rmse, std::sqrt((0.25 + 1 + 1) / 3), 1e-12);
  EXPECT_NEAR(s.all.mae, 2.5 / 3, 1e-12);
  ASSERT_EQ(s.per_step.size(), 1u);
  EXPECT_NEAR(s.per_step[0].rmse, s.all.rmse, 1e-12);
}

TEST(TaskForecastJob, AStepWithAMissingForecastIsNotRanked) {
  const std::vector<double> y{0, 1, 2, 3, 4, 5};
  // Horizon 2, origins 3 and 4: row 3 is reached at step 1 only (origin 1 is absent), so step 2
  // and the total are NaN, step 1 is scored on rows 4 and 5.
  const std::vector<double> paths{4.0, 9.0, 5.5, 9.0};  // (origins 3, 4) x (steps 1, 2)
  const ModelScore s = recur::tasks::score_paths("m", "model", y, paths, 3, 2, 4, 6);
  EXPECT_NEAR(s.per_step[0].rmse, std::sqrt(0.25 / 2), 1e-12);
  EXPECT_NEAR(s.per_step[0].mae, 0.25, 1e-12);
  EXPECT_TRUE(std::isnan(s.per_step[1].rmse));
  EXPECT_TRUE(std::isnan(s.all.rmse));
  EXPECT_TRUE(std::isnan(s.all.mae));
  // A non-finite forecast is missing too.
  const ModelScore n = recur::tasks::score_paths("m", "model", y, {3.0, NAN, 5.0}, 2, 1, 3, 6);
  EXPECT_TRUE(std::isnan(n.all.rmse));
  EXPECT_TRUE(std::isnan(n.per_step[0].rmse));
}

TEST(TaskForecastJob, ScorePathsRefusesBadSizes) {
  const std::vector<double> y{0, 1, 2, 3};
  expect_error<recur::ValueError>([&] { recur::tasks::score_paths("m", "m", y, {1}, 0, 0, 1, 4); },
                                  {"RECUR-E0013", "horizon must be >= 1"});
  expect_error<recur::ValueError>([&] { recur::tasks::score_paths("m", "m", y, {1}, 0, 1, 1, 9); },
                                  {"end <= 4", "end 9"});
  expect_error<recur::ValueError>([&] { recur::tasks::score_paths("m", "m", y, {1, 2}, 0, 1, 1, 4); },
                                  {"paths hold 2"});
}

TEST(TaskForecastJob, BaselinesOnALineHaveKnownErrors) {
  std::vector<double> y;
  for (int t = 0; t < 40; ++t) y.push_back(10 + 2.0 * t);
  const recur::tasks::BaselineScores b = recur::tasks::score_baselines(y, 29, 1, 30, 4);
  ASSERT_GE(b.scores.size(), 3u);
  EXPECT_EQ(b.scores[0].key, "naive");
  EXPECT_EQ(b.scores[1].key, "seasonal_naive");
  EXPECT_EQ(b.scores[1].name, "seasonal naive (season 4)");
  EXPECT_EQ(b.scores[2].key, "drift");
  EXPECT_NEAR(b.scores[0].all.rmse, 2.0, 1e-9);  // one step of the slope
  EXPECT_NEAR(b.scores[0].all.mae, 2.0, 1e-9);
  EXPECT_NEAR(b.scores[1].all.rmse, 8.0, 1e-9);  // four steps back
  EXPECT_NEAR(b.scores[2].all.rmse, 0.0, 1e-9);  // drift follows a line exactly
  ASSERT_EQ(b.paths.size(), b.scores.size());
  EXPECT_EQ(b.paths[0].size(), 11u);  // origins 29..39, one step each
  EXPECT_DOUBLE_EQ(b.paths[0].back(), y.back());
  if (b.scores.size() == 4) {
    EXPECT_EQ(b.scores[3].key, "holt_winters");
    EXPECT_NE(b.holt_winters.find("Holt-Winters"), std::string::npos) << b.holt_winters;
  } else {
    EXPECT_EQ(b.holt_winters.rfind("not fitted: ", 0), 0u) << b.holt_winters;
  }
  // No season: the seasonal naive is the naive forecast.
  const recur::tasks::BaselineScores n = recur::tasks::score_baselines(y, 29, 1, 30, 1);
  EXPECT_EQ(n.scores[1].name, "seasonal naive (no season)");
  EXPECT_DOUBLE_EQ(n.scores[1].all.rmse, n.scores[0].all.rmse);
}

TEST(TaskForecastJob, IntervalCoverageCountsPointsInsideTheBounds) {
  recur::tasks::PathForecast p;
  p.origins = {1, 2, 3};
  p.horizon = 1;
  p.mean = {0, 0, 0};
  p.lower80 = {-1, -1, -1};
  p.upper80 = {1, 1, 1};
  p.lower95 = {-2, -2, -2};
  p.upper95 = {2, 2, 2};
  const std::vector<double> y{0, 0, 0.5, 1.5, 3.0};  // rows 2, 3, 4: inside, 95 only, outside
  const auto c = recur::tasks::interval_coverage(y, p, 2, 5);
  EXPECT_NEAR(c.coverage80, 1.0 / 3, 1e-12);
  EXPECT_NEAR(c.coverage95, 2.0 / 3, 1e-12);
  const auto none = recur::tasks::interval_coverage(y, recur::tasks::PathForecast{}, 2, 5);
  EXPECT_TRUE(std::isnan(none.coverage80));
}

// A small trained forecaster on a seasonal series, shared by the tests below.
struct Trained {
  recur::tasks::SeriesData data;
  recur::tasks::Forecaster f;
  std::size_t train_end = 0;
};

Trained& trained() {
  static Trained t = [] {
    Trained r;
    std::mt19937 rng(5);
    std::normal_distribution<double> noise(0.0, 0.5);
    r.data.names = {"y"};
    r.data.columns.resize(1);
    for (int i = 0; i < 84; ++i)
      r.data.columns[0].push_back(50 + 0.3 * i + 5 * std::sin(2 * kPi * i / 12) + noise(rng));
    r.train_end = 72;
    recur::tasks::ForecasterOptions o;
    o.horizon = 2;
    o.seasons = {12};
    o.search = false;
    o.transform = "seasonal-diff";
    o.lookback = 12;
    o.units = 4;
    o.ensemble = 1;
    o.max_epochs = 5;
    o.patience = 3;
    o.seed = 1;
    r.f = recur::tasks::fit_forecaster(r.data, r.train_end, o);
    return r;
  }();
  return t;
}

TEST(TaskForecastJob, EvaluationScoresTheModelsOwnPathsBesideTheBaselines) {
  Trained& t = trained();
  const std::vector<double>& y = t.data.columns[0];
  const auto e = recur::tasks::evaluate_forecaster(t.f, t.data, t.train_end, 12, "recur LSTM");
  ASSERT_FALSE(e.paths.origins.empty());
  EXPECT_EQ(e.first_origin, t.train_end - 2);  // the first origin that reaches a test point at step 2
  EXPECT_EQ(e.paths.origins.back(), y.size() - 1);
  ASSERT_GE(e.scores.size(), 4u);
  EXPECT_EQ(e.scores[0].key, "recur");
  EXPECT_EQ(e.scores[0].name, "recur LSTM");
  const ModelScore own =
      recur::tasks::score_paths("recur", "recur LSTM", y, e.paths.mean, e.first_origin, 2, t.train_end, y.size());
  EXPECT_DOUBLE_EQ(e.scores[0].all.rmse, own.all.rmse);
  EXPECT_TRUE(std::isfinite(e.scores[0].all.rmse));
  ASSERT_EQ(e.scores[0].per_step.size(), 2u);
  const auto b = recur::tasks::score_baselines(y, e.first_origin, 2, t.train_end, 12);
  ASSERT_EQ(e.scores.size(), 1 + b.scores.size());
  for (std::size_t k = 0; k < b.scores.size(); ++k) {
    EXPECT_EQ(e.scores[k + 1].key, b.scores[k].key);
    EXPECT_DOUBLE_EQ(e.scores[k + 1].all.rmse, b.scores[k].all.rmse);
  }
  EXPECT_EQ(e.scores[2].name, "seasonal naive (season 12)");
  // The future path is the last origin's.
  const std::size_t last = e.paths.origins.size() - 1;
  ASSERT_EQ(e.future_mean.size(), 2u);
  EXPECT_DOUBLE_EQ(e.future_mean[1], e.paths.at(e.paths.mean, last, 2));
  EXPECT_LE(e.future_lower95[0], e.future_mean[0]);
  EXPECT_GE(e.future_upper95[0], e.future_mean[0]);
  EXPECT_GE(e.coverage.coverage95, e.coverage.coverage80);
  expect_error<recur::ValueError>([&] { recur::tasks::evaluate_forecaster(t.f, t.data, y.size(), 12, "m"); },
                                  {"train_end must be in [1, 84)"});
}

TEST(TaskForecastJob, ModelMetadataRoundTripsAndAMismatchIsRefused) {
  Trained& t = trained();
  const std::string meta = recur::tasks::forecast_model_metadata(t.f, {"y"}, "month", 12, "interpolate");
  const nlohmann::json j = nlohmann::json::parse(meta);
  EXPECT_EQ(j.at("task"), "forecast");
  EXPECT_EQ(j.at("format_version"), 2);
  EXPECT_EQ(j.at("target"), "y");
  EXPECT_EQ(j.at("season"), 12);
  const std::string path = testing::TempDir() + "forecast_job_test.recur";
  t.f.model.save(path, meta);
  const auto loaded = [&] { return recur::Sequential::load(path); };
  recur::tasks::ForecastModel m = recur::tasks::read_forecast_model(loaded(), meta, "m.recur");
  EXPECT_EQ(m.features, Names{"y"});
  EXPECT_EQ(m.time_column, "month");
  EXPECT_EQ(m.missing, "interpolate");
  EXPECT_EQ(m.forecaster.coder.horizon, 2u);
  // Predicting from a table gives the paths the forecaster gives.
  std::string csv = "y\n";
  for (double v : t.data.columns[0]) csv += std::to_string(v) + "\n";
  const auto series = recur::tasks::series_for_model(recur::parse_csv(csv, "new.csv"), {"y"}, "", recur::MissingPolicy::kError);
  const recur::tasks::PathForecast p = recur::tasks::predict_series(m, series);
  const recur::tasks::PathForecast q = recur::tasks::predict_paths(t.f, series.data(), 0, series.rows() - 1);
  ASSERT_EQ(p.mean.size(), q.mean.size());
  EXPECT_NEAR(p.mean.back(), q.mean.back(), 1e-9);
  // Too short a table for the window.
  const auto shorter = recur::tasks::series_for_model(recur::parse_csv("y\n1\n2\n3\n", "short.csv"), {"y"}, "",
                                                      recur::MissingPolicy::kError);
  expect_error<recur::ValueError>([&] { recur::tasks::predict_series(m, shorter); },
                                  {"short.csv has 3 rows", "the model needs at least", "lookback 12"});
  // Refused: an older format, a feature count that does not match the channels, a bad type.
  nlohmann::json old = j;
  old["format_version"] = 1;
  expect_error<recur::ModelFormatError>([&] { recur::tasks::read_forecast_model(loaded(), old.dump(), "m.recur"); },
                                        {"m.recur", "older recur"});
  nlohmann::json two = j;
  two["features"] = Names{"y", "x"};
  expect_error<recur::ModelFormatError>([&] { recur::tasks::read_forecast_model(loaded(), two.dump(), "m.recur"); },
                                        {"lists 2 features for 1 input channels"});
  nlohmann::json typed = j;
  typed["time_column"] = 5;
  expect_error<recur::ModelFormatError>([&] { recur::tasks::read_forecast_model(loaded(), typed.dump(), "m.recur"); },
                                        {"the forecast metadata is incomplete"});
  nlohmann::json version = j;
  version["format_version"] = "2";
  expect_error<recur::ModelFormatError>([&] { recur::tasks::read_forecast_model(loaded(), version.dump(), "m.recur"); },
                                        {"a field of the wrong type"});
}

}  // namespace
