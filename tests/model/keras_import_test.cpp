// Keras files read natively: every file of tests/golden/keras (Keras 1.2 to 3.10 layouts, real
// files from ../shared/interop with the outputs Keras itself computed, and files written by
// tests/golden/keras/make_keras_files.py from Keras's documented layouts) loads, prints its
// summary and predicts the reference outputs of tests/golden/keras/reference.json (Keras's own
// values for the three *_io pairs, a float64 numpy reference of Keras's semantics,
// keras_reference.py, for the rest); hostile files give a clean ModelFormatError.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/io/hdf5.hpp"
#include "recur/io/zip_archive.hpp"
#include "recur/model/model.hpp"
#include "support/allclose.hpp"
#include "support/expect_error.hpp"

namespace {

using json = nlohmann::json;
using recur::Tensor;

const std::string kDir = std::string(RECUR_GOLDEN_DIR) + "/keras/";

json reference() {
  std::ifstream in(kDir + "reference.json");
  EXPECT_TRUE(in.good()) << "missing tests/golden/keras/reference.json";
  return json::parse(in);
}

Tensor array(const json& a) { return Tensor(a.at("shape").get<recur::Shape>(), a.at("data").get<std::vector<float>>()); }

const json& find_case(const json& ref, const std::string& file) {
  for (const json& c : ref["cases"])
    if (c["file"] == file) return c;
  throw std::runtime_error("no case " + file);
}

// Loads a case's model (and, for a weights file, the weights into its model) and compares the
// predictions with the reference.
void check_case(const json& ref, const json& c) {
  const std::string file = c["file"].get<std::string>();
  SCOPED_TRACE(file);
  recur::Model model = c.contains("weights_for") ? recur::load_model(kDir + c["weights_for"].get<std::string>())
                                                 : recur::load_model(kDir + file);
  if (c.contains("weights_for")) model.load_weights(kDir + file);
  EXPECT_FALSE(model.summary().empty());
  std::vector<Tensor> xs;
  for (const json& in : c["inputs"]) xs.push_back(array(in));
  const std::vector<Tensor> ys = model.predict(xs, 64);
  ASSERT_EQ(ys.size(), c["outputs"].size());
  for (std::size_t k = 0; k < ys.size(); ++k) {
    const json& want = c["outputs"][k];
    EXPECT_EQ(ys[k].shape(), want["shape"].get<recur::Shape>()) << "output " << k;
    if (ys[k].shape() != want["shape"].get<recur::Shape>()) continue;
    recur::test::expect_allclose(file + " output " + std::to_string(k), ys[k].data(),
                                 want["data"].get<std::vector<double>>(), c.value("atol", 1e-5), 0.0);
  }
  (void)ref;
}

TEST(KerasImport, EveryFilePredictsTheReferenceOutputs) {
  const json ref = reference();
  for (const json& c : ref["cases"]) {
    try {
      check_case(ref, c);
    } catch (const std::exception& e) {
      ADD_FAILURE() << c["file"].get<std::string>() << ": " << e.what();
    }
  }
}

TEST(KerasImport, EveryReferenceFileIsListed) {
  // The test list is the reference's; make sure it has the real Keras-computed files.
  const json ref = reference();
  int keras_computed = 0;
  for (const json& c : ref["cases"]) keras_computed += c.value("source", "") == "keras";
  EXPECT_EQ(keras_computed, 3);
  EXPECT_GE(ref["cases"].size(), 20u);
}

TEST(KerasImport, RecordsWhereTheModelCameFrom) {
  std::string metadata;
  recur::Model::load(kDir + "shared/k122_simple_lstm.h5", &metadata);
  const json m = json::parse(metadata);
  EXPECT_EQ(m["source"]["keras_version"], "1.2.2");
  EXPECT_EQ(m["source"]["format"], "keras-h5");
  // Keras 1's hard_sigmoid is the 0.2x + 0.5 one.
  recur::Model model = recur::load_model(kDir + "shared/k122_simple_lstm.h5");
  EXPECT_NE(model.layers()[0]->get_config().dump().find("legacy_hard_sigmoid"), std::string::npos);
}

TEST(KerasImport, ACompiledKerasModelTrainsFurther) {
  recur::Model model = recur::load_model(kDir + "k38_sequential_lstm.keras");
  ASSERT_NE(model.optimizer(), nullptr) << "the compile_config (Adam, categorical_crossentropy) was not imported";
  EXPECT_EQ(model.optimizer()->type(), "Adam");
  Tensor x({16, 5, 3}), y({16, 4});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>((i * 37 % 11) / 11.0 - 0.5);
  for (std::size_t i = 0; i < 16; ++i) y.data()[i * 4 + i % 4] = 1.0f;
  const std::vector<Tensor> before = model.get_weights();
  const recur::History h = model.fit(x, y, recur::FitOptions().epochs(3).batch_size(8).shuffle(false));
  const auto& loss = h.history.at("loss");
  ASSERT_EQ(loss.size(), 3u);
  EXPECT_TRUE(std::isfinite(loss.back()));
  EXPECT_LT(loss.back(), loss.front());
  EXPECT_NE(model.get_weights()[0].values(), before[0].values());
}

// Adam's moments and step count come with the model, in each format's layout (Keras 3's
// optimizer/vars; Keras 3's legacy writer; tf.keras 2.x; Keras 2.2 with its vhats), so that fit
// continues where Keras stopped: the state equals the file's arrays for the first and the last
// weight (which checks the order), and training goes on from the stored step count.
struct OptimizerCase {
  const char* file;
  std::int64_t iterations;
  bool keras3_order;
};

class KerasOptimizerState : public ::testing::TestWithParam<OptimizerCase> {};

TEST_P(KerasOptimizerState, AdamMomentsAndStepCountAreImported) {
  const OptimizerCase& c = GetParam();
  const std::string path = kDir + c.file;
  recur::Model model = recur::load_model(path);
  ASSERT_NE(model.optimizer(), nullptr);
  const recur::Optimizer::State st = model.optimizer()->state();
  EXPECT_EQ(st.iterations, c.iterations);
  const std::size_t W = model.get_weights().size();
  ASSERT_EQ(st.slots.size(), 2u);
  ASSERT_EQ(st.slots[0].size(), W);
  ASSERT_EQ(st.slots[1].size(), W);
  // The file's arrays, read independently of the importer.
  std::vector<Tensor> arrays;
  const bool zip = std::string(c.file).ends_with(".keras");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (zip) bytes = recur::zip::Reader::from_bytes(bytes, path).read("model.weights.h5", 1u << 26);
  const recur::hdf5::File file = recur::hdf5::File::from_bytes(bytes, path);
  const recur::hdf5::Group root = file.root();
  if (zip) {
    for (std::size_t k = 0; k < 2 + 2 * W; ++k)
      arrays.push_back(root.group("optimizer/vars").float_dataset(std::to_string(k), 1u << 26));
  } else {
    const recur::hdf5::Group g = root.group("optimizer_weights");
    for (const std::string& name : g.string_list_attribute("weight_names"))
      arrays.push_back(g.float_dataset(name, 1u << 26));
  }
  for (std::size_t k : {std::size_t{0}, W - 1}) {
    const Tensor& m = c.keras3_order ? arrays[2 + 2 * k] : arrays[1 + k];
    const Tensor& v = c.keras3_order ? arrays[3 + 2 * k] : arrays[1 + W + k];
    EXPECT_EQ(st.slots[0][k], m.values()) << "momentum of weight " << k;
    EXPECT_EQ(st.slots[1][k], v.values()) << "velocity of weight " << k;
  }
  // Training continues from the stored step: one epoch of 2 batches adds 2.
  std::vector<Tensor> xs;
  for (const recur::SymbolicTensor& in : model.inputs()) {
    recur::Shape shape = {4};
    for (std::size_t d : in.shape()) shape.push_back(d == recur::kAnyDim ? 5 : d);
    Tensor x(shape);
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>((i * 29 % 13) / 13.0 - 0.5);
    xs.push_back(x);
  }
  std::vector<Tensor> ys = model.predict(xs);
  model.fit(xs, ys, recur::FitOptions().epochs(1).batch_size(2).shuffle(false));
  EXPECT_EQ(model.optimizer()->state().iterations, c.iterations + 2);
}

INSTANTIATE_TEST_SUITE_P(Keras, KerasOptimizerState,
                         ::testing::Values(OptimizerCase{"k38_sequential_lstm.keras", 120, true},
                                           OptimizerCase{"k38_legacy_bilstm.h5", 33, true},
                                           OptimizerCase{"tfk210_functional_bidir_gru.h5", 90, false},
                                           OptimizerCase{"k224_gru_hard_sigmoid.h5", 300, false}),
                         [](const ::testing::TestParamInfo<OptimizerCase>& info) {
                           std::string s;
                           for (const char* p = info.param.file; *p; ++p)
                             s += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
                           return s;
                         });

// ---- hostile files ---------------------------------------------------------------------------

struct HostileCase {
  const char* file;
  std::vector<std::string> words;
};

class KerasHostile : public ::testing::TestWithParam<HostileCase> {};

TEST_P(KerasHostile, IsRefusedCleanly) {
  const HostileCase& h = GetParam();
  recur::test::expect_error<recur::ModelFormatError>([&] { recur::load_model(kDir + "hostile/" + h.file); }, h.words);
}

INSTANTIATE_TEST_SUITE_P(
    Keras, KerasHostile,
    ::testing::Values(HostileCase{"truncated.keras", {"zip"}}, HostileCase{"zip_bomb_config.keras", {"config.json"}},
                      HostileCase{"deep_config.keras", {"nested", "levels"}},
                      HostileCase{"path_traversal.keras", {"..", "evil"}},
                      HostileCase{"huge_dataset.h5", {"kernel"}},
                      HostileCase{"bad_model_config.h5", {"model_config", "JSON"}},
                      HostileCase{"wrong_units.keras", {"units 64", "units 4"}},
                      HostileCase{"unknown_layer_convlstm2d.keras", {"ConvLSTM2D", "LSTM"}},
                      HostileCase{"bidirectional_merge_mode_null.keras", {"merge_mode"}},
                      HostileCase{"custom_rnn_cell.keras", {"PeepholeLSTMCell"}},
                      HostileCase{"weights_npz.keras", {"npz"}}, HostileCase{"external_link.h5", {"link"}}),
    [](const ::testing::TestParamInfo<HostileCase>& info) {
      std::string s;
      for (const char* p = info.param.file; *p; ++p) s += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
      return s;
    });

// Configs that fuzz_keras_config (fuzz/fuzz_foreign_model.cpp) found escaping as nlohmann's
// exceptions instead of a ModelFormatError, and their kin, each packed into
// k38_sequential_lstm.keras in place of its config.json.
struct MalformedConfig {
  std::string config;
  std::vector<std::string> words;
};

std::string keras_with_config(const std::string& config, const std::string& name) {
  const recur::zip::Reader valid = recur::zip::Reader::open(kDir + "k38_sequential_lstm.keras");
  const std::string path = ::testing::TempDir() + name;
  recur::zip::write_archive(path, {{"metadata.json", valid.read("metadata.json", 1 << 20)},
                                   {"config.json", config},
                                   {"model.weights.h5", valid.read("model.weights.h5", 1 << 24)}});
  return path;
}

// A Sequential config of an input (3 features) and the given layer entries.
std::string sequential_config(const std::string& layers) {
  return R"({"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "InputLayer", )"
         R"("config": {"batch_shape": [null, 4, 3], "name": "in"}}, )" +
         layers + "]}}";
}

