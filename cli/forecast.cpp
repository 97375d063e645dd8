#include "forecast.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "bundled_data.hpp"
#include "classify.hpp"
#include "common.hpp"
#include "plot.hpp"
#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/data/time_index.hpp"
#include "recur/tasks/baselines.hpp"

namespace recur::cli {
namespace {

using json = nlohmann::json;
constexpr const char* kBundledName = "airpassengers.csv (bundled)";

std::string layer_title(const std::string& layer) {
  return layer == "gru" ? "GRU" : layer == "simple_rnn" ? "SimpleRNN" : "LSTM";
}

CsvTable load_table(const std::string& path, const std::string& delimiter) {
  CsvOptions options;
  if (!delimiter.empty()) options.delimiter = parse_delimiter(delimiter);
  return path.empty() ? parse_csv(kAirPassengersCsv, kBundledName, options) : read_csv(path, options);
}

std::vector<std::string> column_cells(const CsvTable& table, std::size_t c) {
  std::vector<std::string> cells;
  cells.reserve(table.rows.size());
  for (const auto& row : table.rows) cells.push_back(trim_cell(row[c]));
  return cells;
}

// The time column: the one named by --time, else the first column that reads as times (dates,
// months, quarters, an integer year or YYYYMMDD) and is not the target or a named feature.
std::string find_time_column(const CsvTable& table, const std::string& requested,
                             const std::vector<std::string>& features) {
  if (requested == "none") return "";
  if (!requested.empty()) {
    const std::size_t c = column_index(table, requested);
    if (!parse_time_column(column_cells(table, c)))
      throw ValueError("--time " + requested + ": the column does not read as times (e.g. 1960-01, "
                       "1960-Q1, 1958-03-29, 19580329, 1958-03-29 13:00 or a year); its first "
                       "cell is \"" + (table.rows.empty() ? "" : trim_cell(table.rows[0][c])) + "\".",
                       codes::kBadHyperparameter);
    return requested;
  }
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    if (std::find(features.begin(), features.end(), table.header[c]) != features.end()) continue;
    if (parse_time_column(column_cells(table, c))) return table.header[c];
  }
  return "";
}

// A table that keeps its times in a year column and a quarter or month column (macrodata's
// `year`, `quarter`) gets one more column, "<year>_<period>", holding "1959-Q1" / "1959-01"
// labels, which then serves as the time column. Returns its name and the two source columns
// (never model inputs), or "" when the table has no such pair.
std::string add_period_column(CsvTable& table, std::vector<std::string>* sources) {
  const auto found = find_time_columns(table);
  if (!found || found->columns.size() != 2) return "";
  const std::size_t yc = found->columns[0], pc = found->columns[1];
  const bool quarterly = found->index.frequency == TimeFrequency::kQuarterly;
  std::string name = table.header[yc] + "_" + table.header[pc];
  while (std::find(table.header.begin(), table.header.end(), name) != table.header.end()) name += "_";
  table.header.push_back(name);
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::string year = trim_cell(table.rows[r][yc]);
    std::string period = trim_cell(table.rows[r][pc]);
    if (!period.empty() && (period[0] == 'Q' || period[0] == 'q')) period = period.substr(1);
    if (!quarterly && period.size() == 1) period = "0" + period;
    table.rows[r].push_back(year + (quarterly ? "-Q" : "-") + period);
    if (r < table.cell_columns.size()) table.cell_columns[r].push_back(table.cell_columns[r].empty() ? 1 : table.cell_columns[r].back());
  }
  *sources = {table.header[yc], table.header[pc]};
  return name;
}

