#include "recur/model/sequential.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "recur/core/error.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/lstm.hpp"
#include "support/gradcheck.hpp"
#include "support/tensors.hpp"

namespace {

using recur::test::random_values;
using recur::test::to_float;

// A small learnable task: y = mean of the first feature over the window.
void make_data(recur::Tensor& x, recur::Tensor& y, std::size_t n = 64, std::size_t t = 6,
               std::size_t f = 2) {
  x = recur::Tensor({n, t, f}, to_float(random_values(n * t * f, 42)));
  y = recur::Tensor({n, 1});
  for (std::size_t i = 0; i < n; ++i) {
    float s = 0;
    for (std::size_t k = 0; k < t; ++k) s += x.at({i, k, 0});
    y[i] = s / static_cast<float>(t);
  }
}

recur::Sequential make_model(std::uint64_t seed = 1) {
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(8)));
  m.add(recur::Dropout(0.1f));
  m.add(recur::Dense(1));
  m.build({6, 2}, seed);
  m.compile("adam", "mse", {"mae", "rmse"});
  return m;
}

std::string temp_path(const std::string& name) { return recur::test::temp_path("sequential", name); }

TEST(Sequential, SameSeedSameLossSequence) {
  recur::Tensor x, y;
  make_data(x, y);
  const auto opts = recur::FitOptions().epochs(5).batch_size(16).validation_split(0.25).seed(9);
  recur::Sequential a = make_model(), b = make_model();
  const recur::History ha = a.fit(x, y, opts), hb = b.fit(x, y, opts);
  ASSERT_EQ(ha.history.at("loss").size(), 5u);
  EXPECT_EQ(ha.history.at("loss"), hb.history.at("loss"));
  EXPECT_EQ(ha.history.at("val_loss"), hb.history.at("val_loss"));
  // A different shuffling seed gives a different sequence (the test can fail).
  recur::Sequential c = make_model();
  const recur::History hc = c.fit(x, y, recur::FitOptions(opts).seed(10));
  EXPECT_NE(ha.history.at("loss"), hc.history.at("loss"));
}

TEST(Sequential, FitReducesLossAndRecordsKerasHistoryKeys) {
  recur::Tensor x, y;
  make_data(x, y);
  recur::Sequential m = make_model();
  const auto h = m.fit(x, y, recur::FitOptions().epochs(40).batch_size(16).validation_split(0.25));
  EXPECT_EQ(h.keys, (std::vector<std::string>{"loss", "mae", "rmse", "val_loss", "val_mae", "val_rmse"}));
  EXPECT_LT(h.history.at("loss").back(), 0.5 * h.history.at("loss").front());
  // rmse is the square root of the mse, which is the loss here (evaluated without dropout).
  const auto ev = m.evaluate(x, y);
  EXPECT_NEAR(ev.at("rmse"), std::sqrt(ev.at("loss")), 1e-5);
}

TEST(Sequential, SummaryInKerasStyle) {
  recur::Sequential m = make_model();
  const std::string s = m.summary();
  EXPECT_NE(s.find("lstm (LSTM)"), std::string::npos) << s;
  EXPECT_NE(s.find("(None, 8)"), std::string::npos) << s;
  EXPECT_NE(s.find("dropout (Dropout)"), std::string::npos) << s;
  EXPECT_NE(s.find("dense (Dense)"), std::string::npos) << s;
  // 4*8*(2+8+1) = 352 LSTM parameters, 9 Dense.
  EXPECT_NE(s.find("352"), std::string::npos) << s;
  EXPECT_NE(s.find("Total params: 361"), std::string::npos) << s;
}

TEST(Sequential, GetSetWeightsRoundTripInKerasOrder) {
  recur::Sequential a = make_model(1), b = make_model(2);
  const auto w = a.get_weights();
  ASSERT_EQ(w.size(), 5u);  // kernel, recurrent_kernel, bias, dense kernel, dense bias
  EXPECT_EQ(w[0].shape(), (recur::Shape{2, 32}));
  EXPECT_EQ(w[1].shape(), (recur::Shape{8, 32}));
  EXPECT_EQ(w[2].shape(), (recur::Shape{32}));
  EXPECT_EQ(w[3].shape(), (recur::Shape{8, 1}));
  b.set_weights(w);
  recur::Tensor x, y;
  make_data(x, y);
  EXPECT_EQ(a.predict(x).values(), b.predict(x).values());
}

TEST(Sequential, SetWeightsWrongCountNamesTheExpectedArrays) {
  recur::Sequential m = make_model();
  auto w = m.get_weights();
  w.pop_back();
  try {
    m.set_weights(w);
    FAIL() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("expects 5 arrays"), std::string::npos) << s;
    EXPECT_NE(s.find("got 4"), std::string::npos) << s;
    EXPECT_NE(s.find("dense/bias"), std::string::npos) << s;
  }
}

