#pragma once
// Recurrent cells (LSTMCell, GRUCell, SimpleRNNCell), the RNN layer that scans a cell over time,
// and the LSTM, GRU and SimpleRNN layers, with Keras's arguments, defaults, weight layouts and
// gate orders. Equations and sources: recur/ops/recurrent_kernels.hpp; Keras docs
// keras.io/api/layers/recurrent_layers/.
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "recur/core/options.hpp"
#include "recur/layers/layer.hpp"
#include "recur/ops/recurrent_kernels.hpp"
#include "recur/ops/recurrent_stepper.hpp"

// Arguments every cell has (Keras's names and defaults).
#define RECUR_CELL_COMMON_ARGS                                          \
  /* Activation of the candidate/output: tanh (default), or any element-wise name of */ \
  /* recur/ops/activations.hpp (relu, sigmoid, hard_sigmoid, elu, softsign, linear...). */ \
  RECUR_ARG(std::string, activation) = "tanh";                          \
  RECUR_ARG(bool, use_bias) = true;                                     \
  RECUR_ARG(std::string, kernel_initializer) = "glorot_uniform";        \
  RECUR_ARG(std::string, recurrent_initializer) = "orthogonal";         \
  RECUR_ARG(std::string, bias_initializer) = "zeros";                   \
  /* Fraction in [0, 1) of input features dropped in training, one mask per sequence. */ \
  RECUR_ARG(float, dropout) = 0.0f;                                     \
  /* Fraction in [0, 1) of the recurrent state dropped, one mask per sequence. */ \
  RECUR_ARG(float, recurrent_dropout) = 0.0f

#define RECUR_LSTM_CELL_ARGS                                            \
  RECUR_CELL_COMMON_ARGS;                                               \
  /* Activation of the input, forget and output gates (e.g. hard_sigmoid). */ \
  RECUR_ARG(std::string, recurrent_activation) = "sigmoid";             \
  /* Add 1 to the forget-gate bias at initialization (Jozefowicz et al. 2015). */ \
  RECUR_ARG(bool, unit_forget_bias) = true

#define RECUR_GRU_CELL_ARGS                                             \
  RECUR_CELL_COMMON_ARGS;                                               \
  /* Activation of the update and reset gates (e.g. hard_sigmoid). */  \
  RECUR_ARG(std::string, recurrent_activation) = "sigmoid";             \
  /* Reset gate after the recurrent product (Keras default; PyTorch's GRU). */ \
  RECUR_ARG(bool, reset_after) = true

// Arguments of every recurrent layer (Keras's RNN base class).
#define RECUR_RECURRENT_LAYER_ARGS                                      \
  /* Output every step (batch, timesteps, units) instead of the last (batch, units). */ \
  RECUR_ARG(bool, return_sequences) = false;                            \
  /* call() also returns the final states. A Sequential model cannot use this. */ \
  RECUR_ARG(bool, return_state) = false;                                \
  /* Process the input last step first; sequence outputs come in processing order. */ \
  RECUR_ARG(bool, go_backwards) = false;                                \
  /* Keep the final states of a batch as the initial states of the next (reset_states()). */ \
  RECUR_ARG(bool, stateful) = false;                                    \
  /* With return_sequences and a mask: a masked step outputs zeros (true), or repeats the */ \
  /* previous step's output (false, Keras's default; zeros before the first kept step). */ \
  RECUR_ARG(bool, zero_output_for_mask) = false;                        \
  RECUR_ARG(std::string, name) = ""

