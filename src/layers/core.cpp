#include "recur/layers/core.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/core/tensor_pool.hpp"
#include "recur/layers/initializers.hpp"

namespace recur {

// --- Activation --------------------------------------------------------------------------------

Activation::Activation(const std::string& activation, std::string name)
    : activation_name_(activation),
      activation_(ops::parse_activation(activation, "Activation" +
                                                        (name.empty() ? "" : " '" + name + "'"))) {
  set_name(std::move(name));
}

void Activation::build(const Shape& input_shape, Rng& /*rng*/) {
  if (input_shape.empty())
    throw ShapeError(label() + " expects input (batch, ..., features), got no axes after the batch.");
  mark_built(input_shape);
}

Tensor Activation::forward(const Tensor& x, bool /*training*/) {
  check_input(x);
  // y_ (kept for backward) and the returned copy come from the current TensorPool and are
  // written in full.
  recycle(std::move(y_));
  y_ = pooled_tensor(x.shape());
  const std::size_t cols = x.shape().back();
  ops::activation_forward<float>(y_.data(), x.data(), x.size() / cols, cols, activation_);
  Tensor y = pooled_tensor(x.shape());
  std::copy_n(y_.data(), y_.size(), y.data());
  return y;
}

Tensor Activation::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw ShapeError(label() + ": gradient must have the output's shape " + y_.shape_str() +
                     ", got " + dy.shape_str() + ".");
  Tensor dx = pooled_tensor(dy.shape());  // written in full
  const std::size_t cols = dy.shape().back();
  ops::activation_backward<float>(dx.data(), dy.data(), y_.data(), dy.size() / cols, cols,
                                  activation_);
  return dx;
}

nlohmann::json Activation::get_config() const {
  return {{"name", name()}, {"activation", activation_name_}};
}

// --- Flatten -----------------------------------------------------------------------------------

Flatten::Flatten(std::string name) { set_name(std::move(name)); }

void Flatten::build(const Shape& input_shape, Rng& /*rng*/) {
  if (input_shape.empty())
    throw ShapeError(label() + " expects input with at least one axis after the batch, got " +
                     shape_str(with_batch(input_shape)) + ".");
  // Its output size is the product of the input's extents: with None timesteps it would change
  // from batch to batch, and the next layer's weights could not be sized.
  if (std::find(input_shape.begin(), input_shape.end(), kAnyDim) != input_shape.end())
    throw ShapeError(label() + " needs a fixed number of timesteps: it flattens every sample to one "
                     "vector, but its input " + shape_str(with_batch(input_shape)) + " has None "
                     "timesteps (any length). Give the Input a fixed number of timesteps, or reduce "
                     "the timestep axis with GlobalAveragePooling1D, GlobalMaxPooling1D or a recurrent "
                     "layer without return_sequences.");
  mark_built(input_shape);
}

Shape Flatten::output_shape() const { return {shape_size(input_shape())}; }

Tensor Flatten::forward(const Tensor& x, bool /*training*/) {
  check_input(x);
  x_shape_ = x.shape();
  return x.reshape({x.dim(0), x.size() / x.dim(0)});
}

Tensor Flatten::backward(const Tensor& dy) {
  if (x_shape_.empty() || dy.size() != shape_size(x_shape_))
    throw ShapeError(label() + ": gradient of " + dy.shape_str() + " does not fit the last input " +
                     shape_str(x_shape_) + ".");
  return dy.reshape(x_shape_);
}

nlohmann::json Flatten::get_config() const { return {{"name", name()}}; }

// --- Masking -----------------------------------------------------------------------------------

Masking::Masking(float mask_value, std::string name) : mask_value_(mask_value) {
  set_name(std::move(name));
  if (!std::isfinite(mask_value))
    throw ValueError("Masking: mask_value must be a finite number, got " +
                     std::to_string(mask_value) + ".");
}

void Masking::build(const Shape& input_shape, Rng& /*rng*/) {
  if (input_shape.size() != 2)
    throw ShapeError(label() + " expects input (batch, timesteps, features), got " +
                     shape_str(with_batch(input_shape)) + ".");
  mark_built(input_shape);
}

