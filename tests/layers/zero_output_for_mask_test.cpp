// zero_output_for_mask (Keras's RNN argument): at a masked step a recurrent layer with
// return_sequences outputs the previous step's output (false, the default; zeros before the
// sample's first kept step, even with an initial state) or zeros (true); the state is carried
// through either way. Without return_sequences the output is the last kept step's h, zeros for a
// sample with no kept step.
//
// Checked here: the layers (LSTM on the portable and the fused kernels, GRU in both reset_after
// forms, SimpleRNN) against a double-precision reference written as Keras's unrolled loop
// (keras/src/backend/tensorflow/rnn.py: output = where(mask_t, output, prev_output)); gradients
// by central differences, in double on the kernels (with initial states) and in float on whole
// layers; the fused LSTM's gradients against the portable kernel in double; Bidirectional
// forcing the setting; and the config keys (an absent key reads as true: recur's files from
// before the key always zeroed masked outputs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recur/layers/core.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/model/sequential.hpp"
#include "recur/ops/cpu.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "support/gradcheck.hpp"
#include "support/layer_gradcheck.hpp"

namespace {

using recur::Tensor;
using recur::ops::CellKind;
using recur::ops::Isa;
using recur::ops::RecurrentCache;
using recur::ops::RecurrentConfig;
using recur::ops::RecurrentDims;
using recur::ops::RecurrentExtras;
using recur::test::random_values;
using recur::test::to_float;

constexpr std::size_t kB = 4, kT = 7;

// (B, T): sample 0 has holes in the middle, sample 1 leading masked steps, sample 2 every step
// masked, sample 3 trailing masked steps (with go_backwards leading and trailing swap roles).
const std::vector<double> kMask = {1, 1, 0, 0, 1, 0, 1,  //
                                   0, 0, 1, 1, 0, 1, 1,  //
                                   0, 0, 0, 0, 0, 0, 0,  //
                                   1, 1, 1, 0, 1, 0, 0};

// Restores the instruction set a test changed.
struct IsaGuard {
  Isa isa = recur::ops::active_isa();
  ~IsaGuard() { recur::ops::set_isa(isa); }
};

// The portable path, then each fused one this CPU has.
std::vector<Isa> lstm_isas() {
  std::vector<Isa> out{Isa::kPortable};
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512})
    if (static_cast<int>(isa) <= static_cast<int>(recur::ops::detected_isa())) out.push_back(isa);
  return out;
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Keras's cell equations and its unrolled masked loop, in plain double loops.
struct Reference {
  CellKind kind;
  bool reset_after = true;
  std::size_t F = 0, U = 0;
  std::vector<double> kernel, recurrent_kernel, bias;  // Keras layouts (F, G), (U, G), bias

