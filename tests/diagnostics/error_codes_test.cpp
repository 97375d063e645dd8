// Issue 4's catalogue of classic mistakes: each case is caught with the right error type, its
// stable code (docs/errors.md) and the key words of its message (what was expected, what was
// received, the fix).
#include <gtest/gtest.h>

#include "support/expect_error.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>

#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/data/npy.hpp"
#include "recur/data/windows.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/dropout.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/sequential.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace {

using recur::Tensor;

using recur::test::expect_error;

recur::Sequential lstm_model(std::size_t timesteps = 5, std::size_t features = 1) {
  recur::Sequential m;
  m.add(recur::LSTM(4));
  m.add(recur::Dense(1));
  m.build({timesteps, features}, 1);
  m.compile("adam", "mse");
  return m;
}

TEST(ErrorCodes, Case1RankTwoInputNamesTheAxesAndTheReshape) {
  recur::Sequential m = lstm_model();
  expect_error<recur::ShapeError>([&] { m.predict(Tensor({10, 5})); }, recur::codes::kInputRank,
                                  {"(batch, timesteps, features)", "(10, 5, 1)"});
  recur::LSTM lstm(3);
  expect_error<recur::ShapeError>([&] { lstm.call(Tensor({10, 5})); }, recur::codes::kInputRank,
                                  {"rank 3", "(batch, 5, 1)"});
}

TEST(ErrorCodes, Case2FeatureCountDiffersFromTheModel) {
  recur::Sequential m = lstm_model(5, 1);
  expect_error<recur::ShapeError>([&] { m.fit(Tensor({10, 5, 3}), Tensor({10, 1})); },
                                  recur::codes::kFeatureCount, {"1 features", "has 3"});
}

TEST(ErrorCodes, Case3RaggedSequencesNameTheSampleAndSuggestPadding) {
  recur::Sequential m = lstm_model(3, 1);
  const recur::Sequences ragged{{{1}, {2}, {3}}, {{1}, {2}, {3}}, {{1}, {2}}};
  expect_error<recur::ShapeError>([&] { m.fit(ragged, Tensor({3, 1})); }, recur::codes::kRaggedSequences,
                                  {"sample 2 has 2 timesteps", "sample 0 has 3", "pad_sequences", "Masking"});
  expect_error<recur::ShapeError>([&] { m.predict(recur::Sequences{{{1}, {2}, {3}}, {{1}, {2, 5}, {3}}}); },
                                  recur::codes::kRaggedSequences, {"sample 1, timestep 1 has 2 features"});
  // Rectangular nested input trains as a tensor would.
  const recur::Sequences ok{{{1}, {2}, {3}}, {{3}, {2}, {1}}};
  EXPECT_EQ(m.predict(ok).values(), m.predict(recur::to_tensor(ok)).values());
}

TEST(ErrorCodes, Case4NonNumericCellsAndNonFiniteValues) {
  const recur::CsvTable t = recur::parse_csv("a,b\n1,2\n3,N/A\n", "data.csv");
  expect_error<recur::ParseError>([&] { recur::select_numeric(t, {"a", "b"}); },
                                  recur::codes::kNonNumericCell,
                                  {"data.csv:3:3", "column \"b\"", "N/A"});
  recur::Sequential m = lstm_model();
  Tensor x({4, 5, 1});
  x[7] = NAN;
  expect_error<recur::ValueError>([&] { m.fit(x, Tensor({4, 1})); }, recur::codes::kNonFiniteData,
                                  {"non-finite", "sample 1, timestep 2, feature 0"});
}

// A .npy file (format 1.0) with the given dtype, shape text and data bytes, written by hand.
std::string write_npy(const std::string& name, const std::string& descr, const std::string& shape,
                      const std::string& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path, std::ios::binary) << bytes << header << data;
  return path;
}