namespace recur {

/// Options of an LSTMCell; `units` (> 0) is required, the rest are Keras's defaults.
struct LstmCellOptions {
  explicit LstmCellOptions(std::size_t units) : units_(units) {}
  RECUR_ARG(std::size_t, units);
  RECUR_LSTM_CELL_ARGS;
};
/// Options of a GRUCell.
struct GruCellOptions {
  explicit GruCellOptions(std::size_t units) : units_(units) {}
  RECUR_ARG(std::size_t, units);
  RECUR_GRU_CELL_ARGS;
};
/// Options of a SimpleRNNCell.
struct SimpleRnnCellOptions {
  explicit SimpleRnnCellOptions(std::size_t units) : units_(units) {}
  RECUR_ARG(std::size_t, units);
  RECUR_CELL_COMMON_ARGS;
};
/// Options of an LSTM layer: the cell's and the recurrent layer's arguments.
struct LstmOptions {
  explicit LstmOptions(std::size_t units) : units_(units) {}
  RECUR_ARG(std::size_t, units);
  RECUR_LSTM_CELL_ARGS;
  RECUR_RECURRENT_LAYER_ARGS;
};
/// Options of a GRU layer.
struct GruOptions {
  explicit GruOptions(std::size_t units) : units_(units) {}
  RECUR_ARG(std::size_t, units);
  RECUR_GRU_CELL_ARGS;
  RECUR_RECURRENT_LAYER_ARGS;
};
/// Options of a SimpleRNN layer.
struct SimpleRnnOptions {
  explicit SimpleRnnOptions(std::size_t units) : units_(units) {}
  RECUR_ARG(std::size_t, units);
  RECUR_CELL_COMMON_ARGS;
  RECUR_RECURRENT_LAYER_ARGS;
};
/// Options of an RNN(cell) layer.
struct RnnOptions {
  RECUR_RECURRENT_LAYER_ARGS;
};

/// Everything that defines a cell, whatever its kind (the union of the option structs).
struct CellSpec {
  ops::CellKind kind = ops::CellKind::kLstm;
  std::size_t units = 0;
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid";
  bool use_bias = true;
  bool unit_forget_bias = true;  // LSTM
  bool reset_after = true;       // GRU
  std::string kernel_initializer = "glorot_uniform";
  std::string recurrent_initializer = "orthogonal";
  std::string bias_initializer = "zeros";
  float dropout = 0.0f;
  float recurrent_dropout = 0.0f;
};

/// One timestep of a recurrent network, as Keras's LSTMCell / GRUCell / SimpleRNNCell: it holds
/// the weights and maps (x_t, states) to new states. Use it directly to step a sequence yourself
/// (streaming inference), or wrap it in RNN(cell) to run it over sequences as a layer. A cell is
/// not a Layer: adding one to a Sequential model does not compile (use LSTM or RNN(cell)).
///
/// States: [h, c] for LSTMCell, [h] for the others, each (batch, units); the output of a step is
/// the new h. Weights (Keras layout, gate blocks in Keras order): kernel (features, G),
/// recurrent_kernel (units, G), bias (G,) - for GRUCell with reset_after (2, G) - where G is
/// 4*units (i, f, c, o), 3*units (z, r, h) or units.
///
/// Throws ValueError for units == 0, an unknown activation or initializer, softmax as a cell
/// activation, or dropout / recurrent_dropout outside [0, 1).
class RecurrentCell {
 public:
  /// `owner` names the layer that creates the cell in error messages ("LSTM 'encoder'"); empty:
  /// the cell's own type.
  explicit RecurrentCell(const CellSpec& spec, const std::string& owner = "");
  virtual ~RecurrentCell() = default;

  /// Keras class name: "LSTMCell", "GRUCell" or "SimpleRNNCell".
  std::string type() const;
  const CellSpec& spec() const noexcept { return spec_; }
  std::size_t units() const noexcept { return spec_.units; }
  /// Number of state tensors: 2 for LSTMCell (h, c), else 1 (h).
  std::size_t state_count() const noexcept;
  /// The kernel configuration (activations, kind) without the layer's flags.
  const ops::RecurrentConfig& kernel_config() const noexcept { return config_; }

  /// Creates the weights for `features` inputs per step, drawing from `rng`. Throws ShapeError
  /// for features == 0.
  void build(std::size_t features, Rng& rng);
  bool built() const noexcept { return features_ > 0; }
  std::size_t features() const noexcept { return features_; }

