#pragma once
#include <string>
#include <vector>

namespace recur::cli {

/// A line chart of the whole series with the test forecast drawn over the test points, as SVG.
/// `forecast[i]` is NaN where there is no forecast. Throws IoError if the file cannot be
/// written.
void write_forecast_svg(const std::string& path, const std::string& title,
                        const std::vector<std::string>& labels, const std::vector<double>& actual,
                        const std::vector<double>& forecast, std::size_t test_begin,
                        const std::string& y_label);

}  // namespace recur::cli
