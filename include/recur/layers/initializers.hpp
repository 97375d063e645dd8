#pragma once
// Weight initializers with Keras's definitions (keras.io/api/layers/initializers).
#include <string>

#include "recur/core/random.hpp"
#include "recur/core/tensor.hpp"

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

}  // namespace recur