  // One step of sample state (h, c) with input x_t (F,).
  void step(std::vector<double>& h, std::vector<double>& c, const double* x_t) const {
    const std::size_t G = recur::ops::gate_count(kind) * U;
    std::vector<double> xw(G, 0.0), hr(G, 0.0);
    for (std::size_t j = 0; j < G; ++j) {
      for (std::size_t f = 0; f < F; ++f) xw[j] += x_t[f] * kernel[f * G + j];
      for (std::size_t k = 0; k < U; ++k) hr[j] += h[k] * recurrent_kernel[k * G + j];
    }
    std::vector<double> hn(U), cn(U);
    for (std::size_t u = 0; u < U; ++u) {
      if (kind == CellKind::kSimpleRnn) {
        hn[u] = std::tanh(xw[u] + hr[u] + bias[u]);
      } else if (kind == CellKind::kLstm) {
        auto z = [&](std::size_t g) { return xw[g * U + u] + hr[g * U + u] + bias[g * U + u]; };
        const double i = sigmoid(z(0)), f = sigmoid(z(1)), g = std::tanh(z(2)), o = sigmoid(z(3));
        cn[u] = f * c[u] + i * g;
        hn[u] = o * std::tanh(cn[u]);
      } else if (reset_after) {  // bias rows: input, recurrent
        auto in = [&](std::size_t g) { return xw[g * U + u] + bias[g * U + u]; };
        auto rec = [&](std::size_t g) { return hr[g * U + u] + bias[G + g * U + u]; };
        const double zg = sigmoid(in(0) + rec(0)), rg = sigmoid(in(1) + rec(1));
        const double hh = std::tanh(in(2) + rg * rec(2));
        hn[u] = zg * h[u] + (1 - zg) * hh;
      } else {  // reset_after=false: hh = tanh(x W_h + b_h + (r * h) R_h)
        const double zg = sigmoid(xw[u] + hr[u] + bias[u]);
        double rh = 0;
        for (std::size_t k = 0; k < U; ++k) {
          const double r_k = sigmoid(xw[U + k] + hr[U + k] + bias[U + k]);
          rh += r_k * h[k] * recurrent_kernel[k * G + 2 * U + u];
        }
        const double hh = std::tanh(xw[2 * U + u] + bias[2 * U + u] + rh);
        hn[u] = zg * h[u] + (1 - zg) * hh;
      }
    }
    h = hn;
    if (kind == CellKind::kLstm) c = cn;
  }

  // y: (B, T, U) with return_sequences else (B, U); h_last, c_last (B, U).
  void run(std::vector<double>& y, std::vector<double>& h_last, std::vector<double>& c_last,
           const std::vector<double>& x, const std::vector<double>& mask,
           const std::vector<double>* h0, const std::vector<double>* c0, bool go_backwards,
           bool return_sequences, bool zero_output_for_mask) const {
    y.assign(return_sequences ? kB * kT * U : kB * U, 0.0);
    h_last.assign(kB * U, 0.0);
    c_last.assign(kB * U, 0.0);
    for (std::size_t b = 0; b < kB; ++b) {
      std::vector<double> h(U, 0.0), c(U, 0.0), prev_output(U, 0.0), output(U);
      if (h0) std::copy_n(h0->data() + b * U, U, h.begin());
      if (c0) std::copy_n(c0->data() + b * U, U, c.begin());
      for (std::size_t s = 0; s < kT; ++s) {
        const std::size_t t = go_backwards ? kT - 1 - s : s;
        std::vector<double> hn = h, cn = c;
        step(hn, cn, x.data() + (b * kT + t) * F);
        const bool kept = mask[b * kT + t] != 0.0;
        if (kept) {
          h = hn;
          c = cn;
          output = h;
        } else {
          // Keras: zeros, or the previous output (zeros before any kept step).
          output = zero_output_for_mask && return_sequences ? std::vector<double>(U, 0.0)
                                                            : prev_output;
        }
        prev_output = output;
        if (return_sequences) std::copy(output.begin(), output.end(), y.begin() + (b * kT + s) * U);
      }
      if (!return_sequences) std::copy(prev_output.begin(), prev_output.end(), y.begin() + b * U);
      std::copy(h.begin(), h.end(), h_last.begin() + b * U);
      std::copy(c.begin(), c.end(), c_last.begin() + b * U);
    }
  }
};

// The kinds of layer checked, by name.
struct LayerCase {
  const char* name;
  CellKind kind;
  bool reset_after = true;
};
const LayerCase kLayerCases[] = {{"LSTM", CellKind::kLstm},
                                 {"GRU", CellKind::kGru, true},
                                 {"GRU reset_after=false", CellKind::kGru, false},
                                 {"SimpleRNN", CellKind::kSimpleRnn}};

