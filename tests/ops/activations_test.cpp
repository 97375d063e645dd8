// The activations against their closed forms (Keras 3's definitions, and Keras 2's hard_sigmoid
// as legacy_hard_sigmoid), each derivative-from-output against central differences in double,
// the recurrent cells run with the new activations checked by gradient, and the names: parse,
// name, the "expected one of" list, and the activations recur refuses with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/layers/dense.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/ops/activations.hpp"
#include "recur/ops/cpu.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "support/gradcheck.hpp"
#include "support/layer_gradcheck.hpp"

namespace {

using recur::ops::Activation;
using recur::ops::activate;
using recur::ops::activation_grad_from_output;
using recur::ops::kSeluAlpha;
using recur::ops::kSeluScale;

// Every element-wise activation (all but softmax).
const std::vector<Activation> kElementWise = {
    Activation::kLinear,      Activation::kRelu,     Activation::kTanh,
    Activation::kSigmoid,     Activation::kHardSigmoid, Activation::kLegacyHardSigmoid,
    Activation::kElu,         Activation::kSelu,     Activation::kSoftplus,
    Activation::kSoftsign,    Activation::kExponential};

std::string message_of(const std::string& name) {
  try {
    recur::ops::parse_activation(name, "Dense 'head' activation");
  } catch (const recur::ValueError& e) {
    return e.what();
  }
  return "";
}

TEST(ActivationsValues, HardSigmoidIsKeras3sClipOfXOverSixPlusHalf) {
  const Activation a = Activation::kHardSigmoid;
  EXPECT_EQ(activate(0.0, a), 0.5);
  EXPECT_DOUBLE_EQ(activate(1.5, a), 0.75);
  EXPECT_DOUBLE_EQ(activate(-1.2, a), 0.3);
  // The clip boundaries are x = -3 and x = 3 (relu6(x + 3) / 6).
  EXPECT_EQ(activate(-3.0, a), 0.0);
  EXPECT_EQ(activate(3.0, a), 1.0);
  EXPECT_EQ(activate(-3.5, a), 0.0);
  EXPECT_EQ(activate(4.0, a), 1.0);
  EXPECT_DOUBLE_EQ(activate(2.9, a), 2.9 / 6 + 0.5);
  EXPECT_FLOAT_EQ(activate(2.5f, a), 2.5f / 6 + 0.5f);
  // Inside 1/6; outside (y = 0 or 1) 0.
  EXPECT_DOUBLE_EQ(activation_grad_from_output(0.75, a), 1.0 / 6);
  EXPECT_EQ(activation_grad_from_output(0.0, a), 0.0);
  EXPECT_EQ(activation_grad_from_output(1.0, a), 0.0);
}

TEST(ActivationsValues, LegacyHardSigmoidIsKeras2sPointTwoXPlusHalf) {
  const Activation a = Activation::kLegacyHardSigmoid;
  EXPECT_EQ(activate(0.0, a), 0.5);
  EXPECT_DOUBLE_EQ(activate(1.0, a), 0.7);
  EXPECT_DOUBLE_EQ(activate(-1.0, a), 0.3);
  // The clip boundaries are x = -2.5 and x = 2.5.
  EXPECT_EQ(activate(-2.5, a), 0.0);
  EXPECT_EQ(activate(2.5, a), 1.0);
  EXPECT_EQ(activate(-2.6, a), 0.0);
  EXPECT_EQ(activate(3.0, a), 1.0);
  EXPECT_DOUBLE_EQ(activate(2.4, a), 0.98);
  EXPECT_NE(activate(2.0, a), activate(2.0, Activation::kHardSigmoid));  // 0.9 vs 0.8333
  EXPECT_DOUBLE_EQ(activation_grad_from_output(0.7, a), 0.2);
  EXPECT_EQ(activation_grad_from_output(0.0, a), 0.0);
  EXPECT_EQ(activation_grad_from_output(1.0, a), 0.0);
}

TEST(ActivationsValues, EluSeluSoftplusSoftsignExponentialMatchTheirClosedForms) {
  EXPECT_EQ(activate(2.0, Activation::kElu), 2.0);
  EXPECT_EQ(activate(0.0, Activation::kElu), 0.0);
  EXPECT_DOUBLE_EQ(activate(-1.0, Activation::kElu), std::exp(-1.0) - 1.0);
  EXPECT_DOUBLE_EQ(activate(-30.0, Activation::kElu), std::exp(-30.0) - 1.0);

  EXPECT_DOUBLE_EQ(kSeluAlpha, 1.6732632423543772);
  EXPECT_DOUBLE_EQ(kSeluScale, 1.0507009873554805);
  EXPECT_DOUBLE_EQ(activate(2.0, Activation::kSelu), kSeluScale * 2.0);
  EXPECT_DOUBLE_EQ(activate(-1.0, Activation::kSelu),
                   kSeluScale * kSeluAlpha * (std::exp(-1.0) - 1));
  EXPECT_EQ(activate(0.0, Activation::kSelu), 0.0);

  EXPECT_DOUBLE_EQ(activate(0.0, Activation::kSoftplus), std::log(2.0));
  EXPECT_DOUBLE_EQ(activate(1.3, Activation::kSoftplus), std::log1p(std::exp(1.3)));
  EXPECT_DOUBLE_EQ(activate(-2.1, Activation::kSoftplus), std::log1p(std::exp(-2.1)));
  // Stable for large |x|: no overflow to inf, no underflow of the tiny value to 0.
  EXPECT_EQ(activate(100.0f, Activation::kSoftplus), 100.0f);
  EXPECT_EQ(activate(1000.0, Activation::kSoftplus), 1000.0);
  EXPECT_TRUE(std::isfinite(activate(200.0f, Activation::kSoftplus)));
  EXPECT_NEAR(activate(-100.0, Activation::kSoftplus) / std::exp(-100.0), 1.0, 1e-12);
  EXPECT_GT(activate(-80.0f, Activation::kSoftplus), 0.0f);
  EXPECT_NEAR(activation_grad_from_output(activate(-80.0, Activation::kSoftplus),
                                          Activation::kSoftplus) / std::exp(-80.0), 1.0, 1e-12);

  EXPECT_DOUBLE_EQ(activate(3.0, Activation::kSoftsign), 0.75);
  EXPECT_DOUBLE_EQ(activate(-1.0, Activation::kSoftsign), -0.5);
  EXPECT_EQ(activate(0.0, Activation::kSoftsign), 0.0);

  EXPECT_DOUBLE_EQ(activate(1.0, Activation::kExponential), std::exp(1.0));
  EXPECT_DOUBLE_EQ(activate(-2.0, Activation::kExponential), std::exp(-2.0));
}

TEST(ActivationsValues, ForwardAndBackwardArraysApplyTheScalarForms) {
  const std::vector<double> x = {-4.0, -1.0, 0.2, 2.0, 3.5, -0.3};
  for (Activation a : kElementWise) {
    SCOPED_TRACE(recur::ops::activation_name(a));
    std::vector<double> y(x.size()), dx(x.size());
    const std::vector<double> dy = {1.0, -2.0, 0.5, 3.0, -1.0, 0.25};
    recur::ops::activation_forward<double>(y.data(), x.data(), 2, 3, a);
    recur::ops::activation_backward<double>(dx.data(), dy.data(), y.data(), 2, 3, a);
    for (std::size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(y[i], activate(x[i], a));
      EXPECT_EQ(dx[i], dy[i] * activation_grad_from_output(y[i], a));
    }
  }
}

// f'(x) from y = f(x) against (f(x + e) - f(x - e)) / 2e, at points away from the kinks
// (0 for relu and selu, +-3 and +-2.5 for the hard sigmoids), inside and outside the clips.
TEST(ActivationsDerivative, FromOutputMatchesCentralDifferences) {
  const std::vector<double> points = {-4.3, -2.7, -1.3, -0.45, -0.01, 0.02, 0.35, 1.1,
                                      2.2,  2.8,  3.6,  5.0};
  const double e = 1e-6;
  for (Activation a : kElementWise) {
    SCOPED_TRACE(recur::ops::activation_name(a));
    for (double x : points) {
      const double analytic = activation_grad_from_output(activate(x, a), a);
      const double numeric = (activate(x + e, a) - activate(x - e, a)) / (2 * e);
      EXPECT_NEAR(analytic, numeric, 1e-7 * std::max(1.0, std::fabs(numeric))) << "x = " << x;
    }
  }
}

// The LSTM, GRU (both reset_after forms) and SimpleRNN kernels with the new activations, checked
// in double against central differences (the loss is sum(y * gy) + sum(h_T * gh)).
struct CellCase {
  const char* name;
  recur::ops::CellKind kind;
  Activation activation, recurrent_activation;
  bool reset_after = true;
  double weight_scale = 1.0;  // smaller for exponential gates (> 1), which otherwise explode
};

void PrintTo(const CellCase& c, std::ostream* os) { *os << c.name; }

class ActivationsRecurrentGradcheck : public ::testing::TestWithParam<CellCase> {};

TEST_P(ActivationsRecurrentGradcheck, MatchesCentralDifferences) {
  using recur::test::expect_gradient;
  using recur::test::random_values;
  const CellCase& c = GetParam();
  const recur::ops::RecurrentDims d{3, 5, 2, 4};
  const std::size_t B = d.batch, T = d.timesteps, F = d.features, U = d.units;
  recur::ops::RecurrentConfig cfg;
  cfg.kind = c.kind;
  cfg.activation = c.activation;
  cfg.recurrent_activation = c.recurrent_activation;
  cfg.reset_after = c.reset_after;
  cfg.return_sequences = true;
  const std::size_t G = recur::ops::gate_count(c.kind) * U;
  // Weights large enough that some gates saturate the hard sigmoids (their flat part).
  std::vector<double> x = random_values(B * T * F, 11, 1.0);
  std::vector<double> kernel = random_values(F * G, 12, 1.5 * c.weight_scale);
  std::vector<double> rkernel = random_values(U * G, 13, c.weight_scale);
  std::vector<double> bias = random_values(recur::ops::bias_size(cfg, U), 14, 0.5);
  std::vector<double> h0 = random_values(B * U, 15, 0.5);
  const std::vector<double> gy = random_values(B * T * U, 16);
  const std::vector<double> gh = random_values(B * U, 17);
  recur::ops::RecurrentCache<double> cache;
  std::vector<double> y(B * T * U), h(B * U), cs(B * U);
  auto loss = [&] {
    recur::ops::RecurrentExtras<double> extras;
    extras.h0 = h0.data();
    recur::ops::recurrent_forward<double>(y.data(), h.data(), cs.data(), cache, x.data(),
                                          kernel.data(), rkernel.data(), bias.data(), d, cfg,
                                          extras);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += y[i] * gy[i];
    for (std::size_t i = 0; i < h.size(); ++i) l += h[i] * gh[i];
    return l;
  };
  loss();
  std::vector<double> dx(x.size()), dk(kernel.size(), 0.0), drk(rkernel.size(), 0.0),
      db(bias.size(), 0.0), dh0(B * U), dc0(B * U);
  recur::ops::recurrent_backward<double>(dx.data(), dh0.data(), dc0.data(), dk.data(), drk.data(),
                                         db.data(), cache, gy.data(), gh.data(), nullptr,
                                         kernel.data(), rkernel.data());
  const std::string n = c.name;
  expect_gradient(n + " dx", dx, loss, x);
  expect_gradient(n + " dkernel", dk, loss, kernel);
  expect_gradient(n + " drecurrent_kernel", drk, loss, rkernel);
  expect_gradient(n + " dbias", db, loss, bias);
  expect_gradient(n + " dh0", dh0, loss, h0);
}

constexpr auto kLstm = recur::ops::CellKind::kLstm, kGru = recur::ops::CellKind::kGru,
               kRnn = recur::ops::CellKind::kSimpleRnn;

INSTANTIATE_TEST_SUITE_P(
    NewActivations, ActivationsRecurrentGradcheck,
    ::testing::Values(
        CellCase{"lstm_elu_hard_sigmoid", kLstm, Activation::kElu, Activation::kHardSigmoid},
        CellCase{"lstm_softsign_legacy_hard_sigmoid", kLstm, Activation::kSoftsign,
                 Activation::kLegacyHardSigmoid},
        CellCase{"lstm_selu_softplus", kLstm, Activation::kSelu, Activation::kSoftplus},
        CellCase{"gru_elu_hard_sigmoid", kGru, Activation::kElu, Activation::kHardSigmoid},
        CellCase{"gru_softsign_legacy_hard_sigmoid_reset_before", kGru, Activation::kSoftsign,
                 Activation::kLegacyHardSigmoid, false},
        CellCase{"gru_softsign_exponential", kGru, Activation::kSoftsign,
                 Activation::kExponential, true, 0.3},
        CellCase{"simple_rnn_exponential", kRnn, Activation::kExponential, Activation::kSigmoid,
                 true, 0.3},
        CellCase{"simple_rnn_elu", kRnn, Activation::kElu, Activation::kSigmoid},
        CellCase{"simple_rnn_softsign", kRnn, Activation::kSoftsign, Activation::kSigmoid},
        CellCase{"simple_rnn_selu", kRnn, Activation::kSelu, Activation::kSigmoid},
        CellCase{"simple_rnn_softplus", kRnn, Activation::kSoftplus, Activation::kSigmoid},
        CellCase{"simple_rnn_hard_sigmoid", kRnn, Activation::kHardSigmoid, Activation::kSigmoid}),
    [](const auto& info) { return std::string(info.param.name); });

// The float layers with the new names wired through options: a whole-layer check (wiring, not
// rounding). Inputs and weights are small, so no pre-activation comes within the +-0.01 probe of
// a hard sigmoid's clip points.
TEST(ActivationsLayerGradcheck, LstmGruSimpleRnnLayersWithNewActivations) {
  using recur::Tensor;
  const Tensor x({2, 4, 3}, recur::test::to_float(recur::test::random_values(24, 21, 0.8)));
  recur::Rng rng(3);
  recur::LSTM lstm(recur::LstmOptions(3).activation("elu").recurrent_activation("hard_sigmoid")
                       .return_sequences(true));
  lstm.build({4, 3}, rng);
  recur::test::expect_layer_gradient(lstm, x);
  recur::GRU gru(recur::GruOptions(3).activation("softsign")
                     .recurrent_activation("legacy_hard_sigmoid"));
  gru.build({4, 3}, rng);
  recur::test::expect_layer_gradient(gru, x);
  recur::SimpleRNN rnn(recur::SimpleRnnOptions(3).activation("elu").return_sequences(true));
  rnn.build({4, 3}, rng);
  recur::test::expect_layer_gradient(rnn, x);
  recur::SimpleRNN soft(recur::SimpleRnnOptions(3).activation("softsign"));
  soft.build({4, 3}, rng);
  recur::test::expect_layer_gradient(soft, x);
}

// The fused LSTM kernels have tanh and sigmoid built in: any other activation must take the
// portable kernel, on every instruction set.
TEST(ActivationsDispatch, OnlyTanhSigmoidLstmsTakeTheFusedKernel) {
  using recur::ops::Isa;
  using recur::ops::RecurrentKernel;
  recur::ops::RecurrentConfig cfg;
  for (Isa isa : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512})
    for (Activation a : kElementWise)
      for (bool gate : {false, true}) {
        cfg.activation = gate ? Activation::kTanh : a;
        cfg.recurrent_activation = gate ? a : Activation::kSigmoid;
        const bool defaults = cfg.activation == Activation::kTanh &&
                              cfg.recurrent_activation == Activation::kSigmoid;
        if (!defaults || isa == Isa::kPortable)
          EXPECT_EQ(recur::ops::select_kernel<float>(cfg, isa), RecurrentKernel::kPortable)
              << recur::ops::activation_name(a) << (gate ? " as recurrent_activation" : "");
      }
}

