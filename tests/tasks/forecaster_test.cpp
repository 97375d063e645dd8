// The forecasting pipeline (recur/tasks/forecaster.hpp): transforms and their inverse, the
// ensemble merge, the search never reading the test part, determinism for a seed, interval
// coverage on a series with known noise, and the metadata a model file carries.
#include "recur/tasks/forecaster.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "recur/core/error.hpp"

namespace {

using recur::tasks::Forecaster;
using recur::tasks::ForecasterOptions;
using recur::tasks::SeriesData;
using recur::tasks::SeriesTransform;

// A positive monthly-like series: trend, a multiplicative season of 12 and noise of std sigma.
SeriesData seasonal_series(std::size_t n, double sigma, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, sigma);
  SeriesData d;
  d.names = {"y"};
  d.columns.resize(1);
  for (std::size_t t = 0; t < n; ++t) {
    const double level = 100 + 0.5 * static_cast<double>(t);
    d.columns[0].push_back(level * (1 + 0.2 * std::sin(2 * M_PI * static_cast<double>(t) / 12)) + noise(rng));
  }
  return d;
}

ForecasterOptions quick(std::size_t horizon = 1) {
  ForecasterOptions o;
  o.horizon = horizon;
  o.seasons = {12};
  o.search = false;
  o.ensemble = 2;
  o.max_epochs = 30;
  o.patience = 10;
  o.seed = 3;
  return o;
}

TEST(ForecasterCoder, EveryTransformInvertsExactly) {
  // A perfect model outputs exactly the scaled targets; base + inverse(target) must give back z.
  const SeriesData d = seasonal_series(80, 1.0, 1);
  for (SeriesTransform t : {SeriesTransform::kNone, SeriesTransform::kDiff, SeriesTransform::kLogDiff,
                            SeriesTransform::kSeasonalDiff, SeriesTransform::kLogSeasonalDiff,
                            SeriesTransform::kHoltWinters, SeriesTransform::kLogHoltWinters}) {
    recur::tasks::SeriesCoder c;
    c.config.transform = t;
    c.config.season_lag = 12;
    c.config.lookback = 5;
    c.horizon = 15;  // steps beyond one season exercise the seasonal base's ceil(h/m)
    c.fit(d, 60);
    const recur::tasks::CodedSeries coded = c.encode(d);
    recur::Tensor x, y;
    c.windows(coded, c.first_origin(), 60, true, &x, &y);
    const std::vector<double>& z = coded.z;
    for (std::size_t i = 0; i < x.dim(0); ++i)
      for (std::size_t h = 1; h <= c.horizon; ++h) {
        const std::size_t o = c.first_origin() + i;
        const double back = c.base(coded, o, h) + c.target_scaler.inverse(y[i * c.horizon + h - 1], h - 1);
        ASSERT_NEAR(back, z[o + h], 1e-4 * (1 + std::fabs(z[o + h]))) << recur::tasks::transform_name(t);
        if (recur::tasks::is_seasonal(t)) EXPECT_LE(o + h - 12 * ((h + 11) / 12), o);
      }
    EXPECT_EQ(c.first_input_row(), t == SeriesTransform::kNone ? 0u : recur::tasks::is_seasonal(t) ? 12u : 1u);
    if (recur::tasks::is_holt_winters(t)) {
      // The base is the Holt-Winters forecast made at the origin: changing a later value must not
      // change it (no look-ahead), changing an earlier one must.
      SeriesData later = d;
      later.columns[0][40] *= 1.5;
      const auto coded_later = c.encode(later);
      EXPECT_EQ(c.base(coded_later, 39, 1), c.base(coded, 39, 1));
      EXPECT_NE(c.base(coded_later, 40, 1), c.base(coded, 40, 1));
    }
  }
}

