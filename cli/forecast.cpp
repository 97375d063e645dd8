#include "forecast.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bundled_data.hpp"
#include "classify.hpp"
#include "common.hpp"
#include "model_commands.hpp"
#include "plot.hpp"
#include "recur/core/error.hpp"
#include "recur/data/csv.hpp"
#include "recur/data/time_index.hpp"
#include "recur/tasks/forecast_job.hpp"
#include "recur/tasks/series_spec.hpp"

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

// The checks of the flags alone, before any data is read: every problem when collecting
// (`recur check forecast`), else the first one is thrown.
std::vector<Problem> check_forecast_options(const ForecastConfig& cfg) {
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
  return pf.problems;
}

// --target, --features, --time and --missing applied to the table (tasks::series_from_table),
// with the messages of the flags that need the table to be checked.
tasks::SeriesSpec read_series(const ForecastConfig& cfg, CsvTable table) {
  tasks::SeriesSpecOptions o;
  o.target = cfg.target.empty() && cfg.data_path.empty() ? "passengers" : cfg.target;
  if (o.target.empty())
    throw ValueError("--target is required with --data; name the column to forecast. The "
                     "columns of " + table.source + " are: " + column_list(table) + ".");
  column_index(table, o.target);  // a clear error for an unknown name
  o.all_features = cfg.features.size() == 1 && cfg.features[0] == "all";
  if (!o.all_features) o.features = cfg.features;
  o.no_time_column = cfg.time_column == "none";
  if (!o.no_time_column) o.time_column = cfg.time_column;
  if (!o.time_column.empty() && !tasks::reads_as_times(table, o.time_column)) {
    const std::size_t c = column_index(table, o.time_column);
    throw ValueError("--time " + o.time_column + ": the column does not read as times (e.g. 1960-01, "
                     "1960-Q1, 1958-03-29, 19580329, 1958-03-29 13:00 or a year); its first "
                     "cell is \"" + (table.rows.empty() ? "" : trim_cell(table.rows[0][c])) + "\".",
                     codes::kBadHyperparameter);
  }
  o.missing = parse_missing_policy(cfg.missing);
  return tasks::series_from_table(std::move(table), o);
}

// The forecaster's options from the flags; each finished training becomes a progress line.
tasks::ForecasterOptions forecaster_options(const ForecastConfig& cfg, const std::vector<std::size_t>& seasons,
                                            const TrainingCallbacks& callbacks) {
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
  fo.on_trial = [on_line = callbacks.on_line](const std::string& stage, std::size_t i, std::size_t count,
                                              const tasks::SearchTrial& t) {
    if (!on_line) return;
    char buf[256];
    if (std::isfinite(t.validation_rmse))
      std::snprintf(buf, sizeof buf, "%-9s %zu/%zu  %-44s validation RMSE %10.4g  best epoch %3d  %.1fs",
                    stage.c_str(), i, count, t.config.describe().c_str(), t.validation_rmse,
                    t.best_epoch, t.seconds);
    else  // the refit: trained on the validation rows too, so it has no validation score
      std::snprintf(buf, sizeof buf, "%-9s %zu/%zu  %-44s on every training row, %3d epochs      %.1fs",
                    stage.c_str(), i, count, t.config.describe().c_str(), t.epochs_run, t.seconds);
    on_line(buf);
  };
  return fo;
}

// What the report says about the trained forecaster.
void describe_forecaster(const tasks::Forecaster& f, const std::string& layer, ForecastResult* res) {
  res->train_seconds = f.seconds;
  res->interrupted = f.interrupted;
  res->model_name = "recur " + layer_title(layer);
  res->chosen = f.coder.config.describe();
  res->transform_description = tasks::transform_description(f.coder.config.transform, f.coder.config.season_lag);
  res->trials = f.trials;
  res->members = f.members;
  res->shrink = f.shrink;
  res->hw_weight = f.coder.hw_weight;
  if (f.coder.combine) res->combined_with = tasks::describe(f.coder.hw) + (f.coder.log[0] ? " of the log target" : "");
  res->member_epochs = f.member_epochs;
  res->validation_rmse = f.validation_rmse;
  res->validation_rows = f.train_end - f.fit_end;
  for (const auto& t : f.trials)
    if (t.chosen) res->validation_folds = t.folds;
}

