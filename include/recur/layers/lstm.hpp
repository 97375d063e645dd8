#pragma once
// LSTM layer with Keras's arguments, defaults, weight layout and gate order.
// Source of the equations: Hochreiter & Schmidhuber (1997), Gers et al. (2000); the Keras LSTM
// docs (keras.io/api/layers/recurrent_layers/lstm). See recur/ops/lstm_kernels.hpp.
#include <cstddef>
#include <string>

#include "recur/core/options.hpp"
#include "recur/layers/layer.hpp"
#include "recur/ops/lstm_kernels.hpp"

namespace recur {

/// Options of an LSTM layer; defaults are Keras's. `units` is required.
struct LstmOptions {
  explicit LstmOptions(std::size_t units) : units_(units) {}
  /// Dimension of the hidden state h and cell state c; must be > 0.
  RECUR_ARG(std::size_t, units);
  /// Activation of the candidate gate and of the cell output: tanh, relu, sigmoid or linear.
  RECUR_ARG(std::string, activation) = "tanh";
  /// Activation of the input, forget and output gates.
  RECUR_ARG(std::string, recurrent_activation) = "sigmoid";
  RECUR_ARG(bool, use_bias) = true;
  /// Add 1 to the forget-gate bias at initialization (Jozefowicz et al. 2015), as Keras.
  RECUR_ARG(bool, unit_forget_bias) = true;
  RECUR_ARG(std::string, kernel_initializer) = "glorot_uniform";
  RECUR_ARG(std::string, recurrent_initializer) = "orthogonal";
  RECUR_ARG(std::string, bias_initializer) = "zeros";
  /// Output every step (batch, timesteps, units) instead of the last (batch, units).
  RECUR_ARG(bool, return_sequences) = false;
  /// call() also returns the final h and c. A Sequential model cannot use this.
  RECUR_ARG(bool, return_state) = false;
  /// Process the input last step first; sequence outputs come in processing order.
  RECUR_ARG(bool, go_backwards) = false;
  RECUR_ARG(std::string, name) = "";
};

/// The final states of an LSTM, each (batch, units).
struct LstmState {
  Tensor h;
  Tensor c;
};

/// What LSTM::call returns: output (batch, timesteps, units) with return_sequences, else
/// (batch, units); h and c (batch, units), the final states.
struct LstmOutput {
  Tensor output;
  Tensor h;
  Tensor c;
};

/// Gradients returned by LSTM::backward_with_state: dx (batch, timesteps, features), and dh0,
/// dc0 (batch, units), the gradients of the initial state.
struct LstmGradients {
  Tensor dx;
  Tensor dh0;
  Tensor dc0;
};

/// Long short-term memory layer.
///
/// Input (batch, timesteps, features). Output (batch, units), or (batch, timesteps, units) with
/// return_sequences. Weights (Keras layout): kernel (features, 4*units), recurrent_kernel
/// (units, 4*units), bias (4*units,), gate blocks in the order i, f, c, o. A PyTorch nn.LSTM
/// has weight_ih = kernel^T, weight_hh = recurrent_kernel^T, bias_ih + bias_hh = bias.
///
/// Throws ValueError for units == 0 or an unknown activation/initializer name, ShapeError when
/// built for an input that is not (timesteps, features) or called with a mismatching tensor.
class LSTM : public Layer {
 public:
  explicit LSTM(const LstmOptions& options);
  explicit LSTM(std::size_t units) : LSTM(LstmOptions(units)) {}

  std::string type() const override { return "LSTM"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override;
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Weight*> weights() override;
  nlohmann::json get_config() const override;

  /// Forward with an optional initial state (h0, c0), each (batch, units); returns the output
  /// and the final states. Builds the layer from x's shape on first use when not yet built.
  LstmOutput call(const Tensor& x, const LstmState* initial_state = nullptr);
  /// Backward for call(): dy is the gradient of the output (may be empty), dh and dc those of
  /// the final states (may be null). Weight gradients accumulate.
  LstmGradients backward_with_state(const Tensor& dy, const Tensor* dh, const Tensor* dc);

  const LstmOptions& options() const noexcept { return options_; }
  Weight& kernel() { return kernel_; }
  Weight& recurrent_kernel() { return recurrent_kernel_; }
  Weight& bias() { return bias_; }

 private:
  ops::LstmDims dims_for(const Tensor& x) const;
  LstmOptions options_;
  ops::LstmConfig config_;
  Weight kernel_{"kernel", {}, {}};
  Weight recurrent_kernel_{"recurrent_kernel", {}, {}};
  Weight bias_{"bias", {}, {}};
  ops::LstmCache<float> cache_;
  bool cached_ = false;
};

}  // namespace recur
