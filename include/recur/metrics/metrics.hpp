#pragma once
// Streaming regression metrics accumulated over batches, as Keras metrics are over an epoch.
//   mae  = mean |y_pred - y_true|     mse = mean (y_pred - y_true)^2     rmse = sqrt(mse)
// Means are over every element seen since reset(), not means of batch means.
#include <cstddef>
#include <string>

namespace recur {

enum class MetricKind { kMae, kMse, kRmse };

/// "mae"/"mean_absolute_error", "mse"/"mean_squared_error", "rmse"/"root_mean_squared_error".
/// Throws ValueError otherwise, listing the accepted names.
MetricKind parse_metric(const std::string& name);
std::string metric_name(MetricKind kind);

/// Accumulates one metric over batches.
class Metric {
 public:
  explicit Metric(MetricKind kind) : kind_(kind) {}
  /// Adds n elements of predictions and targets.
  void update(const float* y_pred, const float* y_true, std::size_t n);
  /// The metric over everything added since the last reset (0 if nothing).
  double result() const;
  void reset() { sum_ = 0; count_ = 0; }
  MetricKind kind() const noexcept { return kind_; }
  std::string name() const { return metric_name(kind_); }

 private:
  MetricKind kind_;
  double sum_ = 0;
  std::size_t count_ = 0;
};

}  // namespace recur
