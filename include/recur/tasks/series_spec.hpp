#pragma once
// How a CSV table becomes a series to forecast: which column holds the times (detected, named,
// or built from a year and a quarter/month column), rows put oldest first, which columns are
// the target and the input features, the label of every row and of the steps past the end, and
// the season that drives the seasonal transforms, the lookbacks and the baselines.
// `recur forecast` and `recur predict` go through here; tasks/forecaster.hpp takes the result.
//
// Sources: the seasonal periods of a frequency after Hyndman & Athanasopoulos, "Forecasting:
// Principles and Practice" (3rd ed., 2021), section 2.1 (recur/data/time_index.hpp).
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "recur/data/csv.hpp"
#include "recur/data/time_index.hpp"
#include "recur/tasks/forecaster.hpp"

namespace recur::tasks {

/// True when column `column` of `table` reads as times (dates, months, quarters, an integer year
/// or YYYYMMDD; parse_time_column). Throws ValueError (RECUR-E0014) naming the columns when
/// there is no such column.
bool reads_as_times(const CsvTable& table, const std::string& column);

/// The first column, in header order, that reads as times and is not in `exclude` (the target
/// and the named features); "" when there is none. Never throws.
std::string find_time_column(const CsvTable& table, const std::vector<std::string>& exclude);

/// A table that keeps its times in a year column and a quarter or month column (macrodata's
/// `year`, `quarter`; found by find_time_columns) gets one more column "<year>_<period>"
/// ("_" appended while the name is taken) holding "1959-Q1" / "1959-01" labels. Returns its name
/// and sets `*sources` to the two source columns; returns "" and leaves the table and `*sources`
/// as they were when the table has no such pair. Never throws.
std::string add_period_column(CsvTable& table, std::vector<std::string>* sources);

/// The table in time order by `time_column` ("": none, returned as it is). Rows that run
/// backwards from start to end (newest first) are reversed, with their line numbers, and a
/// warning naming the column is appended to `*warnings`. Throws ValueError (RECUR-E0200) naming
/// both lines when a time goes back or repeats in the middle ("goes back or repeats").
CsvTable in_time_order(CsvTable table, const std::string& time_column, std::vector<std::string>* warnings);

/// The labels of the k steps after the last row: dates in the time column's format
/// (TimeIndex::next_labels; 1960-12 -> 1961-01), else, without a time column or without a
/// regular step, "+1", "+2", ... Never throws.
std::vector<std::string> future_labels(const std::optional<TimeIndex>& index, std::size_t k);

/// What series_from_table reads.
struct SeriesSpecOptions {
  std::string target;                 // the column to forecast; required
  std::vector<std::string> features;  // input columns besides the target (the target is skipped)
  /// Every numeric column but the target, the time column and a year/period pair behind it
  /// becomes a feature too (after `features`).
  bool all_features = false;
  /// The time column: "" detected (find_time_column, then add_period_column), else this name,
  /// which must read as times.
  std::string time_column;
  bool no_time_column = false;  // no time column: rows are labelled 1, 2, ...
  MissingPolicy missing = MissingPolicy::kError;
};

/// A series read from a table. columns.values[c][i] is feature c (target first) at kept row i;
/// all columns have rows() values, oldest first.
struct SeriesSpec {
  CsvTable table;  // in time order, with the "<year>_<period>" column when one was built
  std::string target;
  std::vector<std::string> features;      // the target first, then the input features
  std::string time_column;                // "" without one
  std::vector<std::string> time_sources;  // the year and period columns behind it, if any
  std::optional<TimeIndex> time_index;    // the parsed time column (nullopt without one)
  NumericColumns columns;
  std::vector<std::string> labels;        // per kept row: its time, or its 1-based row number
  std::vector<std::string> warnings;      // the table's, then a reversed-order warning

  std::size_t rows() const { return columns.rows.size(); }
  const std::vector<double>& target_values() const { return columns.values.at(0); }
  /// The columns as the forecaster takes them (names = features).
  SeriesData data() const;
};

/// Reads a series off a table: target and features, the time column (never a model input), rows
/// in time order, the numbers (missing cells as `options.missing` says) and the row labels.
/// Throws ValueError: RECUR-E0014 for an unknown column; an empty target or a named time
/// column that does not read as times (RECUR-E0013); RECUR-E0013 when the time column is also
/// the target or a feature; as in_time_order; ParseError and ValueError from select_numeric
/// (a cell that is not a number, a column with no numbers).
SeriesSpec series_from_table(CsvTable table, const SeriesSpecOptions& options);

/// The series a saved forecaster was trained on, read again from a new table: `features` as
/// stored (target first) and its `time_column`, rebuilt from a year/period pair when the table
/// has one, dropped ("" and rows labelled 1, 2, ...) when the table lacks it. The warnings of a
/// reversed order are kept in the result. Throws like in_time_order and select_numeric.
SeriesSpec series_for_model(CsvTable table, const std::vector<std::string>& features,
                            const std::string& time_column, MissingPolicy missing);

/// The seasons of a series and where they came from.
struct SeasonChoice {
  /// Candidate periods for the forecaster (ForecasterOptions::seasons), most useful first;
  /// empty when none is known.
  std::vector<std::size_t> seasons;
  /// The baselines' season: the first candidate >= 2 that the training part covers at least
  /// twice; 1 when none does.
  std::size_t season = 1;
  /// "given", "time column, <frequency>" (e.g. "time column, monthly"), "autocorrelation" or
  /// "none found".
  std::string source;
};

/// The season: `given` when > 0; else the periods of the time column's frequency (seasons_for:
/// monthly {12}, daily {7, 365}, ...); else the autocorrelation of the training part
/// y[0, train_end) (infer_season_from_values). y: the target, at least train_end values.
/// Throws ValueError (RECUR-E0013) when train_end > y.size(), and RECUR-E0005 naming the index
/// of a NaN or infinity in the training part when the autocorrelation is read.
SeasonChoice choose_season(const std::optional<TimeIndex>& index, const std::vector<double>& y,
                           std::size_t train_end, std::size_t given);

}  // namespace recur::tasks
