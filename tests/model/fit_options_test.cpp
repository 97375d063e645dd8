// fit's Keras arguments: validation_data, class_weight, sample_weight, verbose, TerminateOnNaN,
// masked losses and the stateful batch check.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "recur/callbacks/callbacks.hpp"
#include "recur/core/error.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/model/sequential.hpp"
#include "support/gradcheck.hpp"

namespace {

using recur::Tensor;
using recur::test::random_values;
using recur::test::to_float;

recur::Sequential classifier(std::uint64_t seed = 3) {
  recur::Sequential m;
  m.add(recur::GRU(6));
  m.add(recur::Dense(3, "softmax"));
  m.build({4, 2}, seed);
  m.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  return m;
}

void data(Tensor& x, Tensor& y, std::size_t n = 24) {
  x = Tensor({n, 4, 2}, to_float(random_values(n * 8, 5)));
  y = Tensor({n});
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(i % 3);
}

TEST(FitOptions, SampleWeightOfTwoEqualsRepeatingTheSample) {
  // One batch, no shuffle, SGD: weights 2 on sample 0 give the same step as sample 0 twice.
  Tensor x, y;
  data(x, y, 3);
  Tensor x4({4, 4, 2}), y4({4});
  std::copy_n(x.data(), 24, x4.data());
  std::copy_n(x.data(), 8, x4.data() + 24);
  y4[0] = y[0]; y4[1] = y[1]; y4[2] = y[2]; y4[3] = y[0];
  auto make = [] {
    recur::Sequential m = classifier();
    m.compile(recur::make_optimizer("sgd", 0.1f), "sparse_categorical_crossentropy");
    return m;
  };
  recur::Sequential a = make(), b = make();
  a.fit(x, y, recur::FitOptions().batch_size(8).shuffle(false).sample_weight(Tensor({3}, {2, 1, 1})));
  b.fit(x4, y4, recur::FitOptions().batch_size(8).shuffle(false));
  // a's mean divides by 3 rows, b's by 4: the same direction, scaled by 4/3.
  const auto wa = a.get_weights(), wb = b.get_weights(), w0 = make().get_weights();
  for (std::size_t k = 0; k < w0.size(); ++k)
    for (std::size_t i = 0; i < w0[k].size(); ++i)
      EXPECT_NEAR((wa[k][i] - w0[k][i]) * 3.0f / 4.0f, wb[k][i] - w0[k][i], 1e-6);
}

TEST(FitOptions, ClassWeightMatchesTheSameSampleWeights) {
  Tensor x, y;
  data(x, y);
  Tensor sw({24});
  for (std::size_t i = 0; i < 24; ++i) sw[i] = y[i] == 1 ? 3.0f : 1.0f;
  recur::Sequential a = classifier(), b = classifier();
  const auto ha = a.fit(x, y, recur::FitOptions().epochs(2).class_weight({{1, 3.0}}));
  const auto hb = b.fit(x, y, recur::FitOptions().epochs(2).sample_weight(sw));
  EXPECT_EQ(ha.history.at("loss"), hb.history.at("loss"));
  recur::Sequential c = classifier();
  EXPECT_NE(c.fit(x, y, recur::FitOptions().epochs(2)).history.at("loss"), ha.history.at("loss"));
  try {
    classifier().fit(x, y, recur::FitOptions().class_weight({{3, 1.0}}));
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("3 classes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(classifier().fit(x, y, recur::FitOptions().sample_weight(Tensor({5}))), recur::ShapeError);
  EXPECT_THROW(classifier().fit(x, y, recur::FitOptions().sample_weight(Tensor::full({24}, -1.0f))),
               recur::ValueError);
}

TEST(FitOptions, ValidationDataIsEvaluatedEveryEpoch) {
  Tensor x, y, xv, yv;
  data(x, y);
  data(xv, yv, 9);
  recur::Sequential m = classifier();
  const auto h = m.fit(x, y, recur::FitOptions().epochs(3).validation_data(xv, yv).validation_split(0.5));
  EXPECT_EQ(h.train_samples, 24u);  // validation_data wins over validation_split
  EXPECT_EQ(h.validation_samples, 9u);
  ASSERT_EQ(h.history.at("val_loss").size(), 3u);
  EXPECT_NEAR(h.history.at("val_loss").back(), m.evaluate(xv, yv).at("loss"), 1e-6);
  EXPECT_THROW(classifier().fit(x, y, recur::FitOptions().validation_data(Tensor({9, 4, 3}), yv)),
               recur::ShapeError);
}

TEST(FitOptions, TerminateOnNaNStopsAndKeepsTheLastFiniteWeights) {
  recur::Sequential m;
  m.add(recur::LSTM(4));
  m.add(recur::Dense(1));
  m.build({3, 1}, 1);
  m.compile(recur::make_optimizer("sgd", 1e6f), "mse");
  Tensor x({16, 3, 1}, to_float(random_values(48, 2, 100.0)));
  Tensor y = Tensor::full({16, 1}, 1e6f);
  const auto before = m.get_weights();
  // Without the callback, fit throws the divergence error.
  recur::Sequential m2 = recur::Sequential();
  m2.add(recur::LSTM(4));
  m2.add(recur::Dense(1));
  m2.build({3, 1}, 1);
  m2.compile(recur::make_optimizer("sgd", 1e6f), "mse");
  EXPECT_THROW(m2.fit(x, y, recur::FitOptions().epochs(50).batch_size(4)), recur::ValueError);
  const auto h = m.fit(x, y, recur::FitOptions().epochs(50).batch_size(4).callbacks(
                                 {std::make_shared<recur::TerminateOnNaN>()}));
  EXPECT_TRUE(h.terminated_on_nan);
  EXPECT_LT(h.epochs(), 50u);
  for (const Tensor& w : m.get_weights())
    for (float v : w.values()) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NE(m.get_weights()[0].values(), before[0].values());
}

TEST(FitOptions, MaskedTimestepsAreLeftOutOfTheLoss) {
  // return_sequences output with Masking: the targets of padded steps must not matter.
  auto make = [] {
    recur::Sequential m;
    m.add(recur::Masking(0.0f));
    m.add(recur::LSTM(recur::LstmOptions(3).return_sequences(true)));
    m.add(recur::TimeDistributed(recur::Dense(1)));
    m.build({4, 1}, 2);
    m.compile("sgd", "mse");
    return m;
  };
  Tensor x({2, 4, 1}, {0, 0, 1, 2, 3, 4, 5, 6});  // sample 0: two padded steps
  Tensor y1({2, 4, 1}, {0, 0, 1, 1, 1, 1, 1, 1}), y2({2, 4, 1}, {99, -99, 1, 1, 1, 1, 1, 1});
  recur::Sequential a = make(), b = make();
  const auto ha = a.fit(x, y1, recur::FitOptions().epochs(2).shuffle(false));
  const auto hb = b.fit(x, y2, recur::FitOptions().epochs(2).shuffle(false));
  EXPECT_EQ(ha.history.at("loss"), hb.history.at("loss"));
  EXPECT_EQ(a.get_weights()[0].values(), b.get_weights()[0].values());
  EXPECT_NEAR(a.evaluate(x, y1).at("loss"), a.evaluate(x, y2).at("loss"), 1e-7);
}

TEST(FitOptions, StatefulModelsNeedEqualBatches) {
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(3).stateful(true)));
  m.add(recur::Dense(1));
  m.build({4, 1}, 1);
  m.compile("adam", "mse");
  Tensor x({10, 4, 1}), y({10, 1});
  try {
    m.fit(x, y, recur::FitOptions().batch_size(4));
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("stateful"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not divide"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(m.fit(x, y, recur::FitOptions().batch_size(5).shuffle(false)));
  m.reset_states();
}

TEST(FitOptions, ProgressBarPrintsKerasLines) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Tensor x, y;
  data(x, y);
  recur::Sequential m = classifier();
  m.fit(x, y, recur::FitOptions().epochs(2).batch_size(8).validation_split(0.25).callbacks(
                  {std::make_shared<recur::ProgressBar>(1, f)}));
  std::rewind(f);
  std::string out(4096, '\0');
  out.resize(std::fread(out.data(), 1, out.size(), f));
  std::fclose(f);
  EXPECT_NE(out.find("Epoch 1/2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Epoch 2/2\n"), std::string::npos) << out;
  // 18 training samples in batches of 8: 3 steps; the order is loss, metrics, val_*.
  EXPECT_NE(out.find("3/3 [==============================] - "), std::string::npos) << out;
  const auto loss = out.find(" - loss: "), acc = out.find(" - accuracy: "),
             vloss = out.find(" - val_loss: "), vacc = out.find(" - val_accuracy: ");
  ASSERT_NE(vacc, std::string::npos) << out;
  EXPECT_LT(loss, acc);
  EXPECT_LT(acc, vloss);
  EXPECT_LT(vloss, vacc);
  EXPECT_THROW(recur::ProgressBar(3), recur::ValueError);
}

}  // namespace