// A table whose time column runs backwards from start to end is reversed (with a warning); one
// that goes back somewhere in the middle, or repeats a time, is refused naming the rows.
CsvTable in_time_order(CsvTable table, const std::string& time_column, std::vector<std::string>* warnings) {
  if (time_column.empty() || table.rows.size() < 2) return table;
  const std::size_t c = column_index(table, time_column);
  const auto index = parse_time_column(column_cells(table, c));
  if (!index || index->first_backward_row == static_cast<std::size_t>(-1)) return table;
  std::reverse(table.rows.begin(), table.rows.end());
  std::reverse(table.line_numbers.begin(), table.line_numbers.end());
  std::reverse(table.cell_columns.begin(), table.cell_columns.end());
  const auto reversed = parse_time_column(column_cells(table, c));
  if (reversed && reversed->first_backward_row == static_cast<std::size_t>(-1)) {
    warnings->push_back(table.source + ": the time column \"" + time_column + "\" runs backwards "
                        "(newest first); the rows were put oldest first.");
    return table;
  }
  std::reverse(table.rows.begin(), table.rows.end());
  std::reverse(table.line_numbers.begin(), table.line_numbers.end());
  std::reverse(table.cell_columns.begin(), table.cell_columns.end());
  const std::size_t r = index->first_backward_row;
  throw ValueError(table.source + ":" + std::to_string(table.line_numbers[r]) + ": the time column \"" +
                   time_column + "\" goes back or repeats: \"" + trim_cell(table.rows[r][c]) +
                   "\" comes after \"" + trim_cell(table.rows[r - 1][c]) + "\" (line " +
                   std::to_string(table.line_numbers[r - 1]) + "). A series must be in time order "
                   "with one row per time: sort the file and remove duplicates.",
                   codes::kValue);
}

std::vector<std::string> row_labels(const CsvTable& table, const NumericColumns& nc,
                                    const std::string& time_column) {
  std::vector<std::string> labels;
  const std::size_t tc = time_column.empty() ? 0 : column_index(table, time_column);
  for (std::size_t r : nc.rows)
    labels.push_back(time_column.empty() ? std::to_string(r + 1) : trim_cell(table.rows[r][tc]));
  return labels;
}

// The parsed time column, or nullopt without one.
std::optional<TimeIndex> time_index_of(const CsvTable& table, const std::string& time_column) {
  if (time_column.empty()) return std::nullopt;
  return parse_time_column(column_cells(table, column_index(table, time_column)));
}

// Labels of the k steps past the data: dates in the time column's format, else "+1", "+2", ...
std::vector<std::string> future_labels(const std::optional<TimeIndex>& index, std::size_t k) {
  if (index) {
    try {
      return index->next_labels(k);
    } catch (const ValueError&) {
      // No regular step (all times equal) or past the year 9999: count steps instead.
    }
  }
  std::vector<std::string> labels;
  for (std::size_t i = 1; i <= k; ++i) labels.push_back(std::string(1, '+').append(std::to_string(i)));
  return labels;
}

// Errors of a forecast path matrix (origins from `first`) on rows [begin, end), step by step.
ModelScore score(const std::string& key, const std::string& name, const std::vector<double>& y,
                 const std::vector<double>& paths, std::size_t first, std::size_t horizon,
                 std::size_t begin, std::size_t end) {
  ModelScore s{key, name, {}, {}};
  double se_all = 0, ae_all = 0;
  std::size_t n_all = 0;
  for (std::size_t h = 1; h <= horizon; ++h) {
    double se = 0, ae = 0;
    std::size_t n = 0;
    bool missing = false;
    for (std::size_t t = begin; t < end; ++t) {
      if (t < first + h) { missing = true; continue; }
      const double p = paths[(t - h - first) * horizon + h - 1];
      if (!std::isfinite(p)) { missing = true; continue; }
      const double d = p - y[t];
      se += d * d;
      ae += std::fabs(d);
      ++n;
    }
    const double dn = static_cast<double>(n);
    s.per_step.push_back(missing || n == 0 ? ErrorPair{NAN, NAN} : ErrorPair{std::sqrt(se / dn), ae / dn});
    se_all += se;
    ae_all += ae;
    n_all += n;
    if (missing) n_all = 0, se_all = NAN;
  }
  const double dn = static_cast<double>(n_all);
  s.all = n_all == 0 || !std::isfinite(se_all) ? ErrorPair{NAN, NAN} : ErrorPair{std::sqrt(se_all / dn), ae_all / dn};
  return s;
}

std::vector<double> flat(const tasks::ForecastPaths& p) {
  std::vector<double> v;
  for (const auto& row : p.values) v.insert(v.end(), row.begin(), row.end());
  return v;
}

json metadata_of(const tasks::Forecaster& f, const std::vector<std::string>& features,
                 const std::string& time_column, std::size_t season, const std::string& missing) {
  json meta = json::parse(tasks::forecaster_metadata(f));
  meta["task"] = "forecast";
  meta["format_version"] = 2;
  meta["target"] = features[0];
  meta["features"] = features;
  meta["time_column"] = time_column;
  meta["season"] = season;
  meta["missing"] = missing;
  return meta;
}

