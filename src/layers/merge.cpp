// Merging layers (Concatenate, Add, Multiply, Average) and RepeatVector, Reshape (merge.hpp).
#include "recur/layers/merge.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "recur/core/error.hpp"

namespace recur {

// --- Merge -------------------------------------------------------------------------------------

void Merge::build(const Shape& input_shape, Rng& /*rng*/) {
  throw ValueError(label() + " merges a list of tensors: call it on a list, e.g. " + name() +
                       "({a, b}) in a Functional model; it cannot be built for one input " +
                       shape_str(with_batch(input_shape)) + " (nor be a layer of a Sequential model).",
                   codes::kGraphCall);
}

Tensor Merge::forward(const Tensor& /*x*/, bool /*training*/) {
  throw ValueError(label() + " merges a list of tensors; use forward_inputs({a, b}).", codes::kGraphCall);
}

Tensor Merge::backward(const Tensor& /*dy*/) {
  throw ValueError(label() + " merges a list of tensors; use backward_inputs(dy).", codes::kGraphCall);
}

void Merge::shape_error(const std::vector<Shape>& shapes, const std::string& why) const {
  std::string s;
  for (const Shape& x : shapes) s += (s.empty() ? "" : ", ") + shape_str(with_batch(x));
  throw ShapeError(label() + " cannot merge " + s + ": " + why, codes::kGraphShape);
}

void Merge::build_inputs(const std::vector<Shape>& shapes) {
  if (shapes.size() < 2)
    throw ValueError(label() + " merges at least 2 tensors, got " + std::to_string(shapes.size()) + ".",
                     codes::kGraphCall);
  output_shape_ = merged_shape(shapes);
  input_shapes_ = shapes;
  mark_built(shapes[0]);
}

Tensor Merge::forward_inputs(const std::vector<Tensor>& xs) {
  bool ok = xs.size() == input_shapes_.size();
  for (std::size_t k = 0; ok && k < xs.size(); ++k) {
    ok = xs[k].rank() == input_shapes_[k].size() + 1 && xs[k].dim(0) == xs[0].dim(0);
    for (std::size_t d = 0; ok && d < input_shapes_[k].size(); ++d) ok = xs[k].dim(d + 1) == input_shapes_[k][d];
  }
  if (!ok) {
    std::string got, want;
    for (const Tensor& x : xs) got += (got.empty() ? "" : ", ") + x.shape_str();
    for (const Shape& s : input_shapes_) want += (want.empty() ? "" : ", ") + shape_str(with_batch(s));
    throw ShapeError(label() + " was built for inputs " + want + " (one batch size), got " + got + ".",
                     codes::kGraphShape);
  }
  return merge(xs);
}

std::vector<Tensor> Merge::backward_inputs(const Tensor& dy) { return unmerge(dy); }

Tensor Merge::merge_masks(const std::vector<Tensor>& masks) const {
  Tensor out;
  for (const Tensor& m : masks) {
    if (m.empty()) continue;
    if (out.empty()) {
      out = m;
      continue;
    }
    if (m.shape() != out.shape()) return {};  // different timesteps: no common mask
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = (out[i] != 0.0f && m[i] != 0.0f) ? 1.0f : 0.0f;
  }
  // The mask belongs to the output only if the output keeps a timestep axis of that length.
  if (!out.empty() && !(output_shape_.size() >= 2 && out.rank() == 2 && out.dim(1) == output_shape_[0])) return {};
  return out;
}

// --- Concatenate -------------------------------------------------------------------------------

Concatenate::Concatenate(int axis, std::string name) : axis_(axis) { set_name(std::move(name)); }

std::size_t Concatenate::resolved_axis(std::size_t rank) const {
  // rank counts the batch axis; Keras's axis -1 is the last, 1 the first after the batch.
  const long a = axis_ < 0 ? static_cast<long>(rank) + axis_ : axis_;
  if (a < 1 || a >= static_cast<long>(rank))
    throw ValueError(label() + ": axis " + std::to_string(axis_) + " is out of range for inputs of rank " +
                         std::to_string(rank) + " (the batch axis 0 cannot be concatenated).",
                     codes::kGraphShape);
  return static_cast<std::size_t>(a);
}

Shape Concatenate::merged_shape(const std::vector<Shape>& shapes) const {
  const std::size_t rank = shapes[0].size() + 1;
  for (const Shape& s : shapes)
    if (s.size() + 1 != rank) shape_error(shapes, "all inputs need the same rank.");
  const std::size_t axis = resolved_axis(rank) - 1;  // in the shapes without batch
  Shape out = shapes[0];
  out[axis] = 0;
  for (const Shape& s : shapes) {
    for (std::size_t d = 0; d < s.size(); ++d)
      if (d != axis && s[d] != shapes[0][d])
        shape_error(shapes, "every axis but the concatenation axis (" + std::to_string(axis_) + ") must agree.");
    out[axis] += s[axis];
  }
  return out;
}

Tensor Concatenate::merge(const std::vector<Tensor>& xs) {
  const std::size_t axis = resolved_axis(xs[0].rank());
  Shape out_shape = xs[0].shape();
  out_shape[axis] = 0;
  shapes_.clear();
  for (const Tensor& x : xs) {
    out_shape[axis] += x.dim(axis);
    shapes_.push_back(x.shape());
  }
  Tensor y(out_shape);
  // outer: the product of the extents before the axis; each input contributes a block of
  // dim(axis) * inner values per outer index.
  std::size_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= out_shape[d];
  for (std::size_t d = axis + 1; d < out_shape.size(); ++d) inner *= out_shape[d];
  const std::size_t out_block = out_shape[axis] * inner;
  std::size_t offset = 0;
  for (const Tensor& x : xs) {
    const std::size_t block = x.dim(axis) * inner;
    for (std::size_t o = 0; o < outer; ++o)
      std::copy_n(x.data() + o * block, block, y.data() + o * out_block + offset);
    offset += block;
  }
  return y;
}

std::vector<Tensor> Concatenate::unmerge(const Tensor& dy) {
  const std::size_t axis = resolved_axis(dy.rank());
  std::size_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= dy.dim(d);
  for (std::size_t d = axis + 1; d < dy.rank(); ++d) inner *= dy.dim(d);
  const std::size_t out_block = dy.dim(axis) * inner;
  std::vector<Tensor> dxs;
  std::size_t offset = 0;
  for (const Shape& s : shapes_) {
    Tensor dx(s);
    const std::size_t block = s[axis] * inner;
    for (std::size_t o = 0; o < outer; ++o)
      std::copy_n(dy.data() + o * out_block + offset, block, dx.data() + o * block);
    offset += block;
    dxs.push_back(std::move(dx));
  }
  return dxs;
}

nlohmann::json Concatenate::get_config() const { return {{"name", name()}, {"axis", axis_}}; }

// --- Element-wise merges -----------------------------------------------------------------------

Shape ElementwiseMerge::merged_shape(const std::vector<Shape>& shapes) const {
  for (const Shape& s : shapes)
    if (s != shapes[0])
      shape_error(shapes, "an element-wise merge needs inputs of one shape (recur does not broadcast). "
                          "Project them to one size first, e.g. with a Dense layer.");
  return shapes[0];
}

nlohmann::json ElementwiseMerge::base_config() const { return {{"name", name()}}; }

Tensor SumMerge::merge(const std::vector<Tensor>& xs) {
  count_ = xs.size();
  Tensor y = xs[0];
  for (std::size_t k = 1; k < xs.size(); ++k)
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += xs[k][i];
  if (mean_) {
    const float inv = 1.0f / static_cast<float>(count_);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] *= inv;
  }
  return y;
}

