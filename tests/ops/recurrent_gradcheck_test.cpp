// Gradient checks of the recurrent kernels (LSTM, GRU in both reset_after forms, SimpleRNN) in
// double precision, for every mode: return_sequences on and off, final-state gradients
// (return_state), go_backwards, an initial state, no bias, other activations, masks (padding
// before, after and inside the sequence) and recurrent dropout. The loss is
// L = sum(y * gy) + sum(h_T * gh) + sum(c_T * gc) with fixed random upstream gradients, so
// backward receives (gy, gh, gc).
#include <gtest/gtest.h>

#include "recur/ops/recurrent_kernels.hpp"
#include "support/gradcheck.hpp"

namespace {

using recur::ops::Activation;
using recur::ops::CellKind;
using recur::ops::RecurrentCache;
using recur::ops::RecurrentConfig;
using recur::ops::RecurrentDims;
using recur::ops::RecurrentExtras;
using recur::test::expect_gradient;
using recur::test::random_values;

enum class Mask { kNone, kPost, kPre, kHoles };

struct Case {
  const char* name;
  CellKind kind;
  RecurrentDims dims;
  bool return_sequences, go_backwards, initial_state, state_grads, use_bias;
  Activation activation = Activation::kTanh, recurrent_activation = Activation::kSigmoid;
  bool reset_after = true;
  Mask mask = Mask::kNone;
  bool recurrent_dropout = false;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// (B, T) mask: sample b keeps a different number of steps.
std::vector<double> make_mask(Mask m, std::size_t B, std::size_t T) {
  std::vector<double> mask(B * T, 1.0);
  if (m == Mask::kNone) return {};
  for (std::size_t b = 0; b < B; ++b) {
    const std::size_t pad = (b + 1) % T;  // 1, 2, ... padded steps
    for (std::size_t t = 0; t < T; ++t) {
      if (m == Mask::kPost && t >= T - pad) mask[b * T + t] = 0;
      if (m == Mask::kPre && t < pad) mask[b * T + t] = 0;
      if (m == Mask::kHoles && (t + b) % 3 == 1) mask[b * T + t] = 0;
    }
  }
  return mask;
}

class RecurrentGradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(RecurrentGradcheck, MatchesCentralDifferences) {
  const Case& c = GetParam();
  const RecurrentDims d = c.dims;
  const std::size_t B = d.batch, T = d.timesteps, F = d.features, U = d.units;
  RecurrentConfig cfg;
  cfg.kind = c.kind;
  cfg.return_sequences = c.return_sequences;
  cfg.go_backwards = c.go_backwards;
  cfg.activation = c.activation;
  cfg.recurrent_activation = c.recurrent_activation;
  cfg.reset_after = c.reset_after;
  const std::size_t G = recur::ops::gate_count(c.kind) * U;
  const bool lstm = c.kind == CellKind::kLstm;

  std::vector<double> x = random_values(B * T * F, 1, 1.0);
  std::vector<double> kernel = random_values(F * G, 2, 0.6);
  std::vector<double> rkernel = random_values(U * G, 3, 0.6);
  std::vector<double> bias = random_values(recur::ops::bias_size(cfg, U), 4, 0.3);
  std::vector<double> h0 = random_values(B * U, 5, 0.5);
  std::vector<double> c0 = random_values(B * U, 6, 0.5);
  const std::vector<double> mask = make_mask(c.mask, B, T);
  std::vector<double> rmask = random_values(B * U, 10, 1.0);
  for (double& v : rmask) v = v > -0.3 ? 1.0 / 0.65 : 0.0;  // about 35% dropped, scaled
  const std::size_t ysize = c.return_sequences ? B * T * U : B * U;
  const std::vector<double> gy = random_values(ysize, 7);
  const std::vector<double> gh = c.state_grads ? random_values(B * U, 8) : std::vector<double>(B * U, 0.0);
  const std::vector<double> gc =
      c.state_grads && lstm ? random_values(B * U, 9) : std::vector<double>(B * U, 0.0);

