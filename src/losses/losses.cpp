#include "recur/losses/losses.hpp"

#include <algorithm>
#include <cmath>

#include "recur/core/error.hpp"

namespace recur {
namespace {

constexpr double kEps = kProbabilityEpsilon;

double clip(double p) { return std::min(std::max(p, kEps), 1.0 - kEps); }
bool clipped(double p) { return p < kEps || p > 1.0 - kEps; }

// log(1 + exp(x)) without overflow.
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

template <typename T>
double log_sum_exp(const T* z, std::size_t n) {
  double mx = static_cast<double>(*std::max_element(z, z + n)), s = 0;
  for (std::size_t j = 0; j < n; ++j) s += std::exp(static_cast<double>(z[j]) - mx);
  return mx + std::log(s);
}

template <typename T>
double row_sum(const T* p, std::size_t n) {
  double s = 0;
  for (std::size_t j = 0; j < n; ++j) s += static_cast<double>(p[j]);
  return s;
}

// The label of a sparse target, already checked to be an integer in [0, cols) by the caller
// (Sequential checks labels before training); clamped here so a bad value cannot index out of
// bounds.
std::size_t label_of(double y, std::size_t cols) {
  const double r = std::round(y);
  if (!(r >= 0)) return 0;
  return std::min(static_cast<std::size_t>(r), cols - 1);
}

}  // namespace

LossKind parse_loss(const std::string& name) {
  if (name == "mse" || name == "mean_squared_error") return LossKind::kMeanSquaredError;
  if (name == "mae" || name == "mean_absolute_error") return LossKind::kMeanAbsoluteError;
  if (name == "huber") return LossKind::kHuber;
  if (name == "binary_crossentropy") return LossKind::kBinaryCrossentropy;
  if (name == "categorical_crossentropy") return LossKind::kCategoricalCrossentropy;
  if (name == "sparse_categorical_crossentropy") return LossKind::kSparseCategoricalCrossentropy;
  throw ValueError("compile: unknown loss \"" + name +
                   "\"; expected one of mse (mean_squared_error), mae (mean_absolute_error), "
                   "huber, binary_crossentropy, categorical_crossentropy, "
                   "sparse_categorical_crossentropy.");
}

std::string loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::kMeanSquaredError: return "mse";
    case LossKind::kMeanAbsoluteError: return "mae";
    case LossKind::kHuber: return "huber";
    case LossKind::kBinaryCrossentropy: return "binary_crossentropy";
    case LossKind::kCategoricalCrossentropy: return "categorical_crossentropy";
    default: return "sparse_categorical_crossentropy";
  }
}

template <typename T>
T loss_value(const Loss& loss, const T* y_pred, const T* y_true, std::size_t rows,
             std::size_t cols, const T* row_weights) {
  if (rows == 0 || cols == 0) return T(0);
  double total = 0;
  const double delta = loss.delta;
  for (std::size_t r = 0; r < rows; ++r) {
    double sum = 0;
    const double w = row_weights ? static_cast<double>(row_weights[r]) : 1.0;
    if (w == 0.0) continue;
    const T* p = y_pred + r * cols;
    const T* y = y_true + r * loss.target_cols(cols);
    switch (loss.kind) {
      case LossKind::kMeanSquaredError:
      case LossKind::kMeanAbsoluteError:
      case LossKind::kHuber:
      case LossKind::kBinaryCrossentropy: {
        double row = 0;
        for (std::size_t j = 0; j < cols; ++j) {
          const double pv = static_cast<double>(p[j]), yv = static_cast<double>(y[j]);
          const double d = pv - yv;
          if (loss.kind == LossKind::kMeanSquaredError) row += d * d;
          else if (loss.kind == LossKind::kMeanAbsoluteError) row += std::fabs(d);
          else if (loss.kind == LossKind::kHuber)
            row += std::fabs(d) <= delta ? 0.5 * d * d : delta * (std::fabs(d) - 0.5 * delta);
          else if (loss.from_logits) row += softplus(pv) - yv * pv;  // = -(y log s + (1-y) log(1-s))
          else row += -(yv * std::log(clip(pv)) + (1 - yv) * std::log(1 - clip(pv)));
        }
        sum += row / static_cast<double>(cols);
        break;
      }
      case LossKind::kCategoricalCrossentropy:
      case LossKind::kSparseCategoricalCrossentropy: {
        const bool sparse = loss.kind == LossKind::kSparseCategoricalCrossentropy;
        if (loss.from_logits) {
          const double lse = log_sum_exp(p, cols);
          if (sparse) sum += lse - static_cast<double>(p[label_of(y[0], cols)]);
          else
            for (std::size_t j = 0; j < cols; ++j)
              sum += static_cast<double>(y[j]) * (lse - static_cast<double>(p[j]));
        } else {
          const double s = row_sum(p, cols);
          if (sparse) sum += -std::log(clip(static_cast<double>(p[label_of(y[0], cols)]) / s));
          else
            for (std::size_t j = 0; j < cols; ++j)
              sum += -static_cast<double>(y[j]) * std::log(clip(static_cast<double>(p[j]) / s));
        }
        break;
      }
    }
    total += w * sum;
  }
  return static_cast<T>(total / static_cast<double>(rows));
}