TEST(KerasImport, MalformedConfigsAreRefusedNamingWhatIsMissing) {
  const std::vector<MalformedConfig> cases = {
      {R"({"class_name": "Sequential", "config": {"name": "no_layers"}})", {"model config", "has no \"layers\""}},
      {R"({"class_name": "Sequential", "config": 7})", {"model config", "has no \"layers\""}},
      {R"({"class_name": "Functional", "config": {"layers": []}})", {"model config", "has no \"input_layers\""}},
      {sequential_config(R"({"class_name": "Embedding", "config": {"name": "e", "output_dim": 3}})"),
       {"Embedding 'e'", "has no \"input_dim\""}},
      {sequential_config(R"({"class_name": "RNN", "config": {"name": "r", "cell": {"class_name": "LSTMCell", )"
                         R"("config": {"name": "c"}}}})"),
       {"RNN 'r''s cell", "has no \"output_dim\""}},
      {sequential_config(R"({"class_name": "LSTM", "config": {"units": 2}})"), {"layer 1 (LSTM)", "has no \"name\""}},
      // A value of the wrong type deep in a layer's config: what nlohmann throws becomes a
      // ModelFormatError naming the file.
      {sequential_config(R"({"class_name": "Dense", "config": {"name": "d", "units": 2, "kernel_initializer": )"
                         R"({"class_name": "VarianceScaling", "config": {"mode": 5}}}})"),
       {"malformed_config.keras", "could not be converted", "not of the type Keras writes"}},
  };
  for (const MalformedConfig& c : cases) {
    SCOPED_TRACE(c.config);
    const std::string path = keras_with_config(c.config, "malformed_config.keras");
    recur::test::expect_error<recur::ModelFormatError>([&] { recur::load_model(path); }, c.words);
  }
}

