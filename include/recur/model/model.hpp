#pragma once
// Model: a directed acyclic graph of layers with Keras's compile / fit / evaluate / predict
// (keras.Model, the Functional API: keras.io/guides/functional_api/). Sequential
// (recur/model/sequential.hpp) is a Model whose graph is a chain.
//
//   auto enc_in = recur::Input({5, 3}, "encoder_input");
//   auto dec_in = recur::Input({4, 2}, "decoder_input");
//   auto [_, h, c] = recur::shared(recur::LSTM(recur::LstmOptions(6).return_state(true))).call<3>(enc_in);
//   auto seq = recur::shared(recur::LSTM(recur::LstmOptions(6).return_sequences(true)))(
//       dec_in, {.initial_state = {h, c}});
//   auto y = recur::shared(recur::Dense(3))(seq);
//   recur::Model model({enc_in, dec_in}, {y}, "seq2seq");
//   model.compile("adam", "mse");
//   model.fit({x_enc, x_dec}, {y_true}, recur::FitOptions().epochs(10));
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <utility>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recur/callbacks/callbacks.hpp"
#include "recur/core/options.hpp"
#include "recur/core/tensor.hpp"
#include "recur/data/sequences.hpp"
#include "recur/io/model_file.hpp"
#include "recur/layers/graph.hpp"
#include "recur/layers/layer.hpp"
#include "recur/losses/losses.hpp"
#include "recur/metrics/metrics.hpp"
#include "recur/model/history.hpp"
#include "recur/model/training_state.hpp"
#include "recur/optimizers/optimizers.hpp"

namespace recur {

/// Tensors by name - an Input's, or an output layer's - e.g. {{"sequence", x}, {"static", s}}
/// (Keras's dicts of inputs and targets). A type of its own so that a braced list of tensors
/// ({x1, x2}) always means the vector overloads.
struct NamedTensors {
  NamedTensors(std::initializer_list<std::pair<const std::string, Tensor>> list) : map(list) {}
  explicit NamedTensors(std::map<std::string, Tensor> m) : map(std::move(m)) {}
  std::map<std::string, Tensor> map;
};

/// Loss weight per class id (FitOptions::class_weight).
using ClassWeights = std::map<int, double>;

/// One problem found by Model::check: the error that fit would throw for it.
struct Problem {
  std::string code;     // e.g. "RECUR-E0002" (docs/errors.md)
  std::string type;     // e.g. "recur::ShapeError"
  std::string message;  // the message without type and code
};

/// Options of Model::fit; defaults are Keras's (epochs 1, batch_size 32, shuffle true).
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
  /// losses of a single-output model: each row's loss is multiplied by the weight of its true
  /// class (1 for classes not listed). Weights must be finite and >= 0, class ids in [0, classes).
  RECUR_ARG(ClassWeights, class_weight);
  /// Per-sample loss weights (samples,) (Keras's sample_weight), finite and >= 0, applied to
  /// every output; multiplied with class_weight. Empty: all 1.
  RECUR_ARG(Tensor, sample_weight);
  /// 0 silent (recur's default: a library does not print unasked), 1 Keras's progress bar on
  /// stdout, 2 one line per epoch.
  RECUR_ARG(int, verbose) = 0;
  /// Continue a run from a checkpoint's TrainingState (Model::load(path, &metadata, &state)):
  /// the weights are the model's own (loaded with it), the rest (epoch count, generators,
  /// optimizer slots, callback progress, history) comes from the state; training goes on to
  /// `epochs` in all. Checked at the start of fit (ValueError when it does not fit the model,
  /// optimizer or callbacks).
  RECUR_ARG(std::shared_ptr<const TrainingState>, resume_from);
  /// Called after every epoch (after the callbacks) with the state a resumed fit would need;
  /// e.g. to write a checkpoint. ModelCheckpoint with save_training_state does this itself.
  RECUR_ARG(std::function<void(const TrainingState&)>, on_epoch_state);

 public:
  /// Validation data (x_val, y_val) evaluated after every epoch, instead of validation_split
  /// (Keras's validation_data takes precedence the same way). Checked like x and y.
  FitOptions& validation_data(Tensor x, Tensor y) {
    validation_x_ = {std::move(x)};
    validation_y_ = {std::move(y)};
    return *this;
  }
  /// Validation data of a model with several inputs or outputs (one tensor each, in order).
  FitOptions& validation_data(std::vector<Tensor> xs, std::vector<Tensor> ys) {
    validation_x_ = std::move(xs);
    validation_y_ = std::move(ys);
    return *this;
  }
  /// The first validation input / target (empty tensors when none was given).
  const Tensor& validation_x() const noexcept { return validation_x_.empty() ? empty_ : validation_x_[0]; }
  const Tensor& validation_y() const noexcept { return validation_y_.empty() ? empty_ : validation_y_[0]; }
  const std::vector<Tensor>& validation_xs() const noexcept { return validation_x_; }
  const std::vector<Tensor>& validation_ys() const noexcept { return validation_y_; }

