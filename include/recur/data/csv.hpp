#pragma once
// CSV reading for time series: a header row, columns chosen by name, numeric conversion with
// errors that give file:line:column and the column name.
#include <cstddef>
#include <string>
#include <vector>

namespace recur {

/// A CSV file as text cells. `line_numbers[r]` is the 1-based file line of rows[r] and
/// `cell_columns[r][c]` the 1-based character column where cell c of that row starts.
struct CsvTable {
  std::string source;  // file name used in messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<long> line_numbers;
  std::vector<std::vector<long>> cell_columns;
};

/// How select_numeric treats a missing cell (empty, NA, N/A, NaN, null, ?).
enum class MissingPolicy {
  kError,        // ParseError at the first missing cell (the default)
  kInterpolate,  // linear interpolation between the nearest present values; edges copy the
                 // nearest present value
  kDrop,         // drop every row with a missing cell in a selected column
};

/// Parses "error", "interpolate", "drop"; throws ValueError otherwise.
MissingPolicy parse_missing_policy(const std::string& name);

/// Parses CSV text: ',' separated, optional double-quoted cells ("" escapes a quote), LF or
/// CRLF line ends, an optional UTF-8 BOM; blank lines are skipped. Throws ParseError
/// (source:line:column) for a row whose cell count differs from the header's, an unterminated
/// quote, a duplicate or empty header name, or a file with no header.
CsvTable parse_csv(const std::string& text, const std::string& source);
/// Reads and parses a file. Throws IoError naming the path and the OS reason.
CsvTable read_csv(const std::string& path);
/// The header names joined with ", " (for messages that list the columns).
std::string column_list(const CsvTable& table);

/// The cell without leading and trailing spaces and tabs, as select_numeric and the label and
/// sequence readers see it.
std::string trim_cell(const std::string& cell);

/// Index of the column called `name`. Throws ValueError listing the columns and naming the
/// closest match (by edit distance) when there is no such column.
std::size_t column_index(const CsvTable& table, const std::string& name);

/// True if every cell of the column parses as a finite number (missing cells excepted) and at
/// least one does: a column worth offering as a numeric feature.
bool is_numeric_column(const CsvTable& table, std::size_t column);

/// Numeric columns selected by name, column-major: values[c][r].
struct NumericColumns {
  std::vector<std::string> names;
  std::vector<std::vector<double>> values;
  /// For each kept row, its index in table.rows (rows may be dropped by MissingPolicy::kDrop).
  std::vector<std::size_t> rows;
};

/// Converts the named columns to numbers. A non-numeric cell is a ParseError
///   file:line:column (column "name"): expected a number, got "N/A". ...
/// unless it is a missing cell and `policy` says how to fill or drop it. Throws ValueError for
/// an unknown column name or a column with no numbers at all.
NumericColumns select_numeric(const CsvTable& table, const std::vector<std::string>& columns,
                              MissingPolicy policy = MissingPolicy::kError);

}  // namespace recur
