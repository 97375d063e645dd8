#include "recur/data/csv.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include "recur/core/error.hpp"
#include "recur/io/files.hpp"

namespace recur {
namespace {

bool is_missing_token(const std::string& s) {
  static const char* const kTokens[] = {"", "NA", "N/A", "n/a", "na", "NaN", "nan", "NAN",
                                        "null", "NULL", "None", "?", "-"};
  for (const char* t : kTokens)
    if (s == t) return true;
  return false;
}

// A finite number filling the whole (trimmed) cell, or nothing. from_chars rather than strtod:
// '.' is the decimal point whatever the program's locale (strtod under a German LC_NUMERIC would
// read "112,5" as 112.5 and refuse "112.5").
std::optional<double> parse_number(const std::string& cell) {
  const std::string s = trim_cell(cell);
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '+') {  // from_chars takes '-' but no '+'
    digits.remove_prefix(1);
    if (!digits.empty() && digits.front() == '-') return std::nullopt;
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (end != digits.data() + digits.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Too small for a double ("1e-400") is 0, as strtod and NumPy read it; too large ("1e400")
    // is not a finite number and is refused.
    const std::size_t e = digits.find_first_of("eE");
    if (e != std::string_view::npos && e + 1 < digits.size() && digits[e + 1] == '-')
      return digits.front() == '-' ? -0.0 : 0.0;
    return std::nullopt;
  }
  if (ec != std::errc() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// One table for the --delimiter names (parse_delimiter and its "expected one of" list).
struct DelimiterName {
  const char* name;
  char delimiter;
};
constexpr DelimiterName kDelimiterNames[] = {
    {",", ','}, {";", ';'}, {"tab", '\t'}, {"\\t", '\t'}, {"\t", '\t'}, {"|", '|'}};

// The delimiters detection tries, in the order it prefers them on a tie.
constexpr char kDetectedDelimiters[] = {',', ';', '\t', '|'};
// Detection looks at the header and this many data rows.
constexpr std::size_t kDetectionRows = 20;

// One record of the file: its cells, where each starts, and the line it starts on.
struct Record {
  std::vector<std::string> cells;
  std::vector<long> columns;  // 1-based character column of each cell, from the record's start
  long line = 1;              // 1-based line the record starts on
  bool blank = false;         // a line with nothing but spaces (skipped)
};

enum class ReadStatus { kRecord, kEnd, kUnterminated };

// Splits text into records. A cell that starts with '"' runs to the closing '"' ("" is a quote)
// and may hold delimiters and line ends; LF, CRLF or CR ends a record. Both parse_csv and the
// delimiter detection read through this, so they agree on what is inside quotes.
class RecordReader {
 public:
  RecordReader(const std::string& text, std::size_t begin, char delimiter)
      : text_(text), pos_(begin), delimiter_(delimiter) {}

  // Fills `r` with the next record. kUnterminated leaves in r.columns.back() the column of the
  // cell whose quote never closes.
  ReadStatus next(Record& r) {
    r.cells.clear();
    r.columns.clear();
    r.blank = false;
    if (pos_ >= text_.size()) return ReadStatus::kEnd;
    r.line = line_;
    const std::size_t record_start = pos_;
    std::string cell;
    long cell_col = 1;
    bool in_quotes = false, quoted = false;
    while (pos_ < text_.size()) {
      const char ch = text_[pos_];
      if (in_quotes) {
        if (ch == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            cell += '"';
            pos_ += 2;
            continue;
          }
          in_quotes = false;
        } else {
          if (ch == '\n') ++line_;
          cell += ch;
        }
        ++pos_;
        continue;
      }
      if (ch == '"' && cell.empty() && !quoted) {
        in_quotes = quoted = true;
        ++pos_;
        continue;
      }
      if (ch == delimiter_) {
        r.cells.push_back(std::move(cell));
        r.columns.push_back(cell_col);
        cell.clear();
        quoted = false;
        ++pos_;
        cell_col = static_cast<long>(pos_ - record_start) + 1;
        continue;
      }
      if (ch == '\n' || ch == '\r') {
        if (ch == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
        ++pos_;
        ++line_;
        break;
      }
      cell += ch;
      ++pos_;
    }
    r.columns.push_back(cell_col);
    if (in_quotes) return ReadStatus::kUnterminated;
    r.cells.push_back(std::move(cell));
    r.blank = r.cells.size() == 1 && !quoted && trim_cell(r.cells[0]).empty();
    return ReadStatus::kRecord;
  }

 private:
  const std::string& text_;
  std::size_t pos_;
  long line_ = 1;
  char delimiter_;
};

bool looks_like_decimal_comma(std::string_view s, bool* grouped = nullptr);

// See CsvOptions::delimiter for the rule.
char detect_delimiter(const std::string& text, std::size_t begin) {
  struct Candidate {
    char delimiter;
    bool consistent;        // the header and every sampled row have the same cell count
    bool decimal_commas;    // some sampled cell reads as a number with a decimal comma
    std::size_t cells;      // cells in the header
    std::size_t matches;    // sampled rows with as many cells as the header
  };
  std::optional<Candidate> best;
  Record rec;
  for (char d : kDetectedDelimiters) {
    RecordReader reader(text, begin, d);
    Candidate c{d, true, false, 0, 0};
    std::size_t rows = 0;
    while (rows < kDetectionRows) {
      const ReadStatus status = reader.next(rec);
      if (status == ReadStatus::kEnd) break;
      if (status == ReadStatus::kUnterminated) { c.consistent = false; break; }
      if (rec.blank) continue;
      for (const std::string& cell : rec.cells)
        c.decimal_commas = c.decimal_commas || looks_like_decimal_comma(trim_cell(cell));
      if (c.cells == 0) { c.cells = rec.cells.size(); continue; }
      ++rows;
      if (rec.cells.size() == c.cells) ++c.matches;
    }
    if (c.cells < 2) continue;
    c.consistent = c.consistent && c.matches == rows;
    // A ';' (or tab, '|') file with decimal commas may split evenly on ',' as well ("1,5;2,3"):
    // the commas are then explained, and the other delimiter wins.
    const auto rank = [](const Candidate& k) {
      return std::make_tuple(k.consistent, k.consistent && k.delimiter != ',' && k.decimal_commas,
                             k.consistent ? k.cells : k.matches, k.cells);
    };
    // Strictly better only, so that the earlier delimiter wins a tie.
    if (!best || rank(c) > rank(*best)) best = c;
  }
  return best ? best->delimiter : ',';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The integer part of a number: optional sign, then digits, with '.' thousands separators
// allowed ("1.234"). `grouped` says whether such separators were seen.
bool is_integer_part(std::string_view s, bool* grouped = nullptr) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  const std::size_t dot = s.find('.');
  if (grouped) *grouped = dot != std::string_view::npos;
  if (dot == std::string_view::npos) return all_digits(s);
  if (dot == 0 || dot > 3 || !all_digits(s.substr(0, dot))) return false;
  for (std::size_t i = dot; i < s.size(); i += 4)
    if (s[i] != '.' || i + 4 > s.size() || !all_digits(s.substr(i + 1, 3))) return false;
  return true;
}

// "112,5", "-0,25", "1.234,5": a number written with a decimal comma (and maybe '.' thousands).
bool looks_like_decimal_comma(std::string_view s, bool* grouped) {
  const std::size_t comma = s.find(',');
  if (comma == std::string_view::npos || s.find(',', comma + 1) != std::string_view::npos)
    return false;
  return is_integer_part(s.substr(0, comma), grouped) && all_digits(s.substr(comma + 1));
}

// "1949-01", "2020-01-01 00:00", "01.02.2020", "2020-01-01T12:00:00Z": digits and date or time
// separators, at least one separator.
bool looks_like_date(std::string_view s) {
  if (!s.empty() && s.back() == 'Z') s.remove_suffix(1);
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front())) ||
      !std::isdigit(static_cast<unsigned char>(s.back())))
    return false;
  bool separator = false;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) continue;
    if (c != '-' && c != '/' && c != '.' && c != ':' && c != ' ' && c != 'T') return false;
    separator = true;
  }
  return separator;
}

