// Round trips of every layer type and option through Keras's formats (src/model/keras_export.cpp,
// keras_import.cpp, keras_format.cpp): recur -> .keras / .h5 -> recur, and weights through
// .weights.h5 into a model of the same architecture, keep predictions within 1e-6; recur's own
// format does too. What a Keras would read differently is refused, never written (RECUR-E0021):
// Keras 1/2's hard_sigmoid in a .keras file, Keras 3's in a .h5 file.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/io/zip_archive.hpp"
#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/model/model.hpp"
#include "support/expect_error.hpp"
#include "support/model_cases.hpp"
#include "support/tensors.hpp"

namespace {

using recur::Model;
using recur::Tensor;
using recur::test::max_abs_diff;
using recur::test::ModelCase;

std::string temp_path(const std::string& name) { return recur::test::temp_path("keras_rt", name); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The activation flavour `extension` cannot hold, if the model uses it ("" when none); read from
// the model's own architecture JSON, so that a gate's activation counts as well as a layer's.
std::string refused_activation(const ModelCase& c, const std::string& extension) {
  const std::string json = c.model->contents().json;
  if (extension == ".keras" && contains(json, "\"legacy_hard_sigmoid\"")) return "legacy_hard_sigmoid";
  if (extension == ".h5" && contains(json, "\"hard_sigmoid\"")) return "hard_sigmoid";
  return "";
}

void expect_same_outputs(Model& got_model, const ModelCase& c, const std::vector<Tensor>& want,
                         const std::string& what) {
  const std::vector<Tensor> got = got_model.predict(c.xs);
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t k = 0; k < want.size(); ++k)
    EXPECT_LE(max_abs_diff(got[k], want[k]), 1e-6f) << what << ", output " << k;
}

// recur -> file -> recur, and the reloaded model written and read once more.
void round_trip(const ModelCase& c, const std::string& extension) {
  SCOPED_TRACE(c.name + extension);
  Model& model = *c.model;
  const std::vector<Tensor> want = model.predict(c.xs);
  const std::string path = temp_path(c.name + extension);
  const std::string refused = refused_activation(c, extension);
  if (!refused.empty()) {
    recur::test::expect_error<recur::ModelFormatError>([&] { model.save(path); }, recur::codes::kUnsupportedImport,
                                                       {"hard_sigmoid", "Keras"});
    EXPECT_FALSE(std::filesystem::exists(path)) << "a refused export left a file";
    return;
  }
  model.save(path);
  Model back = recur::load_model(path);
  expect_same_outputs(back, c, want, "reloaded");
  EXPECT_EQ(back.input_names(), model.input_names());
  EXPECT_EQ(back.output_names(), model.output_names());
  EXPECT_EQ(back.count_params(), model.count_params());
  const std::string again = temp_path(c.name + "_again" + extension);
  back.save(again);
  Model third = recur::load_model(again);
  expect_same_outputs(third, c, want, "written again");
  std::filesystem::remove(path);
  std::filesystem::remove(again);
}

// Weights only: into a model of the same architecture whose weights were different.
void weights_round_trip(const ModelCase& c) {
  SCOPED_TRACE(c.name + ".weights.h5");
  Model& model = *c.model;
  const std::vector<Tensor> want = model.predict(c.xs);
  const std::string path = temp_path(c.name + ".weights.h5");
  model.save(path);
  Model other = Model::from_contents(model.contents(), "architecture of " + c.name);
  recur::test::randomize(other, 4242);
  other.load_weights(path);
  expect_same_outputs(other, c, want, "weights loaded");
  std::filesystem::remove(path);
}

void round_trips(const std::vector<ModelCase>& cases) {
  for (const ModelCase& c : cases) {
    for (const char* extension : {".keras", ".h5", ".recur"}) round_trip(c, extension);
    weights_round_trip(c);
  }
}

TEST(KerasRoundTrip, Lstm) { round_trips(recur::test::lstm_cases()); }
TEST(KerasRoundTrip, GruBothResetAfter) { round_trips(recur::test::gru_cases()); }
TEST(KerasRoundTrip, SimpleRnnAndRnnOfCell) { round_trips(recur::test::simple_rnn_cases()); }
TEST(KerasRoundTrip, GoBackwards) { round_trips(recur::test::go_backwards_cases()); }
TEST(KerasRoundTrip, BidirectionalEveryMergeMode) { round_trips(recur::test::bidirectional_cases()); }
TEST(KerasRoundTrip, InitialStateAndReturnState) { round_trips(recur::test::state_cases()); }
TEST(KerasRoundTrip, EmbeddingAndDropout) { round_trips(recur::test::embedding_cases()); }
TEST(KerasRoundTrip, MergesRepeatVectorReshapeFlattenPooling) { round_trips(recur::test::merge_cases()); }
TEST(KerasRoundTrip, Masking) { round_trips(recur::test::masking_cases()); }
TEST(KerasRoundTrip, SharedLayers) { round_trips(recur::test::shared_layer_cases()); }
TEST(KerasRoundTrip, NoneTimesteps) { round_trips(recur::test::any_length_cases()); }
// What Keras's formats hold and ONNX's do not: masks reaching recurrent layers (both
// zero_output_for_mask settings), stateful layers, dropout settings.
std::vector<ModelCase> keras_only_cases() {
  using namespace recur;
  using recur::test::layers;
  using recur::test::sequential;
  Tensor x = recur::test::random_tensor({3, 6, 4}, 50);
  for (std::size_t t : {4, 5})
    for (std::size_t f = 0; f < 4; ++f) x[(1 * 6 + t) * 4 + f] = 0.0f;  // sample 1 padded after step 3
  for (std::size_t f = 0; f < 4; ++f) x[(2 * 6 + 2) * 4 + f] = 0.0f;    // sample 2: one masked step inside
  std::vector<ModelCase> c;
  for (bool zero_output : {false, true})
    c.push_back({zero_output ? "masked_zero_output" : "masked_previous_output",
                 std::make_shared<Sequential>(sequential(
                     layers(Masking(0.0f),
                            LSTM(LstmOptions(5).return_sequences(true).zero_output_for_mask(zero_output)),
                            GRU(GruOptions(4).return_sequences(true).zero_output_for_mask(zero_output)),
                            Bidirectional(SimpleRNN(SimpleRnnOptions(3).return_sequences(true))),
                            TimeDistributed(Dense(2))),
                     {6, 4}, 51)),
                 {x}});
  c.push_back({"dropout_settings",
               std::make_shared<Sequential>(sequential(
                   layers(LSTM(LstmOptions(5).dropout(0.2f).recurrent_dropout(0.1f).return_sequences(true)),
                          GRU(GruOptions(3).dropout(0.3f)), Dense(DenseOptions(2).use_bias(false))),
                   {6, 4}, 52)),
               {recur::test::random_tensor({3, 6, 4}, 53)}});
  return c;
}

TEST(KerasRoundTrip, MasksDropoutSettings) { round_trips(keras_only_cases()); }

// A stateful layer stays stateful: the second call continues from the first call's states, in
// the reloaded model as in the original.
TEST(KerasRoundTrip, StatefulLayersCarryTheirStates) {
  using namespace recur;
  for (const char* extension : {".keras", ".h5", ".recur"}) {
    SCOPED_TRACE(extension);
    Sequential s = recur::test::sequential(
        recur::test::layers(LSTM(LstmOptions(4).stateful(true).return_sequences(true)),
                            GRU(GruOptions(3).stateful(true)), Dense(1)),
        {5, 3}, 60);
    const Tensor x = recur::test::random_tensor({2, 5, 3}, 61);
    s.reset_states();
    const Tensor first = s.predict(x), second = s.predict(x);
    ASSERT_GT(max_abs_diff(first, second), 1e-4f) << "states did not carry over in the original";
    const std::string path = temp_path(std::string("stateful") + extension);
    s.save(path);
    Model back = recur::load_model(path);
    EXPECT_LE(max_abs_diff(back.predict(x), first), 1e-6f);
    EXPECT_LE(max_abs_diff(back.predict(x), second), 1e-6f);
    std::filesystem::remove(path);
  }
}

TEST(KerasRoundTrip, EveryActivation) { round_trips(recur::test::activation_cases()); }

// The same model saved twice, more than a second apart, gives the same bytes in the HDF5
// formats and the same config and weights members in a .keras archive (whose metadata.json
// has Keras's date_saved): no modification times in the HDF5 objects, which libhdf5 stores by
// default.
TEST(KerasRoundTrip, SavingTwiceGivesTheSameBytes) {
  recur::Sequential m = recur::test::sequential(recur::test::layers(recur::LSTM(3), recur::Dense(2)), {4, 2}, 5);
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::vector<std::string> extensions = {".h5", ".weights.h5", ".keras"};
  for (const std::string& extension : extensions) m.save(temp_path("first" + extension));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  for (const std::string& extension : extensions) m.save(temp_path("second" + extension));
  for (const std::string& extension : extensions) {
    SCOPED_TRACE(extension);
    const std::string first = temp_path("first" + extension), second = temp_path("second" + extension);
    if (extension == ".keras") {
      const recur::zip::Reader a = recur::zip::Reader::open(first), b = recur::zip::Reader::open(second);
      for (const char* member : {"config.json", "model.weights.h5"})
        EXPECT_TRUE(a.read(member, 1 << 20) == b.read(member, 1 << 20)) << member << " differs between the saves";
    } else {
      const std::string a = bytes(first), b = bytes(second);
      EXPECT_GT(a.size(), 1000u);
      EXPECT_TRUE(a == b) << "the two saves differ";
    }
  }
}

}  // namespace
