#pragma once
// Element-wise activations and their derivatives, expressed through the activation's OUTPUT
// (sigmoid' = y(1-y), tanh' = 1-y^2, relu' = [y>0]) so backward passes need only cache outputs.
// Definitions as in the Keras activations docs (keras.io/api/layers/activations).
#include <cmath>
#include <cstddef>
#include <string>

namespace recur::ops {

enum class Activation { kLinear, kRelu, kTanh, kSigmoid, kSoftmax };

/// Parses "linear", "relu", "tanh", "sigmoid", "softmax" (also "none" for linear).
/// Throws ValueError naming `caller`, the value received and the accepted names.
Activation parse_activation(const std::string& name, const std::string& caller);
/// The Keras name of an activation.
std::string activation_name(Activation a);

/// f(x) for an element-wise activation (not softmax).
template <typename T>
inline T activate(T x, Activation a) {
  switch (a) {
    case Activation::kRelu: return x > T(0) ? x : T(0);
    case Activation::kTanh: return std::tanh(x);
    case Activation::kSigmoid: return T(1) / (T(1) + std::exp(-x));
    default: return x;
  }
}

/// f'(x) written in terms of y = f(x) (not softmax).
template <typename T>
inline T activation_grad_from_output(T y, Activation a) {
  switch (a) {
    case Activation::kRelu: return y > T(0) ? T(1) : T(0);
    case Activation::kTanh: return T(1) - y * y;
    case Activation::kSigmoid: return y * (T(1) - y);
    default: return T(1);
  }
}

/// y (rows, cols) = f(x); softmax normalizes each row (max-subtracted for stability).
/// y may alias x.
template <typename T>
void activation_forward(T* y, const T* x, std::size_t rows, std::size_t cols, Activation a);

/// dx (rows, cols) = dL/dx given dy = dL/dy and the forward output y. dx may alias dy.
/// Softmax: dx_j = y_j * (dy_j - sum_k dy_k y_k).
template <typename T>
void activation_backward(T* dx, const T* dy, const T* y, std::size_t rows, std::size_t cols,
                         Activation a);

}  // namespace recur::ops