TEST(ForecasterCoder, LogTransformRefusesNonPositiveValuesNamingTheRow) {
  SeriesData d = seasonal_series(60, 1.0, 2);
  d.columns[0][7] = -1;
  recur::tasks::SeriesCoder c;
  c.config.transform = SeriesTransform::kLogDiff;
  c.config.lookback = 4;
  try {
    c.fit(d, 50);
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("needs values > 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("row 8"), std::string::npos) << e.what();
  }
}

TEST(Forecaster, EnsembleIsTheExactMeanOfItsMembersAndDeterministicForASeed) {
  const SeriesData d = seasonal_series(120, 2.0, 4);
  ForecasterOptions o = quick(3);
  o.ensemble = 1;
  o.shrink = false;  // each single model would choose its own shrink; the merge itself is tested
  o.combine = false;  // and its own Holt-Winters weight
  Forecaster one = recur::tasks::fit_forecaster(d, 100, o);
  o.ensemble = 3;
  Forecaster three = recur::tasks::fit_forecaster(d, 100, o);
  Forecaster again = recur::tasks::fit_forecaster(d, 100, o);
  EXPECT_EQ(three.members, 3u);
  // Member 0 of the ensemble is the single model; members 1, 2 come from seeds 4, 5.
  std::vector<Forecaster> members;
  for (std::uint64_t s : {4u, 5u}) {
    ForecasterOptions m = o;
    m.ensemble = 1;
    m.seed = s;
    members.push_back(recur::tasks::fit_forecaster(d, 100, m));
  }
  const auto p3 = recur::tasks::predict_paths(three, d, 90, 119);
  const auto p1 = recur::tasks::predict_paths(one, d, 90, 119);
  const auto pa = recur::tasks::predict_paths(members[0], d, 90, 119);
  const auto pb = recur::tasks::predict_paths(members[1], d, 90, 119);
  ASSERT_EQ(p3.mean.size(), 30u * 3u);
  for (std::size_t i = 0; i < p3.mean.size(); ++i) {
    // The diff/log transforms make the mean of members exact in the model's space; for the
    // default transform here (log-diff) that is the geometric mean of the paths.
    const double geo = std::exp((std::log(p1.mean[i]) + std::log(pa.mean[i]) + std::log(pb.mean[i])) / 3);
    EXPECT_NEAR(p3.mean[i], geo, 1e-4 * geo) << i;
  }
  const auto pagain = recur::tasks::predict_paths(again, d, 90, 119);
  EXPECT_EQ(p3.mean, pagain.mean) << "the same seed must give the same ensemble";
  EXPECT_EQ(three.width95, again.width95);
}

TEST(Forecaster, NothingAfterTheTrainingPartIsEverRead) {
  // The search, early stopping, ensemble and intervals must not depend on the test rows: replace
  // them by other (positive) values and every choice and weight must stay the same.
  SeriesData d = seasonal_series(150, 2.0, 5);
  SeriesData other = d;
  for (std::size_t t = 120; t < 150; ++t) other.columns[0][t] = 1000 + 37.0 * static_cast<double>(t % 7);
  ForecasterOptions o = quick(2);
  o.search = true;
  o.units = 8;  // a small search: transforms and lookbacks
  o.max_epochs = 15;
  Forecaster a = recur::tasks::fit_forecaster(d, 120, o);
  Forecaster b = recur::tasks::fit_forecaster(other, 120, o);
  ASSERT_EQ(a.trials.size(), b.trials.size());
  EXPECT_GE(a.trials.size(), 4u);
  for (std::size_t i = 0; i < a.trials.size(); ++i) {
    EXPECT_EQ(a.trials[i].config.describe(), b.trials[i].config.describe());
    EXPECT_EQ(a.trials[i].validation_rmse, b.trials[i].validation_rmse);
  }
  EXPECT_EQ(a.coder.config.describe(), b.coder.config.describe());
  EXPECT_EQ(a.coder.hw_weight, b.coder.hw_weight);
  EXPECT_EQ(a.width80, b.width80);
  const auto wa = a.model.get_weights(), wb = b.model.get_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (std::size_t k = 0; k < wa.size(); ++k)
    for (std::size_t i = 0; i < wa[k].size(); ++i) ASSERT_EQ(wa[k][i], wb[k][i]);
}

TEST(Forecaster, IntervalsCoverAboutTheirLevelOnASeriesWithKnownNoise) {
  // Seasonal series with Gaussian noise of std 3: the one-step errors of a good model are about
  // N(0, 3), so the 80% and 95% intervals should cover about 80% and 95% of 240 test points.
  // Bounds are wide (finite validation sample, model error) but an interval that ignored the
  // noise (too narrow) or was far too wide fails them.
  const SeriesData d = seasonal_series(600, 3.0, 6);
  ForecasterOptions o = quick(1);
  o.ensemble = 2;
  o.max_epochs = 60;
  o.validation_size = 120;
  Forecaster f = recur::tasks::fit_forecaster(d, 360, o);
  const auto p = recur::tasks::predict_paths(f, d, 359, 598);
  std::size_t in80 = 0, in95 = 0;
  for (std::size_t i = 0; i < p.origins.size(); ++i) {
    const double y = d.columns[0][p.origins[i] + 1];
    in80 += y >= p.lower80[i] && y <= p.upper80[i];
    in95 += y >= p.lower95[i] && y <= p.upper95[i];
  }
  const double n = static_cast<double>(p.origins.size());
  EXPECT_GE(in80 / n, 0.65);
  EXPECT_LE(in80 / n, 0.93);
  EXPECT_GE(in95 / n, 0.85);
  // Width vs the true noise: the 95% half-width is about 1.96 * 3 (in log units relative to
  // the level ~ 200-400, so compare through the interval itself at one point).
  const double half = (p.upper95[100] - p.lower95[100]) / 2;
  EXPECT_GT(half, 3.0);
  EXPECT_LT(half, 20.0);
}

TEST(Forecaster, OnARandomWalkItStaysCloseToNaive) {
  // Naive is the best forecast of a random walk: whatever the model learns is noise, and the
  // correction's shrink toward the base (naive, for differences) must keep it from hurting much.
  for (unsigned seed : {11u, 12u}) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> step(0.0, 1.0);
    SeriesData d;
    d.names = {"y"};
    d.columns.resize(1);
    double y = 0;
    for (int t = 0; t < 400; ++t) d.columns[0].push_back(y += step(rng));
    ForecasterOptions o = quick(1);
    o.seasons = {};
    o.transform = "diff";
    o.max_epochs = 40;
    Forecaster f = recur::tasks::fit_forecaster(d, 300, o);
    EXPECT_GE(f.shrink, 0.0);
    EXPECT_LE(f.shrink, 1.0);
    const auto p = recur::tasks::predict_paths(f, d, 299, 398);
    double se = 0, se_naive = 0;
    for (std::size_t i = 0; i < p.origins.size(); ++i) {
      const double actual = d.columns[0][p.origins[i] + 1], last = d.columns[0][p.origins[i]];
      se += (p.mean[i] - actual) * (p.mean[i] - actual);
      se_naive += (last - actual) * (last - actual);
    }
    EXPECT_LE(std::sqrt(se), 1.15 * std::sqrt(se_naive)) << "seed " << seed << ", shrink " << f.shrink;
  }
}

