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

/// What the forecast chart shows; every vector is indexed like `labels` (the data's rows, then
/// the future steps), NaN where there is nothing to draw.
struct ForecastPlot {
  std::string title, y_label, model_name;
  std::vector<std::string> labels;
  std::vector<double> actual, forecast, lower, upper;  // lower/upper: the interval band
  std::size_t test_begin = 0, data_end = 0;             // first test row; first future row
};

/// Two panels: the whole series with the test region shaded, and the same zoomed on the test
/// window and the future steps (with a little history before), the forecast's interval as a
/// band. Axis labels are plain numbers. Throws IoError.
void write_forecast_svg(const std::string& path, const ForecastPlot& plot);

/// Training curves: two panels side by side (e.g. loss and val_loss; accuracy and
/// val_accuracy) over epochs 1..n. Throws IoError.
void write_training_curves_svg(const std::string& path, const std::string& title,
                               const std::vector<Series>& left, const std::string& left_label,
                               const std::vector<Series>& right, const std::string& right_label);

}  // namespace recur::cli
