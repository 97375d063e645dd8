// The fused LSTM, GRU (both reset_after forms) and SimpleRNN kernels (AVX2 and AVX-512,
// src/ops/lstm_fused.cpp and gru_rnn_fused.cpp over src/ops/simd) against the portable kernel,
// the plain reference kept in the tree, on odd sizes (units that do not fill a vector, batches
// that do not fill a tile, more units than one backward panel), forward and backward, in every
// mode the layers use: masks, recurrent dropout, go_backwards, initial states, no bias, last
// output only; and what must not depend on the thread count or the forward's mode.
//
// Error measure: both float paths are compared with the portable kernel run in double
// precision, as max |a - exact| / max |exact| over each output or gradient array. The bound is
// 1e-5 (issue 5); the activations' own error is bounded in tests/ops/fused_lstm_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "recur/ops/cpu.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "support/isa.hpp"
#include "support/recurrent_cases.hpp"
#include "../../src/ops/gru_rnn_fused.hpp"
#include "../../src/ops/fused_tiling.hpp"
#include "../../src/ops/lstm_fused.hpp"

namespace {

using recur::ops::CellKind;
using recur::ops::Isa;
using recur::ops::RecurrentCache;
using recur::ops::RecurrentConfig;
using recur::ops::RecurrentDims;
using recur::ops::RecurrentExtras;
using recur::ops::RecurrentKernel;

using recur::test::fused_isas;
using recur::test::IsaGuard;

// The four cells with a fused kernel.
struct Cell {
  const char* name;
  CellKind kind;
  bool reset_after;
};
constexpr Cell kCells[] = {{"lstm", CellKind::kLstm, false},
                           {"gru", CellKind::kGru, true},
                           {"gru_reset_before", CellKind::kGru, false},
                           {"simple_rnn", CellKind::kSimpleRnn, false}};

using Case = recur::test::RecurrentCase;
template <typename T>
using Outputs = recur::test::RecurrentOutputs<T>;
using recur::test::expect_close_to_exact;
using recur::test::expect_same_outputs;
using recur::test::rel_error;

struct Param {
  Cell cell;
  Case c;
};

void PrintTo(const Param& p, std::ostream* os) { *os << p.cell.name << "_" << p.c.name; }

RecurrentConfig config_of(const Cell& cell, const Case& k) {
  RecurrentConfig cfg;
  cfg.kind = cell.kind;
  cfg.reset_after = cell.reset_after;
  cfg.return_sequences = k.return_sequences;
  cfg.go_backwards = k.go_backwards;
  return cfg;
}

template <typename T>
Outputs<T> run_cell(const Cell& cell, const Case& k, unsigned seed, bool inference = false) {
  return recur::test::run_recurrent<T>(config_of(cell, k), k, seed, inference);
}

RecurrentKernel fused_kernel_of(CellKind kind, Isa isa) {
  const bool wide = isa == Isa::kAvx512;
  if (kind == CellKind::kLstm)
    return wide ? RecurrentKernel::kFusedLstmAvx512 : RecurrentKernel::kFusedLstmAvx2;
  if (kind == CellKind::kGru)
    return wide ? RecurrentKernel::kFusedGruAvx512 : RecurrentKernel::kFusedGruAvx2;
  return wide ? RecurrentKernel::kFusedSimpleRnnAvx512 : RecurrentKernel::kFusedSimpleRnnAvx2;
}

class FusedCells : public ::testing::TestWithParam<Param> {};

TEST_P(FusedCells, MatchesThePortableReferenceWithin1e5) {
  const Param& p = GetParam();
  IsaGuard guard;
  recur::ops::set_isa(Isa::kPortable);
  const Outputs<double> exact = run_cell<double>(p.cell, p.c, 7);
  const Outputs<float> portable = run_cell<float>(p.cell, p.c, 7);
  ASSERT_EQ(portable.kernel, RecurrentKernel::kPortable);
  expect_close_to_exact(portable, exact, 1e-5, "portable");
  const auto isas = fused_isas();
  if (isas.empty()) GTEST_SKIP() << "this CPU has no AVX2+FMA: only the portable path exists";
  for (Isa isa : isas) {
    recur::ops::set_isa(isa);
    for (std::size_t threads : {1, 2, 3}) {
      recur::ops::set_num_threads(threads);
      const Outputs<float> fused = run_cell<float>(p.cell, p.c, 7);
      ASSERT_EQ(fused.kernel, fused_kernel_of(p.cell.kind, isa));
      expect_close_to_exact(fused, exact, 1e-5,
                            recur::ops::isa_name(isa) + " threads " + std::to_string(threads));
    }
  }
}

std::vector<Param> all_params() {
  const Case cases[] = {
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
      // Batches of at least two full AVX-512 row groups: the LSTM and the GRU compute the input
      // projection inside their timestep tiles there (fused_lstm_input_in_tiles,
      // fused_gru_input_in_tiles).
      Case{"input_in_tiles_batch_25", {25, 6, 7, 29}, true, false, true},
      Case{"input_in_tiles_mask_dropout_backwards", {14, 7, 5, 18}, false, true, true, true,
           true, true},
      Case{"input_in_tiles_no_bias", {12, 5, 3, 40}, true, false, false, false}};
  std::vector<Param> out;
  for (const Cell& cell : kCells)
    for (const Case& c : cases) out.push_back({cell, c});
  return out;
}

INSTANTIATE_TEST_SUITE_P(OddSizes, FusedCells, ::testing::ValuesIn(all_params()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return std::string(info.param.cell.name) + "_" + info.param.c.name;
                         });

// zero_output_for_mask: masked steps output zeros, and their gradient goes nowhere.
TEST(FusedCellsMasks, ZeroOutputForMaskMatchesThePortableReference) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  for (const Cell& cell : kCells) {
    // Sequences, go_backwards, a mask and zero_output_for_mask (set below).
    const Case c{"zero_masked", {6, 9, 4, 23}, true, true};
    auto run = [&](auto zero) {
      using T = decltype(zero);
      const RecurrentDims d = c.dims;
      const std::size_t B = d.batch, TT = d.timesteps, F = d.features, U = d.units;
      RecurrentConfig cfg = config_of(cell, c);
      cfg.zero_output_for_mask = true;
      const std::size_t G = recur::ops::gate_count(cell.kind) * U;
      std::vector<T> x(B * TT * F), w(F * G), r(U * G), b(recur::ops::bias_size(cfg, U));
      std::vector<T> mask(B * TT), gy(B * TT * U), y(B * TT * U), dx(x.size()), dw(w.size()),
          dr(r.size()), db(b.size());
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = T(std::sin(0.37 * double(i)));
      for (std::size_t i = 0; i < w.size(); ++i) w[i] = T(0.3 * std::cos(0.11 * double(i)));
      for (std::size_t i = 0; i < r.size(); ++i) r[i] = T(0.2 * std::sin(0.07 * double(i) + 1));
      for (std::size_t i = 0; i < b.size(); ++i) b[i] = T(0.1 * std::cos(double(i)));
      for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = i % 4 == 1 ? T(0) : T(1);
      for (std::size_t i = 0; i < gy.size(); ++i) gy[i] = T(std::cos(0.13 * double(i)));
      RecurrentExtras<T> ex;
      ex.mask = mask.data();
      RecurrentCache<T> cache;
      recur::ops::recurrent_forward<T>(y.data(), nullptr, nullptr, cache, x.data(), w.data(),
                                       r.data(), b.data(), d, cfg, ex);
      recur::ops::recurrent_backward<T>(dx.data(), nullptr, nullptr, dw.data(), dr.data(),
                                        db.data(), cache, gy.data(), nullptr, nullptr, w.data(),
                                        r.data());
      return std::vector<std::vector<T>>{y, dx, dw, dr, db};
    };
    recur::ops::set_isa(Isa::kPortable);
    const auto exact = run(0.0);
    for (Isa isa : fused_isas()) {
      recur::ops::set_isa(isa);
      const auto got = run(0.0f);
      const char* names[] = {"y", "dx", "dkernel", "drecurrent_kernel", "dbias"};
      for (std::size_t k = 0; k < exact.size(); ++k)
        EXPECT_LE(rel_error(got[k], exact[k]), 1e-5)
            << cell.name << " " << recur::ops::isa_name(isa) << " " << names[k];
    }
  }
}

