#pragma once
// CSV reading for time series: a header row, columns chosen by name, numeric conversion with
// errors that give file:line:column and the column name. The delimiter (',', ';', tab, '|') is
// detected or forced; '.' is always the decimal point (a decimal comma is reported, not guessed).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace recur {

/// A CSV file as text cells. `line_numbers[r]` is the 1-based file line of rows[r] and
/// `cell_columns[r][c]` the 1-based character column where cell c of that row starts.
struct CsvTable {
  std::string source;    // file name used in messages
  char delimiter = ',';  // the cell delimiter used: ',', ';', '\t', '|' (or a forced one)
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<long> line_numbers;
  std::vector<std::vector<long>> cell_columns;
  /// Things worth telling the user that did not stop the parse, one full sentence each, starting
  /// with the source (e.g. a first row that looks like data). The library never prints them;
  /// the CLI does.
  std::vector<std::string> warnings;
};

/// read_csv refuses a file larger than this unless CsvOptions::max_bytes says otherwise.
inline constexpr std::uint64_t kCsvDefaultMaxBytes = std::uint64_t{2} << 30;  // 2 GiB

/// How to read a CSV file. The defaults read the files users export from spreadsheets and pandas.
struct CsvOptions {
  /// The cell delimiter. 0 (the default) detects it: of ',', ';', tab and '|', the one that
  /// splits the header and the first 20 data rows (outside quotes) into the same number of cells,
  /// more than one. When several do: one other than ',' whose cells hold decimal-comma numbers
  /// ("1,5;2,3" is ';'), then the one giving the most cells, then ',' before ';' before tab
  /// before '|'. When none does (a ragged row among them), the one that splits the header into
  /// more than one cell and matches the most of those rows (',' for a one-column file).
  /// Any other character except '"', CR and LF forces that delimiter.
  char delimiter = 0;
  /// read_csv refuses a file larger than this many bytes (parse_csv takes any text).
  std::uint64_t max_bytes = kCsvDefaultMaxBytes;
};

/// Parses a --delimiter value: ",", ";", "|", and "tab" or "\t" (backslash, t) or a tab character
/// for a tab. Returns the delimiter character. Throws ValueError listing the choices otherwise.
char parse_delimiter(const std::string& name);
/// The delimiter as messages show it: "','", "';'", "tab", "'|'".
std::string delimiter_name(char delimiter);

/// How select_numeric treats a missing cell (empty, NA, N/A, NaN, null, ?).
enum class MissingPolicy {
  kError,        // ParseError at the first missing cell (the default)
  kInterpolate,  // linear interpolation between the nearest present values; edges copy the
                 // nearest present value
  kDrop,         // drop every row with a missing cell in a selected column
};

/// Parses "error", "interpolate", "drop"; throws ValueError otherwise.
MissingPolicy parse_missing_policy(const std::string& name);

/// Parses CSV text: cells separated by `options.delimiter` (detected when 0, see CsvOptions),
/// optional double-quoted cells ("" escapes a quote; a quoted cell may hold delimiters and line
/// ends), LF, CRLF or CR line ends, an optional UTF-8 BOM; blank lines are skipped. The first row
/// is the header. `source` names the text in messages. Returns the table with the delimiter used
/// and any warnings (a first row that looks like data rather than column names is kept as the
/// header, with a warning). Throws ParseError (source:line:column) for a row whose cell count
/// differs from the header's (saying "decimal comma?" when ','-split numbers such as "112","5"
/// explain the extra cells), an unterminated quote, a duplicate or empty header name, or text
/// with no header; ValueError for a forced delimiter that is '"', CR or LF.
CsvTable parse_csv(const std::string& text, const std::string& source,
                   const CsvOptions& options = {});
/// Reads the file at `path` and parses it as parse_csv does, with `path` as the source. Returns
/// the table. Throws IoError naming the path for a file that does not exist or cannot be read
/// (with the OS reason), a directory, a device or socket (a FIFO, e.g. a shell's <(...), is
/// read), or a file over `options.max_bytes` (naming the limit); otherwise as parse_csv.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});
/// The header names joined with ", " (for messages that list the columns): at most 30 names of
/// at most 60 characters, then "and N more".
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
/// unless it is a missing cell and `policy` says how to fill or drop it. A cell written with a
/// decimal comma ("112,5", "1.234,5") is such an error too, whose message says it looks like a
/// decimal comma and how to convert the file: numbers are never reinterpreted. Throws
/// ValueError for an unknown column name or a column with no numbers at all.
NumericColumns select_numeric(const CsvTable& table, const std::vector<std::string>& columns,
                              MissingPolicy policy = MissingPolicy::kError);

}  // namespace recur
