// Every loss against central differences in double precision, and against values written out
// from its definition (Keras's formulas; PyTorch's BCELoss / CrossEntropyLoss give the same
// numbers on these inputs).
#include "recur/losses/losses.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "recur/core/error.hpp"
#include "support/gradcheck.hpp"

namespace {

using recur::Loss;
using recur::LossKind;
using recur::test::expect_gradient;
using recur::test::random_values;

struct LossCase {
  const char* name;
  Loss loss;
};

class LossGradcheck : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossGradcheck, MatchesCentralDifferences) {
  const Loss loss = GetParam().loss;
  const std::size_t rows = 4, cols = 3;
  std::vector<double> pred = random_values(rows * cols, 31, 2.0), target;
  const bool probs = !loss.from_logits && (loss.kind == LossKind::kBinaryCrossentropy ||
                                            loss.kind == LossKind::kCategoricalCrossentropy ||
                                            loss.kind == LossKind::kSparseCategoricalCrossentropy);
  if (probs)  // keep probabilities away from the clip bounds
    for (double& p : pred) p = 0.1 + 0.8 * (p + 2.0) / 4.0;
  switch (loss.kind) {
    case LossKind::kBinaryCrossentropy:
      target = random_values(rows * cols, 32);
      for (double& t : target) t = (t + 1) / 2;  // soft labels in [0, 1]
      break;
    case LossKind::kCategoricalCrossentropy:
      target = {0.2, 0.8, 0, 1, 0, 0, 0, 0, 1, 0.5, 0.25, 0.25};
      break;
    case LossKind::kSparseCategoricalCrossentropy:
      target = {2, 0, 1, 2};
      break;
    default:
      target = random_values(rows * cols, 33, 2.0);
  }
  auto value = [&] { return recur::loss_value<double>(loss, pred.data(), target.data(), rows, cols); };
  std::vector<double> g(pred.size());
  recur::loss_gradient<double>(loss, g.data(), pred.data(), target.data(), rows, cols);
  expect_gradient(GetParam().name, g, value, pred);
  // With per-row weights (sample_weight, class_weight, masked timesteps): the weighted mean.
  const std::vector<double> w{0.5, 2.0, 0.0, 1.0};
  auto weighted = [&] {
    return recur::loss_value<double>(loss, pred.data(), target.data(), rows, cols, w.data());
  };
  recur::loss_gradient<double>(loss, g.data(), pred.data(), target.data(), rows, cols, w.data());
  expect_gradient(std::string(GetParam().name) + " weighted", g, weighted, pred);
  double by_rows = 0;
  for (std::size_t r = 0; r < rows; ++r)
    by_rows += w[r] * recur::loss_value<double>(loss, pred.data() + r * cols,
                                                target.data() + r * loss.target_cols(cols), 1, cols);
  EXPECT_NEAR(weighted(), by_rows / rows, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(
    EveryLoss, LossGradcheck,
    ::testing::Values(LossCase{"mse", {LossKind::kMeanSquaredError}},
                      LossCase{"mae", {LossKind::kMeanAbsoluteError}},
                      LossCase{"huber", {LossKind::kHuber}},
                      LossCase{"huber_delta_half", {LossKind::kHuber, false, 0.5}},
                      LossCase{"binary_crossentropy", {LossKind::kBinaryCrossentropy}},
                      LossCase{"binary_crossentropy_logits", {LossKind::kBinaryCrossentropy, true}},
                      LossCase{"categorical_crossentropy", {LossKind::kCategoricalCrossentropy}},
                      LossCase{"categorical_crossentropy_logits", {LossKind::kCategoricalCrossentropy, true}},
                      LossCase{"sparse_categorical_crossentropy", {LossKind::kSparseCategoricalCrossentropy}},
                      LossCase{"sparse_categorical_crossentropy_logits", {LossKind::kSparseCategoricalCrossentropy, true}}),
    [](const auto& info) { return std::string(info.param.name); });

double value(const Loss& loss, const std::vector<double>& p, const std::vector<double>& y,
             std::size_t rows, std::size_t cols) {
  return recur::loss_value<double>(loss, p.data(), y.data(), rows, cols);
}

TEST(Losses, ValuesMatchTheirDefinitions) {
  const std::vector<double> p{1, 2, 4}, t{1, 0, 1};
  EXPECT_DOUBLE_EQ(value({LossKind::kMeanSquaredError}, p, t, 3, 1), (0 + 4 + 9) / 3.0);
  EXPECT_DOUBLE_EQ(value({LossKind::kMeanAbsoluteError}, p, t, 3, 1), (0 + 2 + 3) / 3.0);
  // huber, delta 1: d = 0, 2, 3 -> 0, 1.5, 2.5
  EXPECT_DOUBLE_EQ(value({LossKind::kHuber}, p, t, 3, 1), (0 + 1.5 + 2.5) / 3.0);
  // binary: -(log 0.8 + log(1 - 0.3)) / 2
  EXPECT_NEAR(value({LossKind::kBinaryCrossentropy}, {0.8, 0.3}, {1, 0}, 1, 2),
              -(std::log(0.8) + std::log(0.7)) / 2, 1e-12);
  // categorical on probabilities normalizes them first: (0.2, 0.6) -> (0.25, 0.75)
  EXPECT_NEAR(value({LossKind::kCategoricalCrossentropy}, {0.2, 0.6}, {0, 1}, 1, 2), -std::log(0.75), 1e-12);
  // sparse = categorical with the one-hot of the label
  EXPECT_NEAR(value({LossKind::kSparseCategoricalCrossentropy}, {0.1, 0.7, 0.2, 0.5, 0.25, 0.25}, {1, 0}, 2, 3),
              -(std::log(0.7) + std::log(0.5)) / 2, 1e-12);
  // from_logits: log-softmax, stable for large logits
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(value({LossKind::kSparseCategoricalCrossentropy, true}, {1, 2, 3}, {0}, 1, 3), lse - 1, 1e-12);
  EXPECT_NEAR(value({LossKind::kSparseCategoricalCrossentropy, true}, {1001, 1002, 1003}, {0}, 1, 3), lse - 1, 1e-9);
  EXPECT_NEAR(value({LossKind::kBinaryCrossentropy, true}, {800}, {0}, 1, 1), 800, 1e-9);
}

TEST(Losses, ProbabilitiesAreClippedLikeKeras) {
  // p = 0 for the true class: log(1e-7), not infinity.
  EXPECT_NEAR(value({LossKind::kSparseCategoricalCrossentropy}, {0, 1}, {0}, 1, 2), -std::log(1e-7), 1e-6);
  EXPECT_NEAR(value({LossKind::kBinaryCrossentropy}, {1}, {0}, 1, 1), -std::log(1e-7), 1e-6);
}

TEST(Losses, UnknownNameListsTheKnownOnes) {
  try {
    recur::parse_loss("crossentropy");
    FAIL();
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("sparse_categorical_crossentropy"), std::string::npos);
  }
}

}  // namespace
