#include "recur/layers/lstm.hpp"

#include <gtest/gtest.h>

#include "recur/core/error.hpp"
#include "recur/ops/cpu.hpp"
#include "recur/ops/gemm.hpp"
#include "support/allclose.hpp"
#include "support/gradcheck.hpp"

namespace {

using recur::test::random_values;
using recur::test::to_float;

// The layer's batched, fused kernel against the per-gate, per-unit naive cell stepped by hand,
// on odd sizes.
TEST(Lstm, FusedKernelMatchesNaiveCellReference) {
  const std::size_t B = 3, T = 7, F = 5, U = 9;
  recur::LSTM lstm(recur::LstmOptions(U).return_sequences(true));
  recur::Rng rng(3);
  lstm.build({T, F}, rng);
  lstm.bias().value = recur::Tensor({4 * U}, to_float(random_values(4 * U, 9, 0.5)));
  const recur::Tensor x({B, T, F}, to_float(random_values(B * T * F, 10)));
  const recur::Tensor y = lstm.forward(x, false);

  std::vector<float> h(B * U, 0.0f), c(B * U, 0.0f), xt(B * F);
  recur::ops::RecurrentConfig cfg;
  for (std::size_t t = 0; t < T; ++t) {
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t f = 0; f < F; ++f) xt[b * F + f] = x.at({b, t, f});
    recur::ops::lstm_cell_step_naive<float>(h.data(), c.data(), xt.data(), lstm.kernel().value.data(),
                                            lstm.recurrent_kernel().value.data(),
                                            lstm.bias().value.data(), B, F, U, cfg);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t u = 0; u < U; ++u)
        ASSERT_NEAR(y.at({b, t, u}), h[b * U + u], 1e-5f + 1e-5f * std::fabs(h[b * U + u]))
            << "b " << b << " t " << t << " u " << u;
  }
}

TEST(Gemm, BlasMatchesNaiveReferenceOnOddSizesAndTransposes) {
  const std::size_t m = 7, n = 5, k = 11;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const auto a = to_float(random_values(m * k, 1)), b = to_float(random_values(k * n, 2));
      auto c1 = to_float(random_values(m * n, 3)), c2 = c1;
      const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
      recur::ops::gemm<float>(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 0.25f, c1.data(), n);
      recur::ops::gemm_naive<float>(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 0.25f, c2.data(), n);
      recur::test::expect_allclose("gemm", c1.data(), c2, 1e-5, 1e-5);
    }
}

// Large products are split over recur's thread pool by rows (tall C) or columns (wide C); the
// split parts must tile C exactly, for every transpose, on sizes that are not multiples of 16.
TEST(Gemm, PoolSplitMatchesNaiveReferenceForTallAndWideProducts) {
  const std::size_t saved = recur::ops::num_threads();
  for (std::size_t threads : {2, 3}) {
    recur::ops::set_num_threads(threads);
    for (auto [m, n] : {std::pair<std::size_t, std::size_t>{301, 37}, {37, 301}})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          const std::size_t k = 2503;  // enough work for a split (gemm.cpp, gemm_parts)
          const auto a = to_float(random_values(m * k, 1)), b = to_float(random_values(k * n, 2));
          auto c1 = to_float(random_values(m * n, 3)), c2 = c1;
          const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
          recur::ops::gemm<float>(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 0.25f,
                                  c1.data(), n);
          recur::ops::gemm_naive<float>(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb,
                                        0.25f, c2.data(), n);
          recur::test::expect_allclose("gemm split", c1.data(), c2, 1e-4, 1e-4);
        }
  }
  recur::ops::set_num_threads(saved);
}

// The parts a large product is split into follow its shape and the machine, not the thread
// count: the same bits on 1, 2 or 3 threads, whichever kernels OpenBLAS runs (its Haswell
// kernels round an element differently with the width of the block it is in).
TEST(Gemm, PoolSplitGivesTheSameBitsOnAnyThreadCount) {
  const std::size_t saved = recur::ops::num_threads();
  for (auto [m, n] : {std::pair<std::size_t, std::size_t>{45, 640}, {700, 45}})
    for (bool ta : {false, true}) {
      const std::size_t k = 1000;
      const auto a = to_float(random_values(m * k, 4)), b = to_float(random_values(k * n, 5));
      const std::size_t lda = ta ? m : k;
      std::vector<float> first;
      for (std::size_t threads : {1, 2, 3}) {
        recur::ops::set_num_threads(threads);
        std::vector<float> c(m * n, 0.0f);
        recur::ops::gemm<float>(ta, false, m, n, k, 1.0f, a.data(), lda, b.data(), n, 0.0f,
                                c.data(), n);
        if (threads == 1) first = c;
        else EXPECT_EQ(first, c) << m << "x" << n << " trans_a " << ta << " threads " << threads;
      }
    }
  recur::ops::set_num_threads(saved);
}