TEST(ErrorCodes, Case4NpyFilesOfObjectsOrTextAreRefused) {
  const float v[6] = {1, 2, 3, 4, 5, 6};
  const std::string ok = write_npy("recur_ok.npy", "<f4", "(2, 3)", std::string(reinterpret_cast<const char*>(v), sizeof v));
  const Tensor t = recur::load_npy(ok);
  EXPECT_EQ(t.shape(), (recur::Shape{2, 3}));
  EXPECT_EQ(t.values(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  const std::string obj = write_npy("recur_obj.npy", "|O", "(2,)", std::string(16, '\0'));
  expect_error<recur::ValueError>([&] { recur::load_npy(obj); }, recur::codes::kNonNumericCell,
                                  {"dtype '|O'", "Python objects", "float32"});
  const std::string text = write_npy("recur_str.npy", "<U3", "(2,)", std::string(24, '\0'));
  expect_error<recur::ValueError>([&] { recur::load_npy(text); }, recur::codes::kNonNumericCell,
                                  {"dtype '<U3'", "text"});
  const double nan_data[2] = {1.0, NAN};
  const std::string nan = write_npy("recur_nan.npy", "<f8", "(2,)", std::string(reinterpret_cast<const char*>(nan_data), sizeof nan_data));
  expect_error<recur::ValueError>([&] { recur::load_npy(nan); }, recur::codes::kNonFiniteData, {"element 1"});
  const std::string short_file = write_npy("recur_short.npy", "<f4", "(4,)", std::string(8, '\0'));
  EXPECT_THROW(recur::load_npy(short_file), recur::ParseError);
  for (const auto& p : {ok, obj, text, nan, short_file}) std::filesystem::remove(p);
}

TEST(ErrorCodes, Case6LayerOutputDoesNotFitTheNextLayer) {
  recur::Sequential m;
  m.add(recur::LSTM(4));
  m.add(recur::Dense(3));
  m.add(recur::LSTM(2));
  expect_error<recur::ShapeError>([&] { m.build({5, 1}); }, recur::codes::kLayerMisfit,
                                  {"LSTM 'lstm_1'", "Dense 'dense'", "(None, 3)"});
}

TEST(ErrorCodes, Case7SetWeightsCountShapeAndPyTorchLayout) {
  recur::Sequential m = lstm_model(5, 2);
  auto w = m.get_weights();
  expect_error<recur::ValueError>([&] { m.set_weights({w[0]}); }, recur::codes::kWeightCount,
                                  {"expects 5 arrays", "got 1"});
  w[0] = Tensor({16, 2});  // PyTorch's weight_ih layout (4*units, features)
  expect_error<recur::ShapeError>([&] { m.set_weights(w); }, recur::codes::kWeightShape,
                                  {"'kernel'", "(2, 16)", "(16, 2)", "transpose"});
}

TEST(ErrorCodes, Case8ModelFileOfAnotherArchitecture) {
  // A file whose architecture says LSTM(8) but whose tensors are those of LSTM(4): load names the
  // layer, the weight and both shapes.
  const std::string path = (std::filesystem::temp_directory_path() / "recur_codes_case8.recur").string();
  lstm_model().save(path);
  recur::ModelFileContents c = recur::read_model_file(path);
  const std::string from = "\"units\":4";
  ASSERT_NE(c.json.find(from), std::string::npos) << c.json;
  c.json.replace(c.json.find(from), from.size(), "\"units\":8");
  recur::write_model_file(path, c);
  expect_error<recur::ModelFormatError>([&] { recur::Sequential::load(path); },
                                        recur::codes::kArchitectureMismatch,
                                        {"'lstm/kernel'", "(1, 16)", "needs (1, 32)"});
  std::filesystem::remove(path);
  // load_weights into a model of another architecture names the first differing layer and field.
  const std::string saved = (std::filesystem::temp_directory_path() / "recur_codes_case8b.recur").string();
  lstm_model().save(saved);
  recur::Sequential units8;
  units8.add(recur::LSTM(8));
  units8.add(recur::Dense(1));
  units8.build({5, 1});
  expect_error<recur::ModelFormatError>([&] { units8.load_weights(saved); },
                                        recur::codes::kArchitectureMismatch,
                                        {"layer 0 (LSTM 'lstm')", "units is 4 in the file but 8"});
  recur::Sequential seqs;
  seqs.add(recur::LSTM(recur::LstmOptions(4).return_sequences(true)));
  seqs.add(recur::Dense(1));
  seqs.build({5, 1});
  expect_error<recur::ModelFormatError>([&] { seqs.load_weights(saved); },
                                        recur::codes::kArchitectureMismatch,
                                        {"return_sequences is false in the file but true"});
  recur::Sequential three;
  three.add(recur::LSTM(4));
  three.add(recur::Dense(2));
  three.add(recur::Dense(1));
  three.build({5, 1});
  expect_error<recur::ModelFormatError>([&] { three.load_weights(saved); },
                                        recur::codes::kArchitectureMismatch, {"2 layers, this model 3"});
  recur::Sequential same;
  same.add(recur::LSTM(4));
  same.add(recur::Dense(1));
  same.build({5, 1}, /*seed=*/99);  // other initial weights, replaced by the file's
  ASSERT_NE(same.get_weights()[0].values(), recur::Sequential::load(saved).get_weights()[0].values());
  same.load_weights(saved);
  EXPECT_EQ(same.get_weights()[0].values(), recur::Sequential::load(saved).get_weights()[0].values());
  std::filesystem::remove(saved);
  // The same mismatch through set_weights (Keras's set_weights / load_weights case).
  recur::Sequential wide;
  wide.add(recur::LSTM(8));
  wide.add(recur::Dense(1));
  wide.build({5, 1});
  expect_error<recur::ShapeError>([&] { wide.set_weights(lstm_model().get_weights()); },
                                  recur::codes::kWeightShape, {"lstm", "(1, 32)", "(1, 16)"});
}

TEST(ErrorCodes, Case9OutputLossAndLabelsThatDoNotFit) {
  recur::Sequential m;
  m.add(recur::LSTM(4));
  m.add(recur::Dense(1, "sigmoid"));
  m.build({5, 1});
  m.compile("adam", "sparse_categorical_crossentropy");
  Tensor y({3}, {0, 1, 2});
  expect_error<recur::ValueError>([&] { m.fit(Tensor({3, 5, 1}), y); }, recur::codes::kLabelsDoNotFit,
                                  {"[0, 1)", "one unit per class"});
  m.compile("adam", "binary_crossentropy");
  expect_error<recur::ValueError>([&] { m.fit(Tensor({3, 5, 1}), y); }, recur::codes::kLabelsDoNotFit,
                                  {"[0, 1]", "sparse_categorical_crossentropy"});
  // Per-sequence labels for a return_sequences output.
  recur::Sequential seq;
  seq.add(recur::LSTM(recur::LstmOptions(4).return_sequences(true)));
  seq.add(recur::Dense(1));
  seq.build({5, 1});
  seq.compile("adam", "mse");
  expect_error<recur::ShapeError>([&] { seq.fit(Tensor({3, 5, 1}), Tensor({3, 1})); },
                                  recur::codes::kLabelsDoNotFit, {"y must be (3, 5", "got (3, 1)"});
}

TEST(ErrorCodes, Case10DivergenceNamesEpochBatchAndFix) {
  recur::Sequential m = lstm_model(3, 1);
  m.compile(recur::make_optimizer("sgd", 1e6f), "mse");
  Tensor x = Tensor::full({8, 3, 1}, 50.0f), y = Tensor::full({8, 1}, 1e6f);
  expect_error<recur::ValueError>([&] { m.fit(x, y, recur::FitOptions().epochs(50).batch_size(2)); },
                                  recur::codes::kDivergence,
                                  {"epoch", "batch", "last finite loss", "gradient norm", "learning_rate", "clipnorm"});
}

TEST(ErrorCodes, Case11StatefulBatchSize) {
  recur::LSTM lstm(recur::LstmOptions(2).stateful(true));
  lstm.call(Tensor({4, 3, 1}));
  expect_error<recur::ShapeError>([&] { lstm.call(Tensor({3, 3, 1})); }, recur::codes::kStatefulBatch,
                                  {"batch size 4", "got a batch of 3", "reset_states()"});
}

TEST(ErrorCodes, Case12BadHyperparameters) {
  using recur::codes::kBadHyperparameter;
  expect_error<recur::ValueError>([] { recur::LSTM(0); }, kBadHyperparameter, {"units", "got 0"});
  expect_error<recur::ValueError>([] { recur::GRU(recur::GruOptions(4).dropout(1.0f)); },
                                  kBadHyperparameter, {"dropout", "[0, 1)"});
  expect_error<recur::ValueError>([] { recur::Dropout(-0.1f); }, kBadHyperparameter, {"rate"});
  expect_error<recur::ValueError>([] { recur::make_optimizer("adam", 0.0f); }, kBadHyperparameter,
                                  {"learning_rate", "> 0"});
  recur::Sequential m = lstm_model();
  expect_error<recur::ValueError>([&] { m.fit(Tensor({4, 5, 1}), Tensor({4, 1}), recur::FitOptions().epochs(0)); },
                                  kBadHyperparameter, {"epochs", ">= 1"});
  expect_error<recur::ValueError>([&] { m.fit(Tensor({4, 5, 1}), Tensor({4, 1}), recur::FitOptions().batch_size(0)); },
                                  kBadHyperparameter, {"batch_size"});
  expect_error<recur::ValueError>([] { recur::make_windows(Tensor({5, 1}), std::vector<float>(5, 0.0f), 10, 1, 1, 5); },
                                  kBadHyperparameter, {"lookback 10", "shorter lookback"});
  const recur::CsvTable t = recur::parse_csv("passengers,month\n1,2\n", "air.csv");
  expect_error<recur::ValueError>([&] { recur::column_index(t, "pasengers"); },
                                  recur::codes::kUnknownColumn,
                                  {"no column named \"pasengers\"", "passengers, month", "Did you mean \"passengers\""});
}

}  // namespace

namespace {

TEST(ModelCheck, ReportsEveryProblemWithoutTraining) {
  recur::Sequential m;
  m.add(recur::LSTM(4));
  m.add(recur::Dense(1, "sigmoid"));
  m.build({5, 1}, 1);
  m.compile("adam", "binary_crossentropy");
  const auto before = m.get_weights();
  Tensor y({4, 1}, {0, 1, 2, 0});  // a label outside [0, 1]
  const auto problems = m.check(Tensor({4, 5, 1}), y, recur::FitOptions().epochs(0));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].code, recur::codes::kBadHyperparameter);
  EXPECT_NE(problems[0].message.find("epochs"), std::string::npos);
  EXPECT_EQ(problems[1].code, recur::codes::kLabelsDoNotFit);
  EXPECT_EQ(m.get_weights()[0].values(), before[0].values());  // nothing trained
  // A wrong x shape skips the label checks that depend on it; clean data gives no problems.
  const auto shape = m.check(Tensor({4, 5, 3}), y);
  ASSERT_EQ(shape.size(), 1u);
  EXPECT_EQ(shape[0].code, recur::codes::kFeatureCount);
  EXPECT_TRUE(m.check(Tensor({4, 5, 1}), Tensor({4, 1}, {0, 1, 1, 0})).empty());
  // An uncompiled model is a problem too.
  recur::Sequential raw;
  raw.add(recur::LSTM(2));
  raw.build({3, 1});
  const auto unc = raw.check(Tensor({2, 3, 1}), Tensor({2, 2}));
  ASSERT_EQ(unc.size(), 1u);
  EXPECT_NE(unc[0].message.find("not compiled"), std::string::npos);
}

}  // namespace

