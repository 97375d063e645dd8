// ONNX files written by PyTorch's torch.onnx.export (tests/golden/onnx/, made by
// make_torch_onnx.py with torch 1.13): nn.LSTM(batch_first) + Linear on the last step, a
// bidirectional GRU + Linear on every step, a 2-layer LSTM's final h, a GRU started from a given
// h0, a bidirectional LSTM classifier on cat(h_n[-2], h_n[-1]), a time-major GRU. recur imports
// each and reproduces PyTorch's outputs at 1e-5.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "recur/model/model.hpp"

namespace {

using json = nlohmann::json;
using recur::Tensor;

const std::string kDir = std::string(RECUR_GOLDEN_DIR) + "/onnx/";

// A {"dims", "values"} array in recur's layout: recur axis i is ONNX axis axes[i]; the ONNX
// axes not listed have extent 1.
Tensor to_recur(const json& a, const json& axes) {
  const std::vector<std::int64_t> dims = a.at("dims").get<std::vector<std::int64_t>>();
  const std::vector<float> values = a.at("values").get<std::vector<float>>();
  std::vector<std::int64_t> stride(dims.size(), 1);
  for (std::size_t k = dims.size(); k-- > 1;) stride[k - 1] = stride[k] * dims[k];
  recur::Shape shape;
  std::vector<std::int64_t> step;
  for (const json& ax : axes) {
    shape.push_back(ax.is_null() ? 1 : static_cast<std::size_t>(dims.at(ax.get<std::size_t>())));
    step.push_back(ax.is_null() ? 0 : stride[ax.get<std::size_t>()]);
  }
  Tensor t(shape);
  std::vector<std::size_t> idx(shape.size(), 0);
  for (std::size_t flat = 0; flat < t.size(); ++flat) {
    std::int64_t off = 0;
    for (std::size_t k = 0; k < idx.size(); ++k) off += static_cast<std::int64_t>(idx[k]) * step[k];
    t[flat] = values.at(static_cast<std::size_t>(off));
    for (std::size_t k = idx.size(); k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return t;
}

class OnnxTorchTest : public ::testing::TestWithParam<int> {};

TEST_P(OnnxTorchTest, MatchesPyTorch) {
  std::ifstream in(kDir + "torch_outputs.json");
  ASSERT_TRUE(in) << kDir << "torch_outputs.json";
  const json golden = json::parse(in);
  const json& c = golden.at("models").at(static_cast<std::size_t>(GetParam()));
  SCOPED_TRACE(c.at("file").get<std::string>());
  std::string meta;
  recur::Model model = recur::Model::load(kDir + c.at("file").get<std::string>(), &meta);
  const json onnx = json::parse(meta).at("onnx");
  std::vector<Tensor> xs;
  for (const json& m : onnx.at("inputs"))
    xs.push_back(to_recur(c.at("inputs").at(m.at("name").get<std::string>()), m.at("onnx_axes")));
  const std::vector<Tensor> ys = model.predict(xs);
  ASSERT_EQ(ys.size(), c.at("outputs").size());
  for (std::size_t k = 0; k < ys.size(); ++k) {
    const json& m = onnx.at("outputs").at(k);
    SCOPED_TRACE(m.at("name").get<std::string>());
    const Tensor want = to_recur(c.at("outputs").at(m.at("name").get<std::string>()), m.at("onnx_axes"));
    ASSERT_EQ(ys[k].shape(), want.shape());
    float d = 0;
    for (std::size_t i = 0; i < want.size(); ++i) d = std::max(d, std::fabs(ys[k][i] - want[i]));
    EXPECT_LE(d, 1e-5f);
  }
}

INSTANTIATE_TEST_SUITE_P(Onnx, OnnxTorchTest, ::testing::Range(0, 6));

// What the import makes of them: one recurrent layer per ONNX node, the Linear a Dense, the
// zero initial states PyTorch computes from the batch size gone.
TEST(OnnxTorchImport, LayersMadeFromTorchGraphs) {
  auto classes = [](const std::string& file) {
    recur::Model m = recur::load_model(kDir + file);
    std::vector<std::string> out;
    for (const auto& l : m.layers()) out.push_back(l->type());
    return out;
  };
  EXPECT_EQ(classes("lstm_linear.onnx"), (std::vector<std::string>{"LSTM", "Dense"}));
  EXPECT_EQ(classes("bigru_linear.onnx"), (std::vector<std::string>{"Bidirectional", "Dense"}));
  EXPECT_EQ(classes("lstm_2layers.onnx"), (std::vector<std::string>{"LSTM", "LSTM"}));
  EXPECT_EQ(classes("gru_with_state.onnx"), (std::vector<std::string>{"GRU", "Dense"}));
  // h_n[-2] and h_n[-1] of a bidirectional LSTM: its forward and backward (go_backwards) halves.
  EXPECT_EQ(classes("bilstm_classifier.onnx"), (std::vector<std::string>{"LSTM", "LSTM", "Concatenate", "Dense"}));
  EXPECT_EQ(classes("time_major_gru.onnx"), (std::vector<std::string>{"GRU"}));
}

}  // namespace