// Splitting the tiles over threads changes who computes a tile, never how: results are
// bit-identical for any thread count, by tiles or by rows (fused_tiling.hpp, TimeLoop).
TEST(FusedCellsThreads, ResultsDoNotDependOnTheThreadCount) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  // Batch 11: the gates from the gemm; on AVX-512 the time loops by tiles (11 rows are less
  // than a 6-row group per thread), on AVX2 (3-row groups) by rows where the loop has the work.
  // Batch 26: the LSTM's and GRU's input projection inside the tiles (on AVX-512), the time
  // loops by rows on 2 and 3 threads; (26, 24, 7, 64): SimpleRNN's loops by rows too (enough
  // work). (8, 110, 320, 520): every layout pass around the time loop (the h gate's panels too)
  // moves over kParallelPassBytes and is split over the threads, so a share that copied the
  // wrong rows would differ from one thread.
  const Case cases[] = {{"threads", {11, 12, 7, 45}, true, false, true, true, true, true},
                        {"threads", {26, 12, 7, 45}, true, false, true, true, true, true},
                        {"rows", {26, 24, 7, 64}, true, false, true, true, true, true},
                        {"passes", {8, 110, 320, 520}, true, true, true, true, false, true}};
  for (Isa isa : fused_isas()) {
    recur::ops::set_isa(isa);
    for (const Case& c : cases) {
      for (const Cell& cell : kCells) {
        const std::string at = recur::ops::isa_name(isa) + " " + cell.name + " batch " +
                               std::to_string(c.dims.batch) + " units " +
                               std::to_string(c.dims.units) + " threads ";
        recur::ops::set_num_threads(1);
        const Outputs<float> one = run_cell<float>(cell, c, 3);
        for (std::size_t threads : {2, 3}) {
          recur::ops::set_num_threads(threads);
          const Outputs<float> more = run_cell<float>(cell, c, 3);
          expect_same_outputs(one, more, at + std::to_string(threads));
        }
      }
    }
  }
  // The cases above ran every cell's backward by rows (with the detected ISA at least).
  const std::vector<std::string> loops = recur::ops::detail::rows_mode_loops();
  for (const char* kernel : {"fused-lstm-backward", "fused-gru-backward",
                             "fused-gru-v1-backward", "fused-simple-rnn-backward"})
    EXPECT_TRUE(std::any_of(loops.begin(), loops.end(), [&](const std::string& line) {
      return line.rfind(std::string(kernel) + " macs=", 0) == 0;
    })) << kernel << " never ran by rows";
}

