#pragma once
// SVG charts written by the CLI: plain line charts, no dependencies.
#include <string>
#include <vector>

namespace recur::cli {

/// One line of a chart: values indexed like the x labels; NaN leaves a gap.
struct Series {
  std::string name;
  std::vector<double> values;
  std::string color;
};

/// A line chart of the whole series with the test forecast drawn over the test points, the test
/// region shaded. `forecast[i]` is NaN where there is no forecast. Throws IoError.
void write_forecast_svg(const std::string& path, const std::string& title,
                        const std::vector<std::string>& labels, const std::vector<double>& actual,
                        const std::vector<double>& forecast, std::size_t test_begin,
                        const std::string& y_label);

/// Training curves: two panels side by side (e.g. loss and val_loss; accuracy and
/// val_accuracy) over epochs 1..n. Throws IoError.
void write_training_curves_svg(const std::string& path, const std::string& title,
                               const std::vector<Series>& left, const std::string& left_label,
                               const std::vector<Series>& right, const std::string& right_label);

}  // namespace recur::cli