// The series columns of a table, in the model's feature order.
tasks::SeriesData series_of(const NumericColumns& nc, const std::vector<std::string>& features) {
  tasks::SeriesData d;
  d.names = features;
  d.columns = nc.values;
  return d;
}

}  // namespace

ForecastResult run_forecast(const ForecastConfig& cfg, const TrainingCallbacks& callbacks) {
  Preflight pf(cfg.check_only);
  pf.run([&] { require_positive("--horizon", static_cast<double>(cfg.horizon), "1 forecasts the next step."); });
  pf.run([&] { require_positive("--ensemble", static_cast<double>(cfg.ensemble), "5 averages five models."); });
  pf.run([&] { require_positive("--epochs", cfg.epochs, "It is the most epochs; early stopping ends sooner. E.g. 300."); });
  pf.run([&] { require_positive("--patience", cfg.patience, "E.g. 20."); });
  pf.run([&] {
    if (cfg.batch_size < 0)
      throw ValueError("--batch-size must be >= 0 (0: chosen from the data), got " +
                       std::to_string(cfg.batch_size) + ".", codes::kBadHyperparameter);
  });
  pf.run([&] { require_positive("--learning-rate", cfg.learning_rate, "Typical values are 1e-4 to 1e-2."); });
  pf.run([&] { require_positive("--test-size", static_cast<double>(cfg.test_size), "E.g. 24."); });
  pf.run([&] {
    if (cfg.transform == "auto") return;
    try {
      tasks::parse_transform(cfg.transform);
    } catch (const ValueError&) {
      throw ValueError("--transform: unknown value \"" + cfg.transform + "\"; expected auto, none, "
                       "diff, log-diff, seasonal-diff, log-seasonal-diff, holt-winters or log-holt-winters.", codes::kValue);
    }
  });
  pf.run([&] {
    if (cfg.search != "on" && cfg.search != "off")
      throw ValueError("--search must be on or off, got \"" + cfg.search + "\".", codes::kBadHyperparameter);
    if (cfg.combine != "on" && cfg.combine != "off")
      throw ValueError("--combine must be on or off, got \"" + cfg.combine + "\".", codes::kBadHyperparameter);
  });
  pf.run([&] {
    if (cfg.layer != "lstm" && cfg.layer != "gru" && cfg.layer != "simple_rnn")
      throw ValueError("--layer must be lstm, gru or simple_rnn, got \"" + cfg.layer + "\".",
                       codes::kBadHyperparameter);
  });
  pf.run([&] { parse_missing_policy(cfg.missing); });
  pf.run([&] {
    if (!cfg.delimiter.empty()) parse_delimiter(cfg.delimiter);
  });
  if (!pf.problems.empty()) {
    ForecastResult res;
    res.problems = pf.problems;
    return res;
  }
  const MissingPolicy policy = parse_missing_policy(cfg.missing);

  ForecastResult res;
  const bool bundled = cfg.data_path.empty();
  CsvTable table = load_table(cfg.data_path, cfg.delimiter);
  res.warnings = table.warnings;
  res.data_name = table.source;
  std::vector<std::string> features;
  const std::string target = cfg.target.empty() && bundled ? "passengers" : cfg.target;
  if (target.empty())
    throw ValueError("--target is required with --data; name the column to forecast. The "
                     "columns of " + table.source + " are: " + column_list(table) + ".");
  column_index(table, target);  // a clear error for an unknown name
  features = {target};
  const bool all = cfg.features.size() == 1 && cfg.features[0] == "all";
  if (!all)
    for (const auto& f : cfg.features)
      if (f != target) features.push_back(f);
  res.time_column = find_time_column(table, cfg.time_column, features);
  std::vector<std::string> time_sources;  // a year + quarter/month pair behind the time column
  if (res.time_column.empty() && cfg.time_column.empty()) {
    res.time_column = add_period_column(table, &time_sources);
    for (const auto& source : time_sources)
      if (std::find(features.begin(), features.end(), source) != features.end())
        res.time_column.clear(), time_sources.clear();  // named as a feature: not a time here
  }
  if (all)
    for (std::size_t c = 0; c < table.header.size(); ++c)
      if (table.header[c] != target && table.header[c] != res.time_column && is_numeric_column(table, c) &&
          std::find(time_sources.begin(), time_sources.end(), table.header[c]) == time_sources.end())
        features.push_back(table.header[c]);
  if (std::find(features.begin(), features.end(), res.time_column) != features.end() && !res.time_column.empty())
    throw ValueError("column \"" + res.time_column + "\" is the time column; it cannot also be the "
                     "target or a feature. Name another with --time, or --time none.",
                     codes::kBadHyperparameter);
  table = in_time_order(std::move(table), res.time_column, &res.warnings);
  const NumericColumns nc = select_numeric(table, features, policy);
  const std::size_t n = nc.rows.size();
  res.rows = n;
  res.target = target;
  res.features = features;
  res.horizon = cfg.horizon;
  if (cfg.test_size >= n || n - cfg.test_size < 30)
    throw ValueError("--test-size " + std::to_string(cfg.test_size) + " leaves " +
                     std::to_string(n > cfg.test_size ? n - cfg.test_size : 0) + " of the " +
                     std::to_string(n) + " rows for training; at least 30 are needed (for "
                     "training windows and a validation segment). Use a smaller --test-size.",
                     codes::kBadHyperparameter);
  const std::size_t train_end = n - cfg.test_size;
  const std::vector<double>& y = nc.values[0];

  // The season: --season, else the time column's frequency, else the autocorrelation of the
  // training part.
  const std::optional<TimeIndex> index = time_index_of(table, res.time_column);
  if (index) res.frequency = frequency_name(index->frequency);
  std::vector<std::size_t> seasons;
  if (cfg.season > 0) {
    seasons = {cfg.season};
    res.season_source = "given";
  } else {
    if (index && !seasons_for(index->frequency).empty()) {
      seasons = seasons_for(index->frequency);
      res.season_source = "time column, " + res.frequency;
    } else {
      const std::size_t m = infer_season_from_values({y.begin(), y.begin() + static_cast<long>(train_end)});
      if (m > 1) seasons = {m};
      res.season_source = m > 1 ? "autocorrelation" : "none found";
    }
  }
  // The baseline season: the first that the training part covers twice.
  res.season = 1;
  for (std::size_t m : seasons)
    if (m >= 2 && train_end >= 2 * m) { res.season = m; break; }

  tasks::ForecasterOptions fo;
  fo.horizon = cfg.horizon;
  fo.seasons = seasons;
  fo.validation_size = cfg.validation_size;
  fo.search = cfg.search == "on";
  fo.combine = cfg.combine == "on";
  fo.transform = cfg.transform == "auto" ? "" : cfg.transform;
  fo.lookback = cfg.lookback;
  fo.units = cfg.units;
  fo.search_units = cfg.search_units;
  fo.layer = cfg.layer;
  fo.ensemble = cfg.ensemble;
  fo.max_epochs = cfg.epochs;
  fo.patience = cfg.patience;
  fo.batch_size = cfg.batch_size;
  fo.learning_rate = cfg.learning_rate;
  fo.seed = cfg.seed;
  fo.on_epoch_end = callbacks.on_epoch_end;
  fo.on_trial = [&](const std::string& stage, std::size_t i, std::size_t count, const tasks::SearchTrial& t) {
    if (!callbacks.on_line) return;
    char buf[256];
    if (std::isfinite(t.validation_rmse))
      std::snprintf(buf, sizeof buf, "%-9s %zu/%zu  %-44s validation RMSE %10.4g  best epoch %3d  %.1fs",
                    stage.c_str(), i, count, t.config.describe().c_str(), t.validation_rmse,
                    t.best_epoch, t.seconds);
    else  // the refit: trained on the validation rows too, so it has no validation score
      std::snprintf(buf, sizeof buf, "%-9s %zu/%zu  %-44s on every training row, %3d epochs      %.1fs",
                    stage.c_str(), i, count, t.config.describe().c_str(), t.epochs_run, t.seconds);
    callbacks.on_line(buf);
  };
  const tasks::SeriesData data = series_of(nc, features);
  if (cfg.check_only) {
    // The pipeline's own size checks, without training.
    if (cfg.horizon * 2 + 10 > train_end)
      throw ValueError("the training part has " + std::to_string(train_end) + " rows: too few for "
                       "horizon " + std::to_string(cfg.horizon) + ".", codes::kBadHyperparameter);
    return res;
  }
  // Locked and checked before training: a second run into the folder, or a folder holding
  // someone else's files, stops here rather than after minutes of work.
  JobOutput out(cfg.output_dir, cfg.model_path);
  // Every finished training is journaled there; --resume loads them instead of training again.
  Checkpoint checkpoint(cfg.output_dir, cfg.resume_dir, cfg.command, table, &res.warnings);
  fo.checkpoint_dir = checkpoint.dir();
  tasks::Forecaster f = tasks::fit_forecaster(data, train_end, fo);
  res.train_seconds = f.seconds;
  res.interrupted = f.interrupted;
  res.model_name = "recur " + layer_title(cfg.layer);
  res.chosen = f.coder.config.describe();
  res.transform_description = tasks::transform_description(f.coder.config.transform, f.coder.config.season_lag);
  res.trials = f.trials;
  res.members = f.members;
  res.shrink = f.shrink;
  res.hw_weight = f.coder.hw_weight;
  if (f.coder.combine) res.combined_with = tasks::describe(f.coder.hw) + (f.coder.log[0] ? " of the log target" : "");
  res.member_epochs = f.member_epochs;
  res.validation_rmse = f.validation_rmse;
  res.validation_rows = f.train_end - f.fit_end;
  for (const auto& t : f.trials)
    if (t.chosen) res.validation_folds = t.folds;

  // Paths from every origin that reaches a test point, and from the last row into the future.
  const std::size_t h = cfg.horizon;
  const std::size_t first = train_end > h ? train_end - h : 0;
  const tasks::PathForecast p = tasks::predict_paths(f, data, first, n - 1);
  const std::size_t p_first = p.origins.empty() ? n : p.origins.front();
  std::vector<std::size_t> origins;
  for (std::size_t o = p_first; o < n; ++o) origins.push_back(o);
  res.scores.push_back(score("recur", res.model_name, y, p.mean, p_first, h, train_end, n));
  // Each baseline's paths (origins, H), computed once for the scores and the CSV.
  std::vector<std::vector<double>> base_paths;
  auto add_baseline = [&](const std::string& key, const std::string& name, const tasks::ForecastPaths& b) {
    base_paths.push_back(flat(b));
    res.scores.push_back(score(key, name, y, base_paths.back(), p_first, h, train_end, n));
  };
  add_baseline("naive", "naive (last value)", tasks::naive_forecast(y, origins, h));
  add_baseline("seasonal_naive",
               res.season > 1 ? "seasonal naive (season " + std::to_string(res.season) + ")" : "seasonal naive (no season)",
               res.season > 1 ? tasks::seasonal_naive_forecast(y, origins, h, res.season)
                              : tasks::naive_forecast(y, origins, h));
  add_baseline("drift", "drift", tasks::drift_forecast(y, origins, h));
  try {
    const tasks::HoltWintersFit hw = tasks::fit_holt_winters(y, train_end, res.season);
    res.holt_winters = tasks::describe(hw.params);
    add_baseline("holt_winters", "Holt-Winters", tasks::holt_winters_forecast(hw, y, origins, h));
  } catch (const ValueError& e) {
    res.holt_winters = std::string("not fitted: ") + e.message();
  }

  // Interval coverage on the test points (every step).
  std::size_t in80 = 0, in95 = 0, count = 0;
  for (std::size_t t = train_end; t < n; ++t)
    for (std::size_t s = 1; s <= h; ++s) {
      if (t < p_first + s) continue;
      const std::size_t i = t - s - p_first;
      in80 += y[t] >= p.at(p.lower80, i, s) && y[t] <= p.at(p.upper80, i, s);
      in95 += y[t] >= p.at(p.lower95, i, s) && y[t] <= p.at(p.upper95, i, s);
      ++count;
    }
  res.coverage80 = count ? static_cast<double>(in80) / static_cast<double>(count) : NAN;
  res.coverage95 = count ? static_cast<double>(in95) / static_cast<double>(count) : NAN;
  res.test_points = cfg.test_size;

  const std::vector<std::string> labels = row_labels(table, nc, res.time_column);
  res.test_from = labels[train_end];
  res.test_to = labels[n - 1];
  res.future_labels = future_labels(index, h);
  const std::size_t last = n - 1 - p_first;
  for (std::size_t s = 1; s <= h; ++s) {
    res.future_mean.push_back(p.at(p.mean, last, s));
    res.future_lower95.push_back(p.at(p.lower95, last, s));
    res.future_upper95.push_back(p.at(p.upper95, last, s));
  }

  // Files: model, forecast CSV, plots.
  res.model_path = out.model_final();
  f.model.save(out.model_staged(), metadata_of(f, features, res.time_column, res.season, cfg.missing).dump());
  res.summary = f.model.summary();

  std::ostringstream csv;
  csv << csv_cell(res.time_column.empty() ? "row" : res.time_column)
      << ",origin,step,actual,recur,lower80,upper80,lower95,upper95";
  for (std::size_t k = 1; k < res.scores.size(); ++k) csv << "," << res.scores[k].key;
  csv << "\n";
  for (std::size_t t = train_end; t < n; ++t)
    for (std::size_t s = 1; s <= h; ++s) {
      if (t < p_first + s) continue;
      const std::size_t i = t - s - p_first;
      csv << csv_cell(labels[t]) << "," << csv_cell(labels[t - s]) << "," << s << "," << csv_number(y[t]) << ","
          << csv_number(p.at(p.mean, i, s)) << "," << csv_number(p.at(p.lower80, i, s)) << ","
          << csv_number(p.at(p.upper80, i, s)) << "," << csv_number(p.at(p.lower95, i, s)) << ","
          << csv_number(p.at(p.upper95, i, s));
      for (const auto& b : base_paths) csv << "," << csv_number(b[i * h + s - 1]);
      csv << "\n";
    }
  for (std::size_t s = 1; s <= h; ++s) {
    csv << csv_cell(res.future_labels[s - 1]) << "," << csv_cell(labels[n - 1]) << "," << s << ",,"
        << csv_number(p.at(p.mean, last, s)) << "," << csv_number(p.at(p.lower80, last, s)) << ","
        << csv_number(p.at(p.upper80, last, s)) << "," << csv_number(p.at(p.lower95, last, s)) << ","
        << csv_number(p.at(p.upper95, last, s));
    for (const auto& b : base_paths) csv << "," << csv_number(b[last * h + s - 1]);
    csv << "\n";
  }
  res.csv_path = out.final_path("forecast.csv");
  write_file_atomic(out.staged("forecast.csv"), csv.str());

  // The plot: the step-1 test forecasts (step H when H > 1 draws the farthest ones) with the
  // 95% band, and the future path.
  ForecastPlot plot;
  plot.labels = labels;
  plot.labels.insert(plot.labels.end(), res.future_labels.begin(), res.future_labels.end());
  plot.actual = y;
  plot.actual.resize(n + h, NAN);
  plot.forecast.assign(n + h, NAN);
  plot.lower.assign(n + h, NAN);
  plot.upper.assign(n + h, NAN);
  for (std::size_t t = train_end; t < n; ++t) {
    if (t < p_first + 1) continue;
    const std::size_t i = t - 1 - p_first;
    plot.forecast[t] = p.at(p.mean, i, 1);
    plot.lower[t] = p.at(p.lower95, i, 1);
    plot.upper[t] = p.at(p.upper95, i, 1);
  }
  for (std::size_t s = 1; s <= h; ++s) {
    plot.forecast[n - 1 + s] = p.at(p.mean, last, s);
    plot.lower[n - 1 + s] = p.at(p.lower95, last, s);
    plot.upper[n - 1 + s] = p.at(p.upper95, last, s);
  }
  plot.test_begin = train_end;
  plot.data_end = n;
  plot.y_label = target;
  plot.model_name = res.model_name;
  std::ostringstream title;
  title.precision(3);
  title << target << ": " << res.model_name << " test forecasts, 1 step ahead (RMSE "
        << res.scores[0].per_step[0].rmse << "), 95% interval, and the next " << h
        << (h == 1 ? " step" : " steps");
  plot.title = title.str();
  res.plot_path = out.final_path("forecast.svg");
  write_forecast_svg(out.staged("forecast.svg"), plot);
  res.loss_plot_path = out.final_path("loss.svg");
  std::vector<Series> members;
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  for (std::size_t k = 0; k < f.member_validation_loss.size(); ++k)
    members.push_back({std::to_string(cfg.seed + k), f.member_validation_loss[k], colors[k % 8]});
  write_training_curves_svg(out.staged("loss.svg"), res.model_name + " training, " + res.chosen,
                            {{"loss", f.loss_curve, "#1f77b4"}, {"val_loss", f.validation_loss_curve, "#ff7f0e"}},
                            "first member: mse (scaled)", members, "val_loss of each member (by seed)");
  out.publish();  // the model, CSV and plots appear together, or not at all
  if (res.interrupted)
    res.warnings.push_back("interrupted: the files are from the models trained so far; continue the run with "
                           "the same command and --resume " + checkpoint.dir() + ".");
  else
    checkpoint.finish();
  return res;
}

