#include "recur/core/tensor.hpp"

#include <cmath>
#include <limits>

#include <algorithm>
#include <utility>

#include "recur/core/error.hpp"

namespace recur {
namespace {

void check_rank(const Shape& shape, const char* caller) {
  if (shape.empty() || shape.size() > 4) {
    throw ShapeError(std::string(caller) + ": a tensor has rank 1 to 4, got rank " +
                     std::to_string(shape.size()) + " with shape " + recur::shape_str(shape) +
                     ". Add or merge axes to get (batch, timesteps, features) or "
                     "(batch, features).");
  }
}

}  // namespace

Tensor::Tensor() : shape_{0} {}

Tensor::Tensor(Shape shape) : shape_(std::move(shape)) {
  check_rank(shape_, "Tensor");
  data_.assign(shape_size(shape_), 0.0f);
}

Tensor::Tensor(Shape shape, std::vector<float> values)
    : shape_(std::move(shape)), data_(std::move(values)) {
  check_rank(shape_, "Tensor");
  if (data_.size() != shape_size(shape_)) {
    throw ShapeError("Tensor: shape " + recur::shape_str(shape_) + " holds " +
                     std::to_string(shape_size(shape_)) + " values, got " +
                     std::to_string(data_.size()) + " values.");
  }
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t(std::move(shape));
  std::fill(t.data_.begin(), t.data_.end(), value);
  return t;
}

std::size_t Tensor::dim(std::size_t axis) const {
  if (axis >= shape_.size()) {
    throw ShapeError("Tensor::dim: axis " + std::to_string(axis) + " is out of range for shape " +
                     shape_str() + " of rank " + std::to_string(rank()) + ".");
  }
  return shape_[axis];
}

std::size_t Tensor::offset(std::initializer_list<std::size_t> index) const {
  if (index.size() != shape_.size()) {
    throw ShapeError("Tensor::at: expected " + std::to_string(rank()) + " indices for shape " +
                     shape_str() + ", got " + std::to_string(index.size()) + ".");
  }
  std::size_t off = 0, axis = 0;
  for (std::size_t i : index) {
    if (i >= shape_[axis]) {
      throw ShapeError("Tensor::at: index " + std::to_string(i) + " on axis " +
                       std::to_string(axis) + " is out of range for shape " + shape_str() + ".");
    }
    off = off * shape_[axis] + i;
    ++axis;
  }
  return off;
}

float& Tensor::at(std::initializer_list<std::size_t> index) { return data_[offset(index)]; }
float Tensor::at(std::initializer_list<std::size_t> index) const { return data_[offset(index)]; }

Tensor Tensor::reshape(Shape shape) const {
  check_rank(shape, "Tensor::reshape");
  if (shape_size(shape) != size()) {
    throw ShapeError("Tensor::reshape: cannot reshape " + shape_str() + " (" +
                     std::to_string(size()) + " values) to " + recur::shape_str(shape) + " (" +
                     std::to_string(shape_size(shape)) + " values).");
  }
  return Tensor(std::move(shape), data_);
}

std::string Tensor::shape_str() const { return recur::shape_str(shape_); }

void Tensor::zero() { std::fill(data_.begin(), data_.end(), 0.0f); }

float to_float32(double v, const char* what) {
  if (!std::isfinite(v) || std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max()))
    throw ValueError(std::string(what) + " is " + std::to_string(v).substr(0, 40) +
                     ", not a float32 number (finite, at most 3.4e38 in magnitude); rescale the data.",
                     codes::kNonFiniteData);
  return static_cast<float>(v);
}

}  // namespace recur