  /// kernel, recurrent_kernel and (with use_bias) bias, in Keras's get_weights() order.
  std::vector<Weight*> weights();
  Weight& kernel() { return kernel_; }
  Weight& recurrent_kernel() { return recurrent_kernel_; }
  Weight& bias() { return bias_; }
  const Weight& kernel() const { return kernel_; }
  const Weight& recurrent_kernel() const { return recurrent_kernel_; }
  const Weight& bias() const { return bias_; }

  /// One step: x_t (batch, features) and states (each (batch, units); empty: zeros) -> the new
  /// states. Builds the cell from x_t on first use. Inference: dropout is not applied. Throws
  /// ShapeError on a wrong rank, feature count or state shape.
  std::vector<Tensor> call(const Tensor& x_t, const std::vector<Tensor>& states = {});
  /// Streaming step in place on raw arrays: x_t (batch, features); h and c (batch, units) are
  /// read and overwritten with the new states (c is ignored, may be null, for GRU/SimpleRNN).
  /// For the fused kernel the weights are packed on the first call and again only when they
  /// have changed since (each call compares them with the packed snapshot), so training and
  /// set_weights are always seen; the portable kernel reads them where they are. Nothing is
  /// allocated after the first call with a given batch unless the weights changed. No checks:
  /// the cell must be built and the arrays sized as stated. For the fastest streaming (no
  /// comparison per step) use RecurrentStream (recur/layers/streaming.hpp).
  void step(const float* x_t, float* h, float* c, std::size_t batch = 1);

  /// Keras-style config of the cell (units, activations, initializers, dropout...).
  nlohmann::json get_config() const;

 private:
  CellSpec spec_;
  ops::RecurrentConfig config_;
  std::size_t features_ = 0;
  Weight kernel_{"kernel", {}, {}};
  Weight recurrent_kernel_{"recurrent_kernel", {}, {}};
  Weight bias_{"bias", {}, {}};
  ops::RecurrentStepper stepper_;  // step()'s packed weights, repacked when they change
};

/// LSTM cell (Hochreiter & Schmidhuber 1997): states [h, c].
class LSTMCell : public RecurrentCell {
 public:
  explicit LSTMCell(const LstmCellOptions& options);
  explicit LSTMCell(std::size_t units) : LSTMCell(LstmCellOptions(units)) {}
};
/// GRU cell (Cho et al. 2014): state [h].
class GRUCell : public RecurrentCell {
 public:
  explicit GRUCell(const GruCellOptions& options);
  explicit GRUCell(std::size_t units) : GRUCell(GruCellOptions(units)) {}
};
/// Fully connected recurrent cell (Elman 1990): state [h].
class SimpleRNNCell : public RecurrentCell {
 public:
  explicit SimpleRNNCell(const SimpleRnnCellOptions& options);
  explicit SimpleRNNCell(std::size_t units) : SimpleRNNCell(SimpleRnnCellOptions(units)) {}
};

/// Builds a cell from its type() and get_config(); throws ValueError on an unknown type.
std::shared_ptr<RecurrentCell> cell_from_config(const std::string& type,
                                                const nlohmann::json& config);

/// What RNN::call returns: output (batch, timesteps, units) with return_sequences, else
/// (batch, units); states: the final [h] or [h, c], each (batch, units).
struct RecurrentOutput {
  Tensor output;
  std::vector<Tensor> states;
};
/// What RNN::backward_with_state returns: dx (batch, timesteps, features) and the gradients of
/// the initial states, each (batch, units).
struct RecurrentGradients {
  Tensor dx;
  std::vector<Tensor> dstates;
};

/// A recurrent layer that runs a cell over the timesteps (Keras's keras.layers.RNN(cell)).
///
/// Input (batch, timesteps, features); output (batch, units), or (batch, timesteps, units) with
/// return_sequences. An optional mask (batch, timesteps) of 1/0 skips padded steps: a masked step
/// keeps the previous state and, with return_sequences, outputs the previous step's output
/// (zeros before the sample's first unmasked step, even with an initial state), or zeros with
/// zero_output_for_mask (Keras's semantics). Without return_sequences the output is the last
/// unmasked step's h (zeros for a sample with every step masked).
/// Dropout masks (the cell's dropout, recurrent_dropout) are drawn once per sequence per batch,
/// only in training. With stateful, the final states of one call are the initial states of the
/// next (gradients do not flow across calls, as in Keras); the batch size is then fixed by the
/// first call and a different one throws ShapeError until reset_states().
///
/// The cell is shared: weights trained through the layer are the cell's, and cell().step() can
/// then stream one timestep at a time.
///
/// Throws ShapeError for input that is not (batch, timesteps, features) or that differs from the
/// built shape, ValueError for a null cell.
class RNN : public Layer {
 public:
  explicit RNN(std::shared_ptr<RecurrentCell> cell, const RnnOptions& options = {});
  /// RNN(LSTMCell(32)) - the cell is moved into a shared pointer.
  template <typename C, typename = std::enable_if_t<std::is_base_of_v<RecurrentCell, C>>>
  explicit RNN(C cell, const RnnOptions& options = {})
      : RNN(std::shared_ptr<RecurrentCell>(new C(std::move(cell))), options) {}