std::unique_ptr<recur::RNN> make_layer(const LayerCase& c, std::size_t units, bool seq, bool back,
                                       bool zero) {
  if (c.kind == CellKind::kLstm)
    return std::make_unique<recur::LSTM>(recur::LstmOptions(units).return_sequences(seq)
                                             .go_backwards(back).zero_output_for_mask(zero));
  if (c.kind == CellKind::kGru)
    return std::make_unique<recur::GRU>(recur::GruOptions(units).reset_after(c.reset_after)
                                            .return_sequences(seq).go_backwards(back)
                                            .zero_output_for_mask(zero));
  return std::make_unique<recur::SimpleRNN>(recur::SimpleRnnOptions(units).return_sequences(seq)
                                                .go_backwards(back).zero_output_for_mask(zero));
}

std::vector<double> to_double(const Tensor& t) { return {t.values().begin(), t.values().end()}; }

void expect_near_all(const std::string& what, const Tensor& got, const std::vector<double>& want,
                     double tol) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * std::max(1.0, std::fabs(want[i])))
        << what << " [" << i << "]";
}

std::string label(const LayerCase& c, bool seq, bool back, bool zero, bool init) {
  return std::string(c.name) + (seq ? " sequences" : " last") + (back ? " go_backwards" : "") +
         " zero_output_for_mask=" + (zero ? "true" : "false") + (init ? " initial_state" : "");
}

TEST(ZeroOutputForMaskForward, LayersMatchKerasLoopForBothSettings) {
  IsaGuard guard;
  constexpr std::size_t F = 3, U = 5;
  const Tensor x({kB, kT, F}, to_float(random_values(kB * kT * F, 31)));
  const Tensor mask({kB, kT}, to_float(kMask));
  const std::vector<double> xd = to_double(x);
  const Tensor h0({kB, U}, to_float(random_values(kB * U, 32, 0.8)));
  const Tensor c0({kB, U}, to_float(random_values(kB * U, 33, 0.8)));
  const std::vector<double> h0d = to_double(h0), c0d = to_double(c0);
  for (const LayerCase& lc : kLayerCases) {
    const std::vector<Isa> isas =
        lc.kind == CellKind::kLstm ? lstm_isas() : std::vector<Isa>{recur::ops::active_isa()};
    for (Isa isa : isas) {
      recur::ops::set_isa(isa);
      for (bool seq : {true, false})
        for (bool back : {false, true})
          for (bool zero : {false, true})
            for (bool init : {false, true}) {
              const std::string what = label(lc, seq, back, zero, init) + " " +
                                       recur::ops::isa_name(isa);
              SCOPED_TRACE(what);
              auto layer = make_layer(lc, U, seq, back, zero);
              recur::Rng rng(9);
              layer->build({kT, F}, rng);
              Reference ref{lc.kind, lc.reset_after, F, U, {}, {}, {}};
              const std::vector<recur::Weight*> ws = layer->weights();
              ref.kernel = to_double(ws[0]->value);
              ref.recurrent_kernel = to_double(ws[1]->value);
              ref.bias = to_double(ws[2]->value);
              std::vector<Tensor> initial;
              if (init) {
                initial.push_back(h0);
                if (lc.kind == CellKind::kLstm) initial.push_back(c0);
              }
              const recur::RecurrentOutput out = layer->call(x, initial, mask);
              std::vector<double> y, h, c;
              ref.run(y, h, c, xd, kMask, init ? &h0d : nullptr,
                      init && lc.kind == CellKind::kLstm ? &c0d : nullptr, back, seq, zero);
              expect_near_all(what + " output", out.output, y, 1e-5);
              expect_near_all(what + " h", out.states[0], h, 1e-5);
              if (lc.kind == CellKind::kLstm) expect_near_all(what + " c", out.states[1], c, 1e-5);
            }
    }
  }
}

