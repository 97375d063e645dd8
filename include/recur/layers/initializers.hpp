#pragma once
// Weight initializers with Keras's definitions (keras.io/api/layers/initializers).
#include <cstdint>
#include <string>

#include "recur/core/random.hpp"
#include "recur/core/tensor.hpp"
#include "recur/layers/layer.hpp"

namespace recur {

/// Uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).
/// For a (rows, cols) matrix fan_in = rows, fan_out = cols.
void glorot_uniform(Tensor& w, Rng& rng);
/// A (rows, cols) matrix with orthonormal rows or columns (Saxe et al. 2014): QR of a standard
/// normal matrix with the signs of R's diagonal folded in, times `gain`.
void orthogonal(Tensor& w, Rng& rng, float gain = 1.0f);
/// Fills `w` by the Keras initializer called `name` ("glorot_uniform", "orthogonal", "zeros",
/// "ones", "uniform" = Keras's RandomUniform in [-0.05, 0.05], Embedding's default). Throws ValueError naming `caller` for any other name.
void initialize(Tensor& w, const std::string& name, Rng& rng, const std::string& caller);

/// Creates a layer's weight in build(): `w.value` and `w.grad` of `shape`, the value filled by
/// the initializer called `initializer` (see initialize). Inside a WeightLoadScope on this
/// thread, the element count is first charged to the scope's budget (ModelFormatError when it
/// is exceeded: nothing is allocated) and the value is left at zero, since it is about to be
/// overwritten. Throws ValueError for an unknown initializer and ShapeError when the element
/// count overflows.
void create_weight(Weight& w, const Shape& shape, const std::string& initializer, Rng& rng,
                   const std::string& caller);

/// While alive, weights created on this thread (create_weight) are not initialised and may hold
/// at most `max_elements` values in all: the loader of a model file opens one with the number
/// of values the file holds, so an architecture that declares more weights than the file has
/// (a size bomb such as an LSTM of 10^8 units in a 19 KB file) fails before anything large is
/// allocated. `source` (the file) is named in the error. Scopes do not nest.
class WeightLoadScope {
 public:
  WeightLoadScope(std::uint64_t max_elements, std::string source);
  ~WeightLoadScope();
  WeightLoadScope(const WeightLoadScope&) = delete;
  WeightLoadScope& operator=(const WeightLoadScope&) = delete;
};

}  // namespace recur
