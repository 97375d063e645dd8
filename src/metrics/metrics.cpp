#include "recur/metrics/metrics.hpp"

#include <cmath>

#include "recur/core/error.hpp"

namespace recur {

MetricKind parse_metric(const std::string& name) {
  if (name == "mae" || name == "mean_absolute_error") return MetricKind::kMae;
  if (name == "mse" || name == "mean_squared_error") return MetricKind::kMse;
  if (name == "rmse" || name == "root_mean_squared_error") return MetricKind::kRmse;
  throw ValueError("compile: unknown metric \"" + name +
                   "\"; expected one of mae, mse, rmse.");
}

std::string metric_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::kMae: return "mae";
    case MetricKind::kMse: return "mse";
    default: return "rmse";
  }
}

void Metric::update(const float* y_pred, const float* y_true, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(y_pred[i]) - static_cast<double>(y_true[i]);
    sum_ += kind_ == MetricKind::kMae ? std::fabs(d) : d * d;
  }
  count_ += n;
}

double Metric::result() const {
  if (count_ == 0) return 0.0;
  const double mean = sum_ / static_cast<double>(count_);
  return kind_ == MetricKind::kRmse ? std::sqrt(mean) : mean;
}

}  // namespace recur