// What the report says about the test points and the future.
void take_evaluation(const tasks::ForecastEvaluation& e, const tasks::SeriesSpec& series, std::size_t train_end,
                     ForecastResult* res) {
  res->scores = e.scores;
  res->holt_winters = e.holt_winters;
  res->coverage80 = e.coverage.coverage80;
  res->coverage95 = e.coverage.coverage95;
  res->test_points = series.rows() - train_end;
  res->test_from = series.labels[train_end];
  res->test_to = series.labels.back();
  res->future_labels = tasks::future_labels(series.time_index, res->horizon);
  res->future_mean = e.future_mean;
  res->future_lower95 = e.future_lower95;
  res->future_upper95 = e.future_upper95;
}

// forecast.csv: every test point and step (origin, actual, forecast, intervals, baselines),
// then the steps past the end.
std::string forecast_csv(const ForecastResult& res, const tasks::SeriesSpec& series,
                         const tasks::ForecastEvaluation& e, std::size_t train_end) {
  const tasks::PathForecast& p = e.paths;
  const std::vector<double>& y = series.target_values();
  const std::vector<std::string>& labels = series.labels;
  const std::size_t n = series.rows(), h = res.horizon, last = n - 1 - e.first_origin;
  std::ostringstream csv;
  csv << csv_cell(res.time_column.empty() ? "row" : res.time_column)
      << ",origin,step,actual,recur,lower80,upper80,lower95,upper95";
  for (std::size_t k = 1; k < res.scores.size(); ++k) csv << "," << res.scores[k].key;
  csv << "\n";
  const auto values = [&](std::size_t i, std::size_t s) {
    csv << csv_number(p.at(p.mean, i, s)) << "," << csv_number(p.at(p.lower80, i, s)) << ","
        << csv_number(p.at(p.upper80, i, s)) << "," << csv_number(p.at(p.lower95, i, s)) << ","
        << csv_number(p.at(p.upper95, i, s));
    for (const auto& b : e.baseline_paths) csv << "," << csv_number(b[i * h + s - 1]);
    csv << "\n";
  };
  for (std::size_t t = train_end; t < n; ++t)
    for (std::size_t s = 1; s <= h; ++s) {
      if (t < e.first_origin + s) continue;
      csv << csv_cell(labels[t]) << "," << csv_cell(labels[t - s]) << "," << s << "," << csv_number(y[t]) << ",";
      values(t - s - e.first_origin, s);
    }
  for (std::size_t s = 1; s <= h; ++s) {
    csv << csv_cell(res.future_labels[s - 1]) << "," << csv_cell(labels[n - 1]) << "," << s << ",,";
    values(last, s);
  }
  return csv.str();
}

// forecast.svg: the step-1 test forecasts with the 95% band, and the future path.
ForecastPlot forecast_plot(const ForecastResult& res, const tasks::SeriesSpec& series,
                           const tasks::ForecastEvaluation& e, std::size_t train_end) {
  const tasks::PathForecast& p = e.paths;
  const std::size_t n = series.rows(), h = res.horizon, last = n - 1 - e.first_origin;
  ForecastPlot plot;
  plot.labels = series.labels;
  plot.labels.insert(plot.labels.end(), res.future_labels.begin(), res.future_labels.end());
  plot.actual = series.target_values();
  plot.actual.resize(n + h, NAN);
  plot.forecast.assign(n + h, NAN);
  plot.lower.assign(n + h, NAN);
  plot.upper.assign(n + h, NAN);
  const auto put = [&](std::size_t t, std::size_t i, std::size_t s) {
    plot.forecast[t] = p.at(p.mean, i, s);
    plot.lower[t] = p.at(p.lower95, i, s);
    plot.upper[t] = p.at(p.upper95, i, s);
  };
  for (std::size_t t = train_end; t < n; ++t)
    if (t >= e.first_origin + 1) put(t, t - 1 - e.first_origin, 1);
  for (std::size_t s = 1; s <= h; ++s) put(n - 1 + s, last, s);
  plot.test_begin = train_end;
  plot.data_end = n;
  plot.y_label = res.target;
  plot.model_name = res.model_name;
  std::ostringstream title;
  title.precision(3);
  title << res.target << ": " << res.model_name << " test forecasts, 1 step ahead (RMSE "
        << res.scores[0].per_step[0].rmse << "), 95% interval, and the next " << h
        << (h == 1 ? " step" : " steps");
  plot.title = title.str();
  return plot;
}