// Compile settings of the wrong types do not refuse the model: it loads uncompiled, with the
// reason in its notes, as settings recur lacks do.
TEST(KerasImport, MalformedCompileSettingsLoadTheModelUncompiled) {
  const recur::zip::Reader valid = recur::zip::Reader::open(kDir + "k38_sequential_lstm.keras");
  json config = json::parse(valid.read("config.json", 1 << 20));
  ASSERT_TRUE(config.contains("compile_config"));
  config["compile_config"]["optimizer"] = {{"class_name", "Adam"}, {"config", 7}};
  const std::string path = keras_with_config(config.dump(), "malformed_compile.keras");
  std::string metadata;
  recur::Model model = recur::Model::load(path, &metadata);
  EXPECT_EQ(model.optimizer(), nullptr);
  EXPECT_NE(metadata.find("compile settings are malformed"), std::string::npos) << metadata;
  EXPECT_FALSE(model.predict(Tensor({1, 5, 3})).shape().empty());
}

// A legacy Keras 2 .h5 model of one layer of class `cls` (units 4, input (3, 2)) whose three
// weight arrays have the given shapes (zeros), written with recur's HDF5 writer.
std::string legacy_h5(const std::string& name, const std::string& cls, const recur::Shape& k, const recur::Shape& r,
                      const recur::Shape& b) {
  recur::hdf5::File file = recur::hdf5::File::create(name);
  recur::hdf5::Group root = file.root();
  root.set_string_attribute("model_config", R"({"class_name": "Sequential", "config": {"name": "s", "layers": [)"
                                            R"({"class_name": ")" + cls +
                                                R"(", "config": {"name": "c", "units": 4, "batch_input_shape": [null, 3, 2]}}]}})");
  root.set_string_attribute("keras_version", "2.2.4");
  recur::hdf5::Group weights = root.create_group("model_weights");
  weights.set_string_attribute("keras_version", "2.2.4");
  weights.set_string_list_attribute("layer_names", {"c"});
  recur::hdf5::Group c = weights.create_group("c");
  c.set_string_list_attribute("weight_names", {"k", "r", "b"});
  c.write_float_dataset("k", Tensor(k));
  c.write_float_dataset("r", Tensor(r));
  c.write_float_dataset("b", Tensor(b));
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << file.bytes();
  return path;
}

