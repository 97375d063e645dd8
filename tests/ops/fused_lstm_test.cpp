// The fused LSTM kernels (AVX2 and AVX-512, src/ops/simd) against the portable kernel, which is
// the plain reference kept in the tree, on odd sizes (units that do not fill a vector, batches
// that do not fill a tile), forward and backward, in every mode the layers use.
//
// Error measure: both float paths are compared with the portable kernel run in double
// precision, as max |a - exact| / max |exact| over each output or gradient array. The bound is
// 1e-5 (issue 5); the activations' own error is bounded separately below.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/streaming.hpp"
#include "recur/ops/cpu.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "support/isa.hpp"
#include "support/recurrent_cases.hpp"
#include "../../src/ops/lstm_fused.hpp"

namespace {

using recur::ops::Isa;
using recur::ops::RecurrentCache;
using recur::ops::RecurrentConfig;
using recur::ops::RecurrentDims;
using recur::ops::RecurrentExtras;

using recur::test::fused_isas;
using recur::test::IsaGuard;

using Case = recur::test::RecurrentCase;
template <typename T>
using Outputs = recur::test::RecurrentOutputs<T>;
using recur::test::expect_close_to_exact;
using recur::test::rel_error;

template <typename T>
Outputs<T> run_lstm(const Case& k, unsigned seed, bool inference = false) {
  return recur::test::run_recurrent<T>(RecurrentConfig{}, k, seed, inference);
}

class FusedLstm : public ::testing::TestWithParam<Case> {};

TEST_P(FusedLstm, MatchesThePortableReferenceWithin1e5) {
  const Case& c = GetParam();
  IsaGuard guard;
  recur::ops::set_isa(Isa::kPortable);
  const Outputs<double> exact = run_lstm<double>(c, 7);
  const Outputs<float> portable = run_lstm<float>(c, 7);
  expect_close_to_exact(portable, exact, 1e-5, "portable");
  const auto isas = fused_isas();
  if (isas.empty()) GTEST_SKIP() << "this CPU has no AVX2+FMA: only the portable path exists";
  for (Isa isa : isas) {
    recur::ops::set_isa(isa);
    for (std::size_t threads : {1, 2, 3}) {
      recur::ops::set_num_threads(threads);
      const Outputs<float> fused = run_lstm<float>(c, 7);
      expect_close_to_exact(fused, exact, 1e-5,
                            recur::ops::isa_name(isa) + " threads " + std::to_string(threads));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    OddSizes, FusedLstm,
    ::testing::Values(
        Case{"one_unit", {1, 3, 1, 1}},
        // Batch 1: the one-row tile's two chains (even and odd k) over odd features and units.
        Case{"batch_1_odd_k", {1, 5, 7, 37}, true, false, true},
        Case{"units_13_batch_5", {5, 7, 3, 13}},
        Case{"units_37_batch_7_last", {7, 9, 5, 37}, false},
        Case{"units_70_batch_13_state", {13, 6, 11, 70}, true, false, true},
        Case{"go_backwards_no_bias", {4, 8, 6, 21}, true, true, false, false},
        Case{"mask_holes", {6, 10, 4, 19}, true, false, true, true, true},
        Case{"recurrent_dropout", {5, 6, 3, 17}, true, false, false, true, false, true},
        Case{"mask_dropout_backwards_last", {9, 7, 2, 33}, false, true, true, true, true, true},
        Case{"wide_units_130", {3, 4, 9, 130}, true, false, true},
        // Batches of at least two full AVX-512 row groups: the input projection runs inside
        // the timestep tiles there (fused_lstm_input_in_tiles), in every mode.
        Case{"input_in_tiles_batch_25", {25, 6, 7, 29}, true, false, true},
        Case{"input_in_tiles_mask_dropout_backwards", {14, 7, 5, 18}, false, true, true, true,
             true, true},
        Case{"input_in_tiles_no_bias", {12, 5, 3, 40}, true, false, false, false}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// Splitting the tiles over threads changes who computes a tile, never how: results are
// bit-identical for any thread count.
TEST(FusedLstmThreads, ResultsDoNotDependOnTheThreadCount) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  recur::ops::set_isa(recur::ops::detected_isa());
  // Batch 11: the gates from the gemm; batch 26: the input projection inside the tiles (on
  // AVX-512, fused_lstm_input_in_tiles); (8, 110, 320, 300): every layout pass around the time
  // loop (input, output, kernel and gradient layouts) moves over kParallelPassBytes and is
  // split over the threads, so a share that copied the wrong rows would differ from one thread.
  const Case cases[] = {{"threads", {11, 12, 7, 45}, true, false, true, true, true, true},
                        {"threads", {26, 12, 7, 45}, true, false, true, true, true, true},
                        {"passes", {8, 110, 320, 300}, true, true, true, true, false, true}};
  for (const Case& c : cases) {
    const std::size_t batch = c.dims.batch;
    recur::ops::set_num_threads(1);
    const Outputs<float> one = run_lstm<float>(c, 3);
    for (std::size_t threads : {2, 3}) {
      recur::ops::set_num_threads(threads);
      const Outputs<float> more = run_lstm<float>(c, 3);
      EXPECT_EQ(one.y, more.y) << "batch " << batch << " threads " << threads;
      EXPECT_EQ(one.dx, more.dx) << "batch " << batch << " threads " << threads;
      EXPECT_EQ(one.dr, more.dr) << "batch " << batch << " threads " << threads;
    }
  }
}

// An inference forward with the input projection in the tiles stores no gates; a backward after
// it runs the time loop again first, so every output and gradient is the same, bit for bit, as
// after a training forward (and with the gemm, where nothing is skipped).
TEST(FusedLstmInference, BackwardAfterAnInferenceForwardEqualsAfterATrainingForward) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  const Case cases[] = {{"in_tiles", {25, 6, 7, 29}, true, false, true},
                        {"in_tiles_mask_dropout_backwards_last", {14, 7, 5, 18}, false, true,
                         true, true, true, true},
                        {"gemm", {11, 6, 7, 29}, true, false, true}};
  for (Isa isa : fused_isas()) {
    recur::ops::set_isa(isa);
    for (const Case& c : cases)
      for (std::size_t threads : {1, 2}) {
        recur::ops::set_num_threads(threads);
        const std::string at = recur::ops::isa_name(isa) + " " + c.name + " threads " +
                               std::to_string(threads);
        const Outputs<float> trained = run_lstm<float>(c, 5, false);
        const Outputs<float> inferred = run_lstm<float>(c, 5, true);
        EXPECT_EQ(trained.y, inferred.y) << at;
        EXPECT_EQ(trained.h, inferred.h) << at;
        EXPECT_EQ(trained.c, inferred.c) << at;
        EXPECT_EQ(trained.dx, inferred.dx) << at;
        EXPECT_EQ(trained.dh0, inferred.dh0) << at;
        EXPECT_EQ(trained.dc0, inferred.dc0) << at;
        EXPECT_EQ(trained.dw, inferred.dw) << at;
        EXPECT_EQ(trained.dr, inferred.dr) << at;
        EXPECT_EQ(trained.db, inferred.db) << at;
      }
  }
}

// Which forwards skip the gates: inference with the input projection in the tiles only.
TEST(FusedLstmInference, OnlyAnInferenceForwardWithTheInputInTheTilesSkipsTheGates) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  recur::ops::set_isa(recur::ops::detected_isa());
  for (const RecurrentDims d : {RecurrentDims{25, 4, 3, 20}, RecurrentDims{11, 4, 3, 20}})
    for (bool inference : {false, true}) {
      std::vector<float> x(d.batch * d.timesteps * d.features, 0.5f),
          w(d.features * 4 * d.units, 0.1f), r(d.units * 4 * d.units, 0.1f),
          y(d.batch * d.units);
      RecurrentExtras<float> ex;
      ex.inference = inference;
      RecurrentCache<float> cache;
      recur::ops::recurrent_forward<float>(y.data(), nullptr, nullptr, cache, x.data(),
                                           w.data(), r.data(), nullptr, d, RecurrentConfig{}, ex);
      const bool in_tiles = recur::ops::detail::fused_lstm_input_in_tiles(cache.kernel, d);
      EXPECT_EQ(cache.gates_stored, !(inference && in_tiles)) << d.batch << " " << inference;
      if (!cache.gates_stored) EXPECT_TRUE(cache.gates.empty()) << "allocated all the same";
    }
}

// The rule that puts the input projection in the tiles: the AVX-512 path only, at least two
// full row groups, an input at most twice the units wide, packed weights under the cap.
#if defined(__x86_64__)
TEST(FusedLstmInputInTiles, RuleFollowsBatchWidthAndWeightSize) {
  using recur::ops::RecurrentKernel;
  using recur::ops::detail::fused_lstm_input_in_tiles;
  const RecurrentKernel avx512 = RecurrentKernel::kFusedLstmAvx512;
  const RecurrentKernel avx2 = RecurrentKernel::kFusedLstmAvx2;
  EXPECT_TRUE(fused_lstm_input_in_tiles(avx512, {64, 100, 128, 256}));
  EXPECT_TRUE(fused_lstm_input_in_tiles(avx512, {12, 5, 3, 40}));
  EXPECT_FALSE(fused_lstm_input_in_tiles(avx512, {11, 5, 3, 40}));     // one row group short
  EXPECT_FALSE(fused_lstm_input_in_tiles(avx512, {64, 100, 513, 256}));  // input > 2 units
  EXPECT_TRUE(fused_lstm_input_in_tiles(avx512, {64, 50, 512, 512}));    // 8 MiB of weights
  EXPECT_FALSE(fused_lstm_input_in_tiles(avx512, {64, 50, 256, 768}));   // 12 MiB
  EXPECT_TRUE(fused_lstm_input_in_tiles(avx512, {64, 50, 128, 512}));    // 5 MiB
  EXPECT_FALSE(fused_lstm_input_in_tiles(avx512, {16, 200, 1024, 1024}));
  EXPECT_FALSE(fused_lstm_input_in_tiles(avx2, {64, 100, 128, 256}));  // AVX2: always the gemm
}
#endif

// Buffers are sized on the first call of a shape and reused after: the same addresses.
TEST(FusedLstmThreads, SecondCallOfAShapeReusesTheBuffers) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  recur::ops::set_isa(recur::ops::detected_isa());
  const RecurrentDims d{4, 5, 3, 9};
  std::vector<float> x(4 * 5 * 3, 0.5f), w(3 * 36, 0.1f), r(9 * 36, 0.1f), y(4 * 5 * 9);
  RecurrentConfig cfg;
  cfg.return_sequences = true;
  RecurrentCache<float> cache;
  recur::ops::recurrent_forward<float>(y.data(), nullptr, nullptr, cache, x.data(), w.data(),
                                       r.data(), nullptr, d, cfg);
  ASSERT_NE(cache.kernel, recur::ops::RecurrentKernel::kPortable);
  const float* gates = cache.gates.data();
  const float* packed = cache.packed.data();
  recur::ops::recurrent_forward<float>(y.data(), nullptr, nullptr, cache, x.data(), w.data(),
                                       r.data(), nullptr, d, cfg);
  EXPECT_EQ(gates, cache.gates.data());
  EXPECT_EQ(packed, cache.packed.data());
}

// The vectorized sigmoid and tanh against double precision on a dense grid: the documented
// bound (include/recur/ops/cpu.hpp) is an absolute error of 3e-7 for both (sigmoid, tanh in
// [-1, 1]), and a relative error of 4e-7 for tanh near 0 where it is ~x.
TEST(FusedActivations, ErrorWithinTheDocumentedBound) {
  for (Isa isa : fused_isas()) {
    const auto path = recur::ops::select_kernel<float>(RecurrentConfig{}, isa);
    ASSERT_NE(path, recur::ops::RecurrentKernel::kPortable);
    const auto* k = &recur::ops::detail::fused_lstm_kernels(path);
    std::vector<float> x;
    for (double v = -30.0; v <= 30.0; v += 1.0 / 1024) x.push_back(static_cast<float>(v));
    for (float v : {1e-30f, -1e-30f, 1e-8f, -1e-8f, 1e-4f, 0.0f, 88.5f, -88.5f, 1e30f, -1e30f})
      x.push_back(v);
    std::vector<float> s(x.size()), t(x.size());
    k->sigmoid(s.data(), x.data(), x.size());
    k->tanh(t.data(), x.data(), x.size());
    double worst_s = 0, worst_t = 0, worst_t_rel = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double xd = x[i];
      const double es = 1.0 / (1.0 + std::exp(-xd)), et = std::tanh(xd);
      worst_s = std::max(worst_s, std::fabs(s[i] - es));
      worst_t = std::max(worst_t, std::fabs(t[i] - et));
      if (std::fabs(xd) < 0.625 && xd != 0)
        worst_t_rel = std::max(worst_t_rel, std::fabs(t[i] - et) / std::fabs(et));
    }
    EXPECT_LE(worst_s, 3e-7) << k->name;
    EXPECT_LE(worst_t, 3e-7) << k->name;
    EXPECT_LE(worst_t_rel, 4e-7) << k->name;
    // NaN propagates (a diverged model must not look finite).
    const float nan = std::numeric_limits<float>::quiet_NaN();
    float out = 0;
    k->sigmoid(&out, &nan, 1);
    EXPECT_TRUE(std::isnan(out)) << k->name;
    k->tanh(&out, &nan, 1);
    EXPECT_TRUE(std::isnan(out)) << k->name;
  }
}

