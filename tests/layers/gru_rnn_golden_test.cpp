// recur's GRU (reset_after=true, Keras's default) and SimpleRNN layers (float32) against PyTorch
// 1.13 (float64): outputs, final states and every gradient on seven configurations with odd sizes.
// Reference values: tests/golden/gru_rnn_golden.json, made by tests/golden/make_gru_rnn_golden.py
// (its docstring gives the PyTorch -> Keras weight conversion, including GRU's gate reorder).
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "recur/layers/recurrent.hpp"
#include "support/allclose.hpp"

namespace {

using json = nlohmann::json;

recur::Tensor tensor(const json& c, const char* key, recur::Shape shape) {
  return recur::Tensor(std::move(shape), c.at(key).get<std::vector<float>>());
}

TEST(GruRnnGolden, MatchesPyTorchForwardAndBackward) {
  std::ifstream in(std::string(RECUR_GOLDEN_DIR) + "/gru_rnn_golden.json");
  ASSERT_TRUE(in.good()) << "missing tests/golden/gru_rnn_golden.json";
  const json golden = json::parse(in);
  ASSERT_GE(golden.at("cases").size(), 6u);
  for (const json& c : golden.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::size_t B = c["batch"], T = c["timesteps"], F = c["features"], U = c["units"];
    const bool seq = c["return_sequences"], back = c["go_backwards"], init = c["initial_state"];
    const bool gru = c["kind"] == "GRU";
    std::unique_ptr<recur::RNN> layer;
    if (gru) layer = std::make_unique<recur::GRU>(recur::GruOptions(U).return_sequences(seq).go_backwards(back));
    else layer = std::make_unique<recur::SimpleRNN>(recur::SimpleRnnOptions(U).return_sequences(seq).go_backwards(back));
    recur::Rng rng(0);
    layer->build({T, F}, rng);
    const std::size_t G = (gru ? 3 : 1) * U;
    recur::RecurrentCell& cell = layer->cell();
    cell.kernel().value = tensor(c, "kernel", {F, G});
    cell.recurrent_kernel().value = tensor(c, "recurrent_kernel", {U, G});
    cell.bias().value = tensor(c, "bias", gru ? recur::Shape{2, G} : recur::Shape{G});
    const recur::Tensor x = tensor(c, "x", {B, T, F});
    std::vector<recur::Tensor> state;
    if (init) state.push_back(tensor(c, "h0", {B, U}));
    const recur::RecurrentOutput out = layer->call(x, state);

    constexpr double atol = 2e-5, rtol = 1e-4;
    using recur::test::expect_allclose;
    expect_allclose("output", out.output.data(), c["output"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("h", out.states.at(0).data(), c["h"].get<std::vector<double>>(), atol, rtol);

    const recur::Tensor gy = tensor(c, "g_output", out.output.shape());
    const recur::RecurrentGradients g = layer->backward_with_state(gy, {tensor(c, "g_h", {B, U})});
    expect_allclose("dx", g.dx.data(), c["dx"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("dkernel", cell.kernel().grad.data(), c["dkernel"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("drecurrent_kernel", cell.recurrent_kernel().grad.data(),
                    c["drecurrent_kernel"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("dbias", cell.bias().grad.data(), c["dbias"].get<std::vector<double>>(), atol, rtol);
    if (init) expect_allclose("dh0", g.dstates.at(0).data(), c["dh0"].get<std::vector<double>>(), atol, rtol);
  }
}

}  // namespace
