#include "recur/data/time_index.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>

#include "recur/core/error.hpp"

namespace recur {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
// The longest season infer_season_from_values looks for (it costs n * 2 kMaxSeasonLag).
constexpr std::size_t kMaxSeasonLag = 1000;

// One table for the frequency names (STYLE.md: one table per concept).
constexpr std::array<std::pair<TimeFrequency, const char*>, 9> kFrequencyNames{{
    {TimeFrequency::kUnknown, "unknown"},
    {TimeFrequency::kYearly, "yearly"},
    {TimeFrequency::kQuarterly, "quarterly"},
    {TimeFrequency::kMonthly, "monthly"},
    {TimeFrequency::kWeekly, "weekly"},
    {TimeFrequency::kDaily, "daily"},
    {TimeFrequency::kHourly, "hourly"},
    {TimeFrequency::kHalfHourly, "half-hourly"},
    {TimeFrequency::kMinutely, "minutely"},
}};

// A civil date and time of day, the fields a label is written from.
struct Civil {
  int year = 1970, month = 1, day = 1;
  int second_of_day = 0;
};

bool valid_date(int year, int month, int day) {
  using namespace std::chrono;
  return year_month_day{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                        std::chrono::day{static_cast<unsigned>(day)}}.ok();
}

int days_in_month(int year, int month) {
  using namespace std::chrono;
  const year_month_day_last last{std::chrono::year{year},
                                 month_day_last{std::chrono::month{static_cast<unsigned>(month)}}};
  return static_cast<int>(static_cast<unsigned>(last.day()));
}

std::int64_t to_seconds(const Civil& c) {
  using namespace std::chrono;
  const sys_days d{std::chrono::year{c.year} / std::chrono::month{static_cast<unsigned>(c.month)} /
                   std::chrono::day{static_cast<unsigned>(c.day)}};
  return static_cast<std::int64_t>(d.time_since_epoch().count()) * kSecondsPerDay + c.second_of_day;
}

Civil to_civil(std::int64_t seconds) {
  using namespace std::chrono;
  std::int64_t days = seconds / kSecondsPerDay;
  std::int64_t rest = seconds % kSecondsPerDay;
  if (rest < 0) {  // floor, for instants before 1970
    rest += kSecondsPerDay;
    --days;
  }
  const year_month_day ymd{sys_days{std::chrono::days{days}}};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day())), static_cast<int>(rest)};
}