#if defined(__x86_64__)
// The rule (fused_tiling.hpp, input_in_tiles_pays) for the GRU: reset_after on AVX-512 only.
TEST(FusedGruInputInTiles, OnlyTheGruOnAvx512) {
  using recur::ops::detail::fused_gru_input_in_tiles;
  RecurrentConfig gru;
  gru.kind = CellKind::kGru;
  RecurrentConfig gru_v1 = gru;
  gru_v1.reset_after = false;
  RecurrentConfig rnn;
  rnn.kind = CellKind::kSimpleRnn;
  const RecurrentDims shape{64, 100, 128, 256};
  EXPECT_TRUE(fused_gru_input_in_tiles(RecurrentKernel::kFusedGruAvx512, gru, shape));
  EXPECT_TRUE(fused_gru_input_in_tiles(RecurrentKernel::kFusedGruAvx512, gru_v1, shape));
  EXPECT_FALSE(fused_gru_input_in_tiles(RecurrentKernel::kFusedSimpleRnnAvx512, rnn, shape));
  EXPECT_FALSE(fused_gru_input_in_tiles(RecurrentKernel::kFusedGruAvx2, gru, shape));
  const RecurrentKernel avx512 = RecurrentKernel::kFusedGruAvx512;
  EXPECT_FALSE(fused_gru_input_in_tiles(avx512, gru, {11, 100, 128, 256}));
  EXPECT_FALSE(fused_gru_input_in_tiles(avx512, gru, {16, 200, 1024, 1024}));
  // (512 + 512) x 3 x 512 floats: 6 MiB of packed weights, under the 10 MiB cap;
  // (64, 50, 512, 1024), 18 MiB, over.
  EXPECT_TRUE(fused_gru_input_in_tiles(avx512, gru, {64, 50, 512, 512}));
  EXPECT_FALSE(fused_gru_input_in_tiles(avx512, gru, {64, 50, 512, 1024}));
}
#endif

