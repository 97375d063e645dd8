#include "recur/data/windows.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "recur/core/error.hpp"
#include "recur/data/scaler.hpp"

namespace {

TEST(Windows, InputsEndHorizonStepsBeforeTheTarget) {
  // Series 0..9 in one feature column; lookback 3, horizon 2: target t uses rows t-4..t-2.
  recur::Tensor series({10, 1});
  std::vector<float> target(10);
  for (int i = 0; i < 10; ++i) series[i] = target[i] = static_cast<float>(i);
  const auto w = recur::make_windows(series, target, 3, 2, 4, 10);
  EXPECT_EQ(w.x.shape(), (recur::Shape{6, 3, 1}));
  EXPECT_EQ(w.x.at({0, 0, 0}), 0);
  EXPECT_EQ(w.x.at({0, 2, 0}), 2);
  EXPECT_EQ(w.y[0], 4);
  EXPECT_EQ(w.x.at({5, 2, 0}), 7);
  EXPECT_EQ(w.y[5], 9);
  // Targets past the data (a real forecast) get NaN.
  const auto f = recur::make_windows(series, target, 3, 2, 10, 12);
  EXPECT_EQ(f.x.at({1, 2, 0}), 9);
  EXPECT_TRUE(std::isnan(f.y[1]));
}

TEST(Windows, LookbackLongerThanTheSeriesIsAValueError) {
  recur::Tensor series({10, 1});
  try {
    recur::make_windows(series, {}, 20, 1, 5, 10);
    FAIL();
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("lookback 20"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("shorter lookback"), std::string::npos) << e.what();
  }
  EXPECT_THROW(recur::make_windows(series, {}, 0, 1, 5, 10), recur::ValueError);
}

TEST(Scaler, FitsOnTrainingRowsOnly) {
  const std::vector<double> v{1, 2, 3, 100};
  recur::Scaler s;
  s.kind = recur::ScalerKind::kMinMax;
  s.fit_column(v, 3);  // the last value is "test" and must not leak
  EXPECT_EQ(s.offset[0], 1);
  EXPECT_EQ(s.scale[0], 2);
  EXPECT_EQ(s.transform(3, 0), 1);
  recur::Scaler z;
  z.fit_column({2, 4, 6}, 3);
  EXPECT_DOUBLE_EQ(z.offset[0], 4);
  EXPECT_DOUBLE_EQ(z.scale[0], std::sqrt(8.0 / 3.0));
  EXPECT_DOUBLE_EQ(z.inverse(z.transform(5.5, 0), 0), 5.5);
}

}  // namespace