 private:
  std::vector<Tensor> validation_x_, validation_y_;
  Tensor empty_;
};

/// A graph of layers from `inputs` to `outputs` (Keras's functional keras.Model).
///
/// Data: one tensor per input, (samples, *input.shape()), and per output, targets
/// (samples, *output.shape()) or, for a one-unit output, (samples,); with
/// sparse_categorical_crossentropy one integer class id per output row. Give them as vectors in
/// the order of `inputs` / `outputs`, or as maps by name (the Input's name, the output layer's
/// name). A single-input, single-output model also takes plain tensors.
///
/// Layers called more than once share their weights; get_weights() lists each layer's weights
/// once, layers in the order Keras's model.layers gives (inputs first, then by the graph's
/// order). Masks from Masking / Embedding(mask_zero) propagate along the graph (compute_mask);
/// a merge passes on the AND of its inputs' masks.
///
/// Logs and History: "loss" is the weighted sum of the outputs' losses; with more than one
/// output each also logs "<output>_loss" and "<output>_<metric>" (Keras's names), and the
/// validation values get a "val_" prefix.
///
/// Throws ValueError RECUR-E0018 when an output depends on an Input missing from `inputs`
/// (naming both), when an input is used by no output, or when the graph has a cycle or two
/// layers of one name; RECUR-E0019 for data that does not match the inputs or outputs (count,
/// names, sample counts); RECUR-E0020 for losses or loss_weights that do not match the
/// outputs; the per-tensor checks of Sequential (shape, non-finite values, labels) for each.
class Model : public TrainingTarget {
 public:
  Model(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs,
        std::string name = "functional");
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model() override;

  const std::string& name() const noexcept { return name_; }
  bool built() const noexcept { return built_; }
  const std::vector<SymbolicTensor>& inputs() const noexcept { return inputs_; }
  const std::vector<SymbolicTensor>& outputs() const noexcept { return outputs_; }
  /// Input names (the Inputs'), output names (the output layers', made unique with "_1", ...).
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  /// Every layer once, in Keras's model.layers order (Inputs are not layers here).
  std::vector<std::shared_ptr<Layer>> layers() const { return layers_; }
  /// The layer of that name; ValueError listing the names when there is none.
  Layer& get_layer(const std::string& name) const;

  /// Keras's Functional summary: layer (type), output shape, parameter count and "Connected to"
  /// (the tensors each call reads, as "lstm[0][1]"); Sequential prints its own table.
  virtual std::string summary() const;
  std::size_t count_params() const;

  /// Sets the optimizer, one loss by Keras name for every output ("mse", "mae", "huber",
  /// "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy") and
  /// metrics ("accuracy", "mae", "mse", "rmse", ...), computed for every output. Throws
  /// ValueError on an unknown name.
  void compile(std::unique_ptr<Optimizer> optimizer, const std::string& loss,
               const std::vector<std::string>& metrics = {});
  /// Same with a Loss that carries options (from_logits, delta).
  void compile(std::unique_ptr<Optimizer> optimizer, const Loss& loss,
               const std::vector<std::string>& metrics = {});
  /// Same with an optimizer by name ("adam", "sgd", "rmsprop") at its Keras defaults.
  void compile(const std::string& optimizer, const std::string& loss,
               const std::vector<std::string>& metrics = {});
  /// One loss per output (or one for all) and the weights of the outputs' losses in the total
  /// (empty: all 1). Throws ValueError RECUR-E0020 when the counts do not match the outputs or
  /// a weight is negative or not finite.
  void compile(std::unique_ptr<Optimizer> optimizer, const std::vector<Loss>& losses,
               const std::vector<std::string>& metrics = {}, const std::vector<double>& loss_weights = {});
  void compile(const std::string& optimizer, const std::vector<std::string>& losses,
               const std::vector<std::string>& metrics = {}, const std::vector<double>& loss_weights = {});