// The model, forecast CSV and plots, staged in the job's folder (published by the caller).
void write_forecast_files(JobOutput& out, ForecastResult& res, const tasks::SeriesSpec& series,
                          const tasks::Forecaster& f, const tasks::ForecastEvaluation& e,
                          const ForecastConfig& cfg, std::size_t train_end) {
  res.model_path = out.model_final();
  f.model.save(out.model_staged(),
               tasks::forecast_model_metadata(f, series.features, res.time_column, res.season, cfg.missing));
  res.summary = f.model.summary();
  res.csv_path = out.final_path("forecast.csv");
  write_file_atomic(out.staged("forecast.csv"), forecast_csv(res, series, e, train_end));
  res.plot_path = out.final_path("forecast.svg");
  write_forecast_svg(out.staged("forecast.svg"), forecast_plot(res, series, e, train_end));
  res.loss_plot_path = out.final_path("loss.svg");
  std::vector<Series> members;
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  for (std::size_t k = 0; k < f.member_validation_loss.size(); ++k)
    members.push_back({std::to_string(cfg.seed + k), f.member_validation_loss[k], colors[k % 8]});
  write_training_curves_svg(out.staged("loss.svg"), res.model_name + " training, " + res.chosen,
                            {{"loss", f.loss_curve, "#1f77b4"}, {"val_loss", f.validation_loss_curve, "#ff7f0e"}},
                            "first member: mse (scaled)", members, "val_loss of each member (by seed)");
}

}  // namespace

ForecastResult run_forecast(const ForecastConfig& cfg, const TrainingCallbacks& callbacks) {
  ForecastResult res;
  res.problems = check_forecast_options(cfg);
  if (!res.problems.empty()) return res;
  CsvTable table = load_table(cfg.data_path, cfg.delimiter);
  res.data_name = table.source;
  const tasks::SeriesSpec series = read_series(cfg, std::move(table));
  res.warnings = series.warnings;
  res.time_column = series.time_column;
  const std::size_t n = series.rows();
  res.rows = n;
  res.target = series.target;
  res.features = series.features;
  res.horizon = cfg.horizon;
  if (cfg.test_size >= n || n - cfg.test_size < 30)
    throw ValueError("--test-size " + std::to_string(cfg.test_size) + " leaves " +
                     std::to_string(n > cfg.test_size ? n - cfg.test_size : 0) + " of the " +
                     std::to_string(n) + " rows for training; at least 30 are needed (for "
                     "training windows and a validation segment). Use a smaller --test-size.",
                     codes::kBadHyperparameter);
  const std::size_t train_end = n - cfg.test_size;
  if (series.time_index) res.frequency = frequency_name(series.time_index->frequency);
  const tasks::SeasonChoice season = tasks::choose_season(series.time_index, series.target_values(), train_end, cfg.season);
  res.season = season.season;
  res.season_source = season.source;
  tasks::ForecasterOptions fo = forecaster_options(cfg, season.seasons, callbacks);
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
  Checkpoint checkpoint(cfg.output_dir, cfg.resume_dir, cfg.command, series.table, &res.warnings);
  fo.checkpoint_dir = checkpoint.dir();
  const tasks::SeriesData data = series.data();
  tasks::Forecaster f = tasks::fit_forecaster(data, train_end, fo);
  describe_forecaster(f, cfg.layer, &res);
  const tasks::ForecastEvaluation e = tasks::evaluate_forecaster(f, data, train_end, res.season, res.model_name);
  take_evaluation(e, series, train_end, &res);
  write_forecast_files(out, res, series, f, e, cfg, train_end);
  out.publish();  // the model, CSV and plots appear together, or not at all
  if (res.interrupted)
    res.warnings.push_back("interrupted: the files are from the models trained so far; continue the run with "
                           "the same command and --resume " + checkpoint.dir() + ".");
  else
    checkpoint.finish();
  return res;
}