// A cell that reads as a value rather than as a column name.
bool looks_like_data(const std::string& trimmed) {
  return parse_number(trimmed) || looks_like_decimal_comma(trimmed) || looks_like_date(trimmed);
}

// The delimiter as it is shown inside a quoted row in a message (a tab as \t).
std::string shown_delimiter(char delimiter) {
  return delimiter == '\t' ? std::string("\\t") : std::string(1, delimiter);
}

// The first row as the user wrote it, shortened for a message.
std::string quote_row(const std::vector<std::string>& cells, char delimiter) {
  constexpr std::size_t kMaxChars = 60;
  const std::string sep = shown_delimiter(delimiter);
  std::string row;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    if (c > 0) row += sep;
    row += cells[c];
    if (row.size() > kMaxChars) {
      row.resize(kMaxChars);
      row += "...";
      break;
    }
  }
  return "\"" + row + "\"";
}

// Takes the first record as the header: names must be non-empty and unique (checked with a hash
// set: files with 100k columns exist). A first row that looks like data is kept, with a warning.
void read_header(CsvTable& t, const Record& rec) {
  bool data_like = true;
  for (const std::string& cell : rec.cells) {
    const std::string s = trim_cell(cell);
    data_like = data_like && (looks_like_data(s) || is_missing_token(s));
  }
  data_like = data_like && std::any_of(rec.cells.begin(), rec.cells.end(), [](const auto& c) {
                return looks_like_data(trim_cell(c));
              });
  const std::string data_hint =
      data_like ? " The first row (" + quote_row(rec.cells, t.delimiter) +
                      ") looks like data: add a header row naming the columns."
                : std::string();
  std::unordered_set<std::string> seen;
  seen.reserve(rec.cells.size());
  t.header.reserve(rec.cells.size());
  for (std::size_t c = 0; c < rec.cells.size(); ++c) {
    std::string name = trim_cell(rec.cells[c]);
    if (name.empty())
      throw ParseError(t.source, rec.line, rec.columns[c], "header cell " + std::to_string(c + 1) +
                       " is empty; every column needs a name." + data_hint);
    if (!seen.insert(name).second)
      throw ParseError(t.source, rec.line, rec.columns[c],
                       "duplicate column name \"" + (name.size() > 60 ? name.substr(0, 60) + "..." : name) +
                       "\"." + data_hint);
    t.header.push_back(std::move(name));
  }
  if (data_like) {
    const std::string sep = shown_delimiter(t.delimiter);
    std::string example;
    for (std::size_t c = 0; c < std::min<std::size_t>(rec.cells.size(), 3); ++c)
      example += (c ? sep : "") + "column_" + std::to_string(c + 1);
    if (rec.cells.size() > 3) example += sep + "...";
    t.warnings.push_back(t.source + ": the first row (" + quote_row(rec.cells, t.delimiter) +
                         ") looks like data, not a header; recur takes it as the column names. "
                         "Add a header row naming the columns (e.g. \"" + example +
                         "\") as the first line so that this row is read as data.");
  }
}