  std::string type() const override { return "RNN"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override;
  Tensor forward(const Tensor& x, bool training) override;
  Tensor forward_masked(const Tensor& x, const Tensor& mask, bool training) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Weight*> weights() override { return cell_->weights(); }
  std::vector<Rng*> random_generators() override { return {&rng_}; }
  nlohmann::json get_config() const override;
  void reset_states() override;

  /// Forward with optional initial states (each (batch, units)) and mask (batch, timesteps);
  /// returns the output and the final states. Builds the layer from x on first use.
  RecurrentOutput call(const Tensor& x, const std::vector<Tensor>& initial_state = {},
                       const Tensor& mask = {}, bool training = false);
  /// Backward for call(): dy is the gradient of the output (may be empty), dstates those of the
  /// final states (empty, or one per state; an empty tensor counts as zeros). Weight gradients
  /// accumulate.
  RecurrentGradients backward_with_state(const Tensor& dy, const std::vector<Tensor>& dstates);

  RecurrentCell& cell() { return *cell_; }
  const RecurrentCell& cell() const { return *cell_; }
  std::shared_ptr<RecurrentCell> shared_cell() const { return cell_; }
  const RnnOptions& rnn_options() const noexcept { return rnn_; }
  /// Changes zero_output_for_mask after construction: Keras's Bidirectional forces it to
  /// return_sequences on both its layers.
  virtual void set_zero_output_for_mask(bool zero);
  /// The states kept by a stateful layer (empty before the first call or after reset_states()).
  const std::vector<Tensor>& states() const noexcept { return states_; }

 protected:
  /// The layer arguments of config JSON (return_sequences ... stateful) merged into `config`.
  void add_layer_config(nlohmann::json& config) const;

 private:
  std::shared_ptr<RecurrentCell> cell_;
  RnnOptions rnn_;
  ops::RecurrentConfig config_;
  ops::RecurrentCache<float> cache_;
  bool cached_ = false;
  Rng rng_;
  Tensor input_dropout_;  // (batch, features) scaled keep-mask of the last training forward
  std::vector<Tensor> states_;
};

/// The final states of an LSTM, each (batch, units).
struct LstmState {
  Tensor h;
  Tensor c;
};
/// What LSTM::call returns: output, and the final h and c (batch, units).
struct LstmOutput {
  Tensor output;
  Tensor h;
  Tensor c;
};
/// Gradients from LSTM::backward_with_state: dx (batch, timesteps, features), dh0, dc0
/// (batch, units).
struct LstmGradients {
  Tensor dx;
  Tensor dh0;
  Tensor dc0;
};

/// Long short-term memory layer (Keras LSTM): RNN over an LSTMCell.
///
/// Input (batch, timesteps, features). Output (batch, units), or (batch, timesteps, units) with
/// return_sequences. Weights (Keras layout): kernel (features, 4*units), recurrent_kernel
/// (units, 4*units), bias (4*units,), gate blocks i, f, c, o. A PyTorch nn.LSTM has weight_ih =
/// kernel^T, weight_hh = recurrent_kernel^T, bias_ih + bias_hh = bias.
///
/// Throws ValueError for units == 0, an unknown activation/initializer name or a dropout outside
/// [0, 1); ShapeError when built for an input that is not (timesteps, features) or called with a
/// mismatching tensor.
class LSTM : public RNN {
 public:
  explicit LSTM(const LstmOptions& options);
  explicit LSTM(std::size_t units) : LSTM(LstmOptions(units)) {}
  std::string type() const override { return "LSTM"; }
  const LstmOptions& options() const noexcept { return options_; }
  void set_zero_output_for_mask(bool zero) override {
    RNN::set_zero_output_for_mask(zero);
    options_.zero_output_for_mask(zero);
  }
  Weight& kernel() { return cell().kernel(); }
  Weight& recurrent_kernel() { return cell().recurrent_kernel(); }
  Weight& bias() { return cell().bias(); }