  /// Trains on xs (one tensor per input) and ys (one per output). Returns the per-epoch history.
  /// On a non-finite loss it throws ValueError RECUR-E0011 naming the epoch and batch and leaves
  /// the weights as they were before that batch (unless a TerminateOnNaN callback ends training
  /// there instead). Masked timesteps are left out of the loss and the metrics, as in Keras. A
  /// model with a stateful layer needs a training sample count that batch_size divides.
  History fit(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const FitOptions& options = {});
  History fit(const NamedTensors& xs, const NamedTensors& ys, const FitOptions& options = {});
  /// Single input and output: fit(x, y).
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  History fit(const Sequences& x, const Tensor& y, const FitOptions& options = {}) {
    return fit(to_tensor(x, "fit"), y, options);
  }
  /// The pre-flight of fit without training: every check fit makes before the first batch,
  /// each problem reported instead of only the first (checks that depend on a failed one are
  /// skipped). Returns an empty list when fit would start.
  std::vector<Problem> check(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys,
                             const FitOptions& options = {});
  std::vector<Problem> check(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  /// Loss and metrics on (xs, ys), by log name ("loss", "mae", "<output>_loss", ...).
  std::map<std::string, double> evaluate(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys,
                                         int batch_size = 32);
  std::map<std::string, double> evaluate(const Tensor& x, const Tensor& y, int batch_size = 32);
  /// Outputs (samples, *output.shape()) for each output, in inference mode; None timesteps
  /// (recur::kAnyDim) take the length this x gives them (the inputs' with None timesteps take
  /// any length >= 1, the same for every sample of one call).
  std::vector<Tensor> predict(const std::vector<Tensor>& xs, int batch_size = 32);
  /// By input name; the outputs by output name.
  std::map<std::string, Tensor> predict(const NamedTensors& xs, int batch_size = 32);
  /// Single input and output: (samples, *output_shape). (With several outputs, pass
  /// std::vector<Tensor>{x}: this throws ValueError RECUR-E0019.)
  Tensor predict(const Tensor& x, int batch_size = 32);
  Tensor predict(const Sequences& x, int batch_size = 32) { return predict(to_tensor(x, "predict"), batch_size); }

  /// Every layer's weights, each layer once, in Keras's layout and get_weights() order (copies).
  std::vector<Tensor> get_weights() const override;
  /// Replaces the weights; the count, order and shapes must be those of get_weights(). Throws
  /// ValueError RECUR-E0007 on a wrong count and ShapeError RECUR-E0008 naming the layer, the
  /// weight and both shapes (and saying so when one is the transpose of the other).
  void set_weights(const std::vector<Tensor>& weights) override;
  Optimizer* optimizer() override { return optimizer_.get(); }

  /// Writes architecture, compile settings, `metadata_json` (any JSON object text, kept as-is)
  /// and weights to `path` atomically and durably; with `state`, also the training state (a
  /// checkpoint). See docs/model-format.md.
  void save(const std::string& path, const std::string& metadata_json = "{}",
            const TrainingState* state = nullptr) const override;
  /// Loads only the weights of a model file written from the same architecture (layer classes
  /// and configs compared first: ModelFormatError RECUR-E0009 naming the layer and field).
  void load_weights(const std::string& path);
  /// load_weights from contents already read (`path` names the source in messages).
  void load_weights_from(const ModelFileContents& contents, const std::string& path);
  /// Reads a model written by save() (a Sequential file gives a Model whose graph is the
  /// chain). IoError / ModelFormatError naming what is wrong; the file is untrusted input.
  static Model load(const std::string& path, std::string* metadata_json = nullptr,
                    TrainingState* state = nullptr);
  /// The model as the contents of a recur model file (what save() writes: the architecture
  /// JSON and the weights named "<layer>/<weight>"). ValueError when not built.
  ModelFileContents contents(const std::string& metadata_json = "{}", const TrainingState* state = nullptr) const;
  /// The model in `contents` (as read by read_model_file, or converted from another format);
  /// `path` names the source in messages. Same checks and errors as load().
  static Model from_contents(const ModelFileContents& contents, const std::string& path,
                             std::string* metadata_json = nullptr, TrainingState* state = nullptr);

  /// One forward pass; xs (batch, *input.shape()) each. Returns the outputs.
  std::vector<Tensor> forward(const std::vector<Tensor>& xs, bool training);
  /// Single input and output.
  Tensor forward(const Tensor& x, bool training);
  /// The masks (batch, timesteps) of the last forward's outputs (empty: none).
  const std::vector<Tensor>& output_masks() const noexcept { return output_masks_; }
  const Tensor& output_mask() const noexcept;
  /// Backward from dL/d(each output) (an empty tensor counts as zeros); accumulates every weight
  /// gradient and returns dL/d(each input).
  std::vector<Tensor> backward(const std::vector<Tensor>& dys);
  Tensor backward(const Tensor& dy);
  /// Clears the kept states of every stateful layer (Keras's model.reset_states()).
  void reset_states();
  /// All trainable weights, each layer once, in get_weights() order.
  std::vector<Weight*> trainable_weights();
  void zero_grad();

 protected:
  /// For Sequential: an unbuilt model with a name, no graph yet.
  explicit Model(std::string name);
  /// Sets the graph (validated: see the class comment) and marks the model built.
  void set_graph(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs);
  /// How x for input k is named in messages: Sequential names its first layer.
  virtual std::string describe_input(std::size_t k) const;
  /// "Sequential", "Functional" in messages and files.
  virtual std::string kind() const { return "Functional"; }
  /// fit / check on a model that is not built yet: Sequential builds itself from x's shape; a
  /// Functional model is always built (this throws).
  virtual void build_from(const Tensor& x, std::uint64_t seed);
  void require_built(const std::string& caller) const;

  std::string name_;
  bool built_ = false;
  std::vector<std::shared_ptr<Layer>> layers_;

 private:
  struct Graph;  // nodes in order, per-node caches (model.cpp)
  struct OutputConfig {
    Loss loss;
    double weight = 1.0;
  };

  struct FitData;      // fit's checked data and validation split (training.cpp)
  struct BatchResult;  // one batch's predictions, losses and gradient norm
  FitData prepare_fit(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const FitOptions& options);
  BatchResult batch_step(const FitData& data, const std::vector<std::size_t>& order, std::size_t begin,
                         std::size_t end, const FitOptions& options);
  void check_x(const std::vector<Tensor>& xs, const std::string& caller) const;
  void check_y(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const std::string& caller) const;
  // Each output's shape (without batch) for the inputs xs (checked by check_x): None timesteps
  // get the length these inputs give them.
  std::vector<Shape> output_shapes_for(const std::vector<Tensor>& xs) const;
  void check_fit_options(const FitOptions& options) const;
  /// An optimizer setting known to diverge (ValueError RECUR-E0011), for check().
  void check_optimizer_settings() const;
  std::size_t check_fit_extras(const std::vector<Tensor>& xs, const FitOptions& options);
  void require_compiled(const std::string& caller) const;
  bool has_stateful_layer() const;
  std::vector<Tensor> predict_checked(const std::vector<Tensor>& xs, int batch_size,
                                      std::vector<Tensor>* masks = nullptr);
  std::map<std::string, double> evaluate_checked(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys,
                                                 int batch_size);
  TrainingState training_state(int epochs_done, bool stopped, const Rng& shuffle,
                               const std::vector<std::shared_ptr<Callback>>& callbacks,
                               const History& history) const;
  void resume(const TrainingState& state, const std::vector<std::shared_ptr<Callback>>& callbacks, Rng& shuffle);
  std::vector<Tensor> by_name(const std::map<std::string, Tensor>& m, const std::vector<std::string>& names,
                              const char* what, const std::string& caller) const;
  // Metrics of output k, log-named.
  std::vector<Metric> make_metrics(std::size_t k) const;
  std::string log_prefix(std::size_t k) const;
  bool loss_row_weights(std::vector<float>& out, const Loss& loss, const float* y, std::size_t samples,
                        std::size_t rows, std::size_t classes, const std::vector<float>* sample_weight,
                        const std::map<int, double>* class_weight, const Tensor& mask) const;
  void update_metrics(std::vector<Metric>& metrics, const Tensor& pred, const Tensor& y, std::size_t rows,
                      std::size_t classes, const Tensor& mask) const;

  std::vector<SymbolicTensor> inputs_, outputs_;
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<Optimizer> optimizer_;
  std::vector<OutputConfig> output_config_;  // empty until compiled
  std::vector<std::string> metric_names_;    // as asked for, e.g. "accuracy"
  std::vector<std::vector<MetricKind>> metrics_;  // per output
  std::vector<Tensor> output_masks_;

};

/// Reads a model file of any format recur knows, told apart by its first bytes (never the
/// extension): recur's own (.recur), Keras 3 `.keras` zips, Keras 1.2 / 2.x / tf.keras / Keras 3
/// legacy HDF5 files (`.h5`), ONNX (`.onnx`). Keras and ONNX files are converted to recur's
/// layers (docs/keras.md, docs/onnx.md). Throws IoError when the file cannot be read;
/// ModelFormatError (RECUR-E0500) when it is damaged or hostile, and RECUR-E0021 naming the
/// layer, its class and the option when it holds something recur cannot run.
Model load_model(const std::string& path);

}  // namespace recur
