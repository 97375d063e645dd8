#pragma once
// Fully connected layer (Keras Dense): y = activation(x . kernel + bias).
#include <cstddef>
#include <string>

#include "recur/core/options.hpp"
#include "recur/layers/layer.hpp"
#include "recur/ops/activations.hpp"

namespace recur {

/// Options of a Dense layer; defaults are Keras's. `units` is required.
struct DenseOptions {
  explicit DenseOptions(std::size_t units) : units_(units) {}
  /// Output size; must be > 0.
  RECUR_ARG(std::size_t, units);
  /// linear (default), relu, tanh, sigmoid, softmax, hard_sigmoid (Keras 3's clip(x/6 + 0.5)),
  /// legacy_hard_sigmoid (Keras 1/2's clip(0.2x + 0.5)), elu, selu, softplus, softsign or
  /// exponential, with Keras's definitions (keras/src/activations).
  RECUR_ARG(std::string, activation) = "linear";
  RECUR_ARG(bool, use_bias) = true;
  RECUR_ARG(std::string, kernel_initializer) = "glorot_uniform";
  RECUR_ARG(std::string, bias_initializer) = "zeros";
  RECUR_ARG(std::string, name) = "";
};

/// Densely connected layer. Input (batch, ..., features), output (batch, ..., units): like
/// Keras, a rank-3 input (batch, timesteps, features) is transformed at every timestep.
/// Weights: kernel (features, units), bias (units,).
/// Throws ValueError for units == 0 or an unknown activation, ShapeError on a shape mismatch.
class Dense : public Layer {
 public:
  explicit Dense(const DenseOptions& options);
  explicit Dense(std::size_t units, const std::string& activation = "linear")
      : Dense(DenseOptions(units).activation(activation)) {}

  std::string type() const override { return "Dense"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override;
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Weight*> weights() override;
  nlohmann::json get_config() const override;
  const DenseOptions& options() const noexcept { return options_; }

 private:
  DenseOptions options_;
  ops::Activation activation_;
  Weight kernel_{"kernel", {}, {}};
  Weight bias_{"bias", {}, {}};
  Tensor x_, y_, dz_;  // cache of the last forward, scratch for backward
};

}  // namespace recur
