#include "recur/ops/activations.hpp"

#include <algorithm>

#include "recur/core/error.hpp"

namespace recur::ops {

Activation parse_activation(const std::string& name, const std::string& caller) {
  if (name == "linear" || name == "none") return Activation::kLinear;
  if (name == "relu") return Activation::kRelu;
  if (name == "tanh") return Activation::kTanh;
  if (name == "sigmoid") return Activation::kSigmoid;
  if (name == "softmax") return Activation::kSoftmax;
  throw ValueError(caller + ": unknown activation \"" + name +
                   "\"; expected one of linear, relu, tanh, sigmoid, softmax.");
}

std::string activation_name(Activation a) {
  switch (a) {
    case Activation::kRelu: return "relu";
    case Activation::kTanh: return "tanh";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kSoftmax: return "softmax";
    default: return "linear";
  }
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