std::vector<Tensor> SumMerge::unmerge(const Tensor& dy) {
  Tensor dx = dy;
  if (mean_) {
    const float inv = 1.0f / static_cast<float>(count_);
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] *= inv;
  }
  return std::vector<Tensor>(count_, dx);
}

Add::Add(std::string name) : SumMerge(false) { set_name(std::move(name)); }
nlohmann::json Add::get_config() const { return base_config(); }

Multiply::Multiply(std::string name) { set_name(std::move(name)); }
nlohmann::json Multiply::get_config() const { return base_config(); }

Tensor Multiply::merge(const std::vector<Tensor>& xs) {
  xs_ = xs;
  Tensor y = xs[0];
  for (std::size_t k = 1; k < xs.size(); ++k)
    for (std::size_t i = 0; i < y.size(); ++i) y[i] *= xs[k][i];
  return y;
}

std::vector<Tensor> Multiply::unmerge(const Tensor& dy) {
  // d/dx_k of prod_j x_j = prod_{j != k} x_j (computed without division: zeros are common).
  std::vector<Tensor> dxs;
  for (std::size_t k = 0; k < xs_.size(); ++k) {
    Tensor dx = dy;
    for (std::size_t j = 0; j < xs_.size(); ++j)
      if (j != k)
        for (std::size_t i = 0; i < dx.size(); ++i) dx[i] *= xs_[j][i];
    dxs.push_back(std::move(dx));
  }
  return dxs;
}

