#pragma once
// Fully connected layer on raw arrays: y (N, O) = a(x (N, F) . kernel (F, O) + bias (O,)).
// N is every leading axis flattened, so a (B, T, F) input is applied per timestep, as Keras's
// Dense does on rank-3 input.
#include <cstddef>

#include "recur/ops/activations.hpp"

namespace recur::ops {

/// y (N, O) written; bias may be null.
template <typename T>
void dense_forward(T* y, const T* x, const T* kernel, const T* bias, std::size_t n,
                   std::size_t features, std::size_t outputs, Activation activation);

/// Given y from dense_forward and dy = dL/dy: dx (N, F) written (may be null);
/// dkernel (F, O) and dbias (O,) ACCUMULATE (dbias may be null). dz (N, O) is scratch.
template <typename T>
void dense_backward(T* dx, T* dkernel, T* dbias, T* dz, const T* dy, const T* x, const T* y,
                    const T* kernel, std::size_t n, std::size_t features, std::size_t outputs,
                    Activation activation);

}  // namespace recur::ops
