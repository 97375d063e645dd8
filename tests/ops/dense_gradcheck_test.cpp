// Gradient checks of Dense with every activation, and of every element-wise activation and
// loss, in double precision against central differences.
#include <gtest/gtest.h>

#include "recur/ops/activations.hpp"
#include "recur/ops/dense_kernels.hpp"
#include "support/gradcheck.hpp"

namespace {

using recur::ops::Activation;
using recur::test::expect_gradient;
using recur::test::random_values;

class DenseGradcheck : public ::testing::TestWithParam<Activation> {};

TEST_P(DenseGradcheck, MatchesCentralDifferences) {
  const Activation act = GetParam();
  const std::size_t N = 5, F = 4, O = 3;
  std::vector<double> x = random_values(N * F, 11), k = random_values(F * O, 12, 0.8),
                      b = random_values(O, 13, 0.3);
  const std::vector<double> gy = random_values(N * O, 14);
  std::vector<double> y(N * O);
  auto loss = [&] {
    recur::ops::dense_forward<double>(y.data(), x.data(), k.data(), b.data(), N, F, O, act);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += y[i] * gy[i];
    return l;
  };
  loss();
  std::vector<double> dx(x.size()), dk(k.size(), 0.0), db(b.size(), 0.0), dz(y.size());
  recur::ops::dense_backward<double>(dx.data(), dk.data(), db.data(), dz.data(), gy.data(),
                                     x.data(), y.data(), k.data(), N, F, O, act);
  const std::string name = recur::ops::activation_name(act);
  expect_gradient(name + " dx", dx, loss, x);
  expect_gradient(name + " dkernel", dk, loss, k);
  expect_gradient(name + " dbias", db, loss, b);
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, DenseGradcheck,
                         ::testing::Values(Activation::kLinear, Activation::kRelu,
                                           Activation::kTanh, Activation::kSigmoid,
                                           Activation::kSoftmax),
                         [](const auto& info) { return recur::ops::activation_name(info.param); });

class ActivationGradcheck : public ::testing::TestWithParam<Activation> {};

TEST_P(ActivationGradcheck, BackwardFromOutputMatchesCentralDifferences) {
  const Activation act = GetParam();
  const std::size_t rows = 3, cols = 4;
  std::vector<double> x = random_values(rows * cols, 21, 2.0);
  const std::vector<double> gy = random_values(rows * cols, 22);
  std::vector<double> y(x.size());
  auto loss = [&] {
    recur::ops::activation_forward<double>(y.data(), x.data(), rows, cols, act);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += y[i] * gy[i];
    return l;
  };
  loss();
  std::vector<double> dx(x.size());
  recur::ops::activation_backward<double>(dx.data(), gy.data(), y.data(), rows, cols, act);
  expect_gradient(recur::ops::activation_name(act), dx, loss, x);
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, ActivationGradcheck,
                         ::testing::Values(Activation::kLinear, Activation::kRelu,
                                           Activation::kTanh, Activation::kSigmoid,
                                           Activation::kSoftmax),
                         [](const auto& info) { return recur::ops::activation_name(info.param); });

TEST(Activations, SoftmaxRowsSumToOneAndSurviveLargeInputs) {
  std::vector<double> x{1000, 1001, 1002, -5, 0, 5}, y(6);
  recur::ops::activation_forward<double>(y.data(), x.data(), 2, 3, Activation::kSoftmax);
  EXPECT_NEAR(y[0] + y[1] + y[2], 1.0, 1e-12);
  EXPECT_NEAR(y[3] + y[4] + y[5], 1.0, 1e-12);
  EXPECT_NEAR(y[2] / y[1], std::exp(1.0), 1e-9);
}

}  // namespace
