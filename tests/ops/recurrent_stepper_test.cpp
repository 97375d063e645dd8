// The recurrent maths in its new places: each cell's step backward against central differences
// of its step forward (src/ops/cells), the dispatch (select_kernel), and the stepper that
// RecurrentStream and RecurrentCell::step share (recur/ops/recurrent_stepper.hpp): the same
// states as RNN::call over a sequence on every cell and kernel path, and a repack exactly when
// the weights change.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "recur/layers/recurrent.hpp"
#include "recur/layers/streaming.hpp"
#include "recur/ops/cpu.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "recur/ops/recurrent_stepper.hpp"
#include "../../src/ops/cells/cells.hpp"
#include "support/allclose.hpp"
#include "support/isa.hpp"

namespace {

using recur::Tensor;
using recur::ops::CellKind;
using recur::ops::Isa;
using recur::ops::RecurrentConfig;
using recur::ops::RecurrentKernel;
using recur::ops::RecurrentStepper;

using recur::test::IsaGuard;

// The portable path and every fused one this CPU runs.
std::vector<Isa> all_paths() {
  std::vector<Isa> out{Isa::kPortable};
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512})
    if (static_cast<int>(isa) <= static_cast<int>(recur::ops::detected_isa())) out.push_back(isa);
  return out;
}

std::vector<double> draw(std::size_t n, std::mt19937& gen, double scale) {
  std::uniform_real_distribution<double> uni(-scale, scale);
  std::vector<double> v(n);
  for (auto& e : v) e = uni(gen);
  return v;
}

Tensor random_tensor(recur::Shape shape, unsigned seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  const auto v = draw(recur::shape_size(shape), gen, scale);
  return Tensor(shape, std::vector<float>(v.begin(), v.end()));
}

// --- one cell step: backward against central differences of forward -------------------------

struct CellCase {
  const char* name;
  CellKind kind;
  bool reset_after = true;
};

void PrintTo(const CellCase& c, std::ostream* os) { *os << c.name; }

class CellStep : public ::testing::TestWithParam<CellCase> {};

