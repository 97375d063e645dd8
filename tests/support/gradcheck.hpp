#pragma once
// Central-difference gradient checks in double precision (as mlpack's CheckGradient and ggml's
// test-backend-ops): perturb each parameter by +-eps, compare (L+ - L-) / 2eps with the analytic
// gradient by relative error |a - n| / max(|a| + |n|, floor).
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace recur::test {

/// Numerical gradient of loss() w.r.t. every element of `params` (restored afterwards).
inline std::vector<double> numeric_gradient(const std::function<double()>& loss,
                                            std::vector<double>& params, double eps = 1e-6) {
  std::vector<double> g(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const double saved = params[i];
    params[i] = saved + eps;
    const double plus = loss();
    params[i] = saved - eps;
    const double minus = loss();
    params[i] = saved;
    g[i] = (plus - minus) / (2 * eps);
  }
  return g;
}

/// Largest relative error between two gradients; absolute below `floor`.
inline double max_relative_error(const std::vector<double>& analytic,
                                 const std::vector<double>& numeric, double floor = 1e-7) {
  double worst = 0;
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    const double denom = std::max(std::fabs(analytic[i]) + std::fabs(numeric[i]), floor);
    worst = std::max(worst, std::fabs(analytic[i] - numeric[i]) / denom);
  }
  return worst;
}

/// Asserts the analytic gradient matches the numerical one within `bound` relative error.
inline void expect_gradient(const std::string& what, const std::vector<double>& analytic,
                            const std::function<double()>& loss, std::vector<double>& params,
                            double bound = 1e-5) {
  ASSERT_EQ(analytic.size(), params.size()) << what;
  const std::vector<double> numeric = numeric_gradient(loss, params);
  bool any_nonzero = false;
  for (double v : numeric) any_nonzero = any_nonzero || std::fabs(v) > 1e-9;
  EXPECT_TRUE(any_nonzero) << what << ": numerical gradient is all zero; the check proves nothing";
  EXPECT_LT(max_relative_error(analytic, numeric), bound) << what;
}

/// Deterministic pseudo-random values in [-scale, scale] (an LCG, so tests need no RNG state).
inline std::vector<double> random_values(std::size_t n, unsigned seed, double scale = 1.0) {
  std::vector<double> v(n);
  unsigned long long s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (double& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = scale * (static_cast<double>((s >> 11) & ((1ULL << 53) - 1)) / 9007199254740992.0 * 2 - 1);
  }
  return v;
}

inline std::vector<float> to_float(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

}  // namespace recur::test