// Found by a helper's audit of the Keras importer: CuDNN weights with a zero extent, whose
// gates x units wrapped (a (2^62, 0) recurrent kernel "matched" 4U = 0) and the conversion
// read through a null pointer (SIGSEGV in recur summary), or looped 2^62 times.
TEST(KerasImport, CudnnWeightsWithZeroExtentsAreRefused) {
  const std::size_t huge = std::size_t{1} << 62;
  for (const auto& [k, r] : std::vector<std::pair<recur::Shape, recur::Shape>>{{{1, 0}, {huge, 0}}, {{huge, 0}, {0, 0}}}) {
    const std::string path = legacy_h5("cudnn_zero.h5", "CuDNNLSTM", k, r, {0});
    recur::test::expect_error<recur::ModelFormatError>([&] { recur::load_model(path); }, recur::codes::kArchitectureMismatch,
                                                       {"CuDNNLSTM 'c'", "weights have shapes"});
  }
  // The shapes of a real CuDNNLSTM(4) still load.
  const std::string ok = legacy_h5("cudnn_ok.h5", "CuDNNLSTM", {2, 16}, {4, 16}, {32});
  EXPECT_EQ(recur::load_model(ok).predict(Tensor({1, 3, 2})).shape(), (recur::Shape{1, 4}));
}

// A file name that is not UTF-8 (Latin-1 "café") is kept in the model's notes of where it came
// from: the converted document is dumped with invalid bytes replaced, not refused.
TEST(KerasImport, APathThatIsNotUtf8StillLoads) {
  const std::string path = ::testing::TempDir() + "caf\xe9.keras";
  std::filesystem::copy_file(kDir + "k38_sequential_lstm.keras", path, std::filesystem::copy_options::overwrite_existing);
  recur::Model model = recur::load_model(path);
  EXPECT_EQ(model.predict(Tensor({1, 5, 3})).shape(), (recur::Shape{1, 4}));
  std::filesystem::remove(path);
}

TEST(KerasImport, UnsupportedThingsNameTheLayerAndTheClassWithTheirCode) {
  recur::test::expect_error<recur::ModelFormatError>(
      [&] { recur::load_model(kDir + "hostile/unknown_layer_convlstm2d.keras"); }, recur::codes::kUnsupportedImport,
      {"ConvLSTM2D", "recur reads"});
}

}  // namespace
