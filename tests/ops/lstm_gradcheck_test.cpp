// Gradient checks of the LSTM kernels in double precision for every mode: return_sequences on
// and off, final-state gradients (return_state), go_backwards, an initial state, and non-default
// activations. The loss is L = sum(y * gy) + sum(h_T * gh) + sum(c_T * gc) with fixed random
// upstream gradients, so backward receives (gy, gh, gc).
#include <gtest/gtest.h>

#include <tuple>

#include "recur/ops/lstm_kernels.hpp"
#include "support/gradcheck.hpp"

namespace {

using recur::ops::Activation;
using recur::ops::LstmCache;
using recur::ops::LstmConfig;
using recur::ops::LstmDims;
using recur::test::expect_gradient;
using recur::test::random_values;

struct Case {
  const char* name;
  LstmDims dims;
  bool return_sequences, go_backwards, initial_state, state_grads, use_bias;
  Activation activation, recurrent_activation;
};

class LstmGradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(LstmGradcheck, MatchesCentralDifferences) {
  const Case& c = GetParam();
  const LstmDims d = c.dims;
  const std::size_t B = d.batch, T = d.timesteps, F = d.features, U = d.units, G = 4 * U;
  LstmConfig cfg;
  cfg.return_sequences = c.return_sequences;
  cfg.go_backwards = c.go_backwards;
  cfg.activation = c.activation;
  cfg.recurrent_activation = c.recurrent_activation;

  std::vector<double> x = random_values(B * T * F, 1, 1.0);
  std::vector<double> kernel = random_values(F * G, 2, 0.6);
  std::vector<double> rkernel = random_values(U * G, 3, 0.6);
  std::vector<double> bias = random_values(G, 4, 0.3);
  std::vector<double> h0 = random_values(B * U, 5, 0.5);
  std::vector<double> c0 = random_values(B * U, 6, 0.5);
  const std::size_t ysize = c.return_sequences ? B * T * U : B * U;
  const std::vector<double> gy = random_values(ysize, 7);
  const std::vector<double> gh = c.state_grads ? random_values(B * U, 8) : std::vector<double>(B * U, 0.0);
  const std::vector<double> gc = c.state_grads ? random_values(B * U, 9) : std::vector<double>(B * U, 0.0);

  LstmCache<double> cache;
  std::vector<double> y(ysize), h(B * U), cs(B * U);
  auto loss = [&] {
    recur::ops::lstm_forward<double>(y.data(), h.data(), cs.data(), cache, x.data(),
                                     c.initial_state ? h0.data() : nullptr,
                                     c.initial_state ? c0.data() : nullptr, kernel.data(),
                                     rkernel.data(), c.use_bias ? bias.data() : nullptr, d, cfg);
    double l = 0;
    for (std::size_t i = 0; i < ysize; ++i) l += y[i] * gy[i];
    for (std::size_t i = 0; i < B * U; ++i) l += h[i] * gh[i] + cs[i] * gc[i];
    return l;
  };
  loss();
  std::vector<double> dx(x.size()), dk(kernel.size(), 0.0), drk(rkernel.size(), 0.0),
      db(bias.size(), 0.0), dh0(B * U), dc0(B * U);
  recur::ops::lstm_backward<double>(dx.data(), dh0.data(), dc0.data(), dk.data(), drk.data(),
                                    c.use_bias ? db.data() : nullptr, cache, gy.data(),
                                    gh.data(), gc.data(), kernel.data(), rkernel.data(), cfg);
  expect_gradient(std::string(c.name) + " dx", dx, loss, x);
  expect_gradient(std::string(c.name) + " dkernel", dk, loss, kernel);
  expect_gradient(std::string(c.name) + " drecurrent_kernel", drk, loss, rkernel);
  if (c.use_bias) expect_gradient(std::string(c.name) + " dbias", db, loss, bias);
  if (c.initial_state) {
    expect_gradient(std::string(c.name) + " dh0", dh0, loss, h0);
    expect_gradient(std::string(c.name) + " dc0", dc0, loss, c0);
  }
}

constexpr Activation kTanh = Activation::kTanh, kSig = Activation::kSigmoid,
                     kRelu = Activation::kRelu, kLin = Activation::kLinear;

INSTANTIATE_TEST_SUITE_P(
    AllModes, LstmGradcheck,
    ::testing::Values(
        Case{"last_output", {3, 4, 5, 3}, false, false, false, false, true, kTanh, kSig},
        Case{"return_sequences", {2, 5, 3, 4}, true, false, false, false, true, kTanh, kSig},
        Case{"return_state", {2, 3, 2, 5}, false, false, false, true, true, kTanh, kSig},
        Case{"go_backwards", {2, 6, 3, 2}, false, true, false, false, true, kTanh, kSig},
        Case{"go_backwards_sequences", {3, 4, 2, 3}, true, true, false, true, true, kTanh, kSig},
        Case{"initial_state", {2, 4, 3, 3}, false, false, true, true, true, kTanh, kSig},
        Case{"initial_state_sequences", {1, 7, 1, 5}, true, false, true, false, true, kTanh, kSig},
        Case{"no_bias", {2, 3, 4, 2}, true, false, false, true, false, kTanh, kSig},
        Case{"relu_activation", {2, 3, 3, 3}, true, false, true, true, true, kRelu, kSig},
        Case{"linear_tanh", {2, 3, 2, 3}, false, false, true, true, true, kLin, kTanh},
        Case{"single_step", {4, 1, 3, 2}, false, false, true, true, true, kTanh, kSig}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