// For a ','-delimited row with `extra` cells more than the header: when adjacent cells pair up
// as the two halves of numbers split at a decimal comma ("112", "5") often enough to account
// for every extra cell, a hint naming the first such pair; otherwise "".
std::string decimal_comma_split_hint(const Record& rec, std::size_t extra) {
  const auto& cells = rec.cells;
  std::size_t pairs = 0, first = cells.size();
  for (std::size_t i = 0; i + 1 < cells.size();) {
    // No spaces around the comma: "112, 5" reads as a list, not as 112,5.
    if (is_integer_part(cells[i]) && all_digits(cells[i + 1])) {
      if (pairs++ == 0) first = i;
      i += 2;
    } else {
      ++i;
    }
  }
  if (pairs < extra) return "";
  const std::string& a = cells[first];
  const std::string& b = cells[first + 1];
  std::string a_plain = a;  // "1.234" -> "1234": the '.' was a thousands separator
  a_plain.erase(std::remove(a_plain.begin(), a_plain.end(), '.'), a_plain.end());
  return "; decimal comma? The cells \"" + a + "\" and \"" + b + "\" (columns " +
         std::to_string(rec.columns[first]) + " and " + std::to_string(rec.columns[first + 1]) +
         ") may be one number, " + a + "," + b + ", split at its decimal comma. recur reads '.' as "
         "the decimal point: write the numbers with '.' (" + a_plain + "." + b +
         "), e.g. by exporting the file with '.' as the decimal separator.";
}


}  // namespace