TEST(Sequential, SetWeightsPyTorchLayoutSaysTranspose) {
  recur::Sequential m = make_model();
  auto w = m.get_weights();
  w[0] = recur::Tensor({32, 2});  // weight_ih layout (4*units, features)
  try {
    m.set_weights(w);
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("LSTM 'lstm'"), std::string::npos) << s;
    EXPECT_NE(s.find("'kernel'"), std::string::npos) << s;
    EXPECT_NE(s.find("expects shape (2, 32)"), std::string::npos) << s;
    EXPECT_NE(s.find("got (32, 2)"), std::string::npos) << s;
    EXPECT_NE(s.find("transpose"), std::string::npos) << s;
  }
  // Nothing was changed by the failed call.
  const auto after = m.get_weights();
  EXPECT_EQ(after[1].values(), m.get_weights()[1].values());
}

TEST(Sequential, SaveLoadRoundTripKeepsPredictionsAndMetadata) {
  recur::Tensor x, y;
  make_data(x, y);
  recur::Sequential m = make_model();
  m.fit(x, y, recur::FitOptions().epochs(2));
  const std::string path = temp_path("roundtrip.recur");
  m.save(path, R"({"note": "hello"})");
  std::string meta;
  recur::Sequential l = recur::Sequential::load(path, &meta);
  EXPECT_EQ(l.predict(x).values(), m.predict(x).values());
  EXPECT_NE(meta.find("hello"), std::string::npos);
  EXPECT_EQ(l.summary(), m.summary());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
  std::filesystem::remove(path);
}

std::string read_all(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_all(const std::string& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

template <typename F>
std::string format_error(F&& f) {
  try {
    f();
  } catch (const recur::ModelFormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ModelFormatError";
  return "";
}

TEST(Sequential, LoadRejectsTruncatedCorruptedAndForeignFiles) {
  recur::Sequential m = make_model();
  const std::string path = temp_path("damaged.recur");
  m.save(path);
  const std::string good = read_all(path);

  write_all(path, good.substr(0, good.size() / 2));
  EXPECT_NE(format_error([&] { recur::Sequential::load(path); }).find("truncated"), std::string::npos);

  std::string flipped = good;
  flipped[flipped.size() - 20] ^= 0x40;  // a weight byte
  write_all(path, flipped);
  EXPECT_NE(format_error([&] { recur::Sequential::load(path); }).find("checksum mismatch"), std::string::npos);

  write_all(path, "month,passengers\n1949-01,112\n");
  EXPECT_NE(format_error([&] { recur::Sequential::load(path); }).find("not a recur model file"), std::string::npos);

  std::string future = good;
  future[8] = 9;  // version field
  write_all(path, future);
  EXPECT_NE(format_error([&] { recur::Sequential::load(path); }).find("version 9 is not supported"), std::string::npos);
  std::filesystem::remove(path);

  EXPECT_THROW(recur::Sequential::load(temp_path("does_not_exist.recur")), recur::IoError);
}

TEST(Sequential, SaveIsAtomicAndKeepsTheOldFileOnFailure) {
  recur::Sequential m = make_model();
  const std::string dir = temp_path("missing_dir");
  std::filesystem::remove_all(dir);
  EXPECT_THROW(m.save(dir + "/model.recur"), recur::IoError);
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(Sequential, InputWithWrongFeatureCountNamesBothShapes) {
  recur::Sequential m = make_model();
  try {
    m.predict(recur::Tensor({10, 6, 3}));
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("(None, 6, 2)"), std::string::npos) << s;
    EXPECT_NE(s.find("got (10, 6, 3)"), std::string::npos) << s;
    EXPECT_NE(s.find("2 features"), std::string::npos) << s;
  }
}

TEST(Sequential, RankTwoDataGetsTheReshapeFix) {
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(4)));
  m.build({5, 1});
  try {
    m.predict(recur::Tensor({10, 5}));
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("(batch, timesteps, features)"), std::string::npos) << s;
    EXPECT_NE(s.find("reshape x to (10, 5, 1)"), std::string::npos) << s;
  }
}

TEST(Sequential, LabelsThatDoNotMatchTheOutputAreRejectedBeforeTraining) {
  recur::Tensor x, y;
  make_data(x, y);
  recur::Sequential m = make_model();
  const auto before = m.get_weights();
  EXPECT_THROW(m.fit(x, recur::Tensor({64, 6, 1})), recur::ShapeError);
  EXPECT_THROW(m.fit(x, recur::Tensor({63, 1})), recur::ShapeError);
  EXPECT_EQ(m.get_weights()[0].values(), before[0].values());
}

