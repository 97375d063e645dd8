#include "recur/metrics/metrics.hpp"

#include <algorithm>
#include <cmath>

#include "recur/core/error.hpp"

namespace recur {

MetricKind parse_metric(const std::string& name, const Loss& loss) {
  if (name == "mae" || name == "mean_absolute_error") return MetricKind::kMae;
  if (name == "mse" || name == "mean_squared_error") return MetricKind::kMse;
  if (name == "rmse" || name == "root_mean_squared_error") return MetricKind::kRmse;
  if (name == "binary_accuracy") return MetricKind::kBinaryAccuracy;
  if (name == "categorical_accuracy") return MetricKind::kCategoricalAccuracy;
  if (name == "sparse_categorical_accuracy") return MetricKind::kSparseCategoricalAccuracy;
  if (name == "accuracy" || name == "acc") {
    if (loss.kind == LossKind::kBinaryCrossentropy) return MetricKind::kBinaryAccuracy;
    if (loss.kind == LossKind::kSparseCategoricalCrossentropy)
      return MetricKind::kSparseCategoricalAccuracy;
    return MetricKind::kCategoricalAccuracy;
  }
  throw ValueError("compile: unknown metric \"" + name +
                   "\"; expected one of accuracy, binary_accuracy, categorical_accuracy, "
                   "sparse_categorical_accuracy, mae, mse, rmse.");
}

std::string metric_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::kMae: return "mae";
    case MetricKind::kMse: return "mse";
    case MetricKind::kRmse: return "rmse";
    case MetricKind::kBinaryAccuracy: return "binary_accuracy";
    case MetricKind::kCategoricalAccuracy: return "categorical_accuracy";
    default: return "sparse_categorical_accuracy";
  }
}

bool is_accuracy(MetricKind kind) {
  return kind == MetricKind::kBinaryAccuracy || kind == MetricKind::kCategoricalAccuracy ||
         kind == MetricKind::kSparseCategoricalAccuracy;
}

Metric::Metric(MetricKind kind, std::string name)
    : kind_(kind), name_(name.empty() ? metric_name(kind) : std::move(name)) {}

void Metric::update(const float* y_pred, const float* y_true, std::size_t rows, std::size_t cols) {
  switch (kind_) {
    case MetricKind::kMae:
    case MetricKind::kMse:
    case MetricKind::kRmse:
      for (std::size_t i = 0; i < rows * cols; ++i) {
        const double d = static_cast<double>(y_pred[i]) - static_cast<double>(y_true[i]);
        sum_ += kind_ == MetricKind::kMae ? std::fabs(d) : d * d;
      }
      count_ += rows * cols;
      break;
    case MetricKind::kBinaryAccuracy:
      for (std::size_t i = 0; i < rows * cols; ++i)
        sum_ += (y_pred[i] > 0.5f) == (y_true[i] > 0.5f) ? 1.0 : 0.0;
      count_ += rows * cols;
      break;
    case MetricKind::kCategoricalAccuracy:
    case MetricKind::kSparseCategoricalAccuracy: {
      const bool sparse = kind_ == MetricKind::kSparseCategoricalAccuracy;
      for (std::size_t r = 0; r < rows; ++r) {
        const float* p = y_pred + r * cols;
        const std::size_t guess = static_cast<std::size_t>(std::max_element(p, p + cols) - p);
        std::size_t truth;
        if (sparse) {
          truth = static_cast<std::size_t>(std::lround(y_true[r]));
        } else {
          const float* y = y_true + r * cols;
          truth = static_cast<std::size_t>(std::max_element(y, y + cols) - y);
        }
        sum_ += guess == truth ? 1.0 : 0.0;
      }
      count_ += rows;
      break;
    }
  }
}

double Metric::result() const {
  if (count_ == 0) return 0.0;
  const double mean = sum_ / static_cast<double>(count_);
  return kind_ == MetricKind::kRmse ? std::sqrt(mean) : mean;
}

}  // namespace recur
