#pragma once
// A float32 central-difference check of a whole Layer (forward + backward), for layers built
// from kernels that are themselves checked in double precision: it catches wiring mistakes
// (a wrong half, a wrong time order, a missing factor), not rounding. L = sum(layer(x) * gy).
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "recur/layers/layer.hpp"
#include "support/gradcheck.hpp"

namespace recur::test {

inline void expect_layer_gradient(Layer& layer, Tensor x, const Tensor& mask = {},
                                  double bound = 2e-2) {
  auto run = [&](const Tensor& in) {
    return mask.empty() ? layer.forward(in, false) : layer.forward_masked(in, mask, false);
  };
  const Tensor y0 = run(x);
  const std::vector<double> gyd = random_values(y0.size(), 77);
  const Tensor gy(y0.shape(), to_float(gyd));
  auto loss = [&]() {
    const Tensor y = run(x);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += static_cast<double>(y[i]) * gy[i];
    return l;
  };
  layer.zero_grad();
  run(x);
  const Tensor dx = layer.backward(gy);
  auto numeric = [&](float& v) {
    const float saved = v, eps = 1e-2f;
    v = saved + eps;
    const double plus = loss();
    v = saved - eps;
    const double minus = loss();
    v = saved;
    return (plus - minus) / (2.0 * eps);
  };
  auto compare = [&](const std::string& what, double analytic, double num) {
    const double err = std::fabs(analytic - num) / std::max(std::fabs(analytic) + std::fabs(num), 1e-3);
    EXPECT_LT(err, bound) << what << ": analytic " << analytic << ", numeric " << num;
  };
  for (std::size_t i = 0; i < x.size(); ++i) compare("dx[" + std::to_string(i) + "]", dx[i], numeric(x[i]));
  for (Weight* w : layer.weights())
    for (std::size_t i = 0; i < w->value.size(); i += 3)
      compare(w->name + "[" + std::to_string(i) + "]", w->grad[i], numeric(w->value[i]));
}

}  // namespace recur::test
