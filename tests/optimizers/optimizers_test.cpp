// One or two optimizer steps against the update rules written out by hand (Keras's formulas).
#include "recur/optimizers/optimizers.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "recur/core/error.hpp"

namespace {

recur::Weight weight(float value, float grad) {
  return {"w", recur::Tensor({1}, {value}), recur::Tensor({1}, {grad})};
}

TEST(Optimizers, SgdMomentumFollowsKerasRule) {
  recur::SGD opt(recur::SgdOptions().learning_rate(0.1f).momentum(0.9f));
  recur::Weight w = weight(1.0f, 0.5f);
  opt.step({&w});  // v = -0.05, w = 0.95
  EXPECT_NEAR(w.value[0], 0.95f, 1e-7);
  opt.step({&w});  // v = 0.9*-0.05 - 0.05 = -0.095, w = 0.855
  EXPECT_NEAR(w.value[0], 0.855f, 1e-6);
}

TEST(Optimizers, AdamFirstStepMovesByLearningRate) {
  recur::Adam opt;  // Keras defaults: 0.001, 0.9, 0.999, 1e-7
  recur::Weight w = weight(1.0f, 0.3f);
  opt.step({&w});
  // m = 0.03, v = 0.00009, lr_t = 0.001 * sqrt(0.001) / 0.1; step = lr_t * m / (sqrt(v) + eps)
  const double lr_t = 0.001 * std::sqrt(1 - 0.999) / (1 - 0.9);
  const double expected = 1.0 - lr_t * 0.03 / (std::sqrt(0.00009) + 1e-7);
  EXPECT_NEAR(w.value[0], expected, 1e-6);
  EXPECT_NEAR(w.value[0], 0.999, 1e-5);
}

TEST(Optimizers, RmspropFollowsKerasRule) {
  recur::RMSprop opt;  // 0.001, rho 0.9, eps 1e-7
  recur::Weight w = weight(1.0f, 2.0f);
  opt.step({&w});
  const double v = 0.1 * 4.0;
  EXPECT_NEAR(w.value[0], 1.0 - 0.001 * 2.0 / std::sqrt(v + 1e-7), 1e-6);
}

TEST(Optimizers, BadHyperparametersAreValueErrors) {
  EXPECT_THROW(recur::SGD(recur::SgdOptions().learning_rate(0.0f)), recur::ValueError);
  EXPECT_THROW(recur::Adam(recur::AdamOptions().learning_rate(-1.0f)), recur::ValueError);
  EXPECT_THROW(recur::Adam(recur::AdamOptions().beta_1(1.0f)), recur::ValueError);
  EXPECT_THROW(recur::RMSprop(recur::RmspropOptions().rho(1.5f)), recur::ValueError);
  EXPECT_THROW(recur::make_optimizer("adamw"), recur::ValueError);
  EXPECT_EQ(recur::make_optimizer("Adam", 0.01f)->learning_rate(), 0.01f);
  EXPECT_THROW(recur::make_optimizer("adam", 0.0f), recur::ValueError);
}

}  // namespace
