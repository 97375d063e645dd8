#include "recur/layers/dense.hpp"

#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"
#include "recur/core/tensor_pool.hpp"
#include "recur/layers/initializers.hpp"
#include "recur/ops/dense_kernels.hpp"

namespace recur {

Dense::Dense(const DenseOptions& options) : options_(options) {
  set_name(options.name());
  const std::string who = "Dense" + (options.name().empty() ? "" : " '" + options.name() + "'");
  if (options.units() == 0)
    throw ValueError(who + ": units must be a positive integer, got 0.", codes::kBadHyperparameter);
  activation_ = ops::parse_activation(options.activation(), who + " activation");
}

void Dense::build(const Shape& input_shape, Rng& rng) {
  if (input_shape.empty() || input_shape.back() == 0)
    throw ShapeError(label() + " expects input (batch, ..., features) with features > 0, got " +
                     shape_str(input_shape) + " after the batch axis.");
  if (input_shape.back() == kAnyDim)
    throw ShapeError(label() + " expects input (batch, ..., features) with a fixed number of features "
                     "(its kernel is (features, units)), got " + shape_str(with_batch(input_shape)) +
                     ": the last axis is None. Only the timesteps axis may be None; to feed token ids, "
                     "put an Embedding first.");
  const std::size_t F = input_shape.back(), O = options_.units();
  create_weight(kernel_, {F, O}, options_.kernel_initializer(), rng, label() + " kernel_initializer");
  if (options_.use_bias()) create_weight(bias_, {O}, options_.bias_initializer(), rng, label() + " bias_initializer");
  mark_built(input_shape);
}

Shape Dense::output_shape() const {
  Shape s = input_shape();
  s.back() = options_.units();
  return s;
}

std::vector<Weight*> Dense::weights() {
  if (options_.use_bias()) return {&kernel_, &bias_};
  return {&kernel_};
}

Tensor Dense::forward(const Tensor& x, bool /*training*/) {
  check_input(x);
  const std::size_t F = input_shape().back(), O = options_.units(), N = x.size() / F;
  Shape out = x.shape();
  out.back() = O;
  x_ = x;  // copy-assigned: reuses x_'s storage when the size repeats
  // dense_forward writes every value of y; y_ keeps a copy for backward (the activation's
  // derivative), again into its own storage.
  Tensor y = pooled_tensor(out);
  ops::dense_forward<float>(y.data(), x.data(), kernel_.value.data(),
                            options_.use_bias() ? bias_.value.data() : nullptr, N, F, O,
                            activation_);
  y_ = y;
  return y;
}

Tensor Dense::backward(const Tensor& dy) {
  if (dy.shape() != y_.shape())
    throw ShapeError(label() + ": gradient must have the output's shape " + y_.shape_str() +
                     ", got " + dy.shape_str() + ".");
  const std::size_t F = input_shape().back(), O = options_.units(), N = x_.size() / F;
  Tensor dx = pooled_tensor(x_.shape());  // dense_backward writes every value
  if (dz_.size() != dy.size()) dz_ = Tensor(dy.shape());
  ops::dense_backward<float>(dx.data(), kernel_.grad.data(),
                             options_.use_bias() ? bias_.grad.data() : nullptr, dz_.data(),
                             dy.data(), x_.data(), y_.data(), kernel_.value.data(), N, F, O,
                             activation_);
  return dx;
}

nlohmann::json Dense::get_config() const {
  return {{"name", name()},
          {"units", options_.units()},
          {"activation", options_.activation()},
          {"use_bias", options_.use_bias()},
          {"kernel_initializer", options_.kernel_initializer()},
          {"bias_initializer", options_.bias_initializer()}};
}

}  // namespace recur