// The value of `count` decimal digits at s[pos], or -1 when any of them is not a digit.
int digits(const std::string& s, std::size_t pos, std::size_t count) {
  if (pos + count > s.size()) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool same_format(const TimeFormat& a, const TimeFormat& b) {
  return a.layout == b.layout && a.date_separator == b.date_separator &&
         a.quarter_letter == b.quarter_letter && a.time_separator == b.time_separator &&
         a.seconds == b.seconds;
}

// "YYYY?MM?DD" with '-' or '/' for both separators; the separator is written to `sep`.
bool parse_date_part(const std::string& s, Civil& c, char& sep) {
  sep = s[4];
  if ((sep != '-' && sep != '/') || s[7] != sep) return false;
  c.year = digits(s, 0, 4);
  c.month = digits(s, 5, 2);
  c.day = digits(s, 8, 2);
  return c.year >= 1 && c.month >= 1 && c.day >= 1 && valid_date(c.year, c.month, c.day);
}

// One trimmed cell in any TimeLayout; nullopt for anything else.
std::optional<std::pair<TimeFormat, Civil>> parse_cell(const std::string& s) {
  TimeFormat f;
  Civil c;
  const std::size_t n = s.size();
  if (n < 4) return std::nullopt;
  if (n == 4 || n == 8) {  // integer layouts
    const int year = digits(s, 0, 4);
    if (year < 1000 || year > 2999) return std::nullopt;
    c.year = year;
    if (n == 4) {
      f.layout = TimeLayout::kYear;
      return std::pair{f, c};
    }
    f.layout = TimeLayout::kCompactDate;
    c.month = digits(s, 4, 2);
    c.day = digits(s, 6, 2);
    if (c.month < 1 || c.day < 1 || !valid_date(c.year, c.month, c.day)) return std::nullopt;
    return std::pair{f, c};
  }
  c.year = digits(s, 0, 4);
  if (c.year < 1) return std::nullopt;
  // Quarters: YYYYQn, YYYY-Qn, YYYY Qn.
  const std::size_t q = (n == 6) ? 4 : 5;
  if ((n == 6 || n == 7) && (s[q] == 'Q' || s[q] == 'q')) {
    f.layout = TimeLayout::kYearQuarter;
    f.quarter_letter = s[q];
    f.date_separator = (n == 6) ? '\0' : s[4];
    if (n == 7 && f.date_separator != '-' && f.date_separator != ' ') return std::nullopt;
    const int quarter = digits(s, q + 1, 1);
    if (quarter < 1 || quarter > 4) return std::nullopt;
    c.month = 3 * (quarter - 1) + 1;
    return std::pair{f, c};
  }
  if (n == 7) {  // YYYY-MM, YYYY/MM
    f.layout = TimeLayout::kYearMonth;
    f.date_separator = s[4];
    if (f.date_separator != '-' && f.date_separator != '/') return std::nullopt;
    c.month = digits(s, 5, 2);
    if (c.month < 1 || c.month > 12) return std::nullopt;
    return std::pair{f, c};
  }
  if (n == 10) {
    f.layout = TimeLayout::kDate;
    if (!parse_date_part(s, c, f.date_separator)) return std::nullopt;
    return std::pair{f, c};
  }
  if (n == 16 || n == 19) {  // date, ' ' or 'T', hh:mm[:ss]
    f.layout = TimeLayout::kDateTime;
    f.time_separator = s[10];
    f.seconds = (n == 19);
    if (f.time_separator != ' ' && f.time_separator != 'T') return std::nullopt;
    if (!parse_date_part(s.substr(0, 10), c, f.date_separator)) return std::nullopt;
    const int hour = digits(s, 11, 2), minute = digits(s, 14, 2);
    const int second = f.seconds ? digits(s, 17, 2) : 0;
    if (s[13] != ':' || (f.seconds && s[16] != ':')) return std::nullopt;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
      return std::nullopt;
    }
    c.second_of_day = hour * 3600 + minute * 60 + second;
    return std::pair{f, c};
  }
  return std::nullopt;
}

