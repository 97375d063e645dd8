#pragma once
// Sequential: a linear stack of layers with Keras's compile / fit / evaluate / predict.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "recur/callbacks/callbacks.hpp"
#include "recur/core/options.hpp"
#include "recur/core/tensor.hpp"
#include "recur/data/sequences.hpp"
#include "recur/layers/layer.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/losses/losses.hpp"
#include "recur/metrics/metrics.hpp"
#include "recur/model/history.hpp"
#include "recur/model/training_state.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace recur {


/// Loss weight per class id (FitOptions::class_weight).
using ClassWeights = std::map<int, double>;

/// One problem found by Sequential::check: the error that fit would throw for it.
struct Problem {
  std::string code;     // e.g. "RECUR-E0002" (docs/errors.md)
  std::string type;     // e.g. "recur::ShapeError"
  std::string message;  // the message without type and code
};

/// Options of Sequential::fit; defaults are Keras's (epochs 1, batch_size 32, shuffle true).
struct FitOptions {
  /// Passes over the training data; must be >= 1.
  RECUR_ARG(int, epochs) = 1;
  /// Samples per gradient step; must be >= 1 (a last smaller batch is kept).
  RECUR_ARG(int, batch_size) = 32;
  /// Fraction in [0, 1) of samples held out for validation: the LAST samples, taken before any
  /// shuffling (Keras's rule), so a chronological series validates on its most recent windows.
  RECUR_ARG(double, validation_split) = 0.0;
  /// Reshuffle the training samples every epoch.
  RECUR_ARG(bool, shuffle) = true;
  /// Seed of the shuffling; the same seed gives the same batches.
  RECUR_ARG(std::uint64_t, seed) = 0;
  /// Called after each epoch; return false to stop training.
  RECUR_ARG(std::function<bool(const EpochLogs&)>, on_epoch_end);
  /// Called after each batch with (batch index from 1, batches per epoch, running loss).
  RECUR_ARG(std::function<void(int, int, double)>, on_batch_end);
  /// Callbacks (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, CSVLogger, TerminateOnNaN,
  /// ProgressBar or your own), called in order after each batch and epoch, before on_epoch_end.
  RECUR_ARG(std::vector<std::shared_ptr<Callback>>, callbacks);
  /// Per-class loss weights {class id: weight} (Keras's class_weight), for the classification
  /// losses: each row's loss is multiplied by the weight of its true class (1 for classes not
  /// listed). Weights must be finite and >= 0, class ids in [0, classes).
  RECUR_ARG(ClassWeights, class_weight);
  /// Per-sample loss weights (samples,) (Keras's sample_weight), finite and >= 0; multiplied
  /// with class_weight. Empty: all 1.
  RECUR_ARG(Tensor, sample_weight);
  /// 0 silent (recur's default: a library does not print unasked), 1 Keras's progress bar on
  /// stdout, 2 one line per epoch.
  RECUR_ARG(int, verbose) = 0;
  /// Continue a run from a checkpoint's TrainingState (Sequential::load(path, &metadata,
  /// &state)): the weights are the model's own (loaded with it), the rest (epoch count,
  /// generators, optimizer slots, callback progress, history) comes from the state; training
  /// goes on to `epochs` in all. Checked at the start of fit (ValueError when it does not fit
  /// the model, optimizer or callbacks).
  RECUR_ARG(std::shared_ptr<const TrainingState>, resume_from);
  /// Called after every epoch (after the callbacks) with the state a resumed fit would need;
  /// e.g. to write a checkpoint. ModelCheckpoint with save_training_state does this itself.
  RECUR_ARG(std::function<void(const TrainingState&)>, on_epoch_state);

 public:
  /// Validation data (x_val, y_val) evaluated after every epoch, instead of validation_split
  /// (Keras's validation_data takes precedence the same way). Checked like x and y.
  FitOptions& validation_data(Tensor x, Tensor y) {
    validation_x_ = std::move(x);
    validation_y_ = std::move(y);
    return *this;
  }
  const Tensor& validation_x() const noexcept { return validation_x_; }
  const Tensor& validation_y() const noexcept { return validation_y_; }

 private:
  Tensor validation_x_, validation_y_;
};

/// A linear stack of layers (Keras's keras.Sequential).
///
///   recur::Sequential model;
///   model.add(recur::LSTM(recur::LstmOptions(32)));
///   model.add(recur::Dense(1));
///   model.build({12, 1});                     // (timesteps, features)
///   model.compile("adam", "mse", {"mae"});
///   auto history = model.fit(x, y, recur::FitOptions().epochs(100).batch_size(16));
///   recur::Tensor y_hat = model.predict(x);   // (samples, 1)
///
/// x is (samples, timesteps, features); y is (samples, *output_shape) or, for a one-unit
/// output, (samples,). With sparse_categorical_crossentropy y holds one integer class id per
/// output row: (samples,) for an output (classes,), (samples, timesteps) for (timesteps,
/// classes); a trailing axis of 1 is accepted too. Throws ShapeError on shapes that do not fit the model, ValueError on bad
/// options or non-finite data, naming the layer or the sample.
class Sequential {
 public:
  explicit Sequential(std::string name = "sequential");
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  ~Sequential();

