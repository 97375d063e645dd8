#include "recur/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using recur::MetricKind;

TEST(Metrics, AccuracyResolvesFromTheLossAsInKeras) {
  EXPECT_EQ(recur::parse_metric("accuracy", {recur::LossKind::kBinaryCrossentropy}), MetricKind::kBinaryAccuracy);
  EXPECT_EQ(recur::parse_metric("accuracy", {recur::LossKind::kSparseCategoricalCrossentropy}),
            MetricKind::kSparseCategoricalAccuracy);
  EXPECT_EQ(recur::parse_metric("acc", {recur::LossKind::kCategoricalCrossentropy}), MetricKind::kCategoricalAccuracy);
}

TEST(Metrics, AccuraciesCountMatchesOverBatches) {
  recur::Metric sparse(MetricKind::kSparseCategoricalAccuracy, "accuracy");
  const float p1[] = {0.1f, 0.8f, 0.1f, 0.6f, 0.3f, 0.1f};
  const float y1[] = {1, 2};
  sparse.update(p1, y1, 2, 3);  // 1 of 2
  const float p2[] = {0.2f, 0.2f, 0.6f};
  const float y2[] = {2};
  sparse.update(p2, y2, 1, 3);  // 1 of 1
  EXPECT_DOUBLE_EQ(sparse.result(), 2.0 / 3.0);
  EXPECT_EQ(sparse.name(), "accuracy");

  recur::Metric cat(MetricKind::kCategoricalAccuracy);
  const float yc[] = {0, 1, 0, 0, 0, 1};
  cat.update(p1, yc, 2, 3);
  EXPECT_DOUBLE_EQ(cat.result(), 0.5);

  recur::Metric bin(MetricKind::kBinaryAccuracy);
  const float pb[] = {0.9f, 0.4f, 0.6f, 0.1f};
  const float yb[] = {1, 1, 0, 0};
  bin.update(pb, yb, 4, 1);
  EXPECT_DOUBLE_EQ(bin.result(), 0.5);
}

TEST(Metrics, RmseIsTheRootOfTheMeanOverAllElements) {
  recur::Metric rmse(MetricKind::kRmse);
  const float p[] = {1, 2, 3}, y[] = {0, 0, 3};
  rmse.update(p, y, 3, 1);
  EXPECT_DOUBLE_EQ(rmse.result(), std::sqrt(5.0 / 3.0));
}

}  // namespace
