#pragma once
// Streaming metrics accumulated over batches, as Keras metrics are over an epoch. Predictions and
// targets are (rows, cols) as for the losses (recur/losses/losses.hpp).
//   mae  = mean |p - y|     mse = mean (p - y)^2     rmse = sqrt(mse)     (over all elements)
//   binary_accuracy               mean over elements of [ (p > 0.5) == (y > 0.5) ]
//   categorical_accuracy          mean over rows of [ argmax p == argmax y ]
//   sparse_categorical_accuracy   mean over rows of [ argmax p == y ]   (y one label per row)
// "accuracy" resolves to one of the three from the loss, as in Keras's compile().
#include <cstddef>
#include <string>

#include "recur/losses/losses.hpp"

namespace recur {

enum class MetricKind {
  kMae,
  kMse,
  kRmse,
  kBinaryAccuracy,
  kCategoricalAccuracy,
  kSparseCategoricalAccuracy,
};

/// "mae"/"mean_absolute_error", "mse"/"mean_squared_error", "rmse"/"root_mean_squared_error",
/// "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", and "accuracy" /
/// "acc" resolved from `loss` (binary for binary_crossentropy, sparse for
/// sparse_categorical_crossentropy, categorical otherwise). Throws ValueError otherwise.
MetricKind parse_metric(const std::string& name, const Loss& loss = {});
std::string metric_name(MetricKind kind);
/// True for the three accuracies (which read one label per row in the sparse case).
bool is_accuracy(MetricKind kind);

/// Accumulates one metric over batches.
class Metric {
 public:
  /// `name` is the key it reports under ("accuracy" when asked for as such); empty: the kind's name.
  explicit Metric(MetricKind kind, std::string name = "");
  /// Adds rows of predictions (rows, cols) and targets (rows, cols) - (rows, 1) for the sparse
  /// accuracy.
  void update(const float* y_pred, const float* y_true, std::size_t rows, std::size_t cols);
  /// The metric over everything added since the last reset (0 if nothing).
  double result() const;
  void reset() { sum_ = 0; count_ = 0; }
  MetricKind kind() const noexcept { return kind_; }
  const std::string& name() const noexcept { return name_; }

 private:
  MetricKind kind_;
  std::string name_;
  double sum_ = 0;
  std::size_t count_ = 0;
};

}  // namespace recur