// The lower median (an observed value) of a non-empty vector.
template <typename T>
T lower_median(std::vector<T> v) {
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>((v.size() - 1) / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

int month_number(const Civil& c) { return c.year * 12 + (c.month - 1); }

// The largest day of month among the points: the day month steps keep.
int max_day_of_month(const std::vector<std::int64_t>& points) {
  int day = 1;
  for (std::int64_t p : points) day = std::max(day, to_civil(p).day);
  return day;
}

// Fills frequency, step, month_end and first_backward_row from index.points and index.format.
void set_steps(TimeIndex& index) {
  const auto& p = index.points;
  std::vector<Civil> civil(p.size());
  std::transform(p.begin(), p.end(), civil.begin(), to_civil);
  for (std::size_t r = 1; r < p.size(); ++r) {
    if (p[r] <= p[r - 1]) {
      index.first_backward_row = r;
      break;
    }
  }
  // Month-aligned: every point on day D of its month (D clamped to short months: the 30th,
  // and 28 or 29 February) at one time of day; month ends when every point is its month's
  // last day.
  const int day = max_day_of_month(p);
  bool aligned = true, all_month_ends = true;
  for (const Civil& c : civil) {
    const int days = days_in_month(c.year, c.month);
    aligned = aligned && c.day == std::min(day, days) &&
              c.second_of_day == civil[0].second_of_day;
    all_month_ends = all_month_ends && c.day == days;
  }
  std::vector<int> month_steps;
  std::vector<std::int64_t> second_steps;
  for (std::size_t r = 1; r < p.size(); ++r) {
    if (p[r] <= p[r - 1]) continue;
    month_steps.push_back(month_number(civil[r]) - month_number(civil[r - 1]));
    second_steps.push_back(p[r] - p[r - 1]);
  }
  if (aligned && !month_steps.empty()) {
    // Calendar months apart (at the same day and time, a later instant is a later month).
    index.step_months = lower_median(month_steps);
    index.month_end = all_month_ends;
  } else if (!second_steps.empty()) {
    index.step_seconds = lower_median(second_steps);
  } else {
    // One row, or all rows equal: only a layout with its own unit gives a step.
    switch (index.format.layout) {
      case TimeLayout::kYear: index.step_months = 12; break;
      case TimeLayout::kYearQuarter: index.step_months = 3; break;
      case TimeLayout::kYearMonth: index.step_months = 1; break;
      default: break;
    }
  }
  if (index.step_months == 1) index.frequency = TimeFrequency::kMonthly;
  if (index.step_months == 3) index.frequency = TimeFrequency::kQuarterly;
  if (index.step_months == 12) index.frequency = TimeFrequency::kYearly;
  if (index.step_seconds == 60) index.frequency = TimeFrequency::kMinutely;
  if (index.step_seconds == 3600) index.frequency = TimeFrequency::kHourly;
  if (index.step_seconds == 1800) index.frequency = TimeFrequency::kHalfHourly;
  if (index.step_seconds == kSecondsPerDay) index.frequency = TimeFrequency::kDaily;
  if (index.step_seconds == 7 * kSecondsPerDay) index.frequency = TimeFrequency::kWeekly;
}

// Evidence that an integer column is a time and not a numeric feature (see the header). A
// file sorted newest first passes too, so that its order can be reported as backwards.
bool integer_layout_is_time(const TimeIndex& index, const std::vector<Civil>& civil) {
  const std::size_t n = civil.size();
  if (n < 2) return false;
  const std::size_t needed = (8 * (n - 1) + 9) / 10;  // ceil(0.8 (n - 1))
  if (index.format.layout == TimeLayout::kCompactDate) {
    std::size_t forwards = 0, backwards = 0;
    for (std::size_t r = 1; r < n; ++r) {
      forwards += index.points[r] > index.points[r - 1];
      backwards += index.points[r] < index.points[r - 1];
    }
    return std::max(forwards, backwards) >= needed;
  }
  // kYear: the most common step must be 1..10 years (or -1..-10) and cover 80% of the steps.
  std::array<std::size_t, 21> count{};  // count[10 + step]
  for (std::size_t r = 1; r < n; ++r) {
    const int step = civil[r].year - civil[r - 1].year;
    if (step != 0 && step >= -10 && step <= 10) ++count[static_cast<std::size_t>(10 + step)];
  }
  return *std::max_element(count.begin(), count.end()) >= needed;
}

std::string format_label(const TimeFormat& f, const Civil& c) {
  char buf[40] = {};
  const char sep = f.date_separator;
  switch (f.layout) {
    case TimeLayout::kYear: std::snprintf(buf, sizeof buf, "%04d", c.year); break;
    case TimeLayout::kYearQuarter:
      if (sep == '\0') {
        std::snprintf(buf, sizeof buf, "%04d%c%d", c.year, f.quarter_letter, (c.month - 1) / 3 + 1);
      } else {
        std::snprintf(buf, sizeof buf, "%04d%c%c%d", c.year, sep, f.quarter_letter,
                      (c.month - 1) / 3 + 1);
      }
      break;
    case TimeLayout::kYearMonth:
      std::snprintf(buf, sizeof buf, "%04d%c%02d", c.year, sep, c.month);
      break;
    case TimeLayout::kCompactDate:
      std::snprintf(buf, sizeof buf, "%04d%02d%02d", c.year, c.month, c.day);
      break;
    case TimeLayout::kDate:
      std::snprintf(buf, sizeof buf, "%04d%c%02d%c%02d", c.year, sep, c.month, sep, c.day);
      break;
    case TimeLayout::kDateTime: {
      const int h = c.second_of_day / 3600, m = c.second_of_day / 60 % 60, s = c.second_of_day % 60;
      if (f.seconds) {
        std::snprintf(buf, sizeof buf, "%04d%c%02d%c%02d%c%02d:%02d:%02d", c.year, sep, c.month,
                      sep, c.day, f.time_separator, h, m, s);
      } else {
        std::snprintf(buf, sizeof buf, "%04d%c%02d%c%02d%c%02d:%02d", c.year, sep, c.month, sep,
                      c.day, f.time_separator, h, m);
      }
      break;
    }
  }
  return buf;
}

std::optional<int> parse_small_int(const std::string& cell, int digits_max) {
  std::string s = trim_cell(cell);
  if (s.empty() || s.size() > static_cast<std::size_t>(digits_max)) return std::nullopt;
  const int v = digits(s, 0, s.size());
  if (v < 0) return std::nullopt;
  return v;
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// z with P(Z > z) = alpha for a standard normal Z (bisection on erfc; alpha in (0, 0.5)).
double upper_normal_quantile(double alpha) {
  double low = 0, high = 40;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (low + high);
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > alpha ? low : high) = mid;
  }
  return 0.5 * (low + high);
}

// The sample skewness m3 / m2^1.5 (0 for a constant).
double skewness(const std::vector<double>& v) {
  double mean = 0;
  for (double e : v) mean += e;
  mean /= static_cast<double>(v.size());
  double m2 = 0, m3 = 0;
  for (double e : v) {
    m2 += (e - mean) * (e - mean);
    m3 += (e - mean) * (e - mean) * (e - mean);
  }
  m2 /= static_cast<double>(v.size());
  m3 /= static_cast<double>(v.size());
  return m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0;
}

// The sample ACF r[0..top] of x (biased estimator: r_k = sum over the m - k pairs of centred
// products / sum of squares). Empty when x is constant up to rounding relative to `scale`,
// the largest magnitude of the series x was made from (a straight line's difference or
// residual is rounding noise, with no season to find).
std::vector<double> autocorrelation(const std::vector<double>& x, std::size_t top,
                                    double scale) {
  const std::size_t m = x.size();
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(m);
  std::vector<double> c(m);
  double c0 = 0;
  for (std::size_t t = 0; t < m; ++t) {
    c[t] = x[t] - mean;
    c0 += c[t] * c[t];
  }
  if (c0 <= 1e-20 * std::max(scale * scale, 1e-300) * static_cast<double>(m)) return {};
  std::vector<double> r(top + 1, 0.0);
  for (std::size_t k = 0; k <= top && k < m; ++k) {
    double s = 0;
    for (std::size_t t = 0; t + k < m; ++t) s += c[t] * c[t + k];
    r[k] = s / c0;
  }
  return r;
}

// The season read off an ACF r[0..top] (max_lag < top) given the null standard error se[k]
// of each r_k; 1 when no peak counts. See infer_season_from_values.
std::size_t season_from_acf(const std::vector<double>& r, std::size_t max_lag,
                            const std::vector<double>& se) {
  const std::size_t top = r.size() - 1;
  // A lag k is a candidate season when r_k is a local maximum above kMinR and z standard
  // errors, with z Bonferroni-corrected for the max_lag lags searched (a 5% family-wise level,
  // z >= 3), and rises by z sqrt(2) standard errors above the lowest r before it (a season's
  // ACF dips between 0 and its period; a persistent, unseasonal series such as an inflation
  // rate decays slowly with bumps).
  constexpr double kMinR = 0.1, kZ2 = 3.0;
  const double z = std::max(3.0, upper_normal_quantile(0.05 / static_cast<double>(max_lag)));
  // A repeat: the highest local maximum above kZ2 standard errors within 5% (at least 1 lag,
  // at most 3) of `lag`; 0 when there is none.
  auto peak_near = [&](double lag) -> std::size_t {
    const auto centre = static_cast<std::size_t>(std::lround(lag));
    const auto reach = static_cast<std::size_t>(std::clamp(std::lround(lag / 20), 1L, 3L));
    std::size_t at = 0;
    for (std::size_t j = std::max<std::size_t>(centre - reach, 2); j <= centre + reach && j < top;
         ++j) {
      if (r[j] >= r[j - 1] && r[j] >= r[j + 1] && r[j] > kZ2 * se[j] && (at == 0 || r[j] > r[at])) {
        at = j;
      }
    }
    return at;
  };
  // The period of a candidate peak k, refined by its repeats: a flat or noisy top can put the
  // peak of a 12-season at lag 11 or 13, and a 9.6-cycle peaks at 10, 19, 29, 38. The period p
  // within 1.5 lags of k that maximises the mean of r over its multiples round(j p) <= top (a
  // comb over the ACF) is the estimate; of a run of equal means (p = 6.98..7.02 all hit the
  // same lags) the middle is taken.
  auto period = [&](std::size_t k) {
    const double low = std::max(2.0, static_cast<double>(k) - 1.5);
    double best_score = -2, run_first = low, run_last = low;
    bool in_run = false;
    for (int step = 0; step <= 300; ++step) {
      const double p = low + 0.01 * step;
      if (p > static_cast<double>(k) + 1.5) break;
      double sum = 0;
      int count = 0;
      for (int j = 1; std::lround(j * p) <= static_cast<long>(top); ++j, ++count) {
        sum += r[static_cast<std::size_t>(std::lround(j * p))];
      }
      const double score = count ? sum / count : -2;
      if (score > best_score + 1e-12) {
        best_score = score;
        run_first = run_last = p;
        in_run = true;
      } else if (in_run && score > best_score - 1e-12) {
        run_last = p;
      } else {
        in_run = false;
      }
    }
    return 0.5 * (run_first + run_last);
  };
  // A candidate counts when the season repeats: a clear peak near twice its period.
  std::vector<double> periods(max_lag + 1, 0.0);
  std::size_t best = 0;
  double trough = r[1];  // min r_j, 1 <= j < k
  for (std::size_t k = 2; k <= max_lag && k < top; ++k) {
    trough = std::min(trough, r[k - 1]);
    if (!(r[k] > r[k - 1] && r[k] >= r[k + 1]) || r[k] <= kMinR || r[k] <= z * se[k]) continue;
    if (r[k] - trough <= z * std::sqrt(2.0) * se[k]) continue;
    const double p = period(k);
    if (peak_near(2 * p) == 0) continue;
    periods[k] = p;
    if (best == 0 || r[k] > r[best]) best = k;
  }
  if (best == 0) return 1;
  // Reduce the strongest peak, period P, to its base: the smallest P / q (q >= 2, at least 2
  // lags) with a clear peak near every multiple j P / q, j < q, the first at least half as
  // high as the winner (24 wins, 12 is a clear peak: 12; 168 wins, 24, 48, ..., 144: 24).
  const double winner = periods[best];
  for (auto q = static_cast<std::size_t>(winner / 2); q >= 2; --q) {
    const double base = winner / static_cast<double>(q);
    const std::size_t first = peak_near(base);
    if (first == 0 || r[first] < 0.5 * r[best]) continue;
    bool all_multiples = true;
    for (std::size_t j = 2; j < q && all_multiples; ++j) {
      all_multiples = peak_near(static_cast<double>(j) * base) != 0;
    }
    if (all_multiples) return static_cast<std::size_t>(std::lround(period(first)));
  }
  return static_cast<std::size_t>(std::lround(periods[best]));
}

}  // namespace

