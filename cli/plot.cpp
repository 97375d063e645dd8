#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "common.hpp"

namespace recur::cli {
namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `count` ticks over span.
double nice_step(double span, int count) {
  const double raw = span / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

// A plain number for an axis tick (never 1e+06): as many decimals as the tick step needs.
std::string fmt(double v, double step) {
  int decimals = 0;
  if (step > 0 && step < 1) decimals = std::min(8, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  if (std::fabs(v) < step * 1e-6) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

struct Panel {
  double left, top, width, height;
};

// Axes, grid, x labels, y label, optional shaded region [shade_from, end), the series and a
// legend under the panel.
void draw_panel(std::ostringstream& s, const Panel& p, const std::vector<Series>& series,
                const std::vector<std::string>& x_labels, const std::string& y_label,
                std::size_t shade_from, const std::vector<double>* band_lo = nullptr,
                const std::vector<double>* band_hi = nullptr) {
  std::size_t n = x_labels.size();
  for (const auto& se : series) n = std::max(n, se.values.size());
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& se : series)
    for (double v : se.values)
      if (std::isfinite(v)) { lo = std::min(lo, v); hi = std::max(hi, v); }
  for (const auto* b : {band_lo, band_hi})
    if (b)
      for (double v : *b)
        if (std::isfinite(v)) { lo = std::min(lo, v); hi = std::max(hi, v); }
  if (!std::isfinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-12) { lo -= 1; hi += 1; }
  const double step = nice_step(hi - lo, 6);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  auto X = [&](std::size_t i) {
    return p.left + (n > 1 ? p.width * static_cast<double>(i) / static_cast<double>(n - 1) : p.width / 2);
  };
  auto Y = [&](double v) { return p.top + p.height * (1.0 - (v - lo) / (hi - lo)); };

  if (shade_from < n)
    s << "<rect x=\"" << X(shade_from) << "\" y=\"" << p.top << "\" width=\"" << X(n - 1) - X(shade_from)
      << "\" height=\"" << p.height << "\" fill=\"#f3f6fb\"/>\n"
      << "<text x=\"" << X(shade_from) + 4 << "\" y=\"" << p.top + 14 << "\" fill=\"#666\">test</text>\n";
  for (double v = lo; v <= hi + step / 2; v += step)
    s << "<line x1=\"" << p.left << "\" x2=\"" << p.left + p.width << "\" y1=\"" << Y(v) << "\" y2=\""
      << Y(v) << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << p.left - 6 << "\" y=\"" << Y(v) + 4
      << "\" text-anchor=\"end\">" << fmt(v, step) << "</text>\n";
  const std::size_t ticks = std::min<std::size_t>(8, n);
  for (std::size_t k = 0; k < ticks; ++k) {
    const std::size_t i = ticks > 1 ? k * (n - 1) / (ticks - 1) : 0;
    s << "<text x=\"" << X(i) << "\" y=\"" << p.top + p.height + 18 << "\" text-anchor=\"middle\">"
      << esc(i < x_labels.size() ? x_labels[i] : std::to_string(i + 1)) << "</text>\n";
  }
  s << "<rect x=\"" << p.left << "\" y=\"" << p.top << "\" width=\"" << p.width << "\" height=\""
    << p.height << "\" fill=\"none\" stroke=\"#888\"/>\n"
    << "<text transform=\"translate(" << p.left - 52 << "," << p.top + p.height / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << esc(y_label) << "</text>\n";
  if (band_lo && band_hi) {
    // The interval band: one polygon per run of finite bounds.
    const std::size_t m = std::min(band_lo->size(), band_hi->size());
    for (std::size_t i = 0; i < m;) {
      if (!std::isfinite((*band_lo)[i]) || !std::isfinite((*band_hi)[i])) { ++i; continue; }
      std::size_t j = i;
      while (j < m && std::isfinite((*band_lo)[j]) && std::isfinite((*band_hi)[j])) ++j;
      s << "<polygon fill=\"#ff7f0e\" fill-opacity=\"0.18\" stroke=\"none\" points=\"";
      for (std::size_t k = i; k < j; ++k) s << X(k) << "," << Y((*band_hi)[k]) << " ";
      for (std::size_t k = j; k-- > i;) s << X(k) << "," << Y((*band_lo)[k]) << " ";
      s << "\"/>\n";
      i = j;
    }
  }
  for (const auto& se : series) {
    bool open = false;
    for (std::size_t i = 0; i < se.values.size(); ++i) {
      if (!std::isfinite(se.values[i])) {
        if (open) { s << "\"/>\n"; open = false; }
        continue;
      }
      if (!open) {
        s << "<polyline fill=\"none\" stroke=\"" << se.color << "\" stroke-width=\"1.8\" points=\"";
        open = true;
      }
      s << X(i) << "," << Y(se.values[i]) << " ";
    }
    if (open) s << "\"/>\n";
  }
  double lx = p.left + 12;
  const double ly = p.top + p.height + 40;
  for (const auto& se : series) {
    s << "<line x1=\"" << lx << "\" x2=\"" << lx + 24 << "\" y1=\"" << ly << "\" y2=\"" << ly
      << "\" stroke=\"" << se.color << "\" stroke-width=\"2\"/><text x=\"" << lx + 30 << "\" y=\""
      << ly + 4 << "\">" << esc(se.name) << "</text>\n";
    lx += 50 + 7.0 * static_cast<double>(se.name.size());
  }
}

std::string open_svg(double w, double h, const std::string& title) {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" viewBox=\"0 0 " << w << " " << h << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << w / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">" << esc(title)
    << "</text>\n";
  return s.str();
}

}  // namespace

void write_forecast_svg(const std::string& path, const ForecastPlot& plot) {
  std::ostringstream s;
  s << open_svg(960, 820, plot.title);
  const std::string name = plot.model_name + " forecast (95% band)";
  draw_panel(s, {90, 40, 830, 300},
             {{"actual", plot.actual, "#1f77b4"}, {name, plot.forecast, "#ff7f0e"}}, plot.labels,
             plot.y_label, plot.test_begin, &plot.lower, &plot.upper);
  // The zoom: the test window and the future, with as much history before it as the test
  // window is long (at least 12 rows).
  const std::size_t test_len = plot.data_end > plot.test_begin ? plot.data_end - plot.test_begin : 0;
  const std::size_t from = plot.test_begin > std::max<std::size_t>(test_len, 12)
                               ? plot.test_begin - std::max<std::size_t>(test_len, 12) : 0;
  auto cut = [&](const std::vector<double>& v) {
    return std::vector<double>(v.begin() + static_cast<long>(std::min(from, v.size())), v.end());
  };
  const std::vector<std::string> zl(plot.labels.begin() + static_cast<long>(std::min(from, plot.labels.size())),
                                    plot.labels.end());
  const std::vector<double> lo = cut(plot.lower), hi = cut(plot.upper);
  s << "<text x=\"480\" y=\"420\" text-anchor=\"middle\" font-size=\"14\">zoom: the test window and "
       "the future</text>\n";
  draw_panel(s, {90, 440, 830, 300}, {{"actual", cut(plot.actual), "#1f77b4"}, {name, cut(plot.forecast), "#ff7f0e"}},
             zl, plot.y_label, plot.test_begin - from, &lo, &hi);
  s << "</svg>\n";
  write_file_atomic(path, s.str());
}

void write_training_curves_svg(const std::string& path, const std::string& title,
                               const std::vector<Series>& left, const std::string& left_label,
                               const std::vector<Series>& right, const std::string& right_label) {
  std::size_t epochs = 0;
  for (const auto* side : {&left, &right})
    for (const auto& se : *side) epochs = std::max(epochs, se.values.size());
  std::vector<std::string> x;
  for (std::size_t e = 1; e <= epochs; ++e) x.push_back(std::to_string(e));
  std::ostringstream s;
  s << open_svg(1000, 420, title);
  draw_panel(s, {80, 40, 380, 310}, left, x, left_label, static_cast<std::size_t>(-1));
  draw_panel(s, {590, 40, 380, 310}, right, x, right_label, static_cast<std::size_t>(-1));
  s << "<text x=\"500\" y=\"412\" text-anchor=\"middle\" fill=\"#666\">epoch</text>\n</svg>\n";
  write_file_atomic(path, s.str());
}

}  // namespace recur::cli
