// Classification through Sequential: softmax + sparse_categorical_crossentropy learns a task
// that needs memory, and labels that cannot fit the output are refused before training.
#include <gtest/gtest.h>

#include "recur/core/error.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/lstm.hpp"
#include "recur/model/sequential.hpp"
#include "support/gradcheck.hpp"

namespace {

// Class = which of 3 features was set at the FIRST step; later steps are noise.
void make_task(recur::Tensor& x, recur::Tensor& y, std::size_t n = 240, std::size_t t = 5) {
  const auto noise = recur::test::random_values(n * t * 3, 77, 0.3);
  x = recur::Tensor({n, t, 3}, recur::test::to_float(noise));
  y = recur::Tensor({n});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = i % 3;
    x.at({i, 0, c}) += 1.0f;
    y[i] = static_cast<float>(c);
  }
}

recur::Sequential classifier(std::size_t outputs, const std::string& activation) {
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(8)));
  m.add(recur::Dense(outputs, activation));
  m.build({5, 3}, 4);
  return m;
}

TEST(Classification, SoftmaxSparseCrossentropyLearnsAMemoryTask) {
  recur::Tensor x, y;
  make_task(x, y);
  recur::Sequential m = classifier(3, "softmax");
  m.compile(recur::make_optimizer("adam", 0.02f), "sparse_categorical_crossentropy", {"accuracy"});
  const auto h = m.fit(x, y, recur::FitOptions().epochs(40).batch_size(16).validation_split(0.2).seed(1));
  EXPECT_EQ(h.keys, (std::vector<std::string>{"loss", "accuracy", "val_loss", "val_accuracy"}));
  EXPECT_GT(h.history.at("val_accuracy").back(), 0.95);
  EXPECT_GE(m.evaluate(x, y).at("accuracy"), 0.95);
}

TEST(Classification, LogitsWithFromLogitsTrainToo) {
  recur::Tensor x, y;
  make_task(x, y);
  recur::Sequential m = classifier(3, "linear");
  m.compile(recur::make_optimizer("adam", 0.02f),
            recur::Loss{recur::LossKind::kSparseCategoricalCrossentropy, true}, {"accuracy"});
  m.fit(x, y, recur::FitOptions().epochs(40).batch_size(16).seed(1));
  EXPECT_GE(m.evaluate(x, y).at("accuracy"), 0.95);
}

TEST(Classification, ThreeClassLabelsIntoAOneUnitSigmoidAreRefused) {
  recur::Tensor x, y;
  make_task(x, y);
  recur::Sequential m = classifier(1, "sigmoid");
  m.compile("adam", "sparse_categorical_crossentropy");
  const auto before = m.get_weights();
  try {
    m.fit(x, y);
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("integer class ids in [0, 1)"), std::string::npos) << s;
    EXPECT_NE(s.find("one unit per class"), std::string::npos) << s;
  }
  EXPECT_EQ(m.get_weights()[0].values(), before[0].values());
  recur::Sequential b = classifier(1, "sigmoid");
  b.compile("adam", "binary_crossentropy");
  EXPECT_THROW(b.fit(x, y.reshape({240, 1})), recur::ValueError);  // labels 2 outside [0, 1]
}

TEST(Classification, IntegerLabelsWithCategoricalCrossentropySuggestSparse) {
  recur::Tensor x, y;
  make_task(x, y);
  recur::Sequential m = classifier(3, "softmax");
  m.compile("adam", "categorical_crossentropy");
  try {
    m.fit(x, y);
    FAIL();
  } catch (const recur::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("use sparse_categorical_crossentropy"), std::string::npos) << e.what();
  }
}

}  // namespace
