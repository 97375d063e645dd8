#pragma once
// The layer interface: build from an input shape, forward, backward, weights.
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "recur/core/random.hpp"
#include "recur/core/shape.hpp"
#include "recur/core/tensor.hpp"

namespace recur {

/// A trainable array and its gradient. `grad` has the shape of `value` and accumulates (+=)
/// in backward(); Layer::zero_grad() clears it.
struct Weight {
  std::string name;  // "kernel", "recurrent_kernel", "bias"
  Tensor value;
  Tensor grad;
};

/// Base of every layer. Shapes passed to build() and returned by output_shape() exclude the
/// batch axis, as Keras's input_shape does: an LSTM is built with (timesteps, features).
///
/// Life cycle: construct with options -> build(input_shape, rng) creates the weights ->
/// forward(x, training) caches what backward needs -> backward(dy) returns dx and accumulates
/// weight gradients.
class Layer {
 public:
  virtual ~Layer() = default;

  /// Keras class name, e.g. "LSTM".
  virtual std::string type() const = 0;
  /// Unique name inside a model ("lstm", "lstm_1"); set by Sequential::add when empty.
  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  /// Creates the weights for inputs of shape (batch, *input_shape); draws initial values from
  /// `rng`. Throws ShapeError if the layer cannot take that input rank or size.
  virtual void build(const Shape& input_shape, Rng& rng) = 0;
  bool built() const noexcept { return built_; }
  /// The input shape given to build(), without the batch axis.
  const Shape& input_shape() const noexcept { return input_shape_; }
  /// Output shape without the batch axis; valid after build().
  virtual Shape output_shape() const = 0;

  /// y = layer(x). x: (batch, *input_shape). `training` enables dropout.
  virtual Tensor forward(const Tensor& x, bool training) = 0;
  /// dx from dy = dL/dy (the shape of the last forward's output); weight gradients accumulate.
  virtual Tensor backward(const Tensor& dy) = 0;

  /// The trainable weights in Keras's get_weights() order (empty for Dropout).
  virtual std::vector<Weight*> weights() { return {}; }
  std::vector<const Weight*> weights() const;
  std::size_t count_params() const;
  void zero_grad();

  /// Constructor arguments as Keras-style JSON config (name included).
  virtual nlohmann::json get_config() const = 0;

 protected:
  /// Records the input shape and marks the layer built; call at the end of build().
  void mark_built(const Shape& input_shape) {
    input_shape_ = input_shape;
    built_ = true;
  }
  /// Throws ShapeError unless x is (batch, *input_shape()); `what` names the input.
  void check_input(const Tensor& x) const;
  /// "LSTM 'lstm_1'" for messages.
  std::string label() const { return type() + " '" + name_ + "'"; }

 private:
  std::string name_;
  Shape input_shape_;
  bool built_ = false;
};

}  // namespace recur
