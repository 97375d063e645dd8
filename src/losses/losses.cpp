#include "recur/losses/losses.hpp"

#include <cmath>

#include "recur/core/error.hpp"

namespace recur {

LossKind parse_loss(const std::string& name) {
  if (name == "mse" || name == "mean_squared_error") return LossKind::kMeanSquaredError;
  if (name == "mae" || name == "mean_absolute_error") return LossKind::kMeanAbsoluteError;
  throw ValueError("compile: unknown loss \"" + name +
                   "\"; expected one of mse (mean_squared_error), mae (mean_absolute_error).");
}

std::string loss_name(LossKind kind) {
  return kind == LossKind::kMeanSquaredError ? "mse" : "mae";
}

template <typename T>
T loss_value(LossKind kind, const T* y_pred, const T* y_true, std::size_t n) {
  if (n == 0) return T(0);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(y_pred[i]) - static_cast<double>(y_true[i]);
    sum += kind == LossKind::kMeanSquaredError ? d * d : std::fabs(d);
  }
  return static_cast<T>(sum / static_cast<double>(n));
}

template <typename T>
void loss_gradient(LossKind kind, T* dy_pred, const T* y_pred, const T* y_true, std::size_t n) {
  const T inv_n = T(1) / static_cast<T>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const T d = y_pred[i] - y_true[i];
    if (kind == LossKind::kMeanSquaredError) dy_pred[i] = T(2) * d * inv_n;
    else dy_pred[i] = (d > T(0) ? T(1) : d < T(0) ? T(-1) : T(0)) * inv_n;
  }
}

template float loss_value<float>(LossKind, const float*, const float*, std::size_t);
template double loss_value<double>(LossKind, const double*, const double*, std::size_t);
template void loss_gradient<float>(LossKind, float*, const float*, const float*, std::size_t);
template void loss_gradient<double>(LossKind, double*, const double*, const double*,
                                    std::size_t);

}  // namespace recur