std::string frequency_name(TimeFrequency frequency) {
  for (const auto& [f, name] : kFrequencyNames) {
    if (f == frequency) return name;
  }
  return "unknown";
}

TimeFrequency parse_frequency(const std::string& name) {
  std::string names;
  for (const auto& [f, n] : kFrequencyNames) {
    if (name == n) return f;
    names += (names.empty() ? "" : ", ") + std::string(n);
  }
  throw ValueError("parse_frequency: unknown frequency \"" + name + "\"; expected one of " +
                   names + ".");
}

std::vector<std::size_t> seasons_for(TimeFrequency frequency) {
  switch (frequency) {
    case TimeFrequency::kMonthly: return {12};
    case TimeFrequency::kQuarterly: return {4};
    case TimeFrequency::kWeekly: return {52};
    case TimeFrequency::kDaily: return {7, 365};
    case TimeFrequency::kHourly: return {24, 168};
    case TimeFrequency::kHalfHourly: return {48, 336};
    case TimeFrequency::kMinutely: return {60, 1440};
    case TimeFrequency::kYearly:
    case TimeFrequency::kUnknown: return {};
  }
  return {};
}

std::string TimeFormat::name() const {
  const std::string sep(1, date_separator);
  switch (layout) {
    case TimeLayout::kYear: return "YYYY";
    case TimeLayout::kYearQuarter:
      return "YYYY" + (date_separator == '\0' ? std::string() : sep) + quarter_letter + "n";
    case TimeLayout::kYearMonth: return "YYYY" + sep + "MM";
    case TimeLayout::kCompactDate: return "YYYYMMDD";
    case TimeLayout::kDate: return "YYYY" + sep + "MM" + sep + "DD";
    case TimeLayout::kDateTime:
      return "YYYY" + sep + "MM" + sep + "DD" + time_separator + "hh:mm" + (seconds ? ":ss" : "");
  }
  return {};
}