  /// Appends a layer (moved in). Names it "<type>", "<type>_1", ... when it has no name.
  /// Throws ValueError for an LSTM with return_state (Sequential passes one tensor on) or a
  /// duplicate name; ShapeError if the model is built and the layer does not fit the output.
  template <typename L>
  void add(L layer) {
    static_assert(!std::is_base_of_v<RecurrentCell, L>,
                  "[RECUR-E0015] A recurrent cell (LSTMCell, GRUCell, SimpleRNNCell) processes "
                  "ONE timestep and cannot be a layer of a Sequential model: add "
                  "LSTM/GRU/SimpleRNN, or RNN(cell) to run the cell over the timesteps.");
    add(std::unique_ptr<Layer>(new L(std::move(layer))));
  }
  void add(std::unique_ptr<Layer> layer);

  /// Builds every layer for inputs of shape (batch, *input_shape) - for an LSTM model
  /// (timesteps, features) - initializing the weights from `seed`.
  void build(const Shape& input_shape, std::uint64_t seed = 0);
  bool built() const noexcept { return built_; }
  /// Input shape without the batch axis.
  const Shape& input_shape() const noexcept { return input_shape_; }
  /// Output shape without the batch axis.
  Shape output_shape() const;

  /// Keras-style table: layer (type), output shape, parameter count, totals.
  std::string summary() const;
  std::size_t count_params() const;

  /// Sets the optimizer, the loss by Keras name ("mse", "mae", "huber", "binary_crossentropy",
  /// "categorical_crossentropy", "sparse_categorical_crossentropy") and metrics ("accuracy",
  /// "mae", "mse", "rmse", ...). Throws ValueError on an unknown name.
  void compile(std::unique_ptr<Optimizer> optimizer, const std::string& loss,
               const std::vector<std::string>& metrics = {});
  /// Same with a Loss that carries options (from_logits, delta).
  void compile(std::unique_ptr<Optimizer> optimizer, const Loss& loss,
               const std::vector<std::string>& metrics = {});
  /// Same with an optimizer by name ("adam", "sgd", "rmsprop") at its Keras defaults.
  void compile(const std::string& optimizer, const std::string& loss,
               const std::vector<std::string>& metrics = {});

