// What is the LSTM's own in the fused kernels (AVX2 and AVX-512, src/ops/simd): the rule that puts
// its input projection in the tiles, the vectorized activations' error bound, the ISA switch and
// the one-step streaming API. The fused kernels of all four cells against the portable reference,
// thread-count invariance and the inference forward are tests/ops/fused_cells_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "recur/core/error.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/streaming.hpp"
#include "recur/ops/cpu.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "support/isa.hpp"
#include "../../src/ops/lstm_fused.hpp"

namespace {

using recur::ops::Isa;
using recur::ops::RecurrentConfig;
using recur::ops::RecurrentDims;

using recur::test::fused_isas;
using recur::test::IsaGuard;


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