std::vector<std::string> TimeIndex::next_labels(std::size_t k) const {
  if (points.empty() || (step_months <= 0 && step_seconds <= 0)) {
    throw ValueError("TimeIndex::next_labels: the time column (" + format.name() + ", " +
                     std::to_string(points.size()) +
                     " rows) has no step between rows: it has one row, or all rows have the "
                     "same time, so the times after it are unknown. Give at least two "
                     "different times.");
  }
  const Civil last = to_civil(points.back());
  // How many steps fit before the end of the year 9999 (the last 4-digit year).
  const std::int64_t left =
      step_months > 0
          ? (9999LL * 12 + 11 - month_number(last)) / step_months
          : (to_seconds({9999, 12, 31, kSecondsPerDay - 1}) - points.back()) / step_seconds;
  if (k > static_cast<std::size_t>(left)) {
    throw ValueError("TimeIndex::next_labels: " + std::to_string(k) + " steps after " +
                     format_label(format, last) + " pass the year 9999; at most " +
                     std::to_string(left) + " fit.");
  }
  const int day = step_months > 0 ? max_day_of_month(points) : 0;
  std::vector<std::string> labels;
  labels.reserve(k);
  for (std::size_t j = 1; j <= k; ++j) {
    const auto steps = static_cast<std::int64_t>(j);
    if (step_months > 0) {
      const std::int64_t m = month_number(last) + steps * step_months;
      Civil c = last;
      c.year = static_cast<int>(m / 12);
      c.month = static_cast<int>(m % 12) + 1;
      const int days = days_in_month(c.year, c.month);
      c.day = month_end ? days : std::min(day, days);
      labels.push_back(format_label(format, c));
    } else {
      labels.push_back(format_label(format, to_civil(points.back() + steps * step_seconds)));
    }
  }
  return labels;
}

