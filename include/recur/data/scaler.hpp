#pragma once
// Per-column scaling fitted on training rows only (no look-ahead into validation or test).
//   standard: (v - mean) / std        minmax: (v - min) / (max - min)  -> [0, 1] on training
#include <cstddef>
#include <string>
#include <vector>

namespace recur {

enum class ScalerKind { kNone, kStandard, kMinMax };

/// Parses "none", "standard", "minmax"; throws ValueError otherwise.
ScalerKind parse_scaler(const std::string& name);
std::string scaler_name(ScalerKind kind);

/// v' = (v - offset[c]) / scale[c] for each column c.
struct Scaler {
  ScalerKind kind = ScalerKind::kStandard;
  std::vector<double> offset;
  std::vector<double> scale;

  /// Fits one column on values[0, rows) (NaNs skipped). A constant column gets scale 1.
  /// Throws ValueError if there are no finite values.
  void fit_column(const std::vector<double>& values, std::size_t rows);
  double transform(double v, std::size_t column) const { return (v - offset[column]) / scale[column]; }
  double inverse(double v, std::size_t column) const { return v * scale[column] + offset[column]; }
};

}  // namespace recur