Average::Average(std::string name) : SumMerge(true) { set_name(std::move(name)); }
nlohmann::json Average::get_config() const { return base_config(); }

// --- RepeatVector ------------------------------------------------------------------------------

RepeatVector::RepeatVector(std::size_t n, std::string name) : n_(n) {
  set_name(std::move(name));
  if (n == 0) throw ValueError("RepeatVector: n must be >= 1, got 0.", codes::kBadHyperparameter);
}

void RepeatVector::build(const Shape& input_shape, Rng& /*rng*/) {
  if (input_shape.size() != 1)
    throw ShapeError(label() + " expects input (batch, features), got " + shape_str(with_batch(input_shape)) + ".",
                     codes::kInputRank);
  mark_built(input_shape);
}

Tensor RepeatVector::forward(const Tensor& x, bool /*training*/) {
  check_input(x);
  batch_ = x.dim(0);
  const std::size_t f = x.dim(1);
  Tensor y({batch_, n_, f});
  for (std::size_t b = 0; b < batch_; ++b)
    for (std::size_t t = 0; t < n_; ++t) std::copy_n(x.data() + b * f, f, y.data() + (b * n_ + t) * f);
  return y;
}

Tensor RepeatVector::backward(const Tensor& dy) {
  const std::size_t f = input_shape().at(0);
  if (dy.shape() != Shape{batch_, n_, f})
    throw ShapeError(label() + ": gradient must be " + shape_str({batch_, n_, f}) + ", got " + dy.shape_str() + ".");
  Tensor dx({batch_, f});
  for (std::size_t b = 0; b < batch_; ++b)
    for (std::size_t t = 0; t < n_; ++t)
      for (std::size_t i = 0; i < f; ++i) dx[b * f + i] += dy[(b * n_ + t) * f + i];
  return dx;
}

Tensor RepeatVector::compute_mask(const Tensor& /*x*/, const Tensor& /*mask*/) const { return {}; }

nlohmann::json RepeatVector::get_config() const { return {{"name", name()}, {"n", n_}}; }

// --- Reshape -----------------------------------------------------------------------------------

Reshape::Reshape(std::vector<long long> target_shape, std::string name) : target_(std::move(target_shape)) {
  set_name(std::move(name));
  std::size_t unknown = 0;
  for (long long d : target_) {
    if (d == -1) ++unknown;
    else if (d <= 0)
      throw ValueError("Reshape: target_shape extents must be positive (one may be -1, inferred), got " +
                           std::to_string(d) + ".", codes::kBadHyperparameter);
  }
  if (target_.empty() || unknown > 1)
    throw ValueError("Reshape: target_shape needs at least one extent and at most one -1.",
                     codes::kBadHyperparameter);
}

void Reshape::build(const Shape& input_shape, Rng& /*rng*/) {
  const std::size_t total = shape_size(input_shape);
  std::size_t known = 1;
  for (long long d : target_)
    if (d != -1) {
      if (known > total) break;
      known *= static_cast<std::size_t>(d);
    }
  Shape out;
  for (long long d : target_) out.push_back(d == -1 ? (known ? total / known : 0) : static_cast<std::size_t>(d));
  if (known == 0 || shape_size(out) != total || std::find(out.begin(), out.end(), 0) != out.end()) {
    std::string t;
    for (long long d : target_) t += (t.empty() ? "" : ", ") + std::to_string(d);
    throw ShapeError(label() + " cannot reshape " + shape_str(with_batch(input_shape)) + " (" + std::to_string(total) +
                         " values per sample) to (None, " + t + "): the value counts differ.",
                     codes::kGraphShape);
  }
  output_shape_ = out;
  mark_built(input_shape);
}

Tensor Reshape::forward(const Tensor& x, bool /*training*/) {
  check_input(x);
  x_shape_ = x.shape();
  Shape s{x.dim(0)};
  s.insert(s.end(), output_shape_.begin(), output_shape_.end());
  return x.reshape(s);
}

Tensor Reshape::backward(const Tensor& dy) {
  if (dy.size() != shape_size(x_shape_))
    throw ShapeError(label() + ": gradient has " + std::to_string(dy.size()) + " values, expected " +
                     std::to_string(shape_size(x_shape_)) + ".");
  return dy.reshape(x_shape_);
}

Tensor Reshape::compute_mask(const Tensor& /*x*/, const Tensor& /*mask*/) const { return {}; }

nlohmann::json Reshape::get_config() const { return {{"name", name()}, {"target_shape", target_}}; }

}  // namespace recur