TEST(Forecaster, TheCombinationIsTheWeightedMeanOfTheModelAndHoltWinters) {
  // With combine on, a forecast is (1 - w) * the model's + w * Holt-Winters' (fitted on the same
  // training rows, run through the series), w chosen on validation among the grid's values.
  const SeriesData d = seasonal_series(120, 2.0, 6);
  ForecasterOptions o = quick(2);
  o.transform = "diff";  // z = y: the combination is a plain weighted mean in the series' units
  Forecaster f = recur::tasks::fit_forecaster(d, 100, o);
  ASSERT_TRUE(f.coder.combine);
  const double w = f.coder.hw_weight;
  EXPECT_TRUE(w == 0 || w == 0.25 || w == 0.5 || w == 0.75 || w == 1) << w;
  EXPECT_EQ(f.coder.hw.season, 12u) << "the combination's Holt-Winters model takes the season";
  const auto p = recur::tasks::predict_paths(f, d, 100, 118);
  f.coder.hw_weight = 0;
  const auto m = recur::tasks::predict_paths(f, d, 100, 118);
  std::vector<std::size_t> origins;
  for (std::size_t o2 = 100; o2 <= 118; ++o2) origins.push_back(o2);
  const auto hw = recur::tasks::holt_winters_forecast(f.coder.hw, d.columns[0], origins, 2);
  ASSERT_EQ(p.mean.size(), origins.size() * 2);
  for (std::size_t i = 0; i < origins.size(); ++i)
    for (std::size_t h = 1; h <= 2; ++h) {
      const double expect = (1 - w) * m.at(m.mean, i, h) + w * hw.values[i][h - 1];
      EXPECT_NEAR(p.at(p.mean, i, h), expect, 1e-9 * std::fabs(expect)) << i << " " << h;
    }
  // Off: the model alone, and no Holt-Winters model is fitted.
  o.combine = false;
  Forecaster g = recur::tasks::fit_forecaster(d, 100, o);
  EXPECT_FALSE(g.coder.combine);
  EXPECT_EQ(g.coder.hw_weight, 0.0);
}

TEST(Forecaster, TooShortTrainingPartIsAClearError) {
  const SeriesData d = seasonal_series(20, 1.0, 7);
  try {
    recur::tasks::fit_forecaster(d, 15, quick(1));
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_EQ(e.code(), "RECUR-E0013");
    EXPECT_NE(std::string(e.what()).find("too short"), std::string::npos) << e.what();
  }
}