  using RNN::call;
  /// Forward with an optional initial state (h0, c0), each (batch, units).
  LstmOutput call(const Tensor& x, const LstmState* initial_state);
  /// Backward for call(): dy of the output (may be empty), dh and dc of the final states (may
  /// be null).
  LstmGradients backward_with_state(const Tensor& dy, const Tensor* dh, const Tensor* dc);

 private:
  LstmOptions options_;
};

/// Gated recurrent unit layer (Keras GRU): RNN over a GRUCell.
///
/// Input/output as LSTM. Weights: kernel (features, 3*units), recurrent_kernel (units, 3*units),
/// bias (2, 3*units) with reset_after (row 0 input bias, row 1 recurrent bias) else (3*units,);
/// gate blocks z, r, h. A PyTorch nn.GRU (gates r, z, n) maps as kernel = [W_iz; W_ir; W_in]^T,
/// recurrent_kernel = [W_hz; W_hr; W_hn]^T, bias = [[b_iz, b_ir, b_in], [b_hz, b_hr, b_hn]].
/// Throws as LSTM.
class GRU : public RNN {
 public:
  explicit GRU(const GruOptions& options);
  explicit GRU(std::size_t units) : GRU(GruOptions(units)) {}
  std::string type() const override { return "GRU"; }
  const GruOptions& options() const noexcept { return options_; }
  void set_zero_output_for_mask(bool zero) override {
    RNN::set_zero_output_for_mask(zero);
    options_.zero_output_for_mask(zero);
  }

 private:
  GruOptions options_;
};

/// Fully connected recurrent layer (Keras SimpleRNN): h_t = activation(x_t W + h_{t-1} R + b).
/// Weights: kernel (features, units), recurrent_kernel (units, units), bias (units,); PyTorch
/// nn.RNN has weight_ih = kernel^T, weight_hh = recurrent_kernel^T, bias_ih + bias_hh = bias.
/// Throws as LSTM.
class SimpleRNN : public RNN {
 public:
  explicit SimpleRNN(const SimpleRnnOptions& options);
  explicit SimpleRNN(std::size_t units) : SimpleRNN(SimpleRnnOptions(units)) {}
  std::string type() const override { return "SimpleRNN"; }
  const SimpleRnnOptions& options() const noexcept { return options_; }
  void set_zero_output_for_mask(bool zero) override {
    RNN::set_zero_output_for_mask(zero);
    options_.zero_output_for_mask(zero);
  }

 private:
  SimpleRnnOptions options_;
};

}  // namespace recur