Tensor Masking::compute_mask(const Tensor& x, const Tensor& /*mask*/) const {
  const std::size_t B = x.dim(0), T = x.dim(1), F = x.dim(2);
  Tensor keep({B, T});
  for (std::size_t r = 0; r < B * T; ++r) {
    bool any = false;
    for (std::size_t f = 0; f < F && !any; ++f) any = x[r * F + f] != mask_value_;
    keep[r] = any ? 1.0f : 0.0f;
  }
  return keep;
}

Tensor Masking::forward(const Tensor& x, bool /*training*/) {
  check_input(x);
  keep_ = compute_mask(x, {});
  Tensor y = x;
  const std::size_t F = x.dim(2);
  for (std::size_t r = 0; r < keep_.size(); ++r)
    if (keep_[r] == 0.0f) std::fill_n(y.data() + r * F, F, 0.0f);
  return y;
}

Tensor Masking::backward(const Tensor& dy) {
  if (dy.rank() != 3 || dy.dim(0) * dy.dim(1) != keep_.size())
    throw ShapeError(label() + ": gradient " + dy.shape_str() + " does not fit the last input.");
  Tensor dx = dy;
  const std::size_t F = dy.dim(2);
  for (std::size_t r = 0; r < keep_.size(); ++r)
    if (keep_[r] == 0.0f) std::fill_n(dx.data() + r * F, F, 0.0f);
  return dx;
}

nlohmann::json Masking::get_config() const {
  return {{"name", name()}, {"mask_value", mask_value_}};
}

// --- GlobalPooling1D ---------------------------------------------------------------------------

GlobalPooling1D::GlobalPooling1D(bool max, std::string name) : max_(max) {
  set_name(std::move(name));
}

void GlobalPooling1D::build(const Shape& input_shape, Rng& /*rng*/) {
  if (input_shape.size() != 2)
    throw ShapeError(label() + " expects input (batch, timesteps, features), got " +
                     shape_str(with_batch(input_shape)) + "; give the recurrent layer before it "
                     "return_sequences=true.");
  mark_built(input_shape);
}

Tensor GlobalPooling1D::forward(const Tensor& x, bool training) {
  return forward_masked(x, {}, training);
}

Tensor GlobalPooling1D::forward_masked(const Tensor& x, const Tensor& mask, bool /*training*/) {
  check_input(x);
  x_shape_ = x.shape();
  mask_ = mask;
  const std::size_t B = x.dim(0), T = x.dim(1), F = x.dim(2);
  auto kept = [&](std::size_t b, std::size_t t) { return mask.empty() || mask[b * T + t] != 0.0f; };
  Tensor y({B, F});
  if (max_) {
    argmax_.assign(B * F, T);  // T: no kept step
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t t = 0; t < T; ++t) {
        if (!kept(b, t)) continue;
        for (std::size_t f = 0; f < F; ++f) {
          std::size_t& best = argmax_[b * F + f];
          if (best == T || x[(b * T + t) * F + f] > x[(b * T + best) * F + f]) best = t;
        }
      }
    for (std::size_t k = 0; k < B * F; ++k)
      if (argmax_[k] < T) y[k] = x[((k / F) * T + argmax_[k]) * F + k % F];
  } else {
    weight_.assign(B * T, 0.0f);
    for (std::size_t b = 0; b < B; ++b) {
      std::size_t n = 0;
      for (std::size_t t = 0; t < T; ++t) n += kept(b, t);
      for (std::size_t t = 0; t < T; ++t)
        if (kept(b, t)) weight_[b * T + t] = 1.0f / static_cast<float>(n);
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t f = 0; f < F; ++f) y[b * F + f] += weight_[b * T + t] * x[(b * T + t) * F + f];
    }
  }
  return y;
}

Tensor GlobalPooling1D::backward(const Tensor& dy) {
  if (x_shape_.size() != 3 || dy.shape() != Shape{x_shape_[0], x_shape_[2]})
    throw ShapeError(label() + ": gradient " + dy.shape_str() + " does not fit the last output.");
  const std::size_t B = x_shape_[0], T = x_shape_[1], F = x_shape_[2];
  Tensor dx(x_shape_);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t f = 0; f < F; ++f) {
      if (max_) {
        if (argmax_[b * F + f] < T) dx[(b * T + argmax_[b * F + f]) * F + f] = dy[b * F + f];
      } else {
        for (std::size_t t = 0; t < T; ++t) dx[(b * T + t) * F + f] = weight_[b * T + t] * dy[b * F + f];
      }
    }
  return dx;
}