template <typename T>
void loss_gradient(const Loss& loss, T* dy_pred, const T* y_pred, const T* y_true,
                   std::size_t rows, std::size_t cols, const T* row_weights) {
  const double delta = loss.delta;
  for (std::size_t r = 0; r < rows; ++r) {
    const double inv_rows =
        (row_weights ? static_cast<double>(row_weights[r]) : 1.0) / static_cast<double>(rows);
    const T* p = y_pred + r * cols;
    const T* y = y_true + r * loss.target_cols(cols);
    T* g = dy_pred + r * cols;
    switch (loss.kind) {
      case LossKind::kMeanSquaredError:
      case LossKind::kMeanAbsoluteError:
      case LossKind::kHuber:
      case LossKind::kBinaryCrossentropy: {
        const double scale = inv_rows / static_cast<double>(cols);
        for (std::size_t j = 0; j < cols; ++j) {
          const double pv = static_cast<double>(p[j]), yv = static_cast<double>(y[j]);
          const double d = pv - yv;
          double gv;
          if (loss.kind == LossKind::kMeanSquaredError) gv = 2 * d;
          else if (loss.kind == LossKind::kMeanAbsoluteError) gv = d > 0 ? 1 : d < 0 ? -1 : 0;
          else if (loss.kind == LossKind::kHuber) gv = std::fabs(d) <= delta ? d : (d > 0 ? delta : -delta);
          else if (loss.from_logits) gv = sigmoid(pv) - yv;
          else gv = clipped(pv) ? 0.0 : -yv / pv + (1 - yv) / (1 - pv);
          g[j] = static_cast<T>(gv * scale);
        }
        break;
      }
      case LossKind::kCategoricalCrossentropy:
      case LossKind::kSparseCategoricalCrossentropy: {
        const bool sparse = loss.kind == LossKind::kSparseCategoricalCrossentropy;
        const std::size_t label = sparse ? label_of(y[0], cols) : 0;
        auto target = [&](std::size_t j) {
          return sparse ? (j == label ? 1.0 : 0.0) : static_cast<double>(y[j]);
        };
        double ysum = 0;
        for (std::size_t j = 0; j < cols; ++j) ysum += target(j);
        if (loss.from_logits) {
          // d/dz_j [ sum_i y_i (lse - z_i) ] = ysum * softmax_j - y_j
          const double lse = log_sum_exp(p, cols);
          for (std::size_t j = 0; j < cols; ++j)
            g[j] = static_cast<T>((ysum * std::exp(static_cast<double>(p[j]) - lse) - target(j)) * inv_rows);
        } else {
          // L = -sum_i y_i log(clip(p_i / s)); for unclipped terms
          // dL/dp_j = -y_j / p_j + sum_{i unclipped} y_i / s.
          const double s = row_sum(p, cols);
          double active = 0;
          for (std::size_t i = 0; i < cols; ++i)
            if (!clipped(static_cast<double>(p[i]) / s)) active += target(i);
          for (std::size_t j = 0; j < cols; ++j) {
            const double q = static_cast<double>(p[j]) / s;
            const double own = clipped(q) ? 0.0 : -target(j) / static_cast<double>(p[j]);
            g[j] = static_cast<T>((own + active / s) * inv_rows);
          }
        }
        break;
      }
    }
  }
}

template float loss_value<float>(const Loss&, const float*, const float*, std::size_t, std::size_t,
                                  const float*);
template double loss_value<double>(const Loss&, const double*, const double*, std::size_t,
                                   std::size_t, const double*);
template void loss_gradient<float>(const Loss&, float*, const float*, const float*, std::size_t,
                                   std::size_t, const float*);
template void loss_gradient<double>(const Loss&, double*, const double*, const double*,
                                    std::size_t, std::size_t, const double*);

}  // namespace recur