// L = sum(wh * h_t) + sum(wc * c_t) as a function of the step's inputs: the input projection
// z, h_{t-1} (fed both to the recurrent product and around it) and c_{t-1}.
TEST_P(CellStep, BackwardIsTheGradientOfForward) {
  const CellCase& k = GetParam();
  const std::size_t B = 2, U = 3, G = recur::ops::gate_count(k.kind) * U;
  const bool lstm = k.kind == CellKind::kLstm, gru = k.kind == CellKind::kGru;
  RecurrentConfig config;
  config.kind = k.kind;
  config.reset_after = k.reset_after;
  const auto cell = recur::ops::cells::cell_of<double>(k.kind);
  std::mt19937 gen(17);
  const auto z0 = draw(B * G, gen, 1.0), h0 = draw(B * U, gen, 0.8), c0 = draw(B * U, gen, 0.8);
  const auto R = draw(U * G, gen, 0.6), rbias = draw(G, gen, 0.3);
  const auto wh = draw(B * U, gen, 1.0), wc = draw(B * U, gen, 1.0);

  // Forward; returns L and leaves the step's cache in the vectors passed.
  auto forward = [&](std::vector<double> z, const std::vector<double>& hp,
                     const std::vector<double>& cp, std::vector<double>& gates,
                     std::vector<double>& h, std::vector<double>& c, std::vector<double>& aux) {
    std::vector<double> rec(B * G);
    h.assign(B * U, 0);
    c.assign(B * U, 0);
    aux.assign(B * U, 0);
    recur::ops::cells::StepForward<double> s;
    s.z = z.data();
    s.h = h.data();
    s.c = lstm ? c.data() : nullptr;
    s.aux = gru ? aux.data() : nullptr;
    s.rec = gru ? rec.data() : nullptr;
    s.h_prev = hp.data();
    s.h_in = hp.data();
    s.c_prev = lstm ? cp.data() : nullptr;
    s.recurrent_kernel = R.data();
    s.recurrent_bias = gru && k.reset_after ? rbias.data() : nullptr;
    s.batch = B;
    s.units = U;
    cell.forward(s, config);
    gates = z;
    double loss = 0;
    for (std::size_t i = 0; i < B * U; ++i) loss += wh[i] * h[i] + (lstm ? wc[i] * c[i] : 0.0);
    return loss;
  };

  std::vector<double> gates, h, c, aux;
  forward(z0, h0, c0, gates, h, c, aux);
  std::vector<double> dz(B * G), drec(B * G), dh_in(B * U), dh_skip(B * U), dc = wc;
  recur::ops::cells::StepBackward<double> s;
  s.dz = dz.data();
  s.drec = gru ? drec.data() : nullptr;
  s.dh_in = dh_in.data();
  s.dh_skip = dh_skip.data();
  s.dc = dc.data();
  s.dh = wh.data();
  s.z = gates.data();
  s.aux = aux.data();
  s.h_prev = h0.data();
  s.h_in = h0.data();
  s.c_prev = c0.data();
  s.c = c.data();
  s.recurrent_kernel = R.data();
  s.batch = B;
  s.units = U;
  cell.backward(s, config);

  const double eps = 1e-6;
  // Perturb each input array in turn.
  auto check = [&](const char* what, const std::vector<double>& base, auto&& analytic) {
    for (std::size_t i = 0; i < base.size(); ++i) {
      std::vector<double> z = z0, hp = h0, cp = c0, g, hh, cc, a;
      std::vector<double>& v = what[0] == 'z' ? z : what[0] == 'h' ? hp : cp;
      v[i] += eps;
      const double up = forward(z, hp, cp, g, hh, cc, a);
      v[i] -= 2 * eps;
      const double down = forward(z, hp, cp, g, hh, cc, a);
      const double num = (up - down) / (2 * eps), ana = analytic(i);
      EXPECT_NEAR(ana, num, 1e-7 + 1e-6 * std::fabs(num)) << k.name << " d" << what << "[" << i << "]";
    }
  };
  check("z", z0, [&](std::size_t i) { return dz[i]; });
  check("h_prev", h0, [&](std::size_t i) { return dh_in[i] + dh_skip[i]; });
  if (lstm) check("c_prev", c0, [&](std::size_t i) { return dc[i]; });

  // Row 1 skipped: no gate gradient there, an LSTM's dc passes through, row 0 is unchanged.
  const std::vector<double> keep{1.0, 0.0}, dz_all = dz;
  std::vector<double> dc2 = wc;
  s.dc = dc2.data();
  s.keep = keep.data();
  cell.backward(s, config);
  for (std::size_t j = 0; j < G; ++j) {
    EXPECT_EQ(dz[j], dz_all[j]) << k.name;
    EXPECT_EQ(dz[G + j], 0.0) << k.name;
    if (gru) EXPECT_EQ(drec[G + j], 0.0) << k.name;
  }
  if (lstm)
    for (std::size_t u = 0; u < U; ++u) {
      EXPECT_EQ(dc2[u], dc[u]) << k.name;
      EXPECT_EQ(dc2[U + u], wc[U + u]) << k.name;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cells, CellStep,
    ::testing::Values(CellCase{"lstm", CellKind::kLstm}, CellCase{"gru", CellKind::kGru, true},
                      CellCase{"gru_reset_before", CellKind::kGru, false},
                      CellCase{"simple_rnn", CellKind::kSimpleRnn}),
    [](const ::testing::TestParamInfo<CellCase>& info) { return std::string(info.param.name); });

// --- the dispatch ------------------------------------------------------------------------------

TEST(SelectKernel, FusedLstmOnlyForFloatWithTanhAndSigmoid) {
  RecurrentConfig lstm;
  EXPECT_EQ(recur::ops::select_kernel<float>(lstm, Isa::kPortable), RecurrentKernel::kPortable);
  EXPECT_EQ(recur::ops::select_kernel<double>(lstm, Isa::kAvx512), RecurrentKernel::kPortable);
#if defined(__x86_64__)
  EXPECT_EQ(recur::ops::select_kernel<float>(lstm, Isa::kAvx2), RecurrentKernel::kFusedLstmAvx2);
  EXPECT_EQ(recur::ops::select_kernel<float>(lstm, Isa::kAvx512),
            RecurrentKernel::kFusedLstmAvx512);
#endif
  RecurrentConfig relu = lstm;
  relu.activation = recur::ops::Activation::kRelu;
  EXPECT_EQ(recur::ops::select_kernel<float>(relu, Isa::kAvx512), RecurrentKernel::kPortable);
  RecurrentConfig hard = lstm;
  hard.recurrent_activation = recur::ops::Activation::kTanh;
  EXPECT_EQ(recur::ops::select_kernel<float>(hard, Isa::kAvx2), RecurrentKernel::kPortable);
  // The GRU and SimpleRNN have fused scans (tests/ops/fused_cells_test.cpp) but no fused
  // one-step form: the stepper runs them portable.
  for (CellKind kind : {CellKind::kGru, CellKind::kSimpleRnn}) {
    RecurrentConfig other;
    other.kind = kind;
    EXPECT_EQ(recur::ops::select_step_kernel(other, Isa::kAvx512), RecurrentKernel::kPortable);
    EXPECT_EQ(recur::ops::select_kernel<double>(other, Isa::kAvx512), RecurrentKernel::kPortable);
  }
  EXPECT_EQ(recur::ops::select_step_kernel(lstm, Isa::kPortable), RecurrentKernel::kPortable);
#if defined(__x86_64__)
  EXPECT_EQ(recur::ops::select_step_kernel(lstm, Isa::kAvx512), RecurrentKernel::kFusedLstmAvx512);
#endif
}

// --- the stepper against the layer -------------------------------------------------------------

struct LayerCase {
  const char* name;
  std::function<std::unique_ptr<recur::RNN>()> make;
};

void PrintTo(const LayerCase& c, std::ostream* os) { *os << c.name; }

std::vector<LayerCase> layer_cases() {
  const std::size_t U = 19;  // odd: not a whole vector on any path
  return {
      {"lstm", [=] { return std::make_unique<recur::LSTM>(recur::LstmOptions(U).return_sequences(true)); }},
      {"lstm_relu", [=] {
         return std::make_unique<recur::LSTM>(
             recur::LstmOptions(U).activation("relu").return_sequences(true));
       }},
      {"lstm_no_bias", [=] {
         return std::make_unique<recur::LSTM>(
             recur::LstmOptions(U).use_bias(false).return_sequences(true));
       }},
      {"gru", [=] { return std::make_unique<recur::GRU>(recur::GruOptions(U).return_sequences(true)); }},
      {"gru_reset_before", [=] {
         return std::make_unique<recur::GRU>(
             recur::GruOptions(U).reset_after(false).return_sequences(true));
       }},
      {"simple_rnn", [=] {
         return std::make_unique<recur::SimpleRNN>(recur::SimpleRnnOptions(U).return_sequences(true));
       }},
  };
}

// Random bias values, so that every bias term (GRU: both rows) takes part.
void randomize_bias(recur::RecurrentCell& cell, unsigned seed) {
  if (!cell.spec().use_bias) return;
  Tensor& b = cell.bias().value;
  b = random_tensor(b.shape(), seed, 0.5);
}

class StepperVsLayer : public ::testing::TestWithParam<LayerCase> {};

// Stepping a sequence gives RNN::call's states at every step, on every kernel path (each path
// compared with the layer on the same path), and the final states.
TEST_P(StepperVsLayer, StepsGiveTheLayersStatesOnEveryPath) {
  IsaGuard guard;
  const std::size_t B = 3, T = 6, F = 5;
  for (Isa isa : all_paths()) {
    recur::ops::set_isa(isa);
    auto layer = GetParam().make();
    recur::Rng rng(11);
    layer->build({T, F}, rng);
    recur::RecurrentCell& cell = layer->cell();
    randomize_bias(cell, 4);
    const std::size_t U = cell.units();
    const Tensor x = random_tensor({B, T, F}, 3);
    const recur::RecurrentOutput out = layer->call(x);

    RecurrentStepper stepper;
    stepper.set_batch(B);
    stepper.load(cell.kernel().value.data(), cell.recurrent_kernel().value.data(),
                 cell.spec().use_bias ? cell.bias().value.data() : nullptr, F, U,
                 cell.kernel_config());
    EXPECT_EQ(stepper.kernel(), recur::ops::select_step_kernel(cell.kernel_config(), isa));
    std::vector<float> xt(B * F), want(B * U);
    const std::string label = std::string(GetParam().name) + " " + recur::ops::isa_name(isa);
    for (std::size_t t = 0; t < T; ++t) {
      for (std::size_t b = 0; b < B; ++b) {
        std::copy_n(x.data() + (b * T + t) * F, F, xt.data() + b * F);
        std::copy_n(out.output.data() + (b * T + t) * U, U, want.data() + b * U);
      }
      const float* h = stepper.step(xt.data());
      recur::test::expect_allclose(label + " t=" + std::to_string(t), h, want, 1e-6, 1e-6);
    }
    recur::test::expect_allclose(label + " h", stepper.h(), out.states[0].values(), 1e-6, 1e-6);
    if (cell.state_count() == 2)
      recur::test::expect_allclose(label + " c", stepper.c(), out.states[1].values(), 1e-6, 1e-6);
    else
      EXPECT_EQ(stepper.c(), nullptr);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cells, StepperVsLayer, ::testing::ValuesIn(layer_cases()),
    [](const ::testing::TestParamInfo<LayerCase>& info) { return std::string(info.param.name); });

// RecurrentStream, RecurrentCell::step and the stepper are one code path: bit-identical.
TEST(RecurrentStepper, StreamAndCellStepAreTheSameStep) {
  IsaGuard guard;
  const std::size_t B = 2, F = 3;
  for (Isa isa : all_paths()) {
    recur::ops::set_isa(isa);
    for (int kind = 0; kind < 3; ++kind) {
      std::unique_ptr<recur::RecurrentCell> cell;
      if (kind == 0) cell = std::make_unique<recur::LSTMCell>(21);
      if (kind == 1) cell = std::make_unique<recur::GRUCell>(21);
      if (kind == 2) cell = std::make_unique<recur::SimpleRNNCell>(21);
      recur::Rng rng(8);
      cell->build(F, rng);
      randomize_bias(*cell, 9);
      recur::RecurrentStream stream(*cell, B);
      std::vector<float> h(B * 21, 0.0f), c(B * 21, 0.0f);
      for (int t = 0; t < 4; ++t) {
        const Tensor x = random_tensor({B, F}, 20 + t);
        const float* hs = stream.step(x.data());
        cell->step(x.data(), h.data(), c.data(), B);
        for (std::size_t i = 0; i < h.size(); ++i) ASSERT_EQ(hs[i], h[i]) << cell->type() << " t=" << t;
        if (kind == 0)
          for (std::size_t i = 0; i < c.size(); ++i) ASSERT_EQ(stream.c()[i], c[i]);
      }
    }
  }
}

// sync() on the fused kernel repacks exactly when something the step depends on changed.
TEST(RecurrentStepper, SyncRepacksOnlyWhenSomethingChanged) {
  if (recur::ops::detected_isa() == Isa::kPortable) GTEST_SKIP() << "no fused kernel on this CPU";
  IsaGuard guard;
  recur::ops::set_isa(recur::ops::detected_isa());
  recur::LSTMCell cell(13);
  recur::Rng rng(2);
  cell.build(4, rng);
  auto sync = [&](RecurrentStepper& s, const float* bias) {
    return s.sync(cell.kernel().value.data(), cell.recurrent_kernel().value.data(), bias, 4, 13,
                  cell.kernel_config());
  };
  const float* bias = cell.bias().value.data();
  RecurrentStepper stepper;
  EXPECT_TRUE(sync(stepper, bias)) << "the first sync loads";
  EXPECT_TRUE(stepper.fused());
  EXPECT_FALSE(sync(stepper, bias));
  cell.recurrent_kernel().value[7] += 0.25f;
  EXPECT_TRUE(sync(stepper, bias)) << "a changed recurrent_kernel value";
  EXPECT_FALSE(sync(stepper, bias));
  cell.bias().value[3] -= 1.0f;
  EXPECT_TRUE(sync(stepper, bias)) << "a changed bias value";
  EXPECT_TRUE(sync(stepper, nullptr)) << "no bias any more";
  EXPECT_FALSE(sync(stepper, nullptr));
  // Another instruction set packs differently.
  recur::ops::set_isa(Isa::kPortable);
  EXPECT_TRUE(sync(stepper, bias));
  EXPECT_EQ(stepper.kernel(), RecurrentKernel::kPortable);
  recur::ops::set_isa(recur::ops::detected_isa());
  EXPECT_TRUE(sync(stepper, bias));
  EXPECT_TRUE(stepper.fused());
}

// sync() on the portable kernel copies nothing: the steps read the caller's weights, changes
// included, as a stepper freshly loaded with them does.
TEST(RecurrentStepper, PortableSyncReadsTheWeightsWhereTheyAre) {
  IsaGuard guard;
  recur::ops::set_isa(Isa::kPortable);
  recur::GRUCell cell(7);
  recur::Rng rng(3);
  cell.build(2, rng);
  randomize_bias(cell, 5);
  auto sync = [&](RecurrentStepper& s) {
    return s.sync(cell.kernel().value.data(), cell.recurrent_kernel().value.data(),
                  cell.bias().value.data(), 2, 7, cell.kernel_config());
  };
  const std::vector<float> x{0.4f, -0.6f};
  RecurrentStepper stepper;
  EXPECT_TRUE(sync(stepper));
  EXPECT_FALSE(sync(stepper));
  const float* h0 = stepper.step(x.data());
  const std::vector<float> old_h(h0, h0 + 7);
  stepper.reset();
  cell.kernel().value[1] += 0.5f;
  cell.bias().value[21 + 9] -= 0.5f;  // bias (2, 21): row 1, the recurrent bias
  EXPECT_FALSE(sync(stepper)) << "nothing to repack on the portable path";
  RecurrentStepper reference;
  reference.load(cell.kernel().value.data(), cell.recurrent_kernel().value.data(),
                 cell.bias().value.data(), 2, 7, cell.kernel_config());
  const float* h = stepper.step(x.data());
  const float* want = reference.step(x.data());
  for (std::size_t u = 0; u < 7; ++u) EXPECT_EQ(h[u], want[u]);
  EXPECT_NE(std::vector<float>(h, h + 7), old_h);
}

// A reload with the same units keeps the states (new weights mid-stream).
TEST(RecurrentStepper, ReloadKeepsTheStates) {
  for (Isa isa : all_paths()) {
    IsaGuard guard;
    recur::ops::set_isa(isa);
    recur::LSTMCell cell(19);
    recur::Rng rng(5);
    cell.build(3, rng);
    RecurrentStepper stepper;
    stepper.load(cell.kernel().value.data(), cell.recurrent_kernel().value.data(),
                 cell.bias().value.data(), 3, 19, cell.kernel_config());
    const std::vector<float> x{0.3f, -0.7f, 0.9f};
    stepper.step(x.data());
    const std::vector<float> h(stepper.h(), stepper.h() + 19), c(stepper.c(), stepper.c() + 19);
    stepper.load(cell.kernel().value.data(), cell.recurrent_kernel().value.data(),
                 cell.bias().value.data(), 3, 19, cell.kernel_config());
    EXPECT_EQ(std::vector<float>(stepper.h(), stepper.h() + 19), h);
    EXPECT_EQ(std::vector<float>(stepper.c(), stepper.c() + 19), c);
  }
}

// RecurrentCell::step packs its weights once, yet sees every change: tensors replaced (as
// set_weights does) and values updated in place (as the optimizers do).
TEST(RecurrentCellStep, SeesSetWeightsAndTrainingUpdates) {
  IsaGuard guard;
  const std::size_t B = 2, T = 5, F = 3;
  for (Isa isa : all_paths()) {
    recur::ops::set_isa(isa);
    for (int kind = 0; kind < 2; ++kind) {
      std::unique_ptr<recur::RNN> layer;
      if (kind == 0) layer = std::make_unique<recur::LSTM>(recur::LstmOptions(9));
      else layer = std::make_unique<recur::GRU>(recur::GruOptions(9));
      recur::Rng rng(6);
      layer->build({T, F}, rng);
      recur::RecurrentCell& cell = layer->cell();
      const std::size_t U = cell.units();
      const Tensor x = random_tensor({B, T, F}, 12);
      const std::string label = cell.type() + " " + recur::ops::isa_name(isa);
      auto stepped_h = [&] {
        std::vector<float> h(B * U, 0.0f), c(B * U, 0.0f), xt(B * F);
        for (std::size_t t = 0; t < T; ++t) {
          for (std::size_t b = 0; b < B; ++b)
            std::copy_n(x.data() + (b * T + t) * F, F, xt.data() + b * F);
          cell.step(xt.data(), h.data(), c.data(), B);
        }
        return h;
      };
      const std::vector<float> before = stepped_h();
      recur::test::expect_allclose(label + " initial", before.data(),
                                   layer->call(x).states[0].values(), 1e-6, 1e-6);
      // set_weights: the tensors are replaced by new ones.
      for (recur::Weight* w : layer->weights())
        w->value = random_tensor(w->value.shape(), 40 + static_cast<unsigned>(w->value.size()), 0.4);
      const std::vector<float> after_set = stepped_h();
      EXPECT_NE(after_set, before) << label;
      recur::test::expect_allclose(label + " after set_weights", after_set.data(),
                                   layer->call(x).states[0].values(), 1e-6, 1e-6);
      // A training step: gradients, then an in-place update of the values.
      layer->zero_grad();
      layer->call(x, {}, {}, true);
      layer->backward_with_state(Tensor::full({B, U}, 1.0f), {});
      for (recur::Weight* w : layer->weights())
        for (std::size_t i = 0; i < w->value.size(); ++i) w->value[i] -= 0.1f * w->grad[i];
      const std::vector<float> after_fit = stepped_h();
      EXPECT_NE(after_fit, after_set) << label;
      recur::test::expect_allclose(label + " after training", after_fit.data(),
                                   layer->call(x).states[0].values(), 1e-6, 1e-6);
    }
  }
}

}  // namespace
