#pragma once
// Layer wrappers with Keras's semantics: Bidirectional (keras.io/api/layers/recurrent_layers/
// bidirectional; Schuster & Paliwal 1997) and TimeDistributed.
#include <memory>
#include <string>
#include <type_traits>

#include "recur/layers/layer.hpp"
#include "recur/layers/recurrent.hpp"

namespace recur {

/// Runs a recurrent layer over the sequence in both directions and merges the two outputs.
///
/// The backward layer is a copy of the given layer's configuration with go_backwards flipped and
/// its own weights. With return_sequences its output is reversed back to input time order, so
/// step t of both directions lines up (as Keras). merge_mode: "concat" (default; output
/// (..., 2*units)), "sum", "mul" or "ave" (output (..., units)). Weights: the forward layer's
/// (kernel, recurrent_kernel, bias), then the backward layer's - Keras's order. Masks reach both
/// directions.
///
/// In a Functional model (Keras's Bidirectional(LSTM(u, return_state=True)) and
/// initial_state=[...]): call() takes the forward layer's initial states then the backward
/// layer's, each (batch, units), and with return_state gives [output, forward states...,
/// backward states...] ([output, h_f, c_f, h_b, c_b] for an LSTM, [output, h_f, h_b] for GRU and
/// SimpleRNN), as Keras's Bidirectional (keras/src/layers/rnn/bidirectional.py). A Sequential
/// model refuses a wrapped layer with return_state (it passes one tensor on).
///
/// Throws ValueError for an unknown merge_mode or a null layer.
class Bidirectional : public Layer {
 public:
  explicit Bidirectional(std::unique_ptr<RNN> layer, const std::string& merge_mode = "concat",
                         std::string name = "");
  /// Bidirectional(LSTM(32)), Bidirectional(GRU(GruOptions(16).return_sequences(true)), "sum").
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<RNN, L>>>
  explicit Bidirectional(L layer, const std::string& merge_mode = "concat", std::string name = "")
      : Bidirectional(std::unique_ptr<RNN>(new L(std::move(layer))), merge_mode, std::move(name)) {}

  std::string type() const override { return "Bidirectional"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override;
  Tensor forward(const Tensor& x, bool training) override;
  Tensor forward_masked(const Tensor& x, const Tensor& mask, bool training) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Weight*> weights() override;
  std::vector<Rng*> random_generators() override;
  nlohmann::json get_config() const override;
  void reset_states() override;

  /// [output, forward states..., backward states...] (the states only with return_state) for x
  /// (batch, timesteps, features), `initial_state` (empty, or the forward layer's states then the
  /// backward layer's, each (batch, units)) and `mask` (batch, timesteps) or empty. Throws
  /// ShapeError for a wrong count or shape of initial states.
  std::vector<Tensor> call(const Tensor& x, const std::vector<Tensor>& initial_state, const Tensor& mask,
                           bool training);
  /// Backward for call(): `dys` are the gradients of call()'s outputs in order (an empty tensor,
  /// or a missing one, counts as zeros). Returns [dx, gradients of the initial states...] (the
  /// latter only when call() was given initial states). Weight gradients accumulate.
  std::vector<Tensor> backward_with_states(const std::vector<Tensor>& dys);
  /// True when the wrapped layer has return_state (call() then returns the states too).
  bool return_state() const { return forward_->rnn_options().return_state(); }
  /// States per direction: 2 for an LSTM, 1 for GRU and SimpleRNN.
  std::size_t state_count() const { return forward_->cell().state_count(); }

  const std::string& merge_mode() const noexcept { return merge_mode_; }
  RNN& forward_layer() { return *forward_; }
  const RNN& forward_layer() const { return *forward_; }
  RNN& backward_layer() { return *backward_; }
  const RNN& backward_layer() const { return *backward_; }

 private:
  std::unique_ptr<RNN> forward_, backward_;
  std::string merge_mode_;
  Tensor merge(Tensor yf, Tensor yb);
  // Recurrent multiply-adds of one timestep of one direction for `batch` rows.
  std::size_t step_macs(std::size_t batch) const;
  void split_gradient(const Tensor& dy, Tensor& dyf, Tensor& dyb) const;

  Tensor yf_, yb_;  // outputs of the last forward, time-aligned (for mul's gradient)
  std::size_t initial_states_ = 0;  // initial states given to the last call()
};

/// Applies a layer to every timestep independently (Keras TimeDistributed): input
/// (batch, timesteps, ...) is viewed as (batch * timesteps, ...) for the inner layer, and the
/// result reshaped to (batch, timesteps, ...). Weights are the inner layer's. A mask passes
/// through.
///
/// Throws ValueError for a null layer, ShapeError for input without a timestep axis.
class TimeDistributed : public Layer {
 public:
  explicit TimeDistributed(std::unique_ptr<Layer> layer, std::string name = "");
  template <typename L, typename = std::enable_if_t<std::is_base_of_v<Layer, L>>>
  explicit TimeDistributed(L layer, std::string name = "")
      : TimeDistributed(std::unique_ptr<Layer>(new L(std::move(layer))), std::move(name)) {}

  std::string type() const override { return "TimeDistributed"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override;
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Weight*> weights() override { return layer_->weights(); }
  std::vector<Rng*> random_generators() override { return layer_->random_generators(); }
  nlohmann::json get_config() const override;
  Layer& layer() { return *layer_; }

 private:
  std::unique_ptr<Layer> layer_;
  Shape x_shape_;
};

}  // namespace recur