// Keras: with go_backwards the layer reads the sequence reversed, so its last output equals the
// forward layer's last output on the reversed input.
TEST(Lstm, GoBackwardsEqualsForwardOnReversedInput) {
  const std::size_t B = 2, T = 5, F = 3, U = 4;
  recur::LSTM fwd{recur::LstmOptions(U)}, bwd{recur::LstmOptions(U).go_backwards(true)};
  recur::Rng r1(5), r2(5);
  fwd.build({T, F}, r1);
  bwd.build({T, F}, r2);
  const recur::Tensor x({B, T, F}, to_float(random_values(B * T * F, 4)));
  recur::Tensor xr({B, T, F});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t f = 0; f < F; ++f) xr.at({b, t, f}) = x.at({b, T - 1 - t, f});
  const recur::Tensor a = bwd.forward(x, false), e = fwd.forward(xr, false);
  recur::test::expect_allclose("go_backwards", a.data(), e.values(), 1e-6, 1e-6);
}

TEST(Lstm, KerasDefaultsAndWeightShapes) {
  recur::LSTM lstm(recur::LstmOptions(8));
  recur::Rng rng(1);
  lstm.build({10, 3}, rng);
  EXPECT_EQ(lstm.kernel().value.shape(), (recur::Shape{3, 32}));
  EXPECT_EQ(lstm.recurrent_kernel().value.shape(), (recur::Shape{8, 32}));
  EXPECT_EQ(lstm.bias().value.shape(), (recur::Shape{32}));
  EXPECT_EQ(lstm.count_params(), 4u * 8u * (3u + 8u + 1u));
  // unit_forget_bias: the forget block (second of i, f, c, o) starts at 1, the others at 0.
  for (std::size_t j = 0; j < 32; ++j) EXPECT_EQ(lstm.bias().value[j], (j >= 8 && j < 16) ? 1.0f : 0.0f);
  // orthogonal recurrent_kernel (8, 32): rows are orthonormal.
  const auto& rk = lstm.recurrent_kernel().value;
  for (std::size_t a = 0; a < 8; ++a)
    for (std::size_t b = 0; b < 8; ++b) {
      double dot = 0;
      for (std::size_t j = 0; j < 32; ++j) dot += rk[a * 32 + j] * rk[b * 32 + j];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5);
    }
  // glorot_uniform kernel (3, 32): |w| <= sqrt(6 / (3 + 32)).
  for (float w : lstm.kernel().value.values()) EXPECT_LE(std::fabs(w), std::sqrt(6.0f / 35.0f));
  EXPECT_EQ(lstm.output_shape(), (recur::Shape{8}));
}

TEST(Lstm, ClosedFormWithOnlyBiases) {
  // All weights zero: every step sees z = bias, so with c0 = 0,
  // c_t = f c_{t-1} + i g and h_t = o tanh(c_t) with constant gates.
  recur::LSTM lstm(recur::LstmOptions(1).unit_forget_bias(false));
  recur::Rng rng(0);
  lstm.build({3, 1}, rng);
  lstm.kernel().value.zero();
  lstm.recurrent_kernel().value.zero();
  lstm.bias().value = recur::Tensor({4}, {0.5f, -0.3f, 0.8f, 0.1f});
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  const double i = sig(0.5), f = sig(-0.3), g = std::tanh(0.8), o = sig(0.1);
  double c = 0;
  for (int t = 0; t < 3; ++t) c = f * c + i * g;
  const recur::Tensor y = lstm.forward(recur::Tensor({1, 3, 1}, {7, -2, 4}), false);
  EXPECT_NEAR(y[0], o * std::tanh(c), 1e-6);
}

TEST(Lstm, RankTwoInputIsAShapeErrorThatSuggestsTheReshape) {
  recur::LSTM lstm(recur::LstmOptions(4));
  recur::Rng rng(0);
  try {
    lstm.build({5}, rng);
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("rank 3 (batch, timesteps, features)"), std::string::npos) << m;
    EXPECT_NE(m.find("got rank 2"), std::string::npos) << m;
    EXPECT_NE(m.find("(batch, 5, 1)"), std::string::npos) << m;
  }
  lstm.build({5, 2}, rng);
  try {
    lstm.forward(recur::Tensor({10, 5}), false);
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("got rank 2 with shape (10, 5)"), std::string::npos) << m;
  }
}

TEST(Lstm, BadHyperparametersAreValueErrors) {
  EXPECT_THROW(recur::LSTM(recur::LstmOptions(0)), recur::ValueError);
  try {
    recur::LSTM(recur::LstmOptions(4).activation("softmax"));
    FAIL();
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos);
  }
  try {
    recur::LSTM(recur::LstmOptions(4).recurrent_activation("sigmoidd"));
    FAIL();
  } catch (const recur::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown activation \"sigmoidd\""), std::string::npos);
  }
}

}  // namespace

namespace {

TEST(Lstm, CallBuildsLazilyFromTheDataOrRejectsItsRank) {
  recur::LSTM lstm(recur::LstmOptions(3).return_state(true));
  try {
    lstm.call(recur::Tensor({10, 5}));
    FAIL() << "expected ShapeError";
  } catch (const recur::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(batch, 5, 1)"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(lstm.built());
  const recur::LstmOutput out = lstm.call(recur::Tensor::full({2, 4, 6}, 0.5f), nullptr);
  EXPECT_TRUE(lstm.built());
  EXPECT_EQ(lstm.input_shape(), (recur::Shape{4, 6}));
  EXPECT_EQ(out.output.shape(), (recur::Shape{2, 3}));
  EXPECT_EQ(out.output.values(), out.h.values());  // without return_sequences, output == h
}

}  // namespace