std::optional<TimeIndex> parse_time_column(const std::vector<std::string>& cells) {
  if (cells.empty()) return std::nullopt;
  TimeIndex index;
  std::vector<Civil> civil;
  civil.reserve(cells.size());
  index.points.reserve(cells.size());
  for (std::size_t r = 0; r < cells.size(); ++r) {
    const auto parsed = parse_cell(trim_cell(cells[r]));
    if (!parsed) return std::nullopt;
    if (r == 0) {
      index.format = parsed->first;
    } else if (!same_format(parsed->first, index.format)) {
      return std::nullopt;
    }
    civil.push_back(parsed->second);
    index.points.push_back(to_seconds(parsed->second));
  }
  const TimeLayout layout = index.format.layout;
  if ((layout == TimeLayout::kYear || layout == TimeLayout::kCompactDate) &&
      !integer_layout_is_time(index, civil)) {
    return std::nullopt;
  }
  set_steps(index);
  return index;
}

std::optional<TimeIndex> parse_time_columns(const std::vector<std::string>& year_cells,
                                            const std::vector<std::string>& period_cells,
                                            TimeFrequency frequency) {
  if (frequency != TimeFrequency::kQuarterly && frequency != TimeFrequency::kMonthly) {
    throw ValueError("parse_time_columns: the period column must hold quarters or months "
                     "(frequency quarterly or monthly), got frequency " +
                     frequency_name(frequency) + ".");
  }
  if (year_cells.empty() || year_cells.size() != period_cells.size()) return std::nullopt;
  const bool quarters = frequency == TimeFrequency::kQuarterly;
  TimeIndex index;
  index.format.layout = quarters ? TimeLayout::kYearQuarter : TimeLayout::kYearMonth;
  index.format.date_separator = '-';
  for (std::size_t r = 0; r < year_cells.size(); ++r) {
    const auto year = parse_small_int(year_cells[r], 4);
    std::string period_text = trim_cell(period_cells[r]);
    if (quarters && !period_text.empty() && (period_text[0] == 'Q' || period_text[0] == 'q')) {
      period_text.erase(0, 1);
    }
    const auto period = parse_small_int(period_text, 2);
    if (!year || *year < 1000 || *year > 2999 || !period || *period < 1 ||
        *period > (quarters ? 4 : 12)) {
      return std::nullopt;
    }
    index.points.push_back(to_seconds({*year, quarters ? 3 * (*period - 1) + 1 : *period, 1, 0}));
  }
  set_steps(index);
  return index;
}