// The rule spelled out on one sample: holes repeat the last kept output, leading masked steps
// are zeros even with an initial state, and a fully masked sample outputs zeros throughout
// while its final state is the initial state.
TEST(ZeroOutputForMaskForward, MaskedStepsRepeatThePreviousOutputOrZeros) {
  constexpr std::size_t U = 3;
  const Tensor x({kB, kT, 2}, to_float(random_values(kB * kT * 2, 41)));
  const Tensor mask({kB, kT}, to_float(kMask));
  const Tensor h0({kB, U}, std::vector<float>(kB * U, 0.5f));
  for (bool zero : {false, true}) {
    recur::GRU gru(recur::GruOptions(U).return_sequences(true).zero_output_for_mask(zero));
    const Tensor y = gru.call(x, {h0}, mask).output;
    auto at = [&](std::size_t b, std::size_t t, std::size_t u) { return y[(b * kT + t) * U + u]; };
    for (std::size_t u = 0; u < U; ++u) {
      // Sample 0: steps 2 and 3 masked after step 1 kept.
      EXPECT_EQ(at(0, 2, u), zero ? 0.0f : at(0, 1, u));
      EXPECT_EQ(at(0, 3, u), zero ? 0.0f : at(0, 1, u));
      EXPECT_NE(at(0, 1, u), 0.0f);
      // Sample 1: leading masked steps output zeros, not h0.
      EXPECT_EQ(at(1, 0, u), 0.0f);
      EXPECT_EQ(at(1, 1, u), 0.0f);
      // Sample 2: every step masked.
      for (std::size_t t = 0; t < kT; ++t) EXPECT_EQ(at(2, t, u), 0.0f);
      // Sample 3: trailing masked steps.
      EXPECT_EQ(at(3, 6, u), zero ? 0.0f : at(3, 4, u));
    }
  }
}

// Kernel-level gradients in double (portable kernel) against central differences, with initial
// states (their gradient must not receive the gradient of leading zero outputs).
TEST(ZeroOutputForMaskGradcheck, KernelsInDoubleWithInitialStates) {
  using recur::test::expect_gradient;
  constexpr std::size_t F = 2, U = 3;
  const RecurrentDims d{kB, kT, F, U};
  for (const LayerCase& lc : kLayerCases)
    for (bool seq : {true, false})
      for (bool back : {false, true})
        for (bool zero : {false, true}) {
          const std::string what = label(lc, seq, back, zero, true);
          SCOPED_TRACE(what);
          RecurrentConfig cfg;
          cfg.kind = lc.kind;
          cfg.reset_after = lc.reset_after;
          cfg.return_sequences = seq;
          cfg.go_backwards = back;
          cfg.zero_output_for_mask = zero;
          const bool lstm = lc.kind == CellKind::kLstm;
          const std::size_t G = recur::ops::gate_count(lc.kind) * U;
          std::vector<double> x = random_values(kB * kT * F, 51);
          std::vector<double> kernel = random_values(F * G, 52, 0.7);
          std::vector<double> rkernel = random_values(U * G, 53, 0.7);
          std::vector<double> bias = random_values(recur::ops::bias_size(cfg, U), 54, 0.3);
          std::vector<double> h0 = random_values(kB * U, 55, 0.5);
          std::vector<double> c0 = random_values(kB * U, 56, 0.5);
          const std::size_t ysize = seq ? kB * kT * U : kB * U;
          const std::vector<double> gy = random_values(ysize, 57);
          const std::vector<double> gh = random_values(kB * U, 58);
          const std::vector<double> gc = random_values(kB * U, 59);
          RecurrentCache<double> cache;
          std::vector<double> y(ysize), h(kB * U), c(kB * U);
          auto loss = [&] {
            RecurrentExtras<double> ex;
            ex.h0 = h0.data();
            ex.c0 = lstm ? c0.data() : nullptr;
            ex.mask = kMask.data();
            recur::ops::recurrent_forward<double>(y.data(), h.data(), c.data(), cache, x.data(),
                                                  kernel.data(), rkernel.data(), bias.data(), d,
                                                  cfg, ex);
            double l = 0;
            for (std::size_t i = 0; i < ysize; ++i) l += y[i] * gy[i];
            for (std::size_t i = 0; i < kB * U; ++i) l += h[i] * gh[i] + (lstm ? c[i] * gc[i] : 0);
            return l;
          };
          loss();
          // The forward is Keras's loop (exactly, in double).
          Reference ref{lc.kind, lc.reset_after, F, U, kernel, rkernel, bias};
          std::vector<double> ry, rh, rc;
          ref.run(ry, rh, rc, x, kMask, &h0, lstm ? &c0 : nullptr, back, seq, zero);
          for (std::size_t i = 0; i < ysize; ++i) ASSERT_NEAR(y[i], ry[i], 1e-12) << i;
          std::vector<double> dx(x.size()), dk(kernel.size(), 0.0), drk(rkernel.size(), 0.0),
              db(bias.size(), 0.0), dh0(kB * U), dc0(kB * U);
          recur::ops::recurrent_backward<double>(dx.data(), dh0.data(), dc0.data(), dk.data(),
                                                 drk.data(), db.data(), cache, gy.data(),
                                                 gh.data(), lstm ? gc.data() : nullptr,
                                                 kernel.data(), rkernel.data());
          expect_gradient(what + " dx", dx, loss, x);
          expect_gradient(what + " dkernel", dk, loss, kernel);
          expect_gradient(what + " drecurrent_kernel", drk, loss, rkernel);
          expect_gradient(what + " dbias", db, loss, bias);
          expect_gradient(what + " dh0", dh0, loss, h0);
          if (lstm) expect_gradient(what + " dc0", dc0, loss, c0);
        }
}

