#pragma once
// Tensors and paths the tests share: seeded random tensors, the largest elementwise difference,
// and temporary file names that carry the process id (ctest -j runs test processes side by side,
// which must never write the same file).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "recur/core/tensor.hpp"
#include "support/gradcheck.hpp"

namespace recur::test {

/// A tensor of `shape` filled with seeded values in [-scale, scale) (random_values).
inline Tensor random_tensor(Shape shape, unsigned seed, float scale = 1.0f) {
  const std::size_t n = shape_size(shape);
  std::vector<float> v = to_float(random_values(n, seed));
  for (float& x : v) x *= scale;
  return Tensor(std::move(shape), std::move(v));
}

/// max |a - b| over all elements; a shape mismatch fails the test and gives infinity.
inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return std::numeric_limits<float>::infinity();
  float d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

/// A path in the temporary folder: "recur_<prefix>_<pid>_<name>".
inline std::string temp_path(const std::string& prefix, const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("recur_" + prefix + "_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

}  // namespace recur::test
