#pragma once
// One forward + backward of a recurrent kernel on random data, for the fused-kernel tests
// (tests/ops/fused_cells_test.cpp): the same case run in double on the portable kernel is the
// exact reference the float paths are measured against.
#include <algorithm>
#include <cmath>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "recur/ops/recurrent_kernels.hpp"

namespace recur::test {

/// A shape and the modes a layer can run it in.
struct RecurrentCase {
  const char* name;
  recur::ops::RecurrentDims dims;
  bool return_sequences = true, go_backwards = false, initial_state = false, use_bias = true;
  bool mask = false, recurrent_dropout = false;
};

inline void PrintTo(const RecurrentCase& c, std::ostream* os) { *os << c.name; }

/// Everything one forward + backward produces (c and dc0 stay empty / zero for cells without a
/// cell state).
template <typename T>
struct RecurrentOutputs {
  std::vector<T> y, h, c, dx, dh0, dc0, dw, dr, db;
  recur::ops::RecurrentKernel kernel = recur::ops::RecurrentKernel::kPortable;
};

/// Runs k with cfg's cell (cfg.return_sequences and go_backwards are set from k) on data drawn
/// from seed. inference: the forward runs as a layer's forward with training false
/// (RecurrentExtras::inference); the backward follows it all the same. A cell without a cell
/// state must leave its dc0 gradient zero on every path (checked here).
template <typename T>
RecurrentOutputs<T> run_recurrent(recur::ops::RecurrentConfig cfg, const RecurrentCase& k,
                                  unsigned seed, bool inference = false) {
  const bool lstm = cfg.kind == recur::ops::CellKind::kLstm;
  cfg.return_sequences = k.return_sequences;
  cfg.go_backwards = k.go_backwards;
  const recur::ops::RecurrentDims d = k.dims;
  const std::size_t B = d.batch, TT = d.timesteps, F = d.features, U = d.units;
  const std::size_t G = recur::ops::gate_count(cfg.kind) * U;
  const std::size_t nbias = recur::ops::bias_size(cfg, U);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  auto draw = [&](std::size_t n, double scale) {
    std::vector<T> v(n);
    for (auto& e : v) e = static_cast<T>(scale * uni(gen));
    return v;
  };
  const double ws = 1.0 / std::sqrt(static_cast<double>(U));
  const auto x = draw(B * TT * F, 1.0), w = draw(F * G, ws), r = draw(U * G, ws),
             b = draw(nbias, 0.5), h0 = draw(B * U, 0.5), c0 = draw(B * U, 0.5);
  const std::size_t ysize = k.return_sequences ? B * TT * U : B * U;
  const auto gy = draw(ysize, 1.0), gh = draw(B * U, 1.0), gc = draw(B * U, 1.0);
  std::vector<T> mask(B * TT, T(1)), rdrop(B * U, T(1));
  for (std::size_t i = 0; i < B * TT; ++i) mask[i] = (i * 7 + 3) % 5 == 0 ? T(0) : T(1);
  for (std::size_t i = 0; i < B * U; ++i) rdrop[i] = i % 3 == 0 ? T(0) : T(1.5);

  recur::ops::RecurrentExtras<T> ex;
  if (k.initial_state) {
    ex.h0 = h0.data();
    if (lstm) ex.c0 = c0.data();
  }
  if (k.mask) ex.mask = mask.data();
  if (k.recurrent_dropout) ex.recurrent_dropout = rdrop.data();
  ex.inference = inference;
  RecurrentOutputs<T> out;
  out.y.resize(ysize);
  out.h.resize(B * U);
  if (lstm) out.c.resize(B * U);
  recur::ops::RecurrentCache<T> cache;
  recur::ops::recurrent_forward<T>(out.y.data(), out.h.data(), lstm ? out.c.data() : nullptr,
                                   cache, x.data(), w.data(), r.data(),
                                   k.use_bias ? b.data() : nullptr, d, cfg, ex);
  out.kernel = cache.kernel;
  out.dx.resize(B * TT * F);
  out.dh0.resize(B * U);
  out.dc0.assign(B * U, lstm ? T(0) : T(7));
  out.dw.assign(F * G, T(0));
  out.dr.assign(U * G, T(0));
  out.db.assign(nbias, T(0));
  recur::ops::recurrent_backward<T>(out.dx.data(), out.dh0.data(), out.dc0.data(),
                                    out.dw.data(), out.dr.data(),
                                    k.use_bias ? out.db.data() : nullptr, cache, gy.data(),
                                    gh.data(), lstm ? gc.data() : nullptr, w.data(), r.data());
  if (!lstm)  // no cell state: its gradient is zeros on every path
    EXPECT_EQ(out.dc0, std::vector<T>(B * U, T(0))) << k.name;
  return out;
}

/// max |a - exact| / max |exact| (max |a - exact| where exact is all zeros).
inline double rel_error(const std::vector<float>& a, const std::vector<double>& exact) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::fabs(static_cast<double>(a[i]) - exact[i]));
    den = std::max(den, std::fabs(exact[i]));
  }
  return den == 0 ? num : num / den;
}

/// Every array of got within bound (rel_error) of exact's; sizes must agree.
inline void expect_close_to_exact(const RecurrentOutputs<float>& got,
                                  const RecurrentOutputs<double>& exact, double bound,
                                  const std::string& label) {
  const std::pair<const char*, std::pair<const std::vector<float>*, const std::vector<double>*>>
      arrays[] = {{"y", {&got.y, &exact.y}},       {"h_last", {&got.h, &exact.h}},
                  {"c_last", {&got.c, &exact.c}},  {"dx", {&got.dx, &exact.dx}},
                  {"dh0", {&got.dh0, &exact.dh0}}, {"dc0", {&got.dc0, &exact.dc0}},
                  {"dkernel", {&got.dw, &exact.dw}},
                  {"drecurrent_kernel", {&got.dr, &exact.dr}},
                  {"dbias", {&got.db, &exact.db}}};
  for (const auto& [name, pair] : arrays) {
    ASSERT_EQ(pair.first->size(), pair.second->size()) << label << " " << name;
    EXPECT_LE(rel_error(*pair.first, *pair.second), bound) << label << " " << name;
  }
}

/// Every array of a and b equal, bit for bit (what no thread count or forward mode may change).
inline void expect_same_outputs(const RecurrentOutputs<float>& a, const RecurrentOutputs<float>& b,
                                const std::string& label) {
  const std::pair<const char*, std::pair<const std::vector<float>*, const std::vector<float>*>>
      arrays[] = {{"y", {&a.y, &b.y}},       {"h_last", {&a.h, &b.h}},
                  {"c_last", {&a.c, &b.c}},  {"dx", {&a.dx, &b.dx}},
                  {"dh0", {&a.dh0, &b.dh0}}, {"dc0", {&a.dc0, &b.dc0}},
                  {"dkernel", {&a.dw, &b.dw}},
                  {"drecurrent_kernel", {&a.dr, &b.dr}},
                  {"dbias", {&a.db, &b.db}}};
  for (const auto& [name, pair] : arrays)
    EXPECT_EQ(*pair.first, *pair.second) << label << " " << name;
}

}  // namespace recur::test