// The fused LSTM kernels (float) against the portable kernel in double (checked above), forward
// and backward, for both settings; units 19 leaves padding lanes in the vectors.
TEST(ZeroOutputForMaskGradcheck, FusedLstmMatchesPortableInDouble) {
  const std::vector<Isa> isas = lstm_isas();
  if (isas.size() == 1) GTEST_SKIP() << "this CPU has no AVX2+FMA: only the portable path exists";
  IsaGuard guard;
  constexpr std::size_t F = 4, U = 19, G = 4 * U;
  const RecurrentDims d{kB, kT, F, U};
  const std::vector<double> x = random_values(kB * kT * F, 61), w = random_values(F * G, 62, 0.3),
                            r = random_values(U * G, 63, 0.3), bias = random_values(G, 64, 0.3),
                            h0 = random_values(kB * U, 65, 0.5),
                            c0 = random_values(kB * U, 66, 0.5), gh = random_values(kB * U, 68),
                            gc = random_values(kB * U, 69);
  // Everything one forward + backward produces, for T = float or double.
  auto run = [&](auto zero_value, bool seq, bool back, bool zero) {
    using T = decltype(zero_value);
    auto cast = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
    const auto xt = cast(x), wt = cast(w), rt = cast(r), bt = cast(bias), h0t = cast(h0),
               c0t = cast(c0), mt = cast(kMask), ght = cast(gh), gct = cast(gc);
    const std::size_t ysize = seq ? kB * kT * U : kB * U;
    const auto gy = cast(random_values(ysize, 67));
    RecurrentConfig cfg;
    cfg.return_sequences = seq;
    cfg.go_backwards = back;
    cfg.zero_output_for_mask = zero;
    RecurrentExtras<T> ex;
    ex.h0 = h0t.data();
    ex.c0 = c0t.data();
    ex.mask = mt.data();
    std::vector<std::vector<T>> out = {std::vector<T>(ysize), std::vector<T>(kB * U),
                                       std::vector<T>(kB * U), std::vector<T>(x.size()),
                                       std::vector<T>(kB * U), std::vector<T>(kB * U),
                                       std::vector<T>(w.size()), std::vector<T>(r.size()),
                                       std::vector<T>(G)};
    RecurrentCache<T> cache;
    recur::ops::recurrent_forward<T>(out[0].data(), out[1].data(), out[2].data(), cache,
                                     xt.data(), wt.data(), rt.data(), bt.data(), d, cfg, ex);
    recur::ops::recurrent_backward<T>(out[3].data(), out[4].data(), out[5].data(), out[6].data(),
                                      out[7].data(), out[8].data(), cache, gy.data(), ght.data(),
                                      gct.data(), wt.data(), rt.data());
    return std::make_pair(out, cache.kernel);
  };
  const char* names[] = {"y", "h", "c", "dx", "dh0", "dc0", "dkernel", "drecurrent_kernel",
                         "dbias"};
  for (bool seq : {true, false})
    for (bool back : {false, true})
      for (bool zero : {false, true}) {
        recur::ops::set_isa(Isa::kPortable);
        const auto exact = run(0.0, seq, back, zero).first;
        for (Isa isa : isas) {
          if (isa == Isa::kPortable) continue;
          recur::ops::set_isa(isa);
          const auto [got, kernel] = run(0.0f, seq, back, zero);
          ASSERT_NE(kernel, recur::ops::RecurrentKernel::kPortable);
          for (std::size_t k = 0; k < exact.size(); ++k) {
            double num = 0, den = 0;
            for (std::size_t i = 0; i < exact[k].size(); ++i) {
              num = std::max(num, std::fabs(static_cast<double>(got[k][i]) - exact[k][i]));
              den = std::max(den, std::fabs(exact[k][i]));
            }
            EXPECT_LE(den == 0 ? num : num / den, 1e-5)
                << recur::ops::isa_name(isa) << (seq ? " sequences" : " last")
                << (back ? " go_backwards" : "") << " zero=" << zero << " " << names[k];
          }
        }
      }
}

