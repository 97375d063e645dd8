#pragma once
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace recur::test {

/// |a - b| <= atol + rtol * |b| element-wise, reporting the first failure with its index.
template <typename A, typename B>
inline void expect_allclose(const std::string& what, const A* a, const std::vector<B>& b,
                            double atol, double rtol) {
  for (std::size_t i = 0; i < b.size(); ++i) {
    const double x = static_cast<double>(a[i]), y = static_cast<double>(b[i]);
    if (!(std::fabs(x - y) <= atol + rtol * std::fabs(y))) {
      ADD_FAILURE() << what << "[" << i << "]: got " << x << ", expected " << y
                    << " (atol " << atol << ", rtol " << rtol << ")";
      return;
    }
  }
}

}  // namespace recur::test