TEST(Forecaster, AbsurdMagnitudesAreRefusedBeforeTraining) {
  SeriesData d = seasonal_series(100, 1.0, 9);
  d.columns[0][42] = -1e300;
  try {
    recur::tasks::fit_forecaster(d, 90, quick(1));
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_EQ(e.code(), "RECUR-E0005");
    EXPECT_NE(std::string(e.what()).find("row 43"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Rescale"), std::string::npos) << e.what();
  }
}

TEST(Forecaster, AHugeHorizonTimesManyRowsIsRefusedBeforeAllocating) {
  // A model file may declare any horizon up to the metadata cap; with a long CSV the paths would
  // be rows x horizon values. predict_paths refuses before it allocates them.
  const SeriesData d = seasonal_series(100, 1.0, 10);
  ForecasterOptions o = quick(2);
  o.ensemble = 1;
  o.max_epochs = 2;
  Forecaster f = recur::tasks::fit_forecaster(d, 90, o);
  f.coder.horizon = 100000;  // as a crafted file's metadata could say
  SeriesData big;
  big.names = {"y"};
  big.columns = {std::vector<double>(300000, 5.0)};
  try {
    recur::tasks::predict_paths(f, big, 0, 299999);
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("forecast values recur computes at once"), std::string::npos) << e.what();
  }
}

TEST(Forecaster, MetadataRoundTripsAndHostileValuesAreModelFormatErrors) {
  const SeriesData d = seasonal_series(100, 1.0, 8);
  ForecasterOptions o = quick(2);
  o.ensemble = 1;
  o.max_epochs = 3;
  Forecaster f = recur::tasks::fit_forecaster(d, 90, o);
  const std::string meta = recur::tasks::forecaster_metadata(f);
  Forecaster g;
  recur::tasks::forecaster_from_metadata(meta, &g);
  EXPECT_EQ(g.coder.config.describe(), f.coder.config.describe());
  EXPECT_EQ(g.width95, f.width95);
  EXPECT_EQ(g.coder.target_scaler.scale, f.coder.target_scaler.scale);
  EXPECT_EQ(g.coder.combine, f.coder.combine);
  EXPECT_EQ(g.coder.hw_weight, f.coder.hw_weight);
  EXPECT_EQ(g.coder.hw.alpha, f.coder.hw.alpha);
  for (const std::string& bad :
       {std::string("{}"), std::string("[1,2]"),
        meta.substr(0, meta.size() / 2),
        std::string(R"({"transform":"diff","season_lag":0,"lookback":4,"units":8,"layer":"lstm","horizon":18446744073709551615,"log":[false],"input_offset":[0],"input_scale":[1],"target_offset":[0],"target_scale":[1],"width80":[1],"width95":[1],"members":1})"),
        std::string(R"({"transform":"diff","season_lag":0,"lookback":4,"units":8,"layer":"lstm","horizon":1,"log":[false],"input_offset":[0],"input_scale":[1],"target_offset":[0],"target_scale":[1],"width80":[1],"width95":[1e400],"members":1})"),
        std::string(R"({"transform":"diff","season_lag":0,"lookback":4,"units":8,"layer":"lstm","horizon":1,"log":[false],"input_offset":[0],"input_scale":[1],"target_offset":[0],"target_scale":[1],"width80":[1],"width95":[1],"members":1,"combine":true,"hw_weight":1.5})"),
        std::string(R"({"transform":"diff","season_lag":0,"lookback":4,"units":8,"layer":"lstm","horizon":1,"log":[false],"input_offset":[0],"input_scale":[1],"target_offset":[0],"target_scale":[1],"width80":[1],"width95":[1],"members":1,"combine":false,"hw_weight":0.5})"),
        std::string(R"({"transform":"diff","season_lag":0,"lookback":4,"units":8,"layer":"lstm","horizon":1,"log":[false],"input_offset":[0],"input_scale":[1],"target_offset":[0],"target_scale":[1],"width80":[1],"width95":[1],"members":1,"combine":true,"hw_weight":0.5})"),
        std::string(R"({"transform":"sideways","season_lag":0,"lookback":4,"units":8,"layer":"lstm","horizon":1,"log":[false],"input_offset":[0],"input_scale":[1],"target_offset":[0],"target_scale":[1],"width80":[1],"width95":[1],"members":1})")}) {
    Forecaster h;
    EXPECT_THROW(recur::tasks::forecaster_from_metadata(bad, &h), recur::ModelFormatError) << bad;
  }
}

}  // namespace
