#pragma once
// Sequential: a linear stack of layers with Keras's compile / fit / evaluate / predict, a Model
// (recur/model/model.hpp) whose graph is a chain.
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "recur/layers/layer.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/model/model.hpp"

namespace recur {

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
/// classes); a trailing axis of 1 is accepted too. Throws ShapeError on shapes that do not fit
/// the model, ValueError on bad options or non-finite data, naming the layer or the sample.
/// Everything else (fit, evaluate, predict, check, get/set_weights, callbacks) is Model's.
class Sequential : public Model {
 public:
  explicit Sequential(std::string name = "sequential");
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  ~Sequential() override;

  /// Appends a layer (moved in). Names it "<type>", "<type>_1", ... when it has no name.
  /// Throws ValueError for an LSTM with return_state (Sequential passes one tensor on), a merge
  /// layer or a duplicate name; ShapeError if the model is built and the layer does not fit the
  /// output.
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
  /// (timesteps, features) - initializing the weights from `seed`. The timesteps may be
  /// recur::kAnyDim (Keras's None): build({recur::kAnyDim, 4}) takes sequences of any length,
  /// the same length within one call of fit / evaluate / predict.
  void build(const Shape& input_shape, std::uint64_t seed = 0);
  /// Input shape without the batch axis.
  const Shape& input_shape() const noexcept { return input_shape_; }
  /// Output shape without the batch axis.
  Shape output_shape() const;

  /// Keras-style table: layer (type), output shape, parameter count, totals.
  std::string summary() const override;

  /// Writes the model (format recur.sequential, docs/model-format.md); see Model::save.
  void save(const std::string& path, const std::string& metadata_json = "{}",
            const TrainingState* state = nullptr) const override;
  /// Reads a Sequential model written by save(). The metadata text is returned through
  /// `metadata_json` when given, and the training state of a checkpoint through `state`
  /// (ModelFormatError when `state` is given and the file has none). Throws IoError /
  /// ModelFormatError naming what is wrong (a Functional file: load it with Model::load); the
  /// file is untrusted input (see read_model_file).
  static Sequential load(const std::string& path, std::string* metadata_json = nullptr,
                         TrainingState* state = nullptr);
  /// The Sequential model in `contents` (see Model::from_contents).
  static Sequential from_contents(const ModelFileContents& contents, const std::string& path,
                                  std::string* metadata_json = nullptr, TrainingState* state = nullptr);

  std::size_t size() const noexcept { return layers_.size(); }
  Layer& layer(std::size_t i) { return *layers_.at(i); }
  const Layer& layer(std::size_t i) const { return *layers_.at(i); }

 protected:
  std::string describe_input(std::size_t k) const override;
  std::string kind() const override { return "Sequential"; }
  void build_from(const Tensor& x, std::uint64_t seed) override;

 private:
  // Builds one layer for `input_shape`; a ShapeError gains the previous layer's name and
  // output shape, so a misfit between two layers names both.
  static void build_layer(Layer& layer, const Layer* previous, const Shape& input_shape, Rng& rng);
  // The chain graph Input -> layer 0 -> ... -> last layer, once every layer is built.
  void chain();
  Shape input_shape_;
};

}  // namespace recur