  /// Trains on (x, y). Returns the per-epoch history. On a non-finite loss it throws ValueError
  /// naming the epoch and batch and leaves the weights as they were before that batch (unless a
  /// TerminateOnNaN callback ends training there instead). Masked timesteps (an output mask
  /// from Masking / Embedding(mask_zero) with return_sequences) are left out of the loss and the
  /// metrics, as in Keras. A model with a stateful layer needs a training sample count that
  /// batch_size divides (ValueError otherwise).
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  /// The pre-flight of fit without training: every check fit makes before the first batch (the
  /// model is compiled; the options; x's shape and values; y's shape and labels against the
  /// output and loss; sample/class weights, validation_data, stateful batches), each problem
  /// reported instead of only the first. Checks that depend on a failed one are skipped (no
  /// label check when x has the wrong shape). Builds the model from x if it is not built, as
  /// fit would. Returns an empty list when fit would start.
  std::vector<Problem> check(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  /// fit and predict on nested sequences (samples, timesteps, features): converted by
  /// to_tensor, which refuses ragged input (RECUR-E0003) naming the first sample whose length
  /// differs and suggesting pad_sequences with Masking.
  History fit(const Sequences& x, const Tensor& y, const FitOptions& options = {}) {
    return fit(to_tensor(x, "fit"), y, options);
  }
  Tensor predict(const Sequences& x, int batch_size = 32) {
    return predict(to_tensor(x, "predict"), batch_size);
  }
  /// Loss and metrics on (x, y), by name ("loss", "mae", ...).
  std::map<std::string, double> evaluate(const Tensor& x, const Tensor& y, int batch_size = 32);
  /// Outputs (samples, *output_shape) for x (samples, *input_shape), in inference mode.
  Tensor predict(const Tensor& x, int batch_size = 32);

  /// Every layer's weights in order, each in Keras's layout and shape (copies).
  std::vector<Tensor> get_weights() const;
  /// Replaces the weights; the count, order and shapes must be those of get_weights().
  /// Throws ValueError on a wrong count and ShapeError naming the layer, the weight and both
  /// shapes (and saying so when one is the transpose of the other) on a wrong shape.
  void set_weights(const std::vector<Tensor>& weights);

  /// Writes architecture, compile settings, `metadata_json` (any JSON object text, kept as-is
  /// for the application) and weights to `path` atomically and durably; with `state`, also the
  /// training state (a checkpoint that fit can resume from). See docs/model-format.md.
  void save(const std::string& path, const std::string& metadata_json = "{}",
            const TrainingState* state = nullptr) const;
  /// Loads only the weights of a model file into this built model (Keras's load_weights). The
  /// file's architecture must be this model's: the layer count, each layer's class and its
  /// config (units, return_sequences, ...) are compared first, and the first difference throws
  /// ModelFormatError RECUR-E0009 naming the layer and the field with both values. Names may
  /// differ. IoError / ModelFormatError as load() for a damaged file.
  void load_weights(const std::string& path);
  /// Reads a model written by save(). The metadata text is returned through `metadata_json`
  /// when given, and the training state of a checkpoint through `state` (ModelFormatError
  /// when `state` is given and the file has none). Throws IoError / ModelFormatError naming
  /// what is wrong; the file is untrusted input (see read_model_file).
  static Sequential load(const std::string& path, std::string* metadata_json = nullptr,
                         TrainingState* state = nullptr);

  std::size_t size() const noexcept { return layers_.size(); }
  Layer& layer(std::size_t i) { return *layers_.at(i); }
  const Layer& layer(std::size_t i) const { return *layers_.at(i); }
  const std::string& name() const noexcept { return name_; }
  Optimizer* optimizer() { return optimizer_.get(); }

  /// One forward pass through every layer; x (batch, *input_shape). Masks from Masking or
  /// Embedding(mask_zero) propagate from layer to layer (Layer::compute_mask).
  Tensor forward(const Tensor& x, bool training);
  /// The mask (batch, timesteps) of the last forward's output, empty when it carries none (it
  /// does after return_sequences layers fed by Masking/Embedding(mask_zero)); fit and evaluate
  /// leave masked timesteps out of the loss, as Keras does.
  const Tensor& output_mask() const noexcept { return output_mask_; }
  /// Clears the kept states of every stateful layer (Keras's model.reset_states()).
  void reset_states();
  /// Backward pass from dL/dy; accumulates every weight gradient. Returns dL/dx.
  Tensor backward(const Tensor& dy);
  /// All trainable weights, layer by layer.
  std::vector<Weight*> trainable_weights();
  void zero_grad();

 private:
  // Builds one layer for `input_shape`; a ShapeError gains the previous layer's name and
  // output shape, so a misfit between two layers names both.
  static void build_layer(Layer& layer, const Layer* previous, const Shape& input_shape, Rng& rng);
  // The TrainingState after `epochs_done` epochs of fit, and its inverse at the start of a
  // resumed fit (ValueError when it does not fit the model, optimizer or callbacks).
  TrainingState training_state(int epochs_done, bool stopped, const Rng& shuffle,
                               const std::vector<std::shared_ptr<Callback>>& callbacks,
                               const History& history) const;
  void resume(const TrainingState& state, const std::vector<std::shared_ptr<Callback>>& callbacks, Rng& shuffle);
  void check_data(const Tensor& x, const Tensor* y, const std::string& caller) const;
  // The two halves of check_data: x's shape and values; y against x, the output and the loss
  // (x already checked).
  void check_x(const Tensor& x, const std::string& caller) const;
  void check_y(const Tensor& x, const Tensor& y, const std::string& caller) const;
  // predict / evaluate on data that check_data has already accepted (fit's validation rows are
  // checked once with the training data, not again every epoch).
  // `masks`, when given, receives the output mask of every sample (empty if the output has none).
  Tensor predict_checked(const Tensor& x, int batch_size, Tensor* masks = nullptr);
  std::map<std::string, double> evaluate_checked(const Tensor& x, const Tensor& y, int batch_size);
  bool has_stateful_layer();
  // fit's checks of its options alone, then of the options against x (weights, validation
  // data, stateful batches); the second returns the number of training samples.
  void check_fit_options(const FitOptions& options) const;
  std::size_t check_fit_extras(const Tensor& x, const FitOptions& options);
  // Per-row loss weights of a batch from sample weights (per sample), class weights and the
  // output mask; false (and `out` unused) when every weight is 1.
  // y: the batch's targets, `samples` samples of `rows` / samples rows each.
  bool loss_row_weights(std::vector<float>& out, const float* y, std::size_t samples,
                        std::size_t rows, std::size_t classes,
                        const std::vector<float>* sample_weight,
                        const std::map<int, double>* class_weight, const Tensor& mask) const;
  // Metrics on the rows the mask keeps (all rows when it is empty).
  void update_metrics(std::vector<Metric>& metrics, const Tensor& pred, const Tensor& y,
                      std::size_t rows, std::size_t classes, const Tensor& mask) const;
  void require_compiled(const std::string& caller) const;
  std::string name_;
  std::vector<std::unique_ptr<Layer>> layers_;
  Shape input_shape_;
  bool built_ = false;
  std::unique_ptr<Optimizer> optimizer_;
  std::optional<Loss> loss_;
  std::vector<std::string> metric_names_;  // as asked for, e.g. "accuracy"
  std::vector<MetricKind> metrics_;
  Tensor output_mask_;
  std::vector<Metric> make_metrics() const;
};

}  // namespace recur
