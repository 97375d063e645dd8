#pragma once
// Sliding windows over a multivariate series, the supervised form of forecasting.
#include <cstddef>
#include <vector>

#include "recur/core/tensor.hpp"

namespace recur {

/// Inputs (samples, lookback, features) and targets (samples, 1).
struct Windows {
  Tensor x;
  Tensor y;
  /// For each sample, the series index t of its target.
  std::vector<std::size_t> target_index;
};

/// Windows whose targets are the series indices t in [t_begin, t_end). The sample for t takes
/// the inputs rows [t - horizon - lookback + 1, t - horizon] of `inputs` (N, features) and the
/// target target[t]: a horizon-step-ahead forecast from the lookback most recent known rows.
/// A target index at or past target.size() is allowed (a forecast beyond the data) and gets a
/// NaN target. Throws ValueError if lookback or horizon is 0, or if a window would start
/// before row 0 ("lookback 200 is longer than the series").
Windows make_windows(const Tensor& inputs, const std::vector<float>& target, std::size_t lookback,
                     std::size_t horizon, std::size_t t_begin, std::size_t t_end);

}  // namespace recur