// Whole float layers with a mask, every setting, against central differences.
TEST(ZeroOutputForMaskGradcheck, WholeLayersWithMasks) {
  IsaGuard guard;
  const Tensor x({kB, kT, 2}, to_float(random_values(kB * kT * 2, 71)));
  const Tensor mask({kB, kT}, to_float(kMask));
  for (const LayerCase& lc : kLayerCases) {
    const std::vector<Isa> isas =
        lc.kind == CellKind::kLstm ? lstm_isas() : std::vector<Isa>{recur::ops::active_isa()};
    for (Isa isa : isas) {
      recur::ops::set_isa(isa);
      for (bool seq : {true, false})
        for (bool back : {false, true})
          for (bool zero : {false, true}) {
            SCOPED_TRACE(label(lc, seq, back, zero, false) + " " + recur::ops::isa_name(isa));
            auto layer = make_layer(lc, 3, seq, back, zero);
            recur::Rng rng(5);
            layer->build({kT, 2}, rng);
            recur::test::expect_layer_gradient(*layer, x, mask);
          }
    }
  }
}

TEST(ZeroOutputForMaskBidirectional, ForcesReturnSequencesOnBothHalves) {
  for (bool seq : {true, false})
    for (bool given : {false, true}) {
      recur::Bidirectional bi(
          recur::LSTM(recur::LstmOptions(3).return_sequences(seq).zero_output_for_mask(given)));
      EXPECT_EQ(bi.forward_layer().rnn_options().zero_output_for_mask(), seq);
      EXPECT_EQ(bi.backward_layer().rnn_options().zero_output_for_mask(), seq);
      const auto& lstm = static_cast<const recur::LSTM&>(bi.forward_layer());
      EXPECT_EQ(lstm.options().zero_output_for_mask(), seq);
      EXPECT_EQ(bi.get_config()["layer"]["config"]["zero_output_for_mask"], seq);
      // A config that says otherwise is forced too.
      nlohmann::json config = bi.get_config();
      config["layer"]["config"]["zero_output_for_mask"] = !seq;
      auto back = recur::layer_from_config("Bidirectional", config);
      auto& loaded = static_cast<recur::Bidirectional&>(*back);
      EXPECT_EQ(loaded.forward_layer().rnn_options().zero_output_for_mask(), seq);
      EXPECT_EQ(loaded.backward_layer().rnn_options().zero_output_for_mask(), seq);
    }
  // With sequences, masked steps are zeros in both directions (concat: forward, then backward).
  recur::Bidirectional bi(recur::GRU(recur::GruOptions(2).return_sequences(true)));
  recur::Rng rng(4);
  bi.build({kT, 2}, rng);
  const Tensor x({kB, kT, 2}, to_float(random_values(kB * kT * 2, 81)));
  const Tensor y = bi.forward_masked(x, Tensor({kB, kT}, to_float(kMask)), false);
  for (std::size_t b = 0; b < kB; ++b)
    for (std::size_t t = 0; t < kT; ++t)
      for (std::size_t k = 0; k < 4; ++k) {
        if (kMask[b * kT + t] == 0.0) EXPECT_EQ(y[(b * kT + t) * 4 + k], 0.0f) << b << " " << t;
        else EXPECT_NE(y[(b * kT + t) * 4 + k], 0.0f) << b << " " << t;
      }
}