TEST(ActivationsNames, EveryNameRoundTripsAndTheListIsComplete) {
  const std::string names = recur::ops::activation_names();
  EXPECT_EQ(names,
            "linear, relu, tanh, sigmoid, softmax, hard_sigmoid, legacy_hard_sigmoid, elu, selu, "
            "softplus, softsign, exponential");
  std::stringstream ss(names);
  std::string name;
  std::size_t count = 0;
  while (std::getline(ss, name, ',')) {
    if (name.front() == ' ') name.erase(0, 1);
    EXPECT_EQ(recur::ops::activation_name(recur::ops::parse_activation(name, "test")), name);
    ++count;
  }
  EXPECT_EQ(count, kElementWise.size() + 1);  // and softmax
  EXPECT_EQ(recur::ops::parse_activation("none", "test"), Activation::kLinear);
}

TEST(ActivationsNames, UnknownNameListsEveryAcceptedName) {
  const std::string m = message_of("hard_sigmod");
  EXPECT_NE(m.find("Dense 'head' activation: unknown activation \"hard_sigmod\"; expected one of "
                   "linear, relu, tanh, sigmoid, softmax, hard_sigmoid, legacy_hard_sigmoid, elu, "
                   "selu, softplus, softsign, exponential."),
            std::string::npos)
      << m;
}

TEST(ActivationsNames, SwishSiluGeluAreRefusedWithTheReason) {
  for (const char* name : {"swish", "silu", "gelu"}) {
    SCOPED_TRACE(name);
    const std::string m = message_of(name);
    EXPECT_NE(m.find("activation \"" + std::string(name) + "\" is not supported"),
              std::string::npos) << m;
    EXPECT_NE(m.find("cannot be written from its output alone"), std::string::npos) << m;
    EXPECT_NE(m.find("Use one of linear, relu, tanh, sigmoid, softmax, hard_sigmoid"),
              std::string::npos) << m;
    EXPECT_EQ(m.find("unknown activation"), std::string::npos) << m;
  }
  // Through the layers too, naming the layer.
  try {
    recur::LSTM lstm(recur::LstmOptions(2).activation("gelu").name("enc"));
    ADD_FAILURE() << "gelu was accepted";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("LSTM 'enc' activation: activation \"gelu\""),
              std::string::npos) << e.what();
  }
  EXPECT_THROW(recur::Dense(recur::DenseOptions(2).activation("swish")), recur::ValueError);
}

}  // namespace
