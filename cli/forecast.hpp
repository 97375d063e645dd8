#pragma once
// `recur forecast` and `recur predict`: the flags, their checks, and the files and results of
// the job. The task logic is library code: the table -> series (recur/tasks/series_spec.hpp),
// the forecaster (recur/tasks/forecaster.hpp), its scores against the baselines on the test
// points (recur/tasks/forecast_job.hpp). Nothing here prints; progress goes through the
// callbacks, results are returned (main.cpp prints them).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "recur/model/sequential.hpp"
#include "recur/tasks/forecast_job.hpp"
#include "recur/tasks/forecaster.hpp"

namespace recur::cli {

struct ForecastConfig {
  bool check_only = false;  // `recur check forecast`: run every check, report, do not train
  std::string data_path;  // empty: the bundled airline passengers series
  std::string target;     // empty: "passengers" for the bundled data, else required
  std::vector<std::string> features;  // empty: the target only; {"all"}: every numeric column
  std::string time_column;  // empty: detected; "none": no time column
  std::string delimiter;    // empty: detected
  std::size_t lookback = 0;  // 0: chosen by the search (tied to the season)
  std::size_t horizon = 1;
  std::size_t units = 0;     // 0: chosen by the search
  std::string layer = "lstm";  // lstm, gru or simple_rnn
  std::string search = "on";   // on | off
  std::string combine = "on";  // on | off: combine the model with Holt-Winters as validation weighs them
  bool search_units = false;   // also search the layer size
  std::size_t ensemble = 5;
  int epochs = 300;            // the most; early stopping ends most runs far sooner
  int patience = 20;
  int batch_size = 0;          // 0: from the number of windows
  float learning_rate = 0.005f;
  std::uint64_t seed = 42;
  std::size_t test_size = 24;
  std::size_t validation_size = 0;  // 0: 20% of the training part
  std::string transform = "auto";   // auto | none | diff | log-diff | seasonal-diff | log-seasonal-diff
  std::string missing = "error";
  std::size_t season = 0;  // 0: from the time column, else the autocorrelation
  std::string model_path;  // empty: <output>/model.recur
  std::string output_dir = "recur-output";
  /// --resume: the checkpoint folder of a killed or interrupted run to continue ("" a new run).
  std::string resume_dir;
  /// The run's command-line arguments (without --resume, --quiet, --json), stored in the
  /// checkpoint folder: a resumed run must repeat them.
  std::vector<std::string> command;
};

// The test errors of a model (over every test point and step, and per step): library types.
using ErrorPair = tasks::ErrorPair;
using ModelScore = tasks::ModelScore;

struct ForecastResult {
  /// `recur check forecast`: every problem found (empty: training would start); nothing else
  /// below is filled in then, except data_name.
  std::vector<Problem> problems;
  std::vector<std::string> warnings;  // e.g. a header that looks like data
  std::string data_name, target, time_column, frequency;
  std::vector<std::string> features;
  std::size_t rows = 0, test_points = 0, horizon = 1;
  std::size_t season = 1;
  std::string season_source;  // "given", "time column (monthly)", "autocorrelation", "none found"
  std::string test_from, test_to;  // labels of the first and last test point
  std::string model_name;          // "recur LSTM"
  std::string chosen;              // the chosen configuration, described
  std::string transform_description;
  std::vector<tasks::SearchTrial> trials;
  std::size_t members = 0;
  double shrink = 1.0;  // the correction over the transform's base kept (chosen on validation)
  double hw_weight = 0.0;       // Holt-Winters' weight in the combined forecast (0: the model alone)
  std::string combined_with;    // the combination's Holt-Winters model, described ("" when none)
  std::vector<int> member_epochs;
  double validation_rmse = 0;
  std::size_t validation_rows = 0, validation_folds = 1;
  std::vector<ModelScore> scores;  // recur first, then the baselines
  std::string holt_winters;        // the chosen Holt-Winters model, described
  double coverage80 = 0, coverage95 = 0;  // of the recur intervals on the test points
  std::vector<std::string> future_labels;
  std::vector<double> future_mean, future_lower95, future_upper95;
  bool interrupted = false;
  double train_seconds = 0;
  std::string model_path, csv_path, plot_path, loss_plot_path;
  std::string summary;
};

/// What the CLI hooks into a training job: an epoch-end function (return false to stop, e.g. on
/// Ctrl-C), the progress display (null: none) and a line per finished trial (null: none).
struct TrainingCallbacks {
  std::function<bool(const EpochLogs&)> on_epoch_end;
  std::shared_ptr<Callback> progress;
  std::function<void(const std::string&)> on_line;
};

/// Runs the whole forecast job. Throws recur::Error subclasses on bad data or options.
ForecastResult run_forecast(const ForecastConfig& config, const TrainingCallbacks& callbacks);

struct PredictResult {
  std::size_t predictions = 0;
  std::string output_path;
};

/// Loads a model written by run_forecast (or run_classify) and forecasts from every origin of
/// `data_path` that has a full window, steps 1..H with intervals, plus the H steps past the end
/// labelled with their dates; writes a CSV to output_path (empty: predictions.csv beside the
/// model file).
PredictResult run_predict(const std::string& model_path, const std::string& data_path,
                          const std::string& output_path);

/// The model summary plus what the forecast metadata says (target, configuration, ...).
std::string describe_model(const std::string& model_path);

}  // namespace recur::cli