TEST(ZeroOutputForMaskConfig, RoundTripsAndAnAbsentKeyReadsAsTrue) {
  for (const LayerCase& lc : kLayerCases)
    for (bool zero : {false, true}) {
      SCOPED_TRACE(std::string(lc.name) + (zero ? " true" : " false"));
      auto layer = make_layer(lc, 2, true, false, zero);
      nlohmann::json config = layer->get_config();
      ASSERT_TRUE(config.contains("zero_output_for_mask"));
      EXPECT_EQ(config["zero_output_for_mask"], zero);
      auto back = recur::layer_from_config(layer->type(), config);
      EXPECT_EQ(static_cast<recur::RNN&>(*back).rnn_options().zero_output_for_mask(), zero);
      config.erase("zero_output_for_mask");
      auto old = recur::layer_from_config(layer->type(), config);
      EXPECT_TRUE(static_cast<recur::RNN&>(*old).rnn_options().zero_output_for_mask());
    }
  // RNN(cell) too.
  recur::RNN rnn(recur::LSTMCell(2), recur::RnnOptions().return_sequences(true));
  nlohmann::json config = rnn.get_config();
  EXPECT_EQ(config["zero_output_for_mask"], false);
  EXPECT_FALSE(static_cast<recur::RNN&>(*recur::layer_from_config("RNN", config))
                   .rnn_options().zero_output_for_mask());
  config.erase("zero_output_for_mask");
  EXPECT_TRUE(static_cast<recur::RNN&>(*recur::layer_from_config("RNN", config))
                  .rnn_options().zero_output_for_mask());
}

// Saved and loaded through a model file, the setting and the masked outputs are kept.
TEST(ZeroOutputForMaskConfig, SaveAndLoadKeepTheSetting) {
  for (bool zero : {false, true}) {
    recur::Sequential m;
    m.add(recur::Masking(0.0f));
    m.add(recur::LSTM(recur::LstmOptions(3).return_sequences(true).zero_output_for_mask(zero)));
    m.build({kT, 2}, 3);
    Tensor x({kB, kT, 2}, to_float(random_values(kB * kT * 2, 91)));
    for (std::size_t b = 0; b < kB; ++b)
      for (std::size_t t = 0; t < kT; ++t)
        if (kMask[b * kT + t] == 0.0) x[(b * kT + t) * 2] = x[(b * kT + t) * 2 + 1] = 0.0f;
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("recur_zero_output_for_mask_" + std::to_string(zero) + ".recur"))
                                 .string();
    m.save(path);
    recur::Sequential back = recur::Sequential::load(path);
    std::filesystem::remove(path);
    EXPECT_EQ(static_cast<const recur::RNN&>(back.layer(1)).rnn_options().zero_output_for_mask(),
              zero);
    const Tensor y = m.predict(x), y_back = back.predict(x);
    EXPECT_EQ(y.values(), y_back.values());
    // Sample 0, step 2 is masked after a kept step 1: zeros, or step 1's output.
    EXPECT_EQ(y[(0 * kT + 2) * 3], zero ? 0.0f : y[(0 * kT + 1) * 3]);
  }
}

}  // namespace
