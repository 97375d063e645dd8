#pragma once
// Tensor: float32, row-major, owned contiguous storage, rank 1 to 4.
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "recur/core/shape.hpp"

namespace recur {

/// A dense float32 array of rank 1 to 4 in row-major order that owns its storage.
///
/// Shapes follow Keras: a batch of sequences is (batch, timesteps, features), a batch of
/// vectors (batch, features). Element (i, j, k) of a (B, T, F) tensor is data()[(i*T + j)*F + k].
///
/// Throws ShapeError when a shape has rank 0 or above 4, or when the number of values given
/// does not match the shape.
class Tensor {
 public:
  /// An empty tensor of shape (0,).
  Tensor();
  /// Zeros of the given shape.
  explicit Tensor(Shape shape);
  /// `values` laid out row-major in `shape`; throws ShapeError if the counts differ.
  Tensor(Shape shape, std::vector<float> values);
  /// Every element set to `value`.
  static Tensor full(Shape shape, float value);

  const Shape& shape() const noexcept { return shape_; }
  std::size_t rank() const noexcept { return shape_.size(); }
  /// Extent of axis `axis`; throws ShapeError if axis >= rank().
  std::size_t dim(std::size_t axis) const;
  std::size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }

  float* data() noexcept { return data_.data(); }
  const float* data() const noexcept { return data_.data(); }
  std::vector<float>& values() noexcept { return data_; }
  const std::vector<float>& values() const noexcept { return data_; }

  /// Unchecked element access by flat index.
  float& operator[](std::size_t i) noexcept { return data_[i]; }
  float operator[](std::size_t i) const noexcept { return data_[i]; }

  /// Bounds-checked element access; throws ShapeError naming the index and the shape.
  float& at(std::initializer_list<std::size_t> index);
  float at(std::initializer_list<std::size_t> index) const;

  /// The same values viewed with another shape of equal size (a copy); throws ShapeError.
  Tensor reshape(Shape shape) const;
  /// "(32, 50, 8)".
  std::string shape_str() const;
  /// Sets every element to zero, keeping the shape.
  void zero();

 private:
  std::size_t offset(std::initializer_list<std::size_t> index) const;
  Shape shape_;
  std::vector<float> data_;
};

/// `v` as a float32 value. Throws ValueError RECUR-E0005 naming `what` when v is NaN, infinite or
/// beyond float32's range (about 3.4e38): converting such a double is undefined behaviour in C++
/// and would otherwise reach the model as infinity.
float to_float32(double v, const char* what);

}  // namespace recur