TEST(Sequential, NonFiniteDataIsAValueErrorNamingTheSample) {
  recur::Tensor x, y;
  make_data(x, y);
  x.at({3, 2, 1}) = NAN;
  recur::Sequential m = make_model();
  try {
    m.fit(x, y);
    FAIL();
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("sample 3"), std::string::npos) << e.what();
  }
}

TEST(Sequential, DivergenceStopsWithTheEpochAndKeepsFiniteWeights) {
  recur::Tensor x, y;
  make_data(x, y);
  for (float& v : y.values()) v *= 1e18f;
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(8)));
  m.add(recur::Dense(1));
  m.build({6, 2}, 1);
  m.compile(std::make_unique<recur::SGD>(recur::SgdOptions().learning_rate(10.0f)), "mse");
  try {
    m.fit(x, y, recur::FitOptions().epochs(5));
    FAIL() << "expected divergence";
  } catch (const recur::ValueError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("at epoch "), std::string::npos) << s;
    EXPECT_NE(s.find(", batch "), std::string::npos) << s;
    EXPECT_NE(s.find("last finite loss"), std::string::npos) << s;
    EXPECT_NE(s.find("learning_rate"), std::string::npos) << s;
  }
  for (const auto& w : m.get_weights())
    for (float v : w.values()) ASSERT_TRUE(std::isfinite(v));
}

TEST(Sequential, ReturnStateLstmCannotBeAddedToSequential) {
  recur::Sequential m;
  try {
    m.add(recur::LSTM(recur::LstmOptions(4).return_state(true)));
    FAIL();
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("return_state"), std::string::npos);
  }
}

TEST(Sequential, DenseIntoLstmIsReportedNamingBothLayers) {
  recur::Sequential m;
  m.add(recur::Dense(4));
  m.add(recur::LSTM(recur::LstmOptions(4)));
  try {
    m.build({3});
    FAIL();
  } catch (const recur::ShapeError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("LSTM 'lstm'"), std::string::npos) << s;
    EXPECT_NE(s.find("Dense 'dense'"), std::string::npos) << s;
  }
}

TEST(Sequential, AddingAMisfitLayerToABuiltModelNamesBothLayers) {
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(4)));
  m.build({5, 2});
  try {
    m.add(recur::LSTM(recur::LstmOptions(3)));  // rank-2 output (None, 4) into an LSTM
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("LSTM 'lstm_1'"), std::string::npos) << s;
    EXPECT_NE(s.find("output of LSTM 'lstm', of shape (None, 4)"), std::string::npos) << s;
  }
  EXPECT_EQ(m.size(), 1u);
  m.add(recur::Dense(2));
  EXPECT_EQ(m.output_shape(), (recur::Shape{2}));
}

TEST(Sequential, StackedLstmsWithReturnSequencesTrain) {
  recur::Tensor x, y;
  make_data(x, y);
  recur::Sequential m;
  m.add(recur::LSTM(recur::LstmOptions(6).return_sequences(true)));
  m.add(recur::LSTM(recur::LstmOptions(5)));
  m.add(recur::Dense(1));
  m.build({6, 2}, 3);
  m.compile("rmsprop", "mae");
  const auto h = m.fit(x, y, recur::FitOptions().epochs(15).batch_size(8));
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front());
}

TEST(Sequential, BadFitOptionsAreValueErrors) {
  recur::Tensor x, y;
  make_data(x, y);
  recur::Sequential m = make_model();
  EXPECT_THROW(m.fit(x, y, recur::FitOptions().epochs(0)), recur::ValueError);
  EXPECT_THROW(m.fit(x, y, recur::FitOptions().batch_size(0)), recur::ValueError);
  EXPECT_THROW(m.fit(x, y, recur::FitOptions().validation_split(1.0)), recur::ValueError);
  recur::Sequential uncompiled;
  uncompiled.add(recur::Dense(1));
  EXPECT_THROW(uncompiled.fit(x, y), recur::ValueError);
}

}  // namespace

namespace {

TEST(Sequential, HistoryRecordsHowFitSplitTheSamples) {
  recur::Tensor x, y;
  make_data(x, y);  // 64 samples
  recur::Sequential m = make_model();
  const auto h = m.fit(x, y, recur::FitOptions().epochs(1).validation_split(0.2));
  EXPECT_EQ(h.train_samples, 51u);  // int(64 * 0.8), Keras's rule
  EXPECT_EQ(h.validation_samples, 13u);
}

}  // namespace
