#pragma once
// Element-wise activations and their derivatives, expressed through the activation's OUTPUT
// (sigmoid' = y(1-y), tanh' = 1-y^2, relu' = [y>0]) so backward passes need only cache outputs.
//
// Definitions are Keras 3's (keras/src/activations/activations.py, keras/src/backend/numpy/nn.py):
//   hard_sigmoid(x)        = clip(x/6 + 1/2, 0, 1)              (Keras 3: relu6(x + 3) / 6)
//   legacy_hard_sigmoid(x) = clip(0.2x + 0.5, 0, 1)   (hard_sigmoid of Keras 1, 2 and tf.keras)
//   elu(x)      = x if x >= 0 else exp(x) - 1                    (alpha 1)
//   selu(x)     = scale * (x if x >= 0 else alpha (exp(x) - 1))  (kSeluAlpha, kSeluScale)
//   softplus(x) = log(1 + exp(x)),  softsign(x) = x / (1 + |x|),  exponential(x) = exp(x)
// and their derivatives from y = f(x):
//   hard_sigmoid 1/6 and legacy_hard_sigmoid 0.2 where 0 < y < 1, else 0;  elu y>0 ? 1 : y+1;
//   selu y>0 ? scale : y + scale*alpha;  softplus 1 - exp(-y) (= sigmoid(x));
//   softsign (1 - |y|)^2;  exponential y.
// Activations whose derivative is not a function of the output alone (swish / silu, gelu, ...)
// are refused by parse_activation: supporting them would need the cells to cache inputs.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

namespace recur::ops {

enum class Activation {
  kLinear,
  kRelu,
  kTanh,
  kSigmoid,
  kSoftmax,
  kHardSigmoid,        // Keras 3: clip(x/6 + 0.5, 0, 1)
  kLegacyHardSigmoid,  // Keras 1/2, tf.keras: clip(0.2x + 0.5, 0, 1)
  kElu,
  kSelu,
  kSoftplus,
  kSoftsign,
  kExponential,
};

/// SELU's constants (Klambauer et al. 2017), as Keras.
inline constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
inline constexpr double kSeluScale = 1.0507009873554804934193349852946;

/// Parses an activation name: linear (also "none"), relu, tanh, sigmoid, softmax, hard_sigmoid,
/// legacy_hard_sigmoid, elu, selu, softplus, softsign, exponential. Throws ValueError naming
/// `caller`, the value received and the accepted names; for swish, silu, gelu, hard_silu,
/// hard_swish and mish it says why recur cannot run them.
Activation parse_activation(const std::string& name, const std::string& caller);
/// The Keras name of an activation ("legacy_hard_sigmoid" for the 0.2x + 0.5 form).
std::string activation_name(Activation a);
/// The accepted names, comma separated, in the order of the "expected one of" messages.
std::string activation_names();

/// f(x) for an element-wise activation (not softmax).
template <typename T>
inline T activate(T x, Activation a) {
  switch (a) {
    case Activation::kRelu: return x > T(0) ? x : T(0);
    case Activation::kTanh: return std::tanh(x);
    case Activation::kSigmoid: return T(1) / (T(1) + std::exp(-x));
    case Activation::kHardSigmoid: {
      const T y = x / T(6) + T(0.5);
      return y <= T(0) ? T(0) : y >= T(1) ? T(1) : y;
    }
    case Activation::kLegacyHardSigmoid: {
      const T y = T(0.2) * x + T(0.5);
      return y <= T(0) ? T(0) : y >= T(1) ? T(1) : y;
    }
    case Activation::kElu: return x >= T(0) ? x : std::expm1(x);
    case Activation::kSelu:
      return T(kSeluScale) * (x >= T(0) ? x : T(kSeluAlpha) * std::expm1(x));
    // log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow for large x, no loss of the
    // tiny value exp(x) for very negative x.
    case Activation::kSoftplus: return std::max(x, T(0)) + std::log1p(std::exp(-std::fabs(x)));
    case Activation::kSoftsign: return x / (T(1) + std::fabs(x));
    case Activation::kExponential: return std::exp(x);
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
    case Activation::kHardSigmoid: return y > T(0) && y < T(1) ? T(1) / T(6) : T(0);
    case Activation::kLegacyHardSigmoid: return y > T(0) && y < T(1) ? T(0.2) : T(0);
    case Activation::kElu: return y > T(0) ? T(1) : y + T(1);
    case Activation::kSelu:
      return y > T(0) ? T(kSeluScale) : y + T(kSeluScale) * T(kSeluAlpha);
    // sigmoid(x) = 1 - exp(-softplus(x)); -expm1 keeps it exact when y is tiny.
    case Activation::kSoftplus: return -std::expm1(-y);
    case Activation::kSoftsign: {
      const T r = T(1) - std::fabs(y);
      return r * r;
    }
    case Activation::kExponential: return y;
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