  RecurrentCache<double> cache;
  std::vector<double> y(ysize), h(B * U), cs(B * U);
  auto loss = [&] {
    RecurrentExtras<double> extras;
    if (c.initial_state) {
      extras.h0 = h0.data();
      extras.c0 = c0.data();
    }
    if (!mask.empty()) extras.mask = mask.data();
    if (c.recurrent_dropout) extras.recurrent_dropout = rmask.data();
    recur::ops::recurrent_forward<double>(y.data(), h.data(), cs.data(), cache, x.data(),
                                          kernel.data(), rkernel.data(),
                                          c.use_bias ? bias.data() : nullptr, d, cfg, extras);
    double l = 0;
    for (std::size_t i = 0; i < ysize; ++i) l += y[i] * gy[i];
    for (std::size_t i = 0; i < B * U; ++i) l += h[i] * gh[i] + (lstm ? cs[i] * gc[i] : 0.0);
    return l;
  };
  loss();
  std::vector<double> dx(x.size()), dk(kernel.size(), 0.0), drk(rkernel.size(), 0.0),
      db(bias.size(), 0.0), dh0(B * U), dc0(B * U);
  recur::ops::recurrent_backward<double>(dx.data(), dh0.data(), dc0.data(), dk.data(), drk.data(),
                                         c.use_bias ? db.data() : nullptr, cache, gy.data(),
                                         gh.data(), gc.data(), kernel.data(), rkernel.data());
  const std::string n = c.name;
  expect_gradient(n + " dx", dx, loss, x);
  expect_gradient(n + " dkernel", dk, loss, kernel);
  expect_gradient(n + " drecurrent_kernel", drk, loss, rkernel);
  if (c.use_bias) expect_gradient(n + " dbias", db, loss, bias);
  if (c.initial_state) {
    expect_gradient(n + " dh0", dh0, loss, h0);
    if (lstm) expect_gradient(n + " dc0", dc0, loss, c0);
  }
}

constexpr Activation kTanh = Activation::kTanh, kSig = Activation::kSigmoid,
                     kRelu = Activation::kRelu, kLin = Activation::kLinear;
constexpr CellKind kLstm = CellKind::kLstm, kGru = CellKind::kGru, kRnn = CellKind::kSimpleRnn;

Case with(Case c, Mask mask, bool rdrop = false) {
  c.mask = mask;
  c.recurrent_dropout = rdrop;
  return c;
}
Case gru_before(Case c) {
  c.reset_after = false;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, RecurrentGradcheck,
    ::testing::Values(
        // LSTM
        Case{"lstm_last_output", kLstm, {3, 4, 5, 3}, false, false, false, false, true},
        Case{"lstm_return_sequences", kLstm, {2, 5, 3, 4}, true, false, false, false, true},
        Case{"lstm_return_state", kLstm, {2, 3, 2, 5}, false, false, false, true, true},
        Case{"lstm_go_backwards", kLstm, {2, 6, 3, 2}, false, true, false, false, true},
        Case{"lstm_go_backwards_sequences", kLstm, {3, 4, 2, 3}, true, true, false, true, true},
        Case{"lstm_initial_state", kLstm, {2, 4, 3, 3}, false, false, true, true, true},
        Case{"lstm_initial_state_sequences", kLstm, {1, 7, 1, 5}, true, false, true, false, true},
        Case{"lstm_no_bias", kLstm, {2, 3, 4, 2}, true, false, false, true, false},
        Case{"lstm_relu_activation", kLstm, {2, 3, 3, 3}, true, false, true, true, true, kRelu, kSig},
        Case{"lstm_linear_tanh", kLstm, {2, 3, 2, 3}, false, false, true, true, true, kLin, kTanh},
        Case{"lstm_single_step", kLstm, {4, 1, 3, 2}, false, false, true, true, true},
        with(Case{"lstm_mask_post", kLstm, {3, 5, 2, 3}, true, false, true, true, true}, Mask::kPost),
        with(Case{"lstm_mask_pre_backwards", kLstm, {3, 5, 2, 3}, false, true, false, true, true}, Mask::kPre),
        with(Case{"lstm_mask_holes_rdrop", kLstm, {3, 6, 2, 3}, true, false, true, true, true}, Mask::kHoles, true),
        with(Case{"lstm_recurrent_dropout", kLstm, {2, 4, 3, 4}, false, false, true, true, true}, Mask::kNone, true),
        // GRU, reset_after = true (Keras default)
        Case{"gru_last_output", kGru, {3, 4, 5, 3}, false, false, false, false, true},
        Case{"gru_return_sequences_state", kGru, {2, 5, 3, 4}, true, false, true, true, true},
        Case{"gru_go_backwards", kGru, {2, 6, 3, 2}, true, true, false, true, true},
        Case{"gru_no_bias", kGru, {2, 3, 4, 2}, true, false, true, false, false},
        Case{"gru_relu_tanh", kGru, {2, 3, 3, 3}, true, false, true, true, true, kRelu, kTanh},
        with(Case{"gru_mask_post", kGru, {3, 5, 2, 3}, true, false, true, true, true}, Mask::kPost),
        with(Case{"gru_mask_holes_rdrop", kGru, {3, 6, 2, 3}, true, true, true, true, true}, Mask::kHoles, true),
        // GRU, reset_after = false
        gru_before(Case{"gru_v1_last_output", kGru, {3, 4, 5, 3}, false, false, true, true, true}),
        gru_before(Case{"gru_v1_sequences_backwards", kGru, {2, 5, 3, 4}, true, true, false, true, true}),
        gru_before(Case{"gru_v1_no_bias", kGru, {2, 3, 2, 2}, true, false, true, true, false}),
        gru_before(with(Case{"gru_v1_mask_rdrop", kGru, {3, 5, 2, 3}, true, false, true, true, true}, Mask::kPre, true)),
        // SimpleRNN
        Case{"rnn_last_output", kRnn, {3, 4, 5, 3}, false, false, false, false, true},
        Case{"rnn_sequences_state", kRnn, {2, 5, 3, 4}, true, false, true, true, true},
        Case{"rnn_go_backwards_no_bias", kRnn, {2, 6, 3, 2}, true, true, false, true, false},
        Case{"rnn_relu", kRnn, {2, 3, 3, 3}, true, false, true, true, true, kRelu},
        with(Case{"rnn_mask_holes_rdrop", kRnn, {3, 6, 2, 3}, true, false, true, true, true}, Mask::kHoles, true)),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