// An inference forward of the LSTM or the GRU with reset_after with its input projection in the
// tiles stores neither gates nor aux; a backward after it runs the time loop again first, so
// every output and gradient is the same, bit for bit, as after a training forward (also for the
// cells and shapes where nothing is skipped, and without a bias).
TEST(FusedCellsInference, BackwardAfterAnInferenceForwardEqualsAfterATrainingForward) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  const Case cases[] = {{"in_tiles", {25, 6, 7, 29}, true, false, true},
                        {"in_tiles_mask_dropout_backwards_last", {14, 7, 5, 18}, false, true,
                         true, true, true, true},
                        {"in_tiles_no_bias", {12, 5, 3, 40}, true, false, false, false},
                        {"gemm", {11, 6, 7, 29}, true, false, true}};
  for (Isa isa : fused_isas()) {
    recur::ops::set_isa(isa);
    for (const Cell& cell : kCells)
      for (const Case& c : cases)
        for (std::size_t threads : {1, 2}) {
          recur::ops::set_num_threads(threads);
          const std::string at = recur::ops::isa_name(isa) + " " + cell.name + " " + c.name +
                                 " threads " + std::to_string(threads);
          const Outputs<float> trained = run_cell<float>(cell, c, 5, false);
          const Outputs<float> inferred = run_cell<float>(cell, c, 5, true);
          expect_same_outputs(trained, inferred, at);
        }
  }
}

// Which forwards skip the gates: inference of the LSTM and of the GRU with reset_after with the
// input projection in the tiles only (the GRU without reset_after has its input in the tiles
// too, but its pass 2 reads the gates pass 1 stored).
TEST(FusedCellsInference, OnlyAnInferenceForwardWithTheInputInTheTilesSkipsTheGates) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  recur::ops::set_isa(recur::ops::detected_isa());
  for (const Cell& cell : kCells)
    for (const RecurrentDims d : {RecurrentDims{25, 4, 3, 20}, RecurrentDims{11, 4, 3, 20}})
      for (bool inference : {false, true}) {
        const std::size_t G = recur::ops::gate_count(cell.kind) * d.units;
        std::vector<float> x(d.batch * d.timesteps * d.features, 0.5f), w(d.features * G, 0.1f),
            r(d.units * G, 0.1f), y(d.batch * d.units);
        RecurrentExtras<float> ex;
        ex.inference = inference;
        RecurrentCache<float> cache;
        const RecurrentConfig cfg = config_of(cell, Case{"", d, false});
        recur::ops::recurrent_forward<float>(y.data(), nullptr, nullptr, cache, x.data(),
                                             w.data(), r.data(), nullptr, d, cfg, ex);
        const bool lstm = cell.kind == CellKind::kLstm;
        const bool in_tiles =
            lstm ? recur::ops::detail::fused_lstm_input_in_tiles(cache.kernel, d)
                 : recur::ops::detail::fused_gru_input_in_tiles(cache.kernel, cfg, d);
        EXPECT_EQ(cache.gates_stored, !(inference && in_tiles && (lstm || cell.reset_after)))
            << cell.name << " " << d.batch << " " << inference;
        if (!cache.gates_stored) {
          EXPECT_TRUE(cache.gates.empty()) << "allocated all the same";
          EXPECT_TRUE(cache.aux.empty()) << "allocated all the same";
        }
      }
}

// Buffers are sized on the first call of a shape and reused after: the same addresses, and the
// same results (nothing left over from the first call leaks into the second).
TEST(FusedCellsThreads, SecondCallOfAShapeReusesTheBuffers) {
  if (fused_isas().empty()) GTEST_SKIP() << "no fused path on this CPU";
  IsaGuard guard;
  recur::ops::set_isa(recur::ops::detected_isa());
  for (const Cell& cell : kCells) {
    const RecurrentDims d{4, 5, 3, 9};
    const std::size_t G = recur::ops::gate_count(cell.kind) * 9;
    std::vector<float> x(4 * 5 * 3, 0.5f), w(3 * G, 0.1f), r(9 * G, 0.1f), y(4 * 5 * 9);
    RecurrentConfig cfg;
    cfg.kind = cell.kind;
    cfg.reset_after = cell.reset_after;
    cfg.return_sequences = true;
    RecurrentCache<float> cache;
    recur::ops::recurrent_forward<float>(y.data(), nullptr, nullptr, cache, x.data(), w.data(),
                                         r.data(), nullptr, d, cfg);
    ASSERT_EQ(cache.kernel, fused_kernel_of(cell.kind, recur::ops::detected_isa()));
    const std::vector<float> first = y;
    const float* gates = cache.gates.data();
    const float* packed = cache.packed.data();
    recur::ops::recurrent_forward<float>(y.data(), nullptr, nullptr, cache, x.data(), w.data(),
                                         r.data(), nullptr, d, cfg);
    EXPECT_EQ(gates, cache.gates.data()) << cell.name;
    EXPECT_EQ(packed, cache.packed.data()) << cell.name;
    EXPECT_EQ(first, y) << cell.name;
  }
}

