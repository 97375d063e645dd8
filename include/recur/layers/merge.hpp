#pragma once
// Merging layers (Keras's keras.layers.Concatenate, Add, Multiply, Average; keras.io/api/layers/
// merging_layers/) and the reshaping layers RepeatVector and Reshape (keras.io/api/layers/
// reshaping_layers/), for the Functional API (recur/layers/graph.hpp).
#include <cstddef>
#include <string>
#include <vector>

#include "recur/layers/layer.hpp"

namespace recur {

/// Base of the layers that take a list of tensors, each (batch, ...). Called on symbolic
/// tensors with a list: recur::shared(recur::Add())({a, b}). The single-tensor Layer entry
/// points (build, forward, backward) throw ValueError (RECUR-E0017): a merge needs a list.
///
/// Masks: the output's mask is the AND of the inputs' masks (an input without one counts as
/// all ones), empty when no input has one (Keras's Merge.compute_mask).
class Merge : public Layer {
 public:
  void build(const Shape& input_shape, Rng& rng) override;
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  Shape output_shape() const override { return output_shape_; }

  /// Builds for inputs of shapes (batch, *shapes[k]); at least 2. Throws ShapeError
  /// (RECUR-E0016) naming the layer and every shape when they cannot be merged.
  void build_inputs(const std::vector<Shape>& shapes);
  /// The merged output for xs (each (batch, *input_shapes()[k])). Throws ShapeError when the
  /// list does not match the built shapes.
  Tensor forward_inputs(const std::vector<Tensor>& xs);
  /// The gradient of each input from dy (the last forward_inputs's output shape).
  std::vector<Tensor> backward_inputs(const Tensor& dy);
  /// The AND of the masks (each (batch, timesteps) or empty); empty when all are.
  Tensor merge_masks(const std::vector<Tensor>& masks) const;
  const std::vector<Shape>& input_shapes() const noexcept { return input_shapes_; }

 protected:
  /// Checks the shapes and returns the output shape (without batch).
  virtual Shape merged_shape(const std::vector<Shape>& shapes) const = 0;
  virtual Tensor merge(const std::vector<Tensor>& xs) = 0;
  virtual std::vector<Tensor> unmerge(const Tensor& dy) = 0;
  /// "Add 'add' cannot merge (None, 4) and (None, 5): ..." as a ShapeError.
  [[noreturn]] void shape_error(const std::vector<Shape>& shapes, const std::string& why) const;

 private:
  std::vector<Shape> input_shapes_;
  Shape output_shape_;
};

/// Concatenates along `axis` (default -1, the last; 0 would be the batch and is refused).
/// Inputs must agree on every other axis. E.g. (batch, 5) and (batch, 3) -> (batch, 8). With
/// None timesteps (kAnyDim) on axis 1: concatenating along the timesteps gives None (each call
/// adds the lengths it is given); along another axis the lengths of one call must agree
/// (ShapeError RECUR-E0016 naming both otherwise).
class Concatenate : public Merge {
 public:
  explicit Concatenate(int axis = -1, std::string name = "");
  std::string type() const override { return "Concatenate"; }
  nlohmann::json get_config() const override;
  int axis() const noexcept { return axis_; }

 protected:
  Shape merged_shape(const std::vector<Shape>& shapes) const override;
  Tensor merge(const std::vector<Tensor>& xs) override;
  std::vector<Tensor> unmerge(const Tensor& dy) override;

 private:
  std::size_t resolved_axis(std::size_t rank) const;  // 1-based axis in (batch, ...) terms
  int axis_;
  std::vector<Shape> shapes_;  // with batch, of the last forward
};

/// The element-wise merges: all inputs of the same shape (no broadcasting), output that shape.
class ElementwiseMerge : public Merge {
 protected:
  Shape merged_shape(const std::vector<Shape>& shapes) const override;
  nlohmann::json base_config() const;
};

/// The sum of the inputs, or their mean: what Add and Average share.
class SumMerge : public ElementwiseMerge {
 protected:
  explicit SumMerge(bool mean) : mean_(mean) {}
  Tensor merge(const std::vector<Tensor>& xs) override;
  std::vector<Tensor> unmerge(const Tensor& dy) override;

 private:
  bool mean_;
  std::size_t count_ = 0;
};

/// y = x_1 + x_2 + ... (Keras Add).
class Add : public SumMerge {
 public:
  explicit Add(std::string name = "");
  std::string type() const override { return "Add"; }
  nlohmann::json get_config() const override;
};

/// y = x_1 * x_2 * ... element-wise (Keras Multiply).
class Multiply : public ElementwiseMerge {
 public:
  explicit Multiply(std::string name = "");
  std::string type() const override { return "Multiply"; }
  nlohmann::json get_config() const override;

 protected:
  Tensor merge(const std::vector<Tensor>& xs) override;
  std::vector<Tensor> unmerge(const Tensor& dy) override;

 private:
  std::vector<Tensor> xs_;
};

/// y = (x_1 + ... + x_n) / n (Keras Average).
class Average : public SumMerge {
 public:
  explicit Average(std::string name = "");
  std::string type() const override { return "Average"; }
  nlohmann::json get_config() const override;
};

/// Repeats a (batch, features) input n times: output (batch, n, features) (Keras RepeatVector;
/// the bridge from an encoder's vector to a decoder's sequence). Throws ValueError for n == 0,
/// ShapeError for input that is not rank 2.
class RepeatVector : public Layer {
 public:
  explicit RepeatVector(std::size_t n, std::string name = "");
  std::string type() const override { return "RepeatVector"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override { return {n_, input_shape().at(0)}; }
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  Tensor compute_mask(const Tensor& x, const Tensor& mask) const override;
  nlohmann::json get_config() const override;
  std::size_t n() const noexcept { return n_; }

 private:
  std::size_t n_;
  std::size_t batch_ = 0;
};

/// Reshapes every sample to `target_shape` (without the batch axis; one extent may be -1,
/// inferred), keeping the values in row-major order (Keras Reshape). A mask does not pass
/// through. Throws ValueError for a 0, a negative extent other than a single -1, and ShapeError
/// when the element count differs from the input's. On None timesteps (kAnyDim) the target
/// must be (-1, k) with k dividing the values per timestep (output (None, k)); any other target
/// is a ShapeError RECUR-E0016, since no fixed shape fits every length.
class Reshape : public Layer {
 public:
  explicit Reshape(std::vector<long long> target_shape, std::string name = "");
  std::string type() const override { return "Reshape"; }
  void build(const Shape& input_shape, Rng& rng) override;
  Shape output_shape() const override { return output_shape_; }
  Tensor forward(const Tensor& x, bool training) override;
  Tensor backward(const Tensor& dy) override;
  Tensor compute_mask(const Tensor& x, const Tensor& mask) const override;
  nlohmann::json get_config() const override;

 private:
  std::vector<long long> target_;
  Shape output_shape_;
  Shape x_shape_;
};

}  // namespace recur