namespace {
PredictResult run_predict_unchecked(LoadedModel& loaded, const std::string& model_path, const std::string& data_path,
                                    const std::string& output_path_in) {
  const std::string output_path =
      !output_path_in.empty()
          ? output_path_in
          : (std::filesystem::path(model_path).parent_path() / "predictions.csv").string();
  const std::string meta_text = loaded.metadata_json;
  json meta;
  try {
    meta = json::parse(meta_text);
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the metadata is not JSON: " + e.what());
  }
  if (!meta.is_object()) throw ModelFormatError(model_path + ": the metadata is not a JSON object.");
  const std::string task = meta.value("task", "");
  auto* sequential = dynamic_cast<Sequential*>(loaded.model.get());
  if ((task != "classify" && task != "forecast") || sequential == nullptr)
    throw ModelFormatError(model_path + ": this model has no forecast or classifier metadata "
                           "(task \"" + task + "\"); `recur predict --data` needs a "
                           "model written by `recur forecast` or `recur classify`. To run any model on "
                           "arrays, give them as .npy files: --input X.npy[,X2.npy ...] --output Y.npy.");
  Sequential model = std::move(*sequential);
  if (task == "classify") return run_predict_classifier(model, model_path, meta_text, data_path, output_path);
  tasks::ForecastModel fm = tasks::read_forecast_model(std::move(model), meta_text, model_path);
  CsvTable table = load_table(data_path, "");
  const tasks::SeriesSpec series =
      tasks::series_for_model(std::move(table), fm.features, fm.time_column, parse_missing_policy(fm.missing));
  const tasks::PathForecast p = tasks::predict_series(fm, series);
  const std::size_t n = series.rows(), h = fm.forecaster.coder.horizon;
  const auto& labels = series.labels;
  const auto future = tasks::future_labels(series.time_index, h);
  std::ostringstream csv;
  csv << csv_cell(series.time_column.empty() ? "row" : series.time_column) << ",origin,step,actual,"
      << csv_cell(series.features[0] + "_forecast") << ",lower80,upper80,lower95,upper95\n";
  std::size_t rows = 0;
  for (std::size_t i = 0; i < p.origins.size(); ++i)
    for (std::size_t s = 1; s <= h; ++s) {
      const std::size_t t = p.origins[i] + s;
      csv << csv_cell(t < n ? labels[t] : future[t - n]) << "," << csv_cell(labels[p.origins[i]]) << "," << s
          << "," << (t < n ? csv_number(series.target_values()[t]) : "") << "," << csv_number(p.at(p.mean, i, s))
          << "," << csv_number(p.at(p.lower80, i, s)) << "," << csv_number(p.at(p.upper80, i, s)) << ","
          << csv_number(p.at(p.lower95, i, s)) << "," << csv_number(p.at(p.upper95, i, s)) << "\n";
      ++rows;
    }
  write_file_in_output_folder(output_path, csv.str());
  return {rows, output_path};
}


std::string describe_model_unchecked(const LoadedModel& loaded) {
  const std::string& meta_text = loaded.metadata_json;
  std::ostringstream out;
  out << loaded.model->summary() << describe_origin_and_compile(loaded);
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
  LoadedModel loaded = load_any_model(model_path);
  try {
    return run_predict_unchecked(loaded, model_path, data_path, output_path_in);
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the stored metadata has a field of the wrong type: " + e.what());
  }
}

std::string describe_model(const std::string& model_path) {
  const LoadedModel loaded = load_any_model(model_path);
  try {
    return describe_model_unchecked(loaded);
  } catch (const json::exception& e) {
    throw ModelFormatError(model_path + ": the stored metadata has a field of the wrong type: " + e.what());
  }
}

}  // namespace recur::cli