TEST(Cpu, SetIsaRefusesWhatTheCpuLacks) {
  IsaGuard guard;
  EXPECT_NO_THROW(recur::ops::set_isa(recur::ops::detected_isa()));
  EXPECT_NO_THROW(recur::ops::set_isa(Isa::kPortable));
  if (recur::ops::detected_isa() != Isa::kAvx512) {
    try {
      recur::ops::set_isa(Isa::kAvx512);
      ADD_FAILURE() << "expected ValueError";
    } catch (const recur::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot run the avx512"), std::string::npos);
    }
  }
}

// --- streaming ---------------------------------------------------------------------------------

// Stepping a stream over a sequence gives the layer's outputs at every step, on every path.
TEST(RecurrentStream, StepsEqualTheLayerOverASequence) {
  IsaGuard guard;
  const std::size_t B = 3, T = 6, F = 5, U = 19;
  recur::LSTM layer(recur::LstmOptions(U).return_sequences(true));
  recur::Rng rng(11);
  layer.build({T, F}, rng);
  recur::Tensor x({B, T, F});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = std::sin(0.37 * i);
  recur::ops::set_isa(Isa::kPortable);
  const recur::Tensor y = layer.forward(x, false);
  std::vector<Isa> paths = fused_isas();
  paths.push_back(Isa::kPortable);
  for (Isa isa : paths) {
    recur::ops::set_isa(isa);
    recur::RecurrentStream stream(layer.cell(), B);
    EXPECT_EQ(stream.fused(), isa != Isa::kPortable);
    std::vector<float> xt(B * F);
    for (std::size_t t = 0; t < T; ++t) {
      for (std::size_t b = 0; b < B; ++b)
        std::copy_n(x.data() + (b * T + t) * F, F, xt.data() + b * F);
      const float* h = stream.step(xt.data());
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t u = 0; u < U; ++u)
          EXPECT_NEAR(h[b * U + u], y.data()[(b * T + t) * U + u], 2e-6)
              << recur::ops::isa_name(isa) << " t=" << t;
    }
    const float* next = stream.step(xt.data());  // before h(): argument order is unspecified
    EXPECT_EQ(stream.h(), next);
  }
}

