#include "recur/ops/activations.hpp"

#include <algorithm>

#include "recur/core/error.hpp"

namespace recur::ops {

namespace {

// One table for the names: parse_activation, activation_name and the "expected one of" list.
// An alias follows its canonical name (activation_name returns the first match).
struct ActivationName {
  const char* name;
  Activation activation;
};
constexpr ActivationName kActivationNames[] = {
    {"linear", Activation::kLinear},
    {"none", Activation::kLinear},
    {"relu", Activation::kRelu},
    {"tanh", Activation::kTanh},
    {"sigmoid", Activation::kSigmoid},
    {"softmax", Activation::kSoftmax},
    {"hard_sigmoid", Activation::kHardSigmoid},
    {"legacy_hard_sigmoid", Activation::kLegacyHardSigmoid},
    {"elu", Activation::kElu},
    {"selu", Activation::kSelu},
    {"softplus", Activation::kSoftplus},
    {"softsign", Activation::kSoftsign},
    {"exponential", Activation::kExponential},
};

// Keras activations whose derivative is not a function of their output: the cells cache only
// outputs, so recur refuses these by name rather than as unknown.
constexpr const char* kNotFromOutput[] = {"swish", "silu", "gelu", "hard_silu", "hard_swish",
                                          "mish"};

}  // namespace

std::string activation_name(Activation a) {
  for (const auto& [n, act] : kActivationNames)
    if (act == a) return n;
  return "linear";
}

std::string activation_names() {
  std::string names;
  for (const ActivationName& e : kActivationNames) {
    if (activation_name(e.activation) != e.name) continue;  // an alias, not listed
    names += (names.empty() ? "" : ", ") + std::string(e.name);
  }
  return names;
}

Activation parse_activation(const std::string& name, const std::string& caller) {
  for (const auto& [n, a] : kActivationNames)
    if (name == n) return a;
  for (const char* n : kNotFromOutput)
    if (name == n)
      throw ValueError(caller + ": activation \"" + name + "\" is not supported: recur computes "
                       "an activation's derivative from its output (the layers cache outputs), "
                       "and the derivative of " + name + " cannot be written from its output "
                       "alone. Use one of " + activation_names() + ".");
  throw ValueError(caller + ": unknown activation \"" + name + "\"; expected one of " +
                   activation_names() + ".");
}

template <typename T>
void activation_forward(T* y, const T* x, std::size_t rows, std::size_t cols, Activation a) {
  if (a != Activation::kSoftmax) {
    for (std::size_t i = 0; i < rows * cols; ++i) y[i] = activate(x[i], a);
    return;
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T mx = *std::max_element(xr, xr + cols);
    T sum = 0;
    for (std::size_t j = 0; j < cols; ++j) sum += (yr[j] = std::exp(xr[j] - mx));
    for (std::size_t j = 0; j < cols; ++j) yr[j] /= sum;
  }
}

template <typename T>
void activation_backward(T* dx, const T* dy, const T* y, std::size_t rows, std::size_t cols,
                         Activation a) {
  if (a != Activation::kSoftmax) {
    for (std::size_t i = 0; i < rows * cols; ++i)
      dx[i] = dy[i] * activation_grad_from_output(y[i], a);
    return;
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const T* yr = y + r * cols;
    T dot = 0;
    for (std::size_t j = 0; j < cols; ++j) dot += dy[r * cols + j] * yr[j];
    for (std::size_t j = 0; j < cols; ++j) dx[r * cols + j] = yr[j] * (dy[r * cols + j] - dot);
  }
}

template void activation_forward<float>(float*, const float*, std::size_t, std::size_t,
                                        Activation);
template void activation_forward<double>(double*, const double*, std::size_t, std::size_t,
                                         Activation);
template void activation_backward<float>(float*, const float*, const float*, std::size_t,
                                         std::size_t, Activation);
template void activation_backward<double>(double*, const double*, const double*, std::size_t,
                                          std::size_t, Activation);

}  // namespace recur::ops
