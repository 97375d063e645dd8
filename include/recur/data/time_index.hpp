#pragma once
// The time axis of a CSV time series: which column holds the times, in which text format, at
// which frequency, whether the rows run forwards, and the labels of the steps after the last
// row (what `recur forecast` prints next to its predictions). Also the seasonal periods a
// frequency implies, and a season read off the values when no time column exists.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "recur/data/csv.hpp"

namespace recur {

/// How often a series is observed. The names follow Hyndman & Athanasopoulos, "Forecasting:
/// Principles and Practice" (3rd ed., OTexts 2021), section 2.1.
enum class TimeFrequency {
  kUnknown,
  kYearly,
  kQuarterly,
  kMonthly,
  kWeekly,
  kDaily,
  kHourly,
  kHalfHourly,
  kMinutely,
};

/// "unknown", "yearly", "quarterly", "monthly", "weekly", "daily", "hourly", "half-hourly",
/// "minutely".
std::string frequency_name(TimeFrequency frequency);
/// The inverse of frequency_name. Throws ValueError listing the names for any other text.
TimeFrequency parse_frequency(const std::string& name);

/// The seasonal periods (in rows) a frequency implies, most useful first, after FPP's table of
/// seasonal periods (section 2.1 and 12.1), rounded to whole rows and without the periods too
/// long for a lookback window (no 8766 for hourly data):
///   monthly {12}, quarterly {4}, weekly {52}, daily {7, 365}, hourly {24, 168}, half-hourly {48, 336},
///   minutely {60, 1440}, yearly and unknown {}.
std::vector<std::size_t> seasons_for(TimeFrequency frequency);

/// The text layouts a time cell may have; all but kYear and kCompactDate are ISO 8601 (2019)
/// forms or their common variants. Fields are zero-padded; no time zones or fractions of a
/// second.
enum class TimeLayout {
  kYear,         // "1960": an integer year 1000..2999
  kYearQuarter,  // "1960-Q1", "1960Q1", "1960 Q1" (also a lower-case q)
  kYearMonth,    // "1960-01", "1960/01"
  kDate,         // "1958-03-29", "1958/03/29"
  kCompactDate,  // "19580329": YYYYMMDD (ISO 8601 basic format), year 1000..2999
  kDateTime,     // "1958-03-29 13:00", "1958-03-29T13:00:00" (date part also with '/')
};

/// One text format of a time column: the layout and the separators seen, so that new labels
/// are written the way the input was.
struct TimeFormat {
  TimeLayout layout = TimeLayout::kDate;
  char date_separator = '-';   // '-' or '/'; kYearQuarter: '-', ' ' or '\0' (none)
  char quarter_letter = 'Q';   // kYearQuarter: 'Q' or 'q'
  char time_separator = ' ';   // kDateTime: ' ' or 'T'
  bool seconds = false;        // kDateTime: ":ss" present
  /// A pattern such as "YYYY-MM", "YYYY-Qn", "YYYYMMDD", "YYYY-MM-DDThh:mm:ss".
  std::string name() const;
};

/// The parsed time column of a table (one row per point).
struct TimeIndex {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  TimeFormat format;
  TimeFrequency frequency = TimeFrequency::kUnknown;
  /// One instant per row: seconds since 1970-01-01T00:00:00 of the civil time as written
  /// (no time zone, no leap seconds). A year is its 1 January, a month its 1st and a quarter
  /// the 1st of its first month.
  std::vector<std::int64_t> points;
  /// The step next_labels continues with: `step_months` calendar months when > 0 (when every
  /// point falls on one day of month, clamped to short months, at one time of day: that day
  /// and time are kept; with `month_end` the last day of each month), else `step_seconds`.
  /// Both are the median positive spacing of the points; both are 0 when no step is known
  /// (one row with a full date, or all rows equal). A YYYY, YYYY-Qn or YYYY-MM column of one
  /// row steps by its own unit.
  int step_months = 0;
  std::int64_t step_seconds = 0;
  bool month_end = false;
  /// The first row whose time is not after the previous row's (a duplicate or a step back),
  /// npos when the times strictly increase.
  std::size_t first_backward_row = npos;

