// The orthogonal initializer (LAPACK's Householder QR, src/layers/initializers.cpp) against a
// plain modified Gram-Schmidt reference on the same normal draws: the same Q, since Keras's sign
// convention (q * sign(diag(r))) makes Q unique; orthonormal rows or columns for tall, square
// and wide weights; the gain scales it.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "recur/core/random.hpp"
#include "recur/core/tensor.hpp"
#include "recur/layers/initializers.hpp"

namespace {

// Keras's definition, by Gram-Schmidt (R's diagonal positive by construction).
std::vector<double> reference_orthogonal(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  const bool wide = rows < cols;
  const std::size_t n = wide ? cols : rows, k = wide ? rows : cols;
  recur::Rng rng(seed);
  std::vector<double> a(n * k);
  for (double& v : a) v = rng.normal();
  for (std::size_t j = 0; j < k; ++j) {
    for (std::size_t p = 0; p < j; ++p) {
      double dot = 0;
      for (std::size_t i = 0; i < n; ++i) dot += a[i * k + p] * a[i * k + j];
      for (std::size_t i = 0; i < n; ++i) a[i * k + j] -= dot * a[i * k + p];
    }
    double norm = 0;
    for (std::size_t i = 0; i < n; ++i) norm += a[i * k + j] * a[i * k + j];
    for (std::size_t i = 0; i < n; ++i) a[i * k + j] /= std::sqrt(norm);
  }
  std::vector<double> w(rows * cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) w[r * cols + c] = wide ? a[c * k + r] : a[r * k + c];
  return w;
}

TEST(Orthogonal, MatchesKerasDefinitionForTallSquareAndWideWeights) {
  for (const auto& [rows, cols] : std::vector<std::pair<std::size_t, std::size_t>>{{40, 7}, {9, 9}, {8, 32}, {1, 5}}) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols));
    recur::Tensor w({rows, cols});
    recur::Rng rng(17);
    recur::orthogonal(w, rng);
    const std::vector<double> want = reference_orthogonal(rows, cols, 17);
    for (std::size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(w[i], want[i], 1e-5) << i;
    // Orthonormal columns (tall) or rows (wide).
    const bool wide = rows < cols;
    const std::size_t k = wide ? rows : cols, n = wide ? cols : rows;
    for (std::size_t a = 0; a < k; ++a)
      for (std::size_t b = 0; b < k; ++b) {
        double dot = 0;
        for (std::size_t i = 0; i < n; ++i)
          dot += wide ? w[a * cols + i] * w[b * cols + i] : w[i * cols + a] * w[i * cols + b];
        EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5);
      }
  }
}

TEST(Orthogonal, GainScalesTheMatrix) {
  recur::Tensor a({6, 12}), b({6, 12});
  recur::Rng r1(3), r2(3);
  recur::orthogonal(a, r1);
  recur::orthogonal(b, r2, 2.5f);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], 2.5f * a[i], 1e-6);
}

}  // namespace