namespace {

// check() names an optimizer setting known to diverge (Adam with learning_rate 10, SGD with a
// huge rate and no clipping) before any training, and leaves the usual settings alone.
TEST(ModelCheck, NamesAnOptimizerSettingKnownToDiverge) {
  const Tensor x({4, 5, 1}), y({4, 1}, {0, 1, 1, 0});
  auto model_with = [](std::unique_ptr<recur::Optimizer> optimizer) {
    recur::Sequential m;
    m.add(recur::LSTM(4));
    m.add(recur::Dense(1, "sigmoid"));
    m.build({5, 1}, 1);
    m.compile(std::move(optimizer), "binary_crossentropy");
    return m;
  };
  for (const char* name : {"adam", "rmsprop", "adagrad"}) {
    SCOPED_TRACE(name);
    recur::Sequential m = model_with(recur::make_optimizer(name, 10.0f));
    const auto problems = m.check(x, y);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].code, recur::codes::kDivergence);
    for (const char* word : {"learning_rate 10", "diverges", "0.001"})
      EXPECT_NE(problems[0].message.find(word), std::string::npos) << problems[0].message;
    EXPECT_TRUE(model_with(recur::make_optimizer(name, 0.001f)).check(x, y).empty());
    EXPECT_TRUE(model_with(recur::make_optimizer(name, 0.5f)).check(x, y).empty());
  }
  recur::Sequential sgd = model_with(recur::make_optimizer("sgd", 100.0f));
  const auto problems = sgd.check(x, y);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].code, recur::codes::kDivergence);
  EXPECT_NE(problems[0].message.find("clip"), std::string::npos);
  EXPECT_TRUE(model_with(recur::make_optimizer("sgd", 1.0f)).check(x, y).empty());
  auto clipped = recur::make_optimizer("sgd", 100.0f);
  clipped->set_clipping({.clipnorm = 1.0f});
  EXPECT_TRUE(model_with(std::move(clipped)).check(x, y).empty());
}

}  // namespace
