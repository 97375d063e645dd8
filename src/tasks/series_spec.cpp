#include "recur/tasks/series_spec.hpp"

#include <algorithm>

#include "recur/core/error.hpp"

namespace recur::tasks {
namespace {

constexpr std::size_t kNoRow = TimeIndex::npos;

std::vector<std::string> column_cells(const CsvTable& table, std::size_t c) {
  std::vector<std::string> cells;
  cells.reserve(table.rows.size());
  for (const auto& row : table.rows) cells.push_back(trim_cell(row[c]));
  return cells;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void reverse_rows(CsvTable& table) {
  std::reverse(table.rows.begin(), table.rows.end());
  std::reverse(table.line_numbers.begin(), table.line_numbers.end());
  std::reverse(table.cell_columns.begin(), table.cell_columns.end());
}

std::optional<TimeIndex> time_index_of(const CsvTable& table, const std::string& time_column) {
  if (time_column.empty()) return std::nullopt;
  return parse_time_column(column_cells(table, column_index(table, time_column)));
}

// The rest of a SeriesSpec once its table is in time order: numbers, time index, labels.
void read_values(SeriesSpec& s, MissingPolicy missing) {
  s.columns = select_numeric(s.table, s.features, missing);
  s.time_index = time_index_of(s.table, s.time_column);
  const std::size_t tc = s.time_column.empty() ? 0 : column_index(s.table, s.time_column);
  s.labels.clear();
  for (std::size_t r : s.columns.rows)
    s.labels.push_back(s.time_column.empty() ? std::to_string(r + 1) : trim_cell(s.table.rows[r][tc]));
}

}  // namespace

bool reads_as_times(const CsvTable& table, const std::string& column) {
  return parse_time_column(column_cells(table, column_index(table, column))).has_value();
}

std::string find_time_column(const CsvTable& table, const std::vector<std::string>& exclude) {
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    if (contains(exclude, table.header[c])) continue;
    if (parse_time_column(column_cells(table, c))) return table.header[c];
  }
  return "";
}

std::string add_period_column(CsvTable& table, std::vector<std::string>* sources) {
  const auto found = find_time_columns(table);
  if (!found || found->columns.size() != 2) return "";
  const std::size_t yc = found->columns[0], pc = found->columns[1];
  const bool quarterly = found->index.frequency == TimeFrequency::kQuarterly;
  std::string name = table.header[yc] + "_" + table.header[pc];
  while (contains(table.header, name)) name += "_";
  table.header.push_back(name);
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::string year = trim_cell(table.rows[r][yc]);
    std::string period = trim_cell(table.rows[r][pc]);
    if (!period.empty() && (period[0] == 'Q' || period[0] == 'q')) period = period.substr(1);
    if (!quarterly && period.size() == 1) period = "0" + period;
    table.rows[r].push_back(year + (quarterly ? "-Q" : "-") + period);
    // The new cell's column in the file, for messages: none exists; the row's last one serves.
    if (r < table.cell_columns.size())
      table.cell_columns[r].push_back(table.cell_columns[r].empty() ? 1 : table.cell_columns[r].back());
  }
  *sources = {table.header[yc], table.header[pc]};
  return name;
}

CsvTable in_time_order(CsvTable table, const std::string& time_column, std::vector<std::string>* warnings) {
  if (time_column.empty() || table.rows.size() < 2) return table;
  const std::size_t c = column_index(table, time_column);
  const auto index = parse_time_column(column_cells(table, c));
  if (!index || index->first_backward_row == kNoRow) return table;
  reverse_rows(table);
  const auto reversed = parse_time_column(column_cells(table, c));
  if (reversed && reversed->first_backward_row == kNoRow) {
    warnings->push_back(table.source + ": the time column \"" + time_column + "\" runs backwards "
                        "(newest first); the rows were put oldest first.");
    return table;
  }
  reverse_rows(table);  // back to the file's order, for the message's line numbers
  const std::size_t r = index->first_backward_row;
  throw ValueError(table.source + ":" + std::to_string(table.line_numbers[r]) + ": the time column \"" +
                   time_column + "\" goes back or repeats: \"" + trim_cell(table.rows[r][c]) +
                   "\" comes after \"" + trim_cell(table.rows[r - 1][c]) + "\" (line " +
                   std::to_string(table.line_numbers[r - 1]) + "). A series must be in time order "
                   "with one row per time: sort the file and remove duplicates.",
                   codes::kValue);
}