std::optional<TimeColumns> find_time_columns(const CsvTable& table) {
  auto column_cells = [&](std::size_t c) {
    std::vector<std::string> cells;
    cells.reserve(table.rows.size());
    for (const auto& row : table.rows) cells.push_back(c < row.size() ? row[c] : std::string());
    return cells;
  };
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    if (auto index = parse_time_column(column_cells(c))) return TimeColumns{{c}, std::move(*index)};
  }
  // The first column whose name, trimmed and in lower case, is `name`.
  auto find_named = [&](const char* name) -> std::optional<std::size_t> {
    for (std::size_t c = 0; c < table.header.size(); ++c) {
      if (lower(trim_cell(table.header[c])) == name) return c;
    }
    return std::nullopt;
  };
  auto year = find_named("year");
  if (!year) year = find_named("yr");
  if (!year) return std::nullopt;
  constexpr std::pair<const char*, TimeFrequency> kPeriodNames[] = {
      {"quarter", TimeFrequency::kQuarterly},
      {"qtr", TimeFrequency::kQuarterly},
      {"month", TimeFrequency::kMonthly},
  };
  for (const auto& [name, frequency] : kPeriodNames) {
    const auto period = find_named(name);
    if (!period) continue;
    if (auto index = parse_time_columns(column_cells(*year), column_cells(*period), frequency)) {
      return TimeColumns{{*year, *period}, std::move(*index)};
    }
  }
  return std::nullopt;
}