// The snapshot ignores later weight changes until refresh(); reset() starts a new sequence.
TEST(RecurrentStream, RefreshTakesNewWeightsAndResetClearsTheState) {
  recur::LSTMCell cell(8);
  recur::Rng rng(2);
  cell.build(4, rng);
  recur::RecurrentStream stream(cell);
  const std::vector<float> x{0.1f, -0.2f, 0.3f, 0.4f};
  const float first = stream.step(x.data())[0];
  stream.reset();
  EXPECT_EQ(stream.h()[0], 0.0f);
  EXPECT_EQ(stream.step(x.data())[0], first);
  for (std::size_t i = 0; i < cell.kernel().value.size(); ++i) cell.kernel().value.data()[i] *= 2;
  stream.reset();
  EXPECT_EQ(stream.step(x.data())[0], first) << "snapshot must not follow the cell";
  stream.refresh();
  stream.reset();
  EXPECT_NE(stream.step(x.data())[0], first);
}

TEST(RecurrentStream, RefusesAnUnbuiltCellAndBatchZero) {
  recur::LSTMCell cell(4);
  try {
    recur::RecurrentStream stream(cell);
    ADD_FAILURE() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("not built"), std::string::npos) << e.what();
  }
  recur::Rng rng(1);
  cell.build(2, rng);
  try {
    recur::RecurrentStream stream(cell, 0);
    ADD_FAILURE() << "expected ValueError";
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("batch"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("got 0"), std::string::npos) << e.what();
  }
}

// GRU and SimpleRNN stream on the portable kernel and still match their cell.
TEST(RecurrentStream, GruStreamsOnThePortablePath) {
  recur::GRUCell cell(6);
  recur::Rng rng(5);
  cell.build(3, rng);
  recur::RecurrentStream stream(cell, 2);
  EXPECT_FALSE(stream.fused());
  EXPECT_EQ(stream.c(), nullptr);
  const std::vector<float> x{0.5f, -0.5f, 0.25f, 1.0f, 0.0f, -1.0f};
  std::vector<float> h(12, 0.0f);
  for (int t = 0; t < 3; ++t) {
    const float* hs = stream.step(x.data());
    cell.step(x.data(), h.data(), nullptr, 2);
    for (std::size_t i = 0; i < h.size(); ++i) EXPECT_FLOAT_EQ(hs[i], h[i]);
  }
}

}  // namespace