namespace {
PredictResult run_predict_unchecked(const std::string& model_path, const std::string& data_path,
                          const std::string& output_path_in) {
  const std::string output_path =
      !output_path_in.empty()
          ? output_path_in
          : (std::filesystem::path(model_path).parent_path() / "predictions.csv").string();
  std::string meta_text;
  Sequential model = Sequential::load(model_path, &meta_text);
  json meta;
  try {
    meta = json::parse(meta_text);
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the metadata is not JSON: " + e.what());
  }
  if (!meta.is_object()) throw ModelFormatError(model_path + ": the metadata is not a JSON object.");
  const std::string task = meta.value("task", "");
  if (task == "classify") return run_predict_classifier(model, model_path, meta_text, data_path, output_path);
  if (task != "forecast")
    throw ModelFormatError(model_path + ": this model has no forecast or classifier metadata "
                           "(task \"" + task + "\"); `recur predict` needs a "
                           "model written by `recur forecast` or `recur classify`.");
  if (meta.value("format_version", 1) < 2)
    throw ModelFormatError(model_path + ": this forecaster was written by an older recur (one "
                           "horizon step, no intervals); train it again with `recur forecast`.");
  tasks::Forecaster f;
  tasks::forecaster_from_metadata(meta_text, &f);
  std::vector<std::string> features;
  std::string time_column;
  try {
    features = meta.at("features").get<std::vector<std::string>>();
    time_column = meta.at("time_column").get<std::string>();
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the forecast metadata is incomplete: " + e.what());
  }
  if (features.size() != f.coder.log.size())
    throw ModelFormatError(model_path + ": the forecast metadata lists " + std::to_string(features.size()) +
                           " features for " + std::to_string(f.coder.log.size()) + " input channels.");
  const Shape& in = model.input_shape();
  if (in.size() != 2 || in[0] != f.coder.config.lookback || in[1] != features.size() ||
      model.output_shape().size() != 1 || model.output_shape()[0] != f.coder.horizon)
    throw ModelFormatError(model_path + ": the model's input " + shape_str(in) + " or output does "
                           "not match its forecast metadata (lookback " + std::to_string(f.coder.config.lookback) +
                           ", " + std::to_string(features.size()) + " features, horizon " +
                           std::to_string(f.coder.horizon) + ").");
  f.model = std::move(model);
  CsvTable table = load_table(data_path, "");
  std::vector<std::string> warnings;
  if (!time_column.empty() &&
      std::find(table.header.begin(), table.header.end(), time_column) == table.header.end()) {
    std::vector<std::string> sources;
    add_period_column(table, &sources);  // the same "<year>_<period>" column as in training
  }
  if (!time_column.empty()) {
    const auto& hdr = table.header;
    if (std::find(hdr.begin(), hdr.end(), time_column) == hdr.end()) time_column.clear();
  }
  table = in_time_order(std::move(table), time_column, &warnings);
  const NumericColumns nc = select_numeric(table, features, parse_missing_policy(meta.value("missing", "error")));
  const std::size_t n = nc.rows.size(), h = f.coder.horizon;
  if (n <= f.coder.first_origin())
    throw ValueError(table.source + " has " + std::to_string(n) + " rows; the model needs at "
                     "least " + std::to_string(f.coder.first_origin() + 1) + " (lookback " +
                     std::to_string(f.coder.config.lookback) + ").", codes::kValue);
  const tasks::SeriesData data = series_of(nc, features);
  const tasks::PathForecast p = tasks::predict_paths(f, data, 0, n - 1);
  const auto labels = row_labels(table, nc, time_column);
  const auto future = future_labels(time_index_of(table, time_column), h);
  std::ostringstream csv;
  csv << csv_cell(time_column.empty() ? "row" : time_column) << ",origin,step,actual,"
      << csv_cell(features[0] + "_forecast") << ",lower80,upper80,lower95,upper95\n";
  std::size_t rows = 0;
  for (std::size_t i = 0; i < p.origins.size(); ++i)
    for (std::size_t s = 1; s <= h; ++s) {
      const std::size_t t = p.origins[i] + s;
      csv << csv_cell(t < n ? labels[t] : future[t - n]) << "," << csv_cell(labels[p.origins[i]]) << "," << s
          << "," << (t < n ? csv_number(nc.values[0][t]) : "") << "," << csv_number(p.at(p.mean, i, s)) << ","
          << csv_number(p.at(p.lower80, i, s)) << "," << csv_number(p.at(p.upper80, i, s)) << ","
          << csv_number(p.at(p.lower95, i, s)) << "," << csv_number(p.at(p.upper95, i, s)) << "\n";
      ++rows;
    }
  write_file_in_output_folder(output_path, csv.str());
  return {rows, output_path};
}

std::string describe_model_unchecked(const std::string& model_path) {
  std::string meta_text;
  const Sequential model = Sequential::load(model_path, &meta_text);
  std::ostringstream out;
  out << model.summary();
  json meta;
  try {
    meta = json::parse(meta_text);
  } catch (const json::exception&) {
    return out.str();
  }
  if (!meta.is_object()) return out.str();
  if (meta.value("task", "") == "forecast" && meta.value("format_version", 1) >= 2) {
    tasks::Forecaster f;
    tasks::forecaster_from_metadata(meta_text, &f);
    const auto& c = f.coder.config;
    out << "Forecast of \"" << meta.value("target", std::string()) << "\"";
    if (meta.contains("features") && meta["features"].is_array() && meta["features"].size() > 1) {
      out << " from";
      for (const auto& x : meta["features"]) out << " " << (x.is_string() ? x.get<std::string>() : "?");
    }
    out << "\n  configuration: " << c.describe() << "\n  inputs: "
        << tasks::transform_description(c.transform, c.season_lag) << " of the target, standard-scaled"
        << "\n  horizon " << f.coder.horizon << " (one output per step), ensemble of " << f.members
        << " model" << (f.members == 1 ? "" : "s") << " averaged, season " << meta.value("season", 0) << "\n"
        << "  correction over the transform's base kept at " << f.shrink * 100 << "% (chosen on validation)\n";
    if (f.coder.combine)
      out << "  combined with " << tasks::describe(f.coder.hw) << (f.coder.log[0] ? " of the log target" : "")
          << " at weight " << f.coder.hw_weight * 100 << "% (chosen on validation; the model has the rest)\n";
    if (meta.contains("trials") && meta["trials"].is_array() && !meta["trials"].empty()) {
      out << "  chosen by rolling-origin validation on the training part:\n";
      for (const auto& t : meta["trials"])
        if (t.is_object())
          out << "    " << (t.value("chosen", false) ? "* " : "  ") << t.value("config", std::string())
              << ": validation RMSE " << t.value("validation_rmse", 0.0) << "\n";
    }
  } else if (meta.value("task", "") == "forecast") {
    out << "Forecast model from an older recur (format 1); train it again for intervals and paths.\n";
  } else if (meta.value("task", "") == "classify") {
    out << describe_classifier(meta_text);
  }
  return out.str();
}

}  // namespace

// The metadata of a model file is untrusted: a field of the wrong type ("task": 5) is a
// ModelFormatError, never nlohmann's exception.
PredictResult run_predict(const std::string& model_path, const std::string& data_path,
                          const std::string& output_path_in) {
  try {
    return run_predict_unchecked(model_path, data_path, output_path_in);
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the stored metadata has a field of the wrong type: " + e.what());
  }
}

std::string describe_model(const std::string& model_path) {
  try {
    return describe_model_unchecked(model_path);
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the stored metadata has a field of the wrong type: " + e.what());
  }
}

}  // namespace recur::cli
