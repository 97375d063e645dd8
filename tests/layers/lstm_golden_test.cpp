// recur's LSTM layer (float32) against PyTorch 1.13 (float64) on five configurations with odd
// sizes: outputs, final states and every gradient. Reference values: tests/golden/
// lstm_golden.json, made by tests/golden/make_lstm_golden.py (see its docstring for the
// PyTorch -> Keras weight conversion).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "recur/layers/lstm.hpp"
#include "support/allclose.hpp"

namespace {

using json = nlohmann::json;

json load_golden() {
  std::ifstream in(std::string(RECUR_GOLDEN_DIR) + "/lstm_golden.json");
  EXPECT_TRUE(in.good()) << "missing tests/golden/lstm_golden.json";
  return json::parse(in);
}

recur::Tensor tensor(const json& c, const char* key, recur::Shape shape) {
  return recur::Tensor(std::move(shape), c.at(key).get<std::vector<float>>());
}

TEST(LstmGolden, MatchesPyTorchForwardAndBackward) {
  const json golden = load_golden();
  ASSERT_GE(golden.at("cases").size(), 4u);
  for (const json& c : golden.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::size_t B = c["batch"], T = c["timesteps"], F = c["features"], U = c["units"];
    const bool seq = c["return_sequences"], back = c["go_backwards"], init = c["initial_state"];
    recur::LSTM lstm(recur::LstmOptions(U).return_sequences(seq).go_backwards(back));
    recur::Rng rng(0);
    lstm.build({T, F}, rng);
    lstm.kernel().value = tensor(c, "kernel", {F, 4 * U});
    lstm.recurrent_kernel().value = tensor(c, "recurrent_kernel", {U, 4 * U});
    lstm.bias().value = tensor(c, "bias", {4 * U});
    const recur::Tensor x = tensor(c, "x", {B, T, F});
    recur::LstmState state{tensor(c, "h0", {B, U}), tensor(c, "c0", {B, U})};
    const recur::LstmOutput out = lstm.call(x, init ? &state : nullptr);

    constexpr double atol = 2e-5, rtol = 1e-4;
    using recur::test::expect_allclose;
    expect_allclose("output", out.output.data(), c["output"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("h", out.h.data(), c["h"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("c", out.c.data(), c["c"].get<std::vector<double>>(), atol, rtol);

    const recur::Tensor gy = tensor(c, "g_output", out.output.shape());
    const recur::Tensor gh = tensor(c, "g_h", {B, U}), gc = tensor(c, "g_c", {B, U});
    const recur::LstmGradients g = lstm.backward_with_state(gy, &gh, &gc);
    expect_allclose("dx", g.dx.data(), c["dx"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("dkernel", lstm.kernel().grad.data(), c["dkernel"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("drecurrent_kernel", lstm.recurrent_kernel().grad.data(),
                    c["drecurrent_kernel"].get<std::vector<double>>(), atol, rtol);
    expect_allclose("dbias", lstm.bias().grad.data(), c["dbias"].get<std::vector<double>>(), atol, rtol);
    if (init) {
      expect_allclose("dh0", g.dh0.data(), c["dh0"].get<std::vector<double>>(), atol, rtol);
      expect_allclose("dc0", g.dc0.data(), c["dc0"].get<std::vector<double>>(), atol, rtol);
    }
  }
}

}  // namespace