std::size_t infer_season_from_values(const std::vector<double>& y) {
  for (std::size_t t = 0; t < y.size(); ++t) {
    if (!std::isfinite(y[t])) {
      throw ValueError("infer_season_from_values: value " + std::to_string(t) + " of " +
                           std::to_string(y.size()) + " is " + std::to_string(y[t]) +
                           "; the series must be finite. Fill or drop missing values first.",
                       codes::kNonFiniteData);
    }
  }
  const std::size_t n = y.size();
  if (n < 8) return 1;
  const std::size_t max_lag = std::min<std::size_t>(n / 3, kMaxSeasonLag);
  // The level: log y when y > 0 and log y is less skewed than y (a multiplicative season
  // becomes additive, a skewed cycle such as animal counts symmetric; a positive random walk
  // that nears 0 is not logged).
  std::vector<double> level = y;
  if (*std::min_element(y.begin(), y.end()) > 0) {
    std::vector<double> logs(n);
    std::transform(y.begin(), y.end(), logs.begin(), [](double v) { return std::log(v); });
    if (std::abs(skewness(logs)) < std::abs(skewness(y))) level = std::move(logs);
  }
  double scale = 0;
  for (double v : level) scale = std::max(scale, std::abs(v));
  // 1. The first difference, which removes a trend or a random-walk level. The difference of
  // white noise or of a random walk is an MA(1) process, whose r_k (k >= 2) has variance
  // (1 + 2 r_1^2) (m - k) / m^2 (Bartlett's formula with the biased estimator's shrinkage).
  std::vector<double> diff(n - 1);
  for (std::size_t t = 1; t < n; ++t) diff[t - 1] = level[t] - level[t - 1];
  const std::size_t top = std::min(2 * max_lag + 1, n - 2);
  const std::vector<double> r_diff = autocorrelation(diff, top, scale);
  std::size_t from_diff = 1;
  if (!r_diff.empty()) {
    const double m = static_cast<double>(diff.size());
    const double var = (1.0 + 2.0 * r_diff[1] * r_diff[1]) / (m * m);
    std::vector<double> se(top + 1);
    for (std::size_t k = 0; k <= top; ++k) se[k] = std::sqrt(var * (m - static_cast<double>(k)));
    from_diff = season_from_acf(r_diff, max_lag, se);
  }
  // 2. Differencing buries a slow season in noise (an annual cycle in daily data, a monthly
  // sinusoid in noise as large as itself, where only the 24 of a 12-season may stand out).
  // So the level less its least-squares line is searched too, against an AR(1) null with
  // phi = r_1, var(r_k) = (1 + phi^2) / (1 - phi^2) (m - k) / m^2 (Bartlett's formula for
  // large k): a random walk's residual has phi near 1 and so a wide band; a season plus noise
  // a narrower one. Its answer is taken when the difference finds nothing, or when the
  // difference's answer is a multiple of it.
  const double n_d = static_cast<double>(n);
  const double t_mean = (n_d - 1) / 2;
  double y_mean = 0, sxy = 0, sxx = 0;
  for (double v : level) y_mean += v;
  y_mean /= n_d;
  for (std::size_t t = 0; t < n; ++t) {
    sxy += (static_cast<double>(t) - t_mean) * (level[t] - y_mean);
    sxx += (static_cast<double>(t) - t_mean) * (static_cast<double>(t) - t_mean);
  }
  std::vector<double> residual(n);
  for (std::size_t t = 0; t < n; ++t) {
    residual[t] = level[t] - y_mean - sxy / sxx * (static_cast<double>(t) - t_mean);
  }
  const std::size_t top_level = std::min(2 * max_lag + 1, n - 1);
  const std::vector<double> r_level = autocorrelation(residual, top_level, scale);
  if (r_level.empty()) return from_diff;
  const double phi = std::clamp(r_level[1], -0.99, 0.99);
  const double var = (1 + phi * phi) / (1 - phi * phi) / (n_d * n_d);
  std::vector<double> se(top_level + 1);
  for (std::size_t k = 0; k <= top_level; ++k) {
    se[k] = std::sqrt(var * (n_d - static_cast<double>(k)));
  }
  const std::size_t from_level = season_from_acf(r_level, max_lag, se);
  if (from_diff == 1) return from_level;
  if (from_level > 1 && from_level < from_diff) {
    const auto a = static_cast<double>(from_diff), b = static_cast<double>(from_level);
    if (std::abs(a - std::round(a / b) * b) <= 0.1 * a) return from_level;
  }
  return from_diff;
}

}  // namespace recur
