#include "recur/data/windows.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "recur/core/error.hpp"

namespace recur {

Windows make_windows(const Tensor& inputs, const std::vector<float>& target, std::size_t lookback,
                     std::size_t horizon, std::size_t t_begin, std::size_t t_end) {
  if (lookback == 0) throw ValueError("make_windows: lookback must be >= 1, got 0.");
  if (horizon == 0) throw ValueError("make_windows: horizon must be >= 1, got 0.");
  if (inputs.rank() != 2)
    throw ShapeError("make_windows: inputs must be (rows, features), got " + inputs.shape_str() + ".");
  const std::size_t n = inputs.dim(0), f = inputs.dim(1);
  if (t_end <= t_begin)
    throw ValueError("make_windows: no targets in [" + std::to_string(t_begin) + ", " +
                     std::to_string(t_end) + ").");
  if (t_begin + 1 < lookback + horizon || t_end - horizon > n)
    throw ValueError("make_windows: lookback " + std::to_string(lookback) + " with horizon " +
                     std::to_string(horizon) + " needs " + std::to_string(lookback + horizon) +
                     " points before the first target, but the series has " + std::to_string(n) +
                     " rows and the first target is at index " + std::to_string(t_begin) +
                     ". Use a shorter lookback or a longer series.", codes::kBadHyperparameter);
  const std::size_t s = t_end - t_begin;
  Windows w{Tensor({s, lookback, f}), Tensor({s, 1}), {}};
  for (std::size_t i = 0; i < s; ++i) {
    const std::size_t t = t_begin + i;
    const std::size_t first = t + 1 - horizon - lookback;
    std::copy_n(inputs.data() + first * f, lookback * f, w.x.data() + i * lookback * f);
    w.y[i] = t < target.size() ? target[t] : NAN;
    w.target_index.push_back(t);
  }
  return w;
}

}  // namespace recur
