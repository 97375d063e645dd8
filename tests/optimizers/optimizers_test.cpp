// One or two optimizer steps against the update rules written out by hand (Keras's formulas).
#include "recur/optimizers/optimizers.hpp"

#include <nlohmann/json.hpp>

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
  EXPECT_THROW(recur::make_optimizer("adamax"), recur::ValueError);
  EXPECT_EQ(recur::make_optimizer("Adam", 0.01f)->learning_rate(), 0.01f);
  EXPECT_THROW(recur::make_optimizer("adam", 0.0f), recur::ValueError);
}

}  // namespace

namespace {

TEST(Clipping, ClipnormScalesEachWeightGlobalClipnormScalesThemTogether) {
  recur::Weight a{"a", recur::Tensor({2}, {0, 0}), recur::Tensor({2}, {3, 4})};  // norm 5
  recur::Weight b{"b", recur::Tensor({1}, {0}), recur::Tensor({1}, {0.5f})};     // norm 0.5
  recur::SGD sgd(recur::SgdOptions().learning_rate(1.0f));
  sgd.set_clipping({.clipnorm = 1.0f});
  sgd.step({&a, &b});
  EXPECT_NEAR(a.value[0], -0.6f, 1e-6);  // (3, 4) scaled to norm 1
  EXPECT_NEAR(a.value[1], -0.8f, 1e-6);
  EXPECT_NEAR(b.value[0], -0.5f, 1e-6);  // already under 1: untouched

  recur::Weight c{"c", recur::Tensor({2}, {0, 0}), recur::Tensor({2}, {3, 4})};
  recur::Weight d{"d", recur::Tensor({1}, {0}), recur::Tensor({1}, {0})};
  d.grad[0] = 0;
  recur::SGD g(recur::SgdOptions().learning_rate(1.0f));
  g.set_clipping({.global_clipnorm = 2.5f});  // joint norm 5 -> scaled by 0.5
  g.step({&c, &d});
  EXPECT_NEAR(c.value[0], -1.5f, 1e-6);
  EXPECT_NEAR(c.value[1], -2.0f, 1e-6);
}

TEST(Clipping, ClipvalueClipsElementsAndBadSettingsAreValueErrors) {
  recur::Weight w{"w", recur::Tensor({3}, {0, 0, 0}), recur::Tensor({3}, {-5, 0.2f, 9})};
  recur::SGD sgd(recur::SgdOptions().learning_rate(1.0f));
  sgd.set_clipping({.clipvalue = 1.0f});
  sgd.step({&w});
  EXPECT_EQ(w.value.values(), (std::vector<float>{1.0f, -0.2f, -1.0f}));
  recur::Adam adam;
  EXPECT_THROW(adam.set_clipping({.clipnorm = 1.0f, .global_clipnorm = 1.0f}), recur::ValueError);
  EXPECT_THROW(adam.set_clipping({.clipvalue = 0.0f}), recur::ValueError);
}

TEST(Clipping, SurvivesTheModelFile) {
  auto opt = recur::make_optimizer("adam");
  opt->set_clipping({.clipnorm = 1.5f, .clipvalue = 0.5f});
  const auto back = recur::optimizer_from_config(opt->type(), recur::optimizer_config(*opt));
  ASSERT_TRUE(back->clipping().clipnorm.has_value());
  EXPECT_EQ(*back->clipping().clipnorm, 1.5f);
  EXPECT_EQ(*back->clipping().clipvalue, 0.5f);
  EXPECT_FALSE(back->clipping().global_clipnorm.has_value());
}

}  // namespace

namespace {

// One weight, one step, by hand from the Keras update rules.
recur::Weight one_weight(float value, float grad) {
  return recur::Weight{"w", recur::Tensor({1}, {value}), recur::Tensor({1}, {grad})};
}

TEST(Optimizers, AdamWDecaysThenTakesTheAdamStep) {
  recur::Weight w = one_weight(2.0f, 0.5f);
  recur::AdamW opt(recur::AdamWOptions().learning_rate(0.1f).weight_decay(0.01f));
  opt.step({&w});
  // decay: 2 - 0.1*0.01*2 = 1.998; Adam's first step moves by lr * g/|g| (bias-corrected) = 0.1
  EXPECT_NEAR(w.value[0], 1.998f - 0.1f, 1e-5);
  EXPECT_THROW(recur::AdamW(recur::AdamWOptions().weight_decay(-1.0f)), recur::ValueError);
  EXPECT_EQ(recur::make_optimizer("AdamW")->type(), "AdamW");
}

TEST(Optimizers, AdagradAccumulatesSquaredGradients) {
  recur::Weight w = one_weight(1.0f, 2.0f);
  recur::Adagrad opt(recur::AdagradOptions().learning_rate(0.5f));
  opt.step({&w});  // a = 0.1 + 4
  const float a1 = 4.1f;
  EXPECT_NEAR(w.value[0], 1.0f - 0.5f * 2.0f / std::sqrt(a1 + 1e-7f), 1e-6);
  const float after1 = w.value[0];
  opt.step({&w});  // a = 8.1
  EXPECT_NEAR(w.value[0], after1 - 0.5f * 2.0f / std::sqrt(8.1f + 1e-7f), 1e-6);
}

TEST(Optimizers, ScheduleSetsTheRateBeforeEveryStep) {
  recur::Weight w = one_weight(0.0f, 1.0f);
  recur::SGD opt;
  opt.set_schedule(recur::step_decay(0.1, 0.5, 2));  // 0.1, 0.1, 0.05, 0.05, 0.025
  std::vector<float> rates;
  for (int i = 0; i < 5; ++i) {
    opt.step({&w});
    rates.push_back(opt.learning_rate());
  }
  EXPECT_EQ(rates, (std::vector<float>{0.1f, 0.1f, 0.05f, 0.05f, 0.025f}));
  EXPECT_NEAR(w.value[0], -(0.1f + 0.1f + 0.05f + 0.05f + 0.025f), 1e-6);
  const recur::LearningRateSchedule smooth = recur::exponential_decay(1.0, 10, 0.5);
  EXPECT_NEAR(smooth(5), std::sqrt(0.5), 1e-12);
  EXPECT_THROW(recur::exponential_decay(1.0, 0, 0.5), recur::ValueError);
  // The schedule survives a save: optimizer_config -> optimizer_from_config.
  auto back = recur::optimizer_from_config(opt.type(), recur::optimizer_config(opt));
  ASSERT_TRUE(back->schedule().has_value());
  EXPECT_EQ(back->schedule()->decay_steps, 2);
  auto adagrad = recur::optimizer_from_config("Adagrad", recur::optimizer_config(recur::Adagrad()));
  EXPECT_EQ(adagrad->type(), "Adagrad");
}

}  // namespace
