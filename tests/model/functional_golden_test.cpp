// Functional graphs against PyTorch: an encoder-decoder whose decoder starts from the encoder's
// final states, a model with two inputs, a shared LSTM feeding merge layers, and a model with two
// outputs. Outputs and every gradient (inputs and weights, in Keras layout) are compared with
// tests/golden/functional_golden.json, made in float64 by tests/golden/make_functional_golden.py
// (see its docstring for the layouts). The encoder's weight gradients can only be right if the
// decoder's initial-state gradients reach the encoder.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "recur/layers/core.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/graph.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/model.hpp"
#include "support/allclose.hpp"

namespace {

using json = nlohmann::json;
using recur::SymbolicTensor;
using recur::Tensor;

json load_golden() {
  std::ifstream in(std::string(RECUR_GOLDEN_DIR) + "/functional_golden.json");
  EXPECT_TRUE(in.good()) << "missing tests/golden/functional_golden.json";
  return json::parse(in);
}

Tensor array(const json& a) {
  return Tensor(a.at("shape").get<recur::Shape>(), a.at("data").get<std::vector<float>>());
}

std::vector<double> values(const json& a) { return a.at("data").get<std::vector<double>>(); }

// The graph of each golden case, built with recur's Functional API.
recur::Model build(const std::string& name, const json& c) {
  const std::size_t U = c.at("units");
  using recur::LstmOptions;
  if (name == "encoder_decoder") {
    auto x_enc = recur::Input({c["encoder_timesteps"], c["encoder_features"]}, "x_enc");
    auto x_dec = recur::Input({c["decoder_timesteps"], c["decoder_features"]}, "x_dec");
    auto encoder = recur::shared(recur::LSTM(LstmOptions(U).return_state(true).name("encoder")));
    auto [enc_out, h, c_state] = encoder.call<3>(x_enc);
    auto decoder = recur::shared(recur::LSTM(LstmOptions(U).return_sequences(true).name("decoder")));
    auto seq = decoder(x_dec, {.initial_state = {h, c_state}});
    auto y = recur::shared(recur::Dense(recur::DenseOptions(c["dense_units"]).name("dense")))(seq);
    return recur::Model({x_enc, x_dec}, {y}, "encoder_decoder");
  }
  if (name == "two_inputs") {
    auto x_seq = recur::Input({c["timesteps"], c["features"]}, "x_seq");
    auto x_static = recur::Input({c["static_features"]}, "x_static");
    auto h = recur::shared(recur::LSTM(LstmOptions(U).name("lstm")))(x_seq);
    auto joined = recur::shared(recur::Concatenate())({h, x_static});
    auto y = recur::shared(recur::Dense(recur::DenseOptions(c["dense_units"]).name("dense")))(joined);
    return recur::Model({x_seq, x_static}, {y}, "two_inputs");
  }
  if (name == "merge_shared") {
    // The golden runs one LSTM on x and on x reversed in time; here the reversed copy is a
    // second input (Keras would need a Lambda), and the test adds its gradient back, reversed.
    auto x = recur::Input({c["timesteps"], c["features"]}, "x");
    auto x_rev = recur::Input({c["timesteps"], c["features"]}, "x_reversed");
    auto lstm = recur::shared(recur::LSTM(LstmOptions(U).name("lstm")));
    auto a = lstm(x);
    auto b = lstm(x_rev);
    auto sum = recur::shared(recur::Add())({a, b});
    auto product = recur::shared(recur::Multiply())({a, b});
    auto mean = recur::shared(recur::Average())({a, b});
    auto joined = recur::shared(recur::Concatenate())({sum, product, mean});
    auto y = recur::shared(recur::Dense(recur::DenseOptions(c["dense_units"]).name("dense")))(joined);
    return recur::Model({x, x_rev}, {y}, "merge_shared");
  }
  auto x = recur::Input({c["timesteps"], c["features"]}, "x");
  auto [seq, h, c_state] =
      recur::shared(recur::LSTM(LstmOptions(U).return_sequences(true).return_state(true).name("lstm"))).call<3>(x);
  (void)c_state;
  // seq[:, -1, :] is the final h (no mask): Dense(1) on it is the golden's first output.
  auto y_last = recur::shared(recur::Dense(recur::DenseOptions(1).name("dense_last")))(h);
  auto pooled = recur::shared(recur::GlobalAveragePooling1D())(seq);
  auto y_avg = recur::shared(recur::Dense(recur::DenseOptions(2).name("dense_avg")))(pooled);
  return recur::Model({x}, {y_last, y_avg}, "two_outputs");
}

// x (batch, timesteps, features) with its time axis reversed.
Tensor reverse_time(const Tensor& x) {
  Tensor r(x.shape());
  const std::size_t B = x.dim(0), T = x.dim(1), F = x.dim(2);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t f = 0; f < F; ++f) r[(b * T + t) * F + f] = x[(b * T + (T - 1 - t)) * F + f];
  return r;
}

TEST(FunctionalGolden, GraphsMatchPyTorchForwardAndBackward) {
  const json golden = load_golden();
  ASSERT_EQ(golden.at("cases").size(), 4u);
  for (const json& c : golden.at("cases")) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    recur::Model model = build(name, c);
    // Weights: the golden lists them in Keras's get_weights() order, which must be recur's.
    std::vector<Tensor> weights;
    for (const auto& w : c.at("weight_names")) weights.push_back(array(c.at("weights").at(w.get<std::string>())));
    model.set_weights(weights);
    std::vector<Tensor> xs;
    for (const auto& n : c.at("input_names")) xs.push_back(array(c.at("inputs").at(n.get<std::string>())));
    if (name == "merge_shared") xs.push_back(reverse_time(xs[0]));
    const std::vector<Tensor> ys = model.forward(xs, false);
    const auto out_names = c.at("output_names");
    ASSERT_EQ(ys.size(), out_names.size());
    using recur::test::expect_allclose;
    for (std::size_t k = 0; k < ys.size(); ++k)
      expect_allclose("output " + out_names[k].get<std::string>(), ys[k].data(),
                      values(c.at("outputs").at(out_names[k].get<std::string>())), 1e-5, 1e-5);

    std::vector<Tensor> gs;
    for (const auto& n : out_names) gs.push_back(array(c.at("g_outputs").at(n.get<std::string>())));
    model.zero_grad();
    std::vector<Tensor> dxs = model.backward(gs);
    if (name == "merge_shared") {
      const Tensor back = reverse_time(dxs[1]);
      for (std::size_t i = 0; i < dxs[0].size(); ++i) dxs[0][i] += back[i];
    }
    constexpr double atol = 2e-5, rtol = 1e-4;
    const auto in_names = c.at("input_names");
    for (std::size_t k = 0; k < in_names.size(); ++k)
      expect_allclose("d " + in_names[k].get<std::string>(), dxs[k].data(),
                      values(c.at("d_inputs").at(in_names[k].get<std::string>())), atol, rtol);
    const std::vector<recur::Weight*> ws = model.trainable_weights();
    ASSERT_EQ(ws.size(), c.at("weight_names").size());
    for (std::size_t k = 0; k < ws.size(); ++k) {
      const std::string w = c.at("weight_names")[k];
      expect_allclose("d " + w, ws[k]->grad.data(), values(c.at("d_weights").at(w)), atol, rtol);
    }
  }
}

}  // namespace
