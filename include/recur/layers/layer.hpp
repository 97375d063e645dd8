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
/// The timesteps axis (axis 0) may be kAnyDim, Keras's None: the layer then takes any number of
/// timesteps >= 1 at run time, and its output_shape() keeps None where the output has that axis.
/// Every other extent is fixed.
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

  /// Forward with a mask (batch, timesteps) of 1 (a real step) and 0 (padding), as produced by
  /// Masking or Embedding(mask_zero). Recurrent layers skip masked steps; the default ignores
  /// the mask and calls forward(). An empty mask means none.
  virtual Tensor forward_masked(const Tensor& x, const Tensor& mask, bool training) {
    (void)mask;
    return forward(x, training);
  }
  /// The mask (batch, timesteps) that goes with this layer's output, given its input x and the
  /// input's mask (empty: none); an empty result means the output carries no mask. The default
  /// is Keras's for layers that support masking: the mask passes through when the output keeps
  /// the timestep axis, and is dropped when it does not (e.g. an RNN without return_sequences).
  virtual Tensor compute_mask(const Tensor& x, const Tensor& mask) const;
  /// Stateful recurrent layers forget their kept states (Keras's reset_states()); others do
  /// nothing.
  virtual void reset_states() {}
  /// Checks the values of data fed to this layer as the model's first layer, before training
  /// starts (e.g. Embedding's ids); throws ValueError naming `caller` and the sample. Default:
  /// nothing to check.
  virtual void check_input_values(const Tensor& x, const std::string& caller) const {
    (void)x;
    (void)caller;
  }

  /// The trainable weights in Keras's get_weights() order (empty for Dropout).
  virtual std::vector<Weight*> weights() { return {}; }
  /// The layer's random generators (dropout masks), inner layers' included, in a fixed order:
  /// a checkpoint stores their states so that a resumed fit draws the same masks.
  virtual std::vector<Rng*> random_generators() { return {}; }
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
  /// Throws ShapeError unless x is (batch, *input_shape()), a None axis taking any extent >= 1.
  void check_input(const Tensor& x) const;
  /// "LSTM 'lstm_1'" for messages.
  std::string label() const { return type() + " '" + name_ + "'"; }

 private:
  std::string name_;
  Shape input_shape_;
  bool built_ = false;
};

/// Keras's default layer name for a class: "LSTM" -> "lstm", "SimpleRNN" -> "simple_rnn".
std::string default_layer_name(const std::string& type);

/// Builds a layer from its Keras class name and get_config() JSON (what a model file stores):
/// LSTM, GRU, SimpleRNN, RNN, Bidirectional, TimeDistributed, Dense, Dropout, Activation,
/// Flatten, GlobalMaxPooling1D, GlobalAveragePooling1D, Masking, Embedding, Concatenate, Add,
/// Multiply, Average, RepeatVector, Reshape. Throws ValueError for an unknown class name and
/// nlohmann::json::exception for a missing field.
std::unique_ptr<Layer> layer_from_config(const std::string& class_name,
                                         const nlohmann::json& config);

}  // namespace recur
