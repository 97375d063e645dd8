#include "recur/layers/dropout.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/core/tensor_pool.hpp"

namespace recur {

Dropout::Dropout(float rate, std::string name) : rate_(rate) {
  set_name(std::move(name));
  if (!(rate >= 0.0f && rate < 1.0f))
    throw ValueError("Dropout: rate must be in [0, 1), got " + std::to_string(rate) +
                     ". It is the fraction of inputs dropped, e.g. 0.2.", codes::kBadHyperparameter);
}

void Dropout::build(const Shape& input_shape, Rng& rng) {
  rng_ = Rng(rng.next_seed());
  mark_built(input_shape);
}

// Outputs, the mask and gradients come from the current TensorPool (a Model's fit / predict
// reuse them across batches) and are written in full.
Tensor Dropout::forward(const Tensor& x, bool training) {
  check_input(x);
  masked_ = training && rate_ > 0.0f;
  Tensor y = pooled_tensor(x.shape());
  if (!masked_) {
    std::copy_n(x.data(), x.size(), y.data());
    return y;
  }
  recycle(std::move(mask_));
  mask_ = pooled_tensor(x.shape());
  const float scale = 1.0f / (1.0f - rate_);
  for (std::size_t i = 0; i < x.size(); ++i) {
    mask_[i] = rng_.uniform() < rate_ ? 0.0f : scale;
    y[i] = x[i] * mask_[i];
  }
  return y;
}

Tensor Dropout::backward(const Tensor& dy) {
  if (masked_ && dy.shape() != mask_.shape())
    throw ShapeError(label() + ": gradient must have the output's shape " + mask_.shape_str() +
                     ", got " + dy.shape_str() + ".");
  Tensor dx = pooled_tensor(dy.shape());
  if (!masked_) std::copy_n(dy.data(), dy.size(), dx.data());
  else
    for (std::size_t i = 0; i < dy.size(); ++i) dx[i] = dy[i] * mask_[i];
  return dx;
}

nlohmann::json Dropout::get_config() const { return {{"name", name()}, {"rate", rate_}}; }

}  // namespace recur