  /// The labels of the k steps after the last point, in the input's format:
  /// 1960-12 -> 1961-01, 1960-Q4 -> 1961-Q1, 19581231 -> 19590101, 1960 -> 1961,
  /// 1958-03-29 23:00 -> 1958-03-30 00:00. Throws ValueError when no step is known, or when a
  /// label would pass the year 9999.
  std::vector<std::string> next_labels(std::size_t k) const;
};

/// Reads every cell (spaces and tabs trimmed) as a time in one consistent format (TimeLayout)
/// and works out the frequency from the median spacing: monthly dates written YYYY-MM-DD on the
/// 1st (or on each month's last day) are monthly, dates 7 days apart weekly, and so on.
/// Returns nullopt when the cells are not such a column: an empty column, a missing or
/// malformed cell, an invalid date (1959-02-29), or mixed formats. Integer layouts need
/// evidence that they are times and not a numeric feature: kYear needs at least 2 rows whose
/// steps are mostly (>= 80%) one value of 1..10 years (1949, 1950, ... but not 112, 118, 132,
/// nor a year column repeated per quarter); kCompactDate needs at least 2 rows of which at
/// least 80% of the steps go one way. Either may run backwards (a file sorted newest first),
/// which first_backward_row reports. Never throws.
std::optional<TimeIndex> parse_time_column(const std::vector<std::string>& cells);

/// Times from a year column and a quarter (1..4) or month (1..12) column, such as the `year`
/// and `quarter` columns of macrodata.csv. `frequency` is kQuarterly or kMonthly; the labels
/// are "1959-Q1" or "1959-01". Returns nullopt when a cell is not an integer in range (years
/// 1000..2999) or the columns differ in length, or are empty. Throws ValueError for any other
/// frequency.
std::optional<TimeIndex> parse_time_columns(const std::vector<std::string>& year_cells,
                                            const std::vector<std::string>& period_cells,
                                            TimeFrequency frequency);

/// Where a table keeps its times: one column, or a year column and a period column.
struct TimeColumns {
  std::vector<std::size_t> columns;  // {time} or {year, quarter or month}
  TimeIndex index;
};

/// The first column, in header order, that parse_time_column accepts; failing that, a column
/// named "year" with one named "quarter"/"qtr" or "month" (any case) that parse_time_columns
/// accepts. Returns nullopt when the table has no time column.
std::optional<TimeColumns> find_time_columns(const CsvTable& table);

/// The season (in rows) of a series with no usable time column, read off its autocorrelation
/// function (ACF) r_k; Box, Jenkins, Reinsel & Ljung, "Time Series Analysis" (5th ed., 2015),
/// section 2.1.6 for the ACF and Bartlett's standard errors used below.
///  - A positive series is logged first when that makes it less skewed (a multiplicative
///    season, a skewed cycle such as animal counts).
///  - The ACF of the first difference (which removes a trend or a random-walk level) is
///    searched over lags [2, min(n/3, 1000)]; against an MA(1) null (the difference of white
///    noise or of a random walk), a lag counts when r_k is a local maximum, above 0.1 and
///    above z standard errors (z Bonferroni-corrected for the lags searched, at least 3),
///    rises z sqrt(2) standard errors above the lowest r before it, and repeats: a local
///    maximum above 3 standard errors near twice its period.
///  - Differencing buries slow seasons in noise (an annual cycle in daily data), so the same
///    search also runs on the series less its least-squares line, against an AR(1) null with
///    phi = r_1 (wide for a random walk). Its answer is taken when the difference finds
///    nothing, or when the difference's answer is a multiple of it.
///  - The period of a counting peak is refined over its repeats (9.6 for peaks at 10, 19, 29,
///    38); the highest peak wins and is reduced to its base P/q when there are clear peaks at
///    P/q, 2P/q, ... and the first is at least half as high (24 wins, 12 is a clear peak: 12).
/// Returns the rounded period, or 1 when nothing counts (white noise, a random walk, a pure
/// trend, a constant) or n < 8. Costs O(n min(n, 2000)). Throws ValueError (RECUR-E0005)
/// naming the index of a NaN or infinity.
std::size_t infer_season_from_values(const std::vector<double>& y);

}  // namespace recur
