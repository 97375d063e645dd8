#include <gtest/gtest.h>

#include "recur/core/error.hpp"
#include "recur/core/tensor.hpp"

TEST(Tensor, ShapeStringMatchesPython) {
  EXPECT_EQ(recur::Tensor({32, 50, 8}).shape_str(), "(32, 50, 8)");
  EXPECT_EQ(recur::Tensor({4}).shape_str(), "(4,)");
}
