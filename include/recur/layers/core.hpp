#pragma once
// Activation, Flatten, Masking and Embedding with Keras's arguments and semantics
// (keras.io/api/layers/core_layers/, keras.io/api/layers/reshaping_layers/flatten).
#include <cstddef>
#include <string>

#include "recur/core/options.hpp"
#include "recur/layers/layer.hpp"
#include "recur/ops/activations.hpp"

namespace recur {

/// Applies an activation element-wise (softmax: over the last axis). Input and output
/// (batch, ...), the same shape. Throws ValueError for an unknown activation name.
class Activation : public Layer {
 public:
  explicit Activation(const std::string& activation, std::string name = "");
  std::string type() const override { return "Activation"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override { return input_shape(); }
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  nlohmann::json get_config() const override;

 private:
  std::string activation_name_;
  ops::Activation activation_;
  Tensor y_;
};

/// Flattens every axis after the batch: (batch, d1, d2, ...) -> (batch, d1*d2*...). A mask does
/// not pass through (the timestep axis is gone).
class Flatten : public Layer {
 public:
  explicit Flatten(std::string name = "");
  std::string type() const override { return "Flatten"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override;
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  nlohmann::json get_config() const override;

 private:
  Shape x_shape_;
};

/// Marks padded timesteps (Keras Masking): a timestep whose features all equal `mask_value` is
/// masked, the following layers skip it (recurrent layers keep their state through it), and its
/// output is zero. Input and output (batch, timesteps, features); the mask is (batch, timesteps).
/// Throws ShapeError for input that is not rank 3, ValueError for a non-finite mask_value.
class Masking : public Layer {
 public:
  explicit Masking(float mask_value = 0.0f, std::string name = "");
  std::string type() const override { return "Masking"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override { return input_shape(); }
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  Tensor compute_mask(const Tensor& x, const Tensor& mask) const override;
  nlohmann::json get_config() const override;
  float mask_value() const noexcept { return mask_value_; }

 private:
  float mask_value_;
  Tensor keep_;  // (batch, timesteps) of the last forward
};

/// Pools over the timestep axis (Keras GlobalMaxPooling1D / GlobalAveragePooling1D): input
/// (batch, timesteps, features), output (batch, features). Masked timesteps are left out (a
/// sequence whose steps are all masked gives zeros). Throws ShapeError for input that is not
/// rank 3.
class GlobalPooling1D : public Layer {
 public:
  /// `max`: true for the maximum, false for the mean.
  GlobalPooling1D(bool max, std::string name);
  std::string type() const override {
    return max_ ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D";
  }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override { return {input_shape().at(1)}; }
  Tensor forward(const Tensor& x, bool training) override;
  Tensor forward_masked(const Tensor& x, const Tensor& mask, bool training) override;
  Tensor backward(const Tensor& dy) override;
  nlohmann::json get_config() const override;

 private:
  bool max_;
  Shape x_shape_;
  std::vector<std::size_t> argmax_;  // max: the timestep chosen per (batch, feature)
  std::vector<float> weight_;        // mean: 1 / kept steps per batch row, 0 for masked steps
  Tensor mask_;
};

/// Maximum over timesteps (Keras GlobalMaxPooling1D).
class GlobalMaxPooling1D : public GlobalPooling1D {
 public:
  explicit GlobalMaxPooling1D(std::string name = "") : GlobalPooling1D(true, std::move(name)) {}
};
/// Mean over timesteps (Keras GlobalAveragePooling1D).
class GlobalAveragePooling1D : public GlobalPooling1D {
 public:
  explicit GlobalAveragePooling1D(std::string name = "") : GlobalPooling1D(false, std::move(name)) {}
};

/// Options of an Embedding; input_dim (vocabulary size) and output_dim are required.
struct EmbeddingOptions {
  EmbeddingOptions(std::size_t input_dim, std::size_t output_dim)
      : input_dim_(input_dim), output_dim_(output_dim) {}
  /// Number of distinct ids: ids are integers in [0, input_dim). With mask_zero, id 0 is padding,
  /// so input_dim is the vocabulary size + 1.
  RECUR_ARG(std::size_t, input_dim);
  /// Size of each embedding vector.
  RECUR_ARG(std::size_t, output_dim);
  RECUR_ARG(std::string, embeddings_initializer) = "uniform";
  /// Treat id 0 as padding: its timesteps are masked for the following layers.
  RECUR_ARG(bool, mask_zero) = false;
  RECUR_ARG(std::string, name) = "";
};

/// Maps integer ids to dense vectors (Keras Embedding). Input (batch, timesteps) of integer ids
/// stored as floats; output (batch, timesteps, output_dim). Weight: embeddings
/// (input_dim, output_dim). With mask_zero the output carries the mask (id != 0).
///
/// Throws ValueError for input_dim or output_dim == 0, and - before training, through
/// Sequential's data checks, or in forward - for an id that is not an integer in
/// [0, input_dim), naming the sample and timestep. ShapeError for input that is not
/// (batch, timesteps).
class Embedding : public Layer {
 public:
  explicit Embedding(const EmbeddingOptions& options);
  Embedding(std::size_t input_dim, std::size_t output_dim)
      : Embedding(EmbeddingOptions(input_dim, output_dim)) {}
  std::string type() const override { return "Embedding"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override;
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  Tensor compute_mask(const Tensor& x, const Tensor& mask) const override;
  void check_input_values(const Tensor& x, const std::string& caller) const override;
  std::vector<Weight*> weights() override { return {&embeddings_}; }
  nlohmann::json get_config() const override;
  const EmbeddingOptions& options() const noexcept { return options_; }

 private:
  EmbeddingOptions options_;
  Weight embeddings_{"embeddings", {}, {}};
  Tensor x_;
};

}  // namespace recur
