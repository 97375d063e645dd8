// ONNX's own operator tests (Debian's libonnx-testdata, onnx 1.12: data/node/test_lstm_*,
// test_gru_*, test_simple_rnn_*, test_rnn_*) read by recur: each model.onnx with its W / R / B
// moved from graph inputs into initializers (the tests feed them as inputs; recur needs
// weights constant), run on the test's X in recur's batch-major layout (the import's metadata
// says which ONNX axis each recur axis is), and compared with the test's outputs at 1e-5.
#include <gtest/gtest.h>

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/model/model.hpp"
#include "support/expect_error.hpp"

namespace {

namespace fs = std::filesystem;
using recur::Tensor;

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A float TensorProto's dims and values (raw_data or float_data).
struct Array {
  std::vector<std::int64_t> dims;
  std::vector<float> values;
};

Array to_array(const ::onnx::TensorProto& t) {
  Array a;
  a.dims.assign(t.dims().begin(), t.dims().end());
  if (t.has_raw_data()) {
    a.values.resize(t.raw_data().size() / 4);
    std::memcpy(a.values.data(), t.raw_data().data(), a.values.size() * 4);
  } else {
    a.values.assign(t.float_data().begin(), t.float_data().end());
  }
  return a;
}

// The ONNX array in recur's layout: recur axis i is ONNX axis axes[i] (null: an axis ONNX
// lacks, extent 1); ONNX axes not listed have extent 1 and are dropped.
Tensor to_recur(const Array& a, const nlohmann::json& axes) {
  std::vector<std::int64_t> stride(a.dims.size(), 1);
  for (std::size_t k = a.dims.size(); k-- > 1;) stride[k - 1] = stride[k] * a.dims[k];
  recur::Shape shape;
  std::vector<std::int64_t> step;
  for (const auto& ax : axes) {
    if (ax.is_null()) {
      shape.push_back(1);
      step.push_back(0);
    } else {
      shape.push_back(static_cast<std::size_t>(a.dims.at(ax.get<std::size_t>())));
      step.push_back(stride[ax.get<std::size_t>()]);
    }
  }
  Tensor t(shape);
  std::vector<std::size_t> idx(shape.size(), 0);
  for (std::size_t flat = 0; flat < t.size(); ++flat) {
    std::int64_t off = 0;
    for (std::size_t k = 0; k < idx.size(); ++k) off += static_cast<std::int64_t>(idx[k]) * step[k];
    t[flat] = a.values.at(static_cast<std::size_t>(off));
    for (std::size_t k = idx.size(); k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return t;
}

// Loads data/node/<name>: the model with every graph input but the first (X) turned into an
// initializer from its input_N.pb, written to a temporary file.
struct NodeTest {
  std::string path;
  Array x;
  std::vector<Array> outputs;
  std::vector<std::string> output_names;
};

NodeTest prepare(const std::string& name) {
  const fs::path dir = kNodeTests / name;
  ::onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromString(read_bytes(dir / "model.onnx")));
  ::onnx::GraphProto* g = model.mutable_graph();
  const fs::path data = dir / "test_data_set_0";
  NodeTest t;
  std::vector<::onnx::ValueInfoProto> kept;
  for (int k = 0; k < g->input_size(); ++k) {
    ::onnx::TensorProto tensor;
    EXPECT_TRUE(tensor.ParseFromString(read_bytes(data / ("input_" + std::to_string(k) + ".pb"))));
    if (k == 0) {
      t.x = to_array(tensor);
      kept.push_back(g->input(k));
      continue;
    }
    tensor.set_name(g->input(k).name());
    *g->add_initializer() = tensor;
  }
  g->clear_input();
  for (const auto& v : kept) *g->add_input() = v;
  for (int k = 0; k < g->output_size(); ++k) {
    ::onnx::TensorProto tensor;
    EXPECT_TRUE(tensor.ParseFromString(read_bytes(data / ("output_" + std::to_string(k) + ".pb"))));
    t.outputs.push_back(to_array(tensor));
    t.output_names.push_back(g->output(k).name());
  }
  t.path = (fs::temp_directory_path() / ("recur_onnx_node_" + std::to_string(::getpid()) + "_" + name + ".onnx")).string();
  std::ofstream out(t.path, std::ios::binary);
  model.SerializeToOstream(&out);
  return t;
}

class OnnxNodeTests : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxNodeTests, MatchesOnnxReferenceOutputs) {
  if (!fs::exists(kNodeTests)) GTEST_SKIP() << kNodeTests << " is missing: apt-get install libonnx-testdata";
  const NodeTest t = prepare(GetParam());
  std::string meta;
  recur::Model model = recur::Model::load(t.path, &meta);
  const auto onnx = nlohmann::json::parse(meta).at("onnx");
  const Tensor x = to_recur(t.x, onnx.at("inputs").at(0).at("onnx_axes"));
  const std::vector<Tensor> ys = model.predict(std::vector<Tensor>{x});
  ASSERT_EQ(ys.size(), t.outputs.size());
  for (std::size_t k = 0; k < ys.size(); ++k) {
    SCOPED_TRACE(t.output_names[k]);
    const auto& m = onnx.at("outputs").at(k);
    EXPECT_EQ(m.at("name"), t.output_names[k]);
    const Tensor want = to_recur(t.outputs[k], m.at("onnx_axes"));
    ASSERT_EQ(ys[k].shape(), want.shape());
    float d = 0;
    for (std::size_t i = 0; i < want.size(); ++i) d = std::max(d, std::fabs(ys[k][i] - want[i]));
    EXPECT_LE(d, 1e-5f);
  }
  fs::remove(t.path);
}

INSTANTIATE_TEST_SUITE_P(Onnx, OnnxNodeTests,
                         ::testing::Values("test_lstm_defaults", "test_lstm_with_initial_bias", "test_lstm_batchwise",
                                           "test_gru_defaults", "test_gru_with_initial_bias", "test_gru_seq_length",
                                           "test_gru_batchwise", "test_simple_rnn_defaults",
                                           "test_simple_rnn_with_initial_bias", "test_simple_rnn_batchwise",
                                           "test_rnn_seq_length"));

TEST(OnnxNodeTest, PeepholesAreRefused) {
  if (!fs::exists(kNodeTests)) GTEST_SKIP() << kNodeTests << " is missing: apt-get install libonnx-testdata";
  const NodeTest t = prepare("test_lstm_with_peepholes");
  recur::test::expect_error<recur::ModelFormatError>([&] { recur::load_model(t.path); },
                                                     recur::codes::kUnsupportedImport, {"(LSTM", "peephole", "Keras"});
  fs::remove(t.path);
}

}  // namespace
