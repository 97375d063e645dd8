#include "plot.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "recur/core/error.hpp"

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

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

void write_forecast_svg(const std::string& path, const std::string& title,
                        const std::vector<std::string>& labels, const std::vector<double>& actual,
                        const std::vector<double>& forecast, std::size_t test_begin,
                        const std::string& y_label) {
  const double W = 960, H = 440, left = 70, right = 40, top = 40, bottom = 60;
  const double pw = W - left - right, ph = H - top - bottom;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto* v : {&actual, &forecast})
    for (double x : *v)
      if (std::isfinite(x)) { lo = std::min(lo, x); hi = std::max(hi, x); }
  if (!std::isfinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-12) { lo -= 1; hi += 1; }
  const double step = nice_step(hi - lo, 6);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  const std::size_t n = actual.size();
  auto X = [&](std::size_t i) { return left + (n > 1 ? pw * static_cast<double>(i) / static_cast<double>(n - 1) : pw / 2); };
  auto Y = [&](double v) { return top + ph * (1.0 - (v - lo) / (hi - lo)); };
  auto polyline = [&](const std::vector<double>& v, std::size_t from, const char* color, double width) {
    std::ostringstream o;
    bool open = false;
    for (std::size_t i = from; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) {
        if (open) { o << "\"/>\n"; open = false; }
        continue;
      }
      if (!open) {
        o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"" << width
          << "\" points=\"";
        open = true;
      }
      o << X(i) << "," << Y(v[i]) << " ";
    }
    if (open) o << "\"/>\n";
    return o.str();
  };

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << W / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">" << esc(title)
    << "</text>\n";
  for (double v = lo; v <= hi + step / 2; v += step) {
    s << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << Y(v) << "\" y2=\""
      << Y(v) << "\" stroke=\"#e5e5e5\"/>\n"
      << "<text x=\"" << left - 6 << "\" y=\"" << Y(v) + 4 << "\" text-anchor=\"end\">" << fmt(v)
      << "</text>\n";
  }
  const std::size_t ticks = std::min<std::size_t>(8, n);
  for (std::size_t k = 0; k < ticks && n > 0; ++k) {
    const std::size_t i = ticks > 1 ? k * (n - 1) / (ticks - 1) : 0;
    s << "<text x=\"" << X(i) << "\" y=\"" << top + ph + 18 << "\" text-anchor=\"middle\">"
      << esc(i < labels.size() ? labels[i] : std::to_string(i)) << "</text>\n";
  }
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#888\"/>\n";
  if (test_begin < n) {
    s << "<rect x=\"" << X(test_begin) << "\" y=\"" << top << "\" width=\"" << X(n - 1) - X(test_begin)
      << "\" height=\"" << ph << "\" fill=\"#f3f6fb\"/>\n"
      << "<text x=\"" << X(test_begin) + 4 << "\" y=\"" << top + 14 << "\" fill=\"#666\">test</text>\n";
  }
  s << polyline(actual, 0, "#1f77b4", 1.6) << polyline(forecast, 0, "#ff7f0e", 2.2);
  s << "<text transform=\"translate(16," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << esc(y_label) << "</text>\n";
  const double lx = left + 12, ly = top + ph + 40;
  s << "<line x1=\"" << lx << "\" x2=\"" << lx + 24 << "\" y1=\"" << ly << "\" y2=\"" << ly
    << "\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"" << lx + 30 << "\" y=\"" << ly + 4
    << "\">actual</text>\n"
    << "<line x1=\"" << lx + 100 << "\" x2=\"" << lx + 124 << "\" y1=\"" << ly << "\" y2=\"" << ly
    << "\" stroke=\"#ff7f0e\" stroke-width=\"2\"/><text x=\"" << lx + 130 << "\" y=\"" << ly + 4
    << "\">LSTM forecast (test)</text>\n</svg>\n";

  std::ofstream out(path);
  if (!out) throw IoError("cannot write plot \"" + path + "\": " + std::strerror(errno) + ".");
  out << s.str();
  if (!out) throw IoError("cannot write plot \"" + path + "\": " + std::strerror(errno) + ".");
}

}  // namespace recur::cli