std::string trim_cell(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

MissingPolicy parse_missing_policy(const std::string& name) {
  if (name == "error") return MissingPolicy::kError;
  if (name == "interpolate") return MissingPolicy::kInterpolate;
  if (name == "drop") return MissingPolicy::kDrop;
  throw ValueError("--missing: unknown policy \"" + name +
                   "\"; expected one of error, interpolate, drop.");
}

char parse_delimiter(const std::string& name) {
  for (const DelimiterName& d : kDelimiterNames)
    if (name == d.name) return d.delimiter;
  std::string choices;
  for (const DelimiterName& d : kDelimiterNames) {
    if (std::string_view(d.name) == "\t") continue;  // accepted, but not worth listing
    choices += std::string(choices.empty() ? "" : ", ") + "\"" + d.name + "\"";
  }
  throw ValueError("--delimiter: unknown delimiter \"" + name + "\"; expected one of " + choices +
                   " (\"tab\" and \"\\t\" both mean a tab).");
}

std::string delimiter_name(char delimiter) {
  if (delimiter == '\t') return "tab";
  return std::string("'") + delimiter + "'";
}

CsvTable parse_csv(const std::string& text, const std::string& source, const CsvOptions& options) {
  const std::size_t begin = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  char delimiter = options.delimiter;
  if (delimiter == 0) {
    delimiter = detect_delimiter(text, begin);
  } else if (delimiter == '"' || delimiter == '\n' || delimiter == '\r') {
    throw ValueError(source + ": the CSV delimiter cannot be a quote or a line end; use ',', "
                     "';', tab or '|'.");
  }
  CsvTable t;
  t.source = source;
  t.delimiter = delimiter;
  RecordReader reader(text, begin, delimiter);
  Record rec;
  bool have_header = false;
  while (true) {
    const ReadStatus status = reader.next(rec);
    if (status == ReadStatus::kEnd) break;
    if (status == ReadStatus::kUnterminated)
      throw ParseError(source, rec.line, rec.columns.back(),
                       "unterminated quoted cell; add the closing '\"'.");
    if (rec.blank) continue;
    if (!have_header) {
      read_header(t, rec);
      have_header = true;
      continue;
    }
    if (rec.cells.size() != t.header.size()) {
      const std::string hint =
          delimiter == ',' && rec.cells.size() > t.header.size()
              ? decimal_comma_split_hint(rec, rec.cells.size() - t.header.size())
              : std::string();
      throw ParseError(source, rec.line, rec.columns.back(),
                       "expected " + std::to_string(t.header.size()) +
                           " cells (as many as the header has), got " +
                           std::to_string(rec.cells.size()) + (hint.empty() ? "." : hint));
    }
    t.rows.push_back(std::move(rec.cells));
    t.line_numbers.push_back(rec.line);
    t.cell_columns.push_back(std::move(rec.columns));
  }
  if (!have_header)
    throw ParseError(source, 1, 1, "the file is empty; expected a header row naming the columns.");
  return t;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  // Bounded: a 3 GiB file, /dev/zero or an endless pipe is refused, not read until memory runs out.
  const std::string text = read_file_bounded(path, options.max_bytes, "CSV file", /*allow_fifo=*/true,
                                             "(CsvOptions::max_bytes) Split the file or keep only the rows and "
                                             "columns needed.");
  return parse_csv(text, path, options);
}

std::string column_list(const CsvTable& table) {
  // Bounded: a header of 100k columns or a 10 MB name must not become a 10 MB message.
  constexpr std::size_t kMaxNames = 30, kMaxName = 60;
  std::string list;
  for (std::size_t c = 0; c < table.header.size() && c < kMaxNames; ++c) {
    const std::string& h = table.header[c];
    list += (list.empty() ? "" : ", ") + (h.size() > kMaxName ? h.substr(0, kMaxName) + "..." : h);
  }
  if (table.header.size() > kMaxNames) list += " and " + std::to_string(table.header.size() - kMaxNames) + " more";
  return list;
}

std::size_t column_index(const CsvTable& table, const std::string& name) {
  for (std::size_t c = 0; c < table.header.size(); ++c)
    if (table.header[c] == name) return c;
  const std::string list = column_list(table);
  std::string best;
  std::size_t best_d = static_cast<std::size_t>(-1);
  for (const std::string& h : table.header) {
    const std::size_t d = edit_distance(name, h);
    if (d < best_d) { best_d = d; best = h; }
  }
  std::string msg = table.source + ": no column named \"" + name + "\". The columns are: " + list + ".";
  if (!best.empty() && best_d <= std::max<std::size_t>(2, name.size() / 2))
    msg += " Did you mean \"" + best + "\"?";
  throw ValueError(msg, codes::kUnknownColumn);
}

bool is_numeric_column(const CsvTable& table, std::size_t column) {
  bool any = false;
  for (const auto& row : table.rows) {
    const std::string s = trim_cell(row[column]);
    if (is_missing_token(s)) continue;
    if (!parse_number(s)) return false;
    any = true;
  }
  return any;
}

NumericColumns select_numeric(const CsvTable& table, const std::vector<std::string>& columns,
                              MissingPolicy policy) {
  NumericColumns out;
  std::vector<std::size_t> idx;
  for (const std::string& name : columns) idx.push_back(column_index(table, name));
  const std::size_t n = table.rows.size();
  std::vector<std::vector<double>> vals(idx.size(), std::vector<double>(n, NAN));
  std::vector<bool> row_missing(n, false);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t k = 0; k < idx.size(); ++k) {
      const std::string& raw = table.rows[r][idx[k]];
      if (auto v = parse_number(raw)) { vals[k][r] = *v; continue; }
      const std::string s = trim_cell(raw);
      const bool missing = is_missing_token(s);
      if (missing && policy != MissingPolicy::kError) { row_missing[r] = true; continue; }
      const std::string got = s.empty() ? std::string("an empty cell") : "\"" + s + "\"";
      bool grouped = false;
      std::string fix;
      if (missing) {
        fix = " The cell is missing: use --missing interpolate or --missing drop, or fill it in "
              "the file.";
      } else if (looks_like_decimal_comma(s, &grouped)) {
        fix = " It looks like a decimal comma; recur reads '.' as the decimal point: convert the "
              "file (e.g. replace ',' by '.' in numbers" +
              std::string(grouped ? ", after deleting the '.' thousands separators" : "") +
              "), or export it with '.' as the decimal separator.";
      } else {
        fix = " Fix the cell, or choose other columns.";
      }
      throw ParseError(table.source, table.line_numbers[r], table.cell_columns[r][idx[k]],
                       "(column \"" + table.header[idx[k]] + "\"): expected a number, got " +
                           got + "." + fix,
                       codes::kNonNumericCell);
    }
  }
  for (std::size_t k = 0; k < idx.size(); ++k) {
    bool any = false;
    for (double v : vals[k]) any = any || !std::isnan(v);
    if (!any)
      throw ValueError(table.source + ": column \"" + columns[k] +
                       "\" has no numeric values; choose a numeric column.");
  }
  out.names = columns;
  if (policy == MissingPolicy::kDrop) {
    out.values.assign(idx.size(), {});
    for (std::size_t r = 0; r < n; ++r) {
      if (row_missing[r]) continue;
      out.rows.push_back(r);
      for (std::size_t k = 0; k < idx.size(); ++k) out.values[k].push_back(vals[k][r]);
    }
    return out;
  }
  for (std::size_t r = 0; r < n; ++r) out.rows.push_back(r);
  if (policy == MissingPolicy::kInterpolate) {
    for (auto& col : vals) {
      std::size_t prev = n;  // last present index, n = none yet
      for (std::size_t r = 0; r <= n; ++r) {
        if (r < n && std::isnan(col[r])) continue;
        // Fill the gap (prev, r).
        for (std::size_t g = (prev == n ? 0 : prev + 1); g < r; ++g) {
          if (prev == n) col[g] = col[r];
          else if (r == n) col[g] = col[prev];
          else col[g] = col[prev] + (col[r] - col[prev]) * static_cast<double>(g - prev) /
                                        static_cast<double>(r - prev);
        }
        prev = r;
      }
    }
  }
  out.values = std::move(vals);
  return out;
}

}  // namespace recur
