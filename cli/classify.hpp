#pragma once
// `recur classify`: the flags, their checks, and the files and results of the job. The task
// logic is library code: rows -> sequences and labels (recur/tasks/classifier_input.hpp), the
// classifier's build, training and evaluation (recur/tasks/classifier.hpp). Nothing here
// prints; progress goes through the callbacks, results are returned (main.cpp prints them).
#include <cstdint>
#include <string>
#include <vector>

#include "forecast.hpp"

namespace recur::cli {

struct ClassifyConfig {
  bool check_only = false;  // `recur check classify`: run every check, report, do not train
  std::string data_path;
  std::string label;                 // the class column (strings or numbers)
  std::vector<std::string> columns;  // numeric form: the cells of one sequence (default: all numeric but the label)
  std::string sequence;              // symbol form: a string column, one symbol per timestep, one-hot encoded
  std::size_t timesteps = 0, features = 0;  // numeric form: shape of the columns (0: derive)
  std::size_t units = 64;
  std::string layer = "lstm";  // lstm, gru or simple_rnn
  std::size_t embed = 0;        // symbol form: 0 one-hot, else an Embedding of this size
  std::string pooling = "average";  // none (last output), max or average over all timesteps
  bool bidirectional = false;  // read each sequence both ways (Bidirectional, concat)
  float dropout = 0.1f, recurrent_dropout = 0.0f;  // of the recurrent layer (0.1: issue 10, DNA seeds 1-5 all >= 0.93)
  int patience = 12;  // EarlyStopping patience on the validation loss
  int epochs = 60;
  int batch_size = 32;
  float learning_rate = 0.005f;
  std::uint64_t seed = 42;
  double test_split = 0.2;
  double validation_split = 0.1;
  std::string scaler = "standard";
  std::string model_path;  // empty: <output>/model.recur
  std::string output_dir = "recur-output";
  /// --resume: the checkpoint folder of a killed or interrupted run to continue ("" a new run).
  std::string resume_dir;
  /// The run's command-line arguments (without --resume, --quiet, --json), stored in the
  /// checkpoint folder: a resumed run must repeat them.
  std::vector<std::string> command;
};

struct ClassifyResult {
  /// `recur check classify`: every problem found (empty: training would start).
  std::vector<Problem> problems;
  std::string data_name, label, form;
  std::string architecture;  // e.g. "Bidirectional(LSTM(64))"
  std::vector<std::string> classes;
  std::size_t samples = 0, train_samples = 0, validation_samples = 0, test_samples = 0;
  std::size_t timesteps = 0, features = 0;
  double accuracy = 0, majority_accuracy = 0;
  std::string majority_class;
  std::vector<std::vector<std::size_t>> confusion;  // [true][predicted], test set
  int epochs_run = 0, best_epoch = 0, lr_reductions = 0;
  bool stopped_early = false;
  /// Stopped by Ctrl-C: the files are from the weights so far; checkpoint_dir can be resumed.
  bool interrupted = false;
  std::string checkpoint_dir;
  double train_seconds = 0, final_loss = 0, final_val_loss = 0, final_val_accuracy = 0;
  std::string model_path, predictions_path, plot_path;
};

/// Runs the whole classification job. Throws recur::Error subclasses on bad data or options.
ClassifyResult run_classify(const ClassifyConfig& config, const TrainingCallbacks& callbacks);

/// `recur predict` for a model written by run_classify: the predicted class and the class
/// probabilities for every row of `data_path`, written as CSV to `output_path`.
/// `model` is the loaded classifier, `metadata_json` the metadata saved with it.
PredictResult run_predict_classifier(Sequential& model, const std::string& model_path,
                                     const std::string& metadata_json, const std::string& data_path,
                                     const std::string& output_path);

/// Lines describing a classifier's metadata for `recur summary`.
std::string describe_classifier(const std::string& metadata_json);

}  // namespace recur::cli
