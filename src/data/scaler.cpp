#include "recur/data/scaler.hpp"

#include <algorithm>
#include <cmath>

#include "recur/core/error.hpp"

namespace recur {

ScalerKind parse_scaler(const std::string& name) {
  if (name == "none") return ScalerKind::kNone;
  if (name == "standard") return ScalerKind::kStandard;
  if (name == "minmax") return ScalerKind::kMinMax;
  throw ValueError("--scaler: unknown scaler \"" + name + "\"; expected standard, minmax or none.");
}

std::string scaler_name(ScalerKind kind) {
  switch (kind) {
    case ScalerKind::kNone: return "none";
    case ScalerKind::kMinMax: return "minmax";
    default: return "standard";
  }
}

void Scaler::fit_column(const std::vector<double>& values, std::size_t rows) {
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  std::size_t n = 0;
  for (std::size_t i = 0; i < rows && i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    sum += values[i];
    lo = std::min(lo, values[i]);
    hi = std::max(hi, values[i]);
    ++n;
  }
  if (n == 0) throw ValueError("Scaler: a column has no finite training values to fit on.");
  double off = 0, sc = 1;
  if (kind == ScalerKind::kStandard) {
    off = sum / static_cast<double>(n);
    double sq = 0;
    for (std::size_t i = 0; i < rows && i < values.size(); ++i)
      if (std::isfinite(values[i])) sq += (values[i] - off) * (values[i] - off);
    sc = std::sqrt(sq / static_cast<double>(n));
  } else if (kind == ScalerKind::kMinMax) {
    off = lo;
    sc = hi - lo;
  }
  if (!(sc > 1e-12)) sc = 1;
  offset.push_back(off);
  scale.push_back(sc);
}

}  // namespace recur
