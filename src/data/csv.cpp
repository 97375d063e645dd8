#include "recur/data/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "recur/core/error.hpp"

namespace recur {
namespace {

bool is_missing_token(const std::string& s) {
  static const char* const kTokens[] = {"", "NA", "N/A", "n/a", "na", "NaN", "nan", "NAN",
                                        "null", "NULL", "None", "?", "-"};
  for (const char* t : kTokens)
    if (s == t) return true;
  return false;
}

// A finite number filling the whole (trimmed) cell, or nothing.
std::optional<double> parse_number(const std::string& cell) {
  const std::string s = trim_cell(cell);
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
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

CsvTable parse_csv(const std::string& text, const std::string& source) {
  CsvTable t;
  t.source = source;
  std::size_t pos = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;
  long line = 1;
  bool have_header = false;
  while (pos < text.size()) {
    std::vector<std::string> cells;
    std::vector<long> cols;
    std::string cell;
    const std::size_t line_start = pos;
    const long row_line = line;
    long cell_col = 1;
    bool in_quotes = false, row_done = false, quoted = false;
    while (!row_done) {
      if (pos >= text.size()) {
        if (in_quotes)
          throw ParseError(source, row_line, cell_col, "unterminated quoted cell; add the "
                           "closing '\"'.");
        row_done = true;
        break;
      }
      const char ch = text[pos];
      if (in_quotes) {
        if (ch == '"') {
          if (pos + 1 < text.size() && text[pos + 1] == '"') { cell += '"'; pos += 2; continue; }
          in_quotes = false;
          ++pos;
          continue;
        }
        if (ch == '\n') ++line;
        cell += ch;
        ++pos;
        continue;
      }
      if (ch == '"' && cell.empty() && !quoted) { in_quotes = quoted = true; ++pos; continue; }
      if (ch == ',') {
        cells.push_back(cell);
        cols.push_back(cell_col);
        cell.clear();
        quoted = false;
        ++pos;
        cell_col = static_cast<long>(pos - line_start) + 1;
        continue;
      }
      if (ch == '\n' || ch == '\r') {
        if (ch == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
        ++pos;
        ++line;
        row_done = true;
        break;
      }
      cell += ch;
      ++pos;
    }
    cells.push_back(cell);
    cols.push_back(cell_col);
    if (cells.size() == 1 && trim_cell(cells[0]).empty() && !quoted) continue;  // blank line
    if (!have_header) {
      for (std::size_t c = 0; c < cells.size(); ++c) {
        const std::string name = trim_cell(cells[c]);
        if (name.empty())
          throw ParseError(source, row_line, cols[c], "header cell " + std::to_string(c + 1) +
                           " is empty; every column needs a name.");
        if (std::find(t.header.begin(), t.header.end(), name) != t.header.end())
          throw ParseError(source, row_line, cols[c], "duplicate column name \"" + name + "\".");
        t.header.push_back(name);
      }
      have_header = true;
      continue;
    }
    if (cells.size() != t.header.size())
      throw ParseError(source, row_line, cols.back(),
                       "expected " + std::to_string(t.header.size()) +
                           " cells (as many as the header has), got " +
                           std::to_string(cells.size()) + ".");
    t.rows.push_back(std::move(cells));
    t.line_numbers.push_back(row_line);
    t.cell_columns.push_back(std::move(cols));
  }
  if (!have_header)
    throw ParseError(source, 1, 1, "the file is empty; expected a header row naming the columns.");
  return t;
}

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open \"" + path + "\": " + std::strerror(errno) + ".");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("cannot read \"" + path + "\": " + std::strerror(errno) + ".");
  return parse_csv(text, path);
}

std::string column_list(const CsvTable& table) {
  std::string list;
  for (const std::string& h : table.header) list += (list.empty() ? "" : ", ") + h;
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
      std::string fix = missing ? " The cell is missing: use --missing interpolate or "
                                  "--missing drop, or fill it in the file."
                                : " Fix the cell, or choose other columns.";
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