nlohmann::json GlobalPooling1D::get_config() const { return {{"name", name()}}; }

// --- Embedding ---------------------------------------------------------------------------------

Embedding::Embedding(const EmbeddingOptions& options) : options_(options) {
  set_name(options.name());
  if (options.input_dim() == 0 || options.output_dim() == 0)
    throw ValueError("Embedding: input_dim and output_dim must be positive, got input_dim " +
                     std::to_string(options.input_dim()) + " and output_dim " +
                     std::to_string(options.output_dim()) + ". input_dim is the number of "
                     "distinct ids (vocabulary size, + 1 for the padding id 0 with mask_zero).");
}

void Embedding::build(const Shape& input_shape, Rng& rng) {
  if (input_shape.size() != 1 || input_shape[0] == 0)
    throw ShapeError(label() + " expects input (batch, timesteps) of integer ids, got " +
                     shape_str(with_batch(input_shape)) + ". One-hot or float features do not "
                     "need an Embedding: feed them to the recurrent layer directly.");
  create_weight(embeddings_, {options_.input_dim(), options_.output_dim()}, options_.embeddings_initializer(),
                rng, label() + " embeddings_initializer");
  mark_built(input_shape);
}

Shape Embedding::output_shape() const { return {input_shape().at(0), options_.output_dim()}; }

void Embedding::check_input_values(const Tensor& x, const std::string& caller) const {
  const std::size_t T = x.rank() == 2 ? x.dim(1) : 1;
  const float limit = static_cast<float>(options_.input_dim());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float v = x[i];
    if (!(v >= 0.0f && v < limit && v == std::floor(v)))
      throw ValueError(caller + ": " + label() + " takes integer ids in [0, " +
                       std::to_string(options_.input_dim()) + "); sample " +
                       std::to_string(i / T) + ", timestep " + std::to_string(i % T) + " has " +
                       std::to_string(v) + ". Map the symbols to ids first, and make input_dim "
                       "the number of distinct ids" +
                       (options_.mask_zero() ? " + 1 (id 0 is the padding)." : "."));
  }
}

Tensor Embedding::compute_mask(const Tensor& x, const Tensor& mask) const {
  if (!options_.mask_zero()) return mask;
  Tensor keep(x.shape());
  for (std::size_t i = 0; i < x.size(); ++i) keep[i] = x[i] != 0.0f ? 1.0f : 0.0f;
  return keep;
}

Tensor Embedding::forward(const Tensor& x, bool /*training*/) {
  check_input(x);
  check_input_values(x, "Embedding");
  x_ = x;
  const std::size_t D = options_.output_dim();
  Tensor y = pooled_tensor({x.dim(0), x.dim(1), D});  // every row written below
  for (std::size_t i = 0; i < x.size(); ++i)
    std::copy_n(embeddings_.value.data() + static_cast<std::size_t>(x[i]) * D, D, y.data() + i * D);
  return y;
}

Tensor Embedding::backward(const Tensor& dy) {
  const std::size_t D = options_.output_dim();
  if (dy.size() != x_.size() * D)
    throw ShapeError(label() + ": gradient " + dy.shape_str() + " does not fit the last input " +
                     x_.shape_str() + ".");
  for (std::size_t i = 0; i < x_.size(); ++i) {
    float* g = embeddings_.grad.data() + static_cast<std::size_t>(x_[i]) * D;
    for (std::size_t k = 0; k < D; ++k) g[k] += dy[i * D + k];
  }
  return pooled_zeros(x_.shape());  // ids are not differentiable
}

nlohmann::json Embedding::get_config() const {
  return {{"name", name()},
          {"input_dim", options_.input_dim()},
          {"output_dim", options_.output_dim()},
          {"embeddings_initializer", options_.embeddings_initializer()},
          {"mask_zero", options_.mask_zero()}};
}

}  // namespace recur