std::vector<std::string> future_labels(const std::optional<TimeIndex>& index, std::size_t k) {
  if (index) {
    try {
      return index->next_labels(k);
    } catch (const ValueError&) {
      // No regular step (all times equal) or past the year 9999: count steps instead.
    }
  }
  std::vector<std::string> labels;
  // (not "+" + to_string(i): GCC 12 warns falsely on it, -Wrestrict)
  for (std::size_t i = 1; i <= k; ++i) labels.push_back(std::string(1, '+').append(std::to_string(i)));
  return labels;
}

SeriesData SeriesSpec::data() const {
  SeriesData d;
  d.names = features;
  d.columns = columns.values;
  return d;
}

SeriesSpec series_from_table(CsvTable table, const SeriesSpecOptions& o) {
  if (o.target.empty())
    throw ValueError("series_from_table: no target column; name the column to forecast. The columns of " +
                     table.source + " are: " + column_list(table) + ".", codes::kBadHyperparameter);
  SeriesSpec s;
  s.warnings = table.warnings;
  s.target = o.target;
  column_index(table, o.target);  // a clear error for an unknown name
  s.features = {o.target};
  for (const auto& f : o.features)
    if (f != o.target) s.features.push_back(f);
  if (!o.no_time_column && !o.time_column.empty()) {
    if (!reads_as_times(table, o.time_column))
      throw ValueError("column \"" + o.time_column + "\" does not read as times (e.g. 1960-01, 1960-Q1, "
                       "1958-03-29, 19580329, 1958-03-29 13:00 or a year).", codes::kBadHyperparameter);
    s.time_column = o.time_column;
  } else if (!o.no_time_column) {
    s.time_column = find_time_column(table, s.features);
    if (s.time_column.empty()) {
      s.time_column = add_period_column(table, &s.time_sources);
      for (const auto& source : s.time_sources)
        if (contains(s.features, source)) {  // named as a feature: not a time here
          s.time_column.clear();
          s.time_sources.clear();
          break;
        }
    }
  }
  if (o.all_features)
    for (std::size_t c = 0; c < table.header.size(); ++c) {
      const std::string& name = table.header[c];
      if (name != o.target && name != s.time_column && is_numeric_column(table, c) && !contains(s.time_sources, name))
        s.features.push_back(name);
    }
  if (!s.time_column.empty() && contains(s.features, s.time_column))
    throw ValueError("column \"" + s.time_column + "\" is the time column; it cannot also be the "
                     "target or a feature. Name another with --time, or --time none.",
                     codes::kBadHyperparameter);
  s.table = in_time_order(std::move(table), s.time_column, &s.warnings);
  read_values(s, o.missing);
  return s;
}

SeriesSpec series_for_model(CsvTable table, const std::vector<std::string>& features,
                            const std::string& time_column, MissingPolicy missing) {
  SeriesSpec s;
  s.warnings = table.warnings;
  s.features = features;
  s.target = features.empty() ? "" : features[0];
  s.time_column = time_column;
  if (!s.time_column.empty() && !contains(table.header, s.time_column)) {
    std::vector<std::string> sources;
    add_period_column(table, &sources);  // the same "<year>_<period>" column as in training
    if (!contains(table.header, s.time_column)) s.time_column.clear();
  }
  s.table = in_time_order(std::move(table), s.time_column, &s.warnings);
  read_values(s, missing);
  return s;
}

SeasonChoice choose_season(const std::optional<TimeIndex>& index, const std::vector<double>& y,
                           std::size_t train_end, std::size_t given) {
  if (train_end > y.size())
    throw ValueError("choose_season: train_end " + std::to_string(train_end) + " is past the " +
                     std::to_string(y.size()) + " values of the series.", codes::kBadHyperparameter);
  SeasonChoice c;
  if (given > 0) {
    c.seasons = {given};
    c.source = "given";
  } else if (index && !seasons_for(index->frequency).empty()) {
    c.seasons = seasons_for(index->frequency);
    c.source = "time column, " + frequency_name(index->frequency);
  } else {
    const std::size_t m = infer_season_from_values({y.begin(), y.begin() + static_cast<long>(train_end)});
    if (m > 1) c.seasons = {m};
    c.source = m > 1 ? "autocorrelation" : "none found";
  }
  for (std::size_t m : c.seasons)
    if (m >= 2 && train_end >= 2 * m) {
      c.season = m;
      break;
    }
  return c;
}

}  // namespace recur::tasks
