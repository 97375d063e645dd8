#include <gtest/gtest.h>

#include "recur/core/error.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"

namespace {

TEST(Dense, AppliesPerTimestepOnRankThreeInput) {
  recur::Dense d(recur::DenseOptions(2).activation("relu"));
  recur::Rng rng(0);
  d.build({3, 4}, rng);
  EXPECT_EQ(d.output_shape(), (recur::Shape{3, 2}));
  d.weights()[0]->value = recur::Tensor({4, 2}, {1, 0, 0, 1, 0, 0, 0, -1});
  d.weights()[1]->value = recur::Tensor({2}, {0.5f, 0});
  recur::Tensor x({1, 3, 4}, {1, 2, 3, 4, -1, -2, 0, 0, 0, 0, 0, 0});
  const recur::Tensor y = d.forward(x, false);
  EXPECT_EQ(y.shape(), (recur::Shape{1, 3, 2}));
  // step 0: (1 + 0.5, 2 - 4) -> relu -> (1.5, 0); step 1: (-0.5, -2) -> (0, 0); step 2: (0.5, 0)
  EXPECT_EQ(y.values(), (std::vector<float>{1.5f, 0, 0, 0, 0.5f, 0}));
}

TEST(Dropout, TrainingDropsAndRescalesInferenceIsIdentity) {
  recur::Dropout d(0.5f);
  recur::Rng rng(7);
  d.build({1000}, rng);
  const recur::Tensor x = recur::Tensor::full({2, 1000}, 1.0f);
  EXPECT_EQ(d.forward(x, false).values(), x.values());
  const recur::Tensor y = d.forward(x, true);
  std::size_t zeros = 0;
  for (float v : y.values()) {
    EXPECT_TRUE(v == 0.0f || v == 2.0f) << v;
    zeros += v == 0.0f;
  }
  EXPECT_GT(zeros, 850u);
  EXPECT_LT(zeros, 1150u);
  // backward applies the same mask.
  const recur::Tensor dx = d.backward(recur::Tensor::full({2, 1000}, 3.0f));
  for (std::size_t i = 0; i < dx.size(); ++i) EXPECT_EQ(dx[i], y[i] * 3.0f);
}

TEST(Dropout, RateOutsideUnitIntervalIsAValueError) {
  EXPECT_THROW(recur::Dropout(1.0f), recur::ValueError);
  EXPECT_THROW(recur::Dropout(-0.1f), recur::ValueError);
}

}  // namespace
