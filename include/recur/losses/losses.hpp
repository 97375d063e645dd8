#pragma once
// Regression losses with Keras's definitions (keras.io/api/losses/regression_losses): the mean
// over every element of the batch.
//   mse = mean((y_pred - y_true)^2)      mae = mean(|y_pred - y_true|)
#include <cstddef>
#include <string>

namespace recur {

enum class LossKind { kMeanSquaredError, kMeanAbsoluteError };

/// "mse" / "mean_squared_error", "mae" / "mean_absolute_error". Throws ValueError otherwise,
/// listing the accepted names.
LossKind parse_loss(const std::string& name);
/// The short Keras name: "mse" or "mae".
std::string loss_name(LossKind kind);

/// Loss value over n elements of y_pred and y_true.
template <typename T>
T loss_value(LossKind kind, const T* y_pred, const T* y_true, std::size_t n);

/// d(loss)/d(y_pred) for each of the n elements, written to dy_pred. The subgradient of |x| at
/// 0 is taken as 0 (as TensorFlow's sign()).
template <typename T>
void loss_gradient(LossKind kind, T* dy_pred, const T* y_pred, const T* y_true, std::size_t n);

}  // namespace recur
