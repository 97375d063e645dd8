#pragma once
// `recur forecast` and `recur predict`: CSV time series -> windows -> LSTM -> metrics, files.
// Nothing here prints; progress goes through the callbacks, results are returned.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "recur/model/sequential.hpp"

namespace recur::cli {

struct ForecastConfig {
  bool check_only = false;  // `recur check forecast`: run every check, report, do not train
  std::string data_path;  // empty: the bundled airline passengers series
  std::string target;     // empty: "passengers" for the bundled data, else required
  std::vector<std::string> features;  // empty: the target only; {"all"}: every numeric column
  std::size_t lookback = 12;
  std::size_t horizon = 1;
  std::size_t units = 32;
  std::string layer = "lstm";  // lstm, gru or simple_rnn
  int epochs = 150;
  int batch_size = 8;
  float learning_rate = 0.005f;
  std::uint64_t seed = 42;
  std::size_t test_size = 24;
  double validation_split = 0.1;
  std::string transform = "auto";  // auto | none | diff | log-diff
  std::string scaler = "standard";
  std::string missing = "error";
  std::size_t season = 0;  // 0: guess from the training data
  std::string model_path;  // empty: <output>/model.recur
  std::string output_dir = "recur-output";
};

struct ErrorPair {
  double rmse = 0;
  double mae = 0;
};

struct ForecastResult {
  /// `recur check forecast`: every problem found (empty: training would start); nothing else
  /// below is filled in then, except data_name.
  std::vector<Problem> problems;
  std::string data_name, target;
  std::vector<std::string> features;
  std::size_t rows = 0, train_samples = 0, validation_samples = 0, test_points = 0;
  std::size_t season = 1;
  bool season_guessed = false;
  std::string test_from, test_to;  // labels of the first and last test point
  ErrorPair lstm, naive, seasonal_naive;
  double final_loss = 0, final_val_loss = 0;
  int epochs_run = 0;
  double train_seconds = 0;
  std::string model_path, csv_path, plot_path;
  std::string summary;
};

/// What the CLI hooks into a training job: an epoch-end function (return false to stop, e.g. on
/// Ctrl-C) and the progress display (null: none).
struct TrainingCallbacks {
  std::function<bool(const EpochLogs&)> on_epoch_end;
  std::shared_ptr<Callback> progress;
};

/// Runs the whole forecast job. Throws recur::Error subclasses on bad data or options.
ForecastResult run_forecast(const ForecastConfig& config, const TrainingCallbacks& callbacks);

struct PredictResult {
  std::size_t predictions = 0;
  std::string output_path;
};

/// Loads a model written by run_forecast and forecasts every point of `data_path` that has a
/// full window, plus the next `horizon` points past the end; writes a CSV to output_path.
PredictResult run_predict(const std::string& model_path, const std::string& data_path,
                          const std::string& output_path);

/// The model summary plus what the forecast metadata says (target, lookback, ...).
std::string describe_model(const std::string& model_path);

}  // namespace recur::cli
