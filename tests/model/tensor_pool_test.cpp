// The storage a Model reuses across passes (recur/core/tensor_pool.hpp). Every layer that takes
// a reused buffer promises to overwrite it in full: with reused buffers poisoned (NaN), passes
// over every model case must give bit-identical outputs and gradients to passes without the
// poison, and finite ones. A layer that left a value unwritten would show NaN or differ.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "recur/core/tensor_pool.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/model/model.hpp"
#include "support/model_cases.hpp"

namespace {

using recur::Model;
using recur::Tensor;
using recur::test::ModelCase;

// Outputs and weight gradients of `passes` forward/backward passes (training, so dropout runs)
// and one inference pass, all flattened in order.
std::vector<float> run_passes(ModelCase& c, int passes) {
  Model& m = *c.model;
  std::vector<float> all;
  for (int p = 0; p < passes; ++p) {
    m.zero_grad();
    std::vector<Tensor> ys = m.forward(c.xs, true);
    std::vector<Tensor> dys;
    for (const Tensor& y : ys) {
      Tensor dy(y.shape());
      for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = 0.01f * static_cast<float>(i % 17) - 0.08f;
      dys.push_back(dy);
      all.insert(all.end(), y.values().begin(), y.values().end());
    }
    m.backward(dys);
    for (recur::Weight* w : m.trainable_weights())
      all.insert(all.end(), w->grad.values().begin(), w->grad.values().end());
  }
  for (const Tensor& y : m.forward(c.xs, false)) all.insert(all.end(), y.values().begin(), y.values().end());
  return all;
}

TEST(TensorPool, EveryLayerOverwritesTheBuffersItReuses) {
  std::vector<ModelCase> plain = recur::test::all_model_cases();
  std::vector<ModelCase> poisoned = recur::test::all_model_cases();
  ASSERT_EQ(plain.size(), poisoned.size());
  ASSERT_GT(plain.size(), 20u);
  for (std::size_t k = 0; k < plain.size(); ++k) {
    SCOPED_TRACE(plain[k].name);
    plain[k].model->reset_states();
    poisoned[k].model->reset_states();
    recur::set_poison_reused_buffers(false);
    const std::vector<float> want = run_passes(plain[k], 3);
    recur::set_poison_reused_buffers(true);
    const std::vector<float> got = run_passes(poisoned[k], 3);
    recur::set_poison_reused_buffers(false);
    ASSERT_EQ(want.size(), got.size());
    std::size_t nonfinite = 0;
    for (float v : got) nonfinite += std::isfinite(v) ? 0 : 1;
    EXPECT_EQ(nonfinite, 0u);
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
  }
}

TEST(TensorPool, TakesTheSmallestBufferThatFitsAndPoisonsIt) {
  recur::TensorPool pool;
  pool.give(Tensor({100}));
  pool.give(Tensor({40}));
  pool.give(Tensor({1000}));
  pool.give(Tensor());  // nothing to keep
  EXPECT_EQ(pool.size(), 3u);
  std::vector<float> v = pool.take(30);  // 40 fits best
  EXPECT_EQ(v.size(), 30u);
  EXPECT_EQ(v.capacity(), 40u);
  EXPECT_EQ(pool.size(), 2u);
  // A small request does not pin a buffer more than 4 times its size: a new one instead.
  std::vector<float> small = pool.take(10);
  EXPECT_EQ(small.capacity(), 10u);
  EXPECT_EQ(pool.size(), 2u);
  recur::set_poison_reused_buffers(true);
  std::vector<float> p = pool.take(90);
  recur::set_poison_reused_buffers(false);
  EXPECT_EQ(p.capacity(), 100u);
  for (float x : p) EXPECT_TRUE(std::isnan(x));
}

TEST(TensorPool, KeepsTheLargestBuffersWhenFull) {
  recur::TensorPool pool;
  for (std::size_t k = 0; k < recur::TensorPool::kMaxBuffers; ++k) pool.give(Tensor({8}));
  pool.give(Tensor({5000}));
  EXPECT_EQ(pool.size(), recur::TensorPool::kMaxBuffers);
  EXPECT_EQ(pool.take(4000).capacity(), 5000u);
  pool.give(Tensor({8}));
  pool.give(Tensor({4}));  // full, and smaller than every spare: dropped
  EXPECT_EQ(pool.size(), recur::TensorPool::kMaxBuffers);
  EXPECT_EQ(pool.take(4).capacity(), 8u);
}

TEST(TensorPool, OutsideAScopeLayersAllocateAsBefore) {
  // No pool current on this thread: pooled_tensor gives zeros and recycle frees.
  Tensor t = recur::pooled_tensor({3, 4});
  for (float v : t.values()) EXPECT_EQ(v, 0.0f);
  recur::TensorPool pool;
  {
    recur::TensorPoolScope scope(&pool);
    recur::recycle(std::move(t));
    EXPECT_EQ(pool.size(), 1u);
    EXPECT_TRUE(t.empty());
    {
      recur::TensorPoolScope none(nullptr);
      Tensor z = recur::pooled_tensor({12});
      EXPECT_EQ(pool.size(), 1u);  // the inner scope has no pool
    }
    Tensor z = recur::pooled_zeros({12});
    EXPECT_EQ(pool.size(), 0u);
    for (float v : z.values()) EXPECT_EQ(v, 0.0f);
  }
}

// Dropout (both modes, forward and backward) and Activation take their results from the
// current pool: what is handed back is the storage of the next results, nothing fresh.
TEST(TensorPool, DropoutAndActivationTakeTheirResultsFromThePool) {
  recur::Rng rng(4);
  recur::Dropout dropout(0.25f);
  dropout.build({5, 6}, rng);
  recur::Activation tanh_layer("tanh");
  tanh_layer.build({5, 6}, rng);
  Tensor x({2, 5, 6});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  recur::TensorPool pool;
  recur::TensorPoolScope scope(&pool);
  for (recur::Layer* layer : {static_cast<recur::Layer*>(&dropout),
                              static_cast<recur::Layer*>(&tanh_layer)})
    for (bool training : {false, true}) {
      SCOPED_TRACE(layer->type() + (training ? " training" : " inference"));
      pool.clear();  // no spares left over from the previous case
      recur::recycle(layer->forward(x, training));
      ASSERT_GT(pool.size(), 0u);
      Tensor again = layer->forward(x, training);
      // What it kept (the mask, Activation's y for backward) went back to the pool before it
      // took the new ones: every spare buffer is in use again, none was allocated beside them.
      EXPECT_EQ(pool.size(), 0u);
      Tensor dx = layer->backward(again);
      const float* dx_storage = dx.data();
      recur::recycle(std::move(dx));
      Tensor dx_again = layer->backward(again);
      EXPECT_EQ(dx_again.data(), dx_storage);
      recur::recycle(std::move(again));
      recur::recycle(std::move(dx_again));
    }
}

}  // namespace