// --- the dispatch ------------------------------------------------------------------------------

TEST(FusedCellsDispatch, FloatCellsWithTheDefaultActivationsAreFused) {
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    for (const Cell& cell : kCells) {
      RecurrentConfig cfg;
      cfg.kind = cell.kind;
      cfg.reset_after = cell.reset_after;
#if defined(__x86_64__)
      EXPECT_EQ(recur::ops::select_kernel<float>(cfg, isa), fused_kernel_of(cell.kind, isa))
          << cell.name;
#endif
      EXPECT_EQ(recur::ops::select_kernel<double>(cfg, isa), RecurrentKernel::kPortable);
      EXPECT_EQ(recur::ops::select_kernel<float>(cfg, Isa::kPortable), RecurrentKernel::kPortable);
      // The stepper has a fused one-step LSTM only.
#if defined(__x86_64__)
      EXPECT_EQ(recur::ops::select_step_kernel(cfg, isa),
                cell.kind == CellKind::kLstm ? fused_kernel_of(cell.kind, isa)
                                             : RecurrentKernel::kPortable)
          << cell.name;
#else
      EXPECT_EQ(recur::ops::select_step_kernel(cfg, isa), RecurrentKernel::kPortable);
#endif
      RecurrentConfig relu = cfg;
      relu.activation = recur::ops::Activation::kRelu;
      EXPECT_EQ(recur::ops::select_kernel<float>(relu, isa), RecurrentKernel::kPortable)
          << cell.name;
      RecurrentConfig hard = cfg;
      hard.recurrent_activation = recur::ops::Activation::kHardSigmoid;
#if defined(__x86_64__)
      // SimpleRNN has no recurrent_activation: it does not matter there.
      EXPECT_EQ(recur::ops::select_kernel<float>(hard, isa) == RecurrentKernel::kPortable,
                cell.kind != CellKind::kSimpleRnn)
          << cell.name;
#else
      EXPECT_EQ(recur::ops::select_kernel<float>(hard, isa), RecurrentKernel::kPortable);
#endif
    }
  }
}

TEST(FusedCellsDispatch, EveryKernelHasADistinctName) {
  const RecurrentKernel all[] = {
      RecurrentKernel::kPortable,           RecurrentKernel::kFusedLstmAvx2,
      RecurrentKernel::kFusedLstmAvx512,    RecurrentKernel::kFusedGruAvx2,
      RecurrentKernel::kFusedGruAvx512,     RecurrentKernel::kFusedSimpleRnnAvx2,
      RecurrentKernel::kFusedSimpleRnnAvx512};
  EXPECT_STREQ(recur::ops::recurrent_kernel_name(RecurrentKernel::kPortable), "portable");
  EXPECT_STREQ(recur::ops::recurrent_kernel_name(RecurrentKernel::kFusedLstmAvx512),
               "fused-lstm-avx512");
  EXPECT_STREQ(recur::ops::recurrent_kernel_name(RecurrentKernel::kFusedGruAvx2),
               "fused-gru-avx2");
  EXPECT_STREQ(recur::ops::recurrent_kernel_name(RecurrentKernel::kFusedSimpleRnnAvx512),
               "fused-simple-rnn-avx512");
  for (RecurrentKernel a : all)
    for (RecurrentKernel b : all) {
      if (a == b) continue;
      EXPECT_STRNE(recur::ops::recurrent_kernel_name(a), recur::ops::recurrent_kernel_name(b));
    }
}

}  // namespace
