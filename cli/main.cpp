// The recur command-line tool. The only code in the project that prints or exits.
//
// Exit codes: 0 success; 100-120 bad command line (CLI11's own codes, e.g. 109 for an unknown
// option, 104 for a value of the wrong type); 3 data file problem (ParseError);
// 4 file system problem (IoError); 5 model file problem (ModelFormatError); 6 bad option or
// value (ValueError); 7 shape problem (ShapeError); 1 any other error.
#include <CLI/CLI.hpp>
#include <malloc.h>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "classify.hpp"
#include "forecast.hpp"
#include "model_commands.hpp"
#include "recur/core/error.hpp"
#include "recur/ops/cpu.hpp"

namespace {

// Set by the first Ctrl-C: training stops after the current epoch and the run finishes with
// the weights it has (model, metrics and files are still written). A second Ctrl-C kills.
volatile std::sig_atomic_t g_interrupted = 0;

void on_sigint(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);
}

int exit_code_for(const recur::Error& e) {
  if (dynamic_cast<const recur::ParseError*>(&e)) return 3;
  if (dynamic_cast<const recur::IoError*>(&e)) return 4;
  if (dynamic_cast<const recur::ModelFormatError*>(&e)) return 5;
  if (dynamic_cast<const recur::ValueError*>(&e)) return 6;
  if (dynamic_cast<const recur::ShapeError*>(&e)) return 7;
  return 1;
}

std::string fixed(double v, int digits = 2) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Beside the timings of a training run: OpenBLAS on narrower kernels than the CPU has.
void print_blas_note() {
  const std::string note = recur::ops::blas_core_note();
  if (!note.empty()) std::printf("Note: %s\n", note.c_str());
}

void print_report(const recur::cli::ForecastResult& r) {
  std::printf("\nData: %s, %zu rows; target \"%s\"", r.data_name.c_str(), r.rows, r.target.c_str());
  if (r.features.size() > 1) {
    std::printf(" from");
    for (const auto& f : r.features) std::printf(" %s", f.c_str());
  }
  if (!r.time_column.empty())
    std::printf("; time column \"%s\"%s", r.time_column.c_str(),
                r.frequency.empty() ? "" : (" (" + r.frequency + ")").c_str());
  std::printf("\nSeason: %s (%s).\n",
              r.season > 1 ? std::to_string(r.season).c_str() : "none", r.season_source.c_str());
  const std::string folds =
      r.validation_folds == 2 ? " and on the " + std::to_string(r.validation_rows) + " before them"
      : r.validation_folds > 2 ? " and on the " + std::to_string(r.validation_folds - 1) +
                                     " segments of that length before them"
                               : std::string();
  std::printf("Chosen by rolling-origin validation on the last %zu training rows%s: %s; inputs are "
              "the target's %s. Ensemble of %zu model%s (best epochs",
              r.validation_rows, folds.c_str(), r.chosen.c_str(), r.transform_description.c_str(),
              r.members, r.members == 1 ? "" : "s");
  for (int e : r.member_epochs) std::printf(" %d", e);
  std::printf(")");
  if (r.shrink < 1)
    std::printf("; its correction over the transform's base is shrunk to %.0f%% (validation chose it)", 100 * r.shrink);
  if (!r.combined_with.empty() && r.hw_weight > 0)
    std::printf("; combined with %s at weight %.0f%% (validation chose it)", r.combined_with.c_str(), 100 * r.hw_weight);
  std::printf(", %.1fs.%s\n", r.train_seconds,
              r.interrupted ? " Interrupted: the models trained so far are used." : "");
  const std::string steps = r.horizon == 1 ? std::string("1-step-ahead forecasts")
                                           : "forecast paths of 1 to " + std::to_string(r.horizon) + " steps";
  std::printf("Test: the last %zu points (%s to %s), %s from actual past values; no model saw "
              "them.\n\n",
              r.test_points, r.test_from.c_str(), r.test_to.c_str(), steps.c_str());
  std::printf("  %-34s %10s %10s\n", "model", "RMSE", "MAE");
  for (const auto& s : r.scores)
    std::printf("  %-34s %10s %10s\n", s.name.c_str(), fixed(s.all.rmse).c_str(), fixed(s.all.mae).c_str());
  if (r.horizon > 1) {
    std::printf("\n  RMSE by step   ");
    for (const auto& s : r.scores) std::printf(" %14s", s.key.c_str());
    std::printf("\n");
    for (std::size_t h = 0; h < r.horizon; ++h) {
      std::printf("  %-15zu", h + 1);
      for (const auto& s : r.scores) std::printf(" %14s", fixed(s.per_step[h].rmse).c_str());
      std::printf("\n");
    }
  }
  if (!r.holt_winters.empty()) std::printf("  (%s, chosen by AICc on the training part)\n", r.holt_winters.c_str());
  std::printf("\nPrediction intervals on the test points: the 80%% interval covered %s%%, the 95%% "
              "interval %s%%.\n",
              fixed(100 * r.coverage80, 0).c_str(), fixed(100 * r.coverage95, 0).c_str());
  double best = INFINITY;
  std::string best_name;
  for (std::size_t k = 1; k < r.scores.size(); ++k)
    if (std::isfinite(r.scores[k].all.rmse) && r.scores[k].all.rmse < best) {
      best = r.scores[k].all.rmse;
      best_name = r.scores[k].name;
    }
  if (best > 0 && std::isfinite(best))
    std::printf("%s test RMSE is %.1f%% %s than the best baseline (%s), in units of %s.\n",
                r.model_name.c_str(), std::fabs(100.0 * (1.0 - r.scores[0].all.rmse / best)),
                r.scores[0].all.rmse <= best ? "lower" : "HIGHER", best_name.c_str(), r.target.c_str());
  std::printf("Next %zu step%s:", r.horizon, r.horizon == 1 ? "" : "s");
  for (std::size_t h = 0; h < r.future_mean.size(); ++h)
    std::printf(" %s %s [%s, %s]", r.future_labels[h].c_str(), fixed(r.future_mean[h]).c_str(),
                fixed(r.future_lower95[h]).c_str(), fixed(r.future_upper95[h]).c_str());
  std::printf(" (95%%)\nWrote %s, %s, %s, %s\n", r.model_path.c_str(), r.csv_path.c_str(),
              r.plot_path.c_str(), r.loss_plot_path.c_str());
  print_blas_note();
}

void print_report(const recur::cli::ClassifyResult& r) {
  std::printf("\nData: %s, %zu rows; label \"%s\", %zu classes; input %zu timesteps x %zu features (%s)\n",
              r.data_name.c_str(), r.samples, r.label.c_str(), r.classes.size(), r.timesteps,
              r.features, r.form == "sequence" ? "one-hot symbols" : "numeric columns");
  std::printf("Trained on %zu rows (%zu held out for validation), %d epochs in %.1fs",
              r.train_samples, r.validation_samples, r.epochs_run, r.train_seconds);
  if (r.stopped_early) std::printf("; stopped early, weights of epoch %d restored", r.best_epoch);
  if (r.lr_reductions > 0) std::printf("; learning rate halved %d times", r.lr_reductions);
  std::printf(".\n");
  std::printf("Test: %zu rows the model never saw.\n\n", r.test_samples);
  std::printf("  %-40s %9s\n", "model", "accuracy");
  std::printf("  %-40s %9.4f\n", ("recur " + r.architecture).c_str(), r.accuracy);
  const std::string majority = "majority class (\"" + r.majority_class + "\")";
  std::printf("  %-40s %9.4f\n", majority.c_str(), r.majority_accuracy);
  std::size_t width = 5;
  for (const auto& c : r.classes) width = std::max(width, c.size() + 1);
  std::printf("\nConfusion matrix on the test rows (rows: true class, columns: predicted):\n%*s", static_cast<int>(width + 2), "");
  for (const auto& c : r.classes) std::printf("%*s", static_cast<int>(width), c.c_str());
  std::printf("\n");
  for (std::size_t i = 0; i < r.classes.size(); ++i) {
    std::printf("  %*s", static_cast<int>(width), r.classes[i].c_str());
    for (std::size_t j = 0; j < r.classes.size(); ++j) std::printf("%*zu", static_cast<int>(width), r.confusion[i][j]);
    std::printf("\n");
  }
  std::printf("\nWrote %s, %s, %s\n", r.model_path.c_str(), r.predictions_path.c_str(), r.plot_path.c_str());
  print_blas_note();
}

nlohmann::json to_json(const recur::cli::ClassifyResult& r) {
  return {{"data", r.data_name}, {"label", r.label}, {"classes", r.classes}, {"rows", r.samples},
          {"timesteps", r.timesteps}, {"features", r.features}, {"test_rows", r.test_samples},
          {"accuracy", r.accuracy}, {"majority_class", r.majority_class},
          {"majority_accuracy", r.majority_accuracy}, {"confusion", r.confusion},
          {"epochs", r.epochs_run}, {"stopped_early", r.stopped_early},
          {"best_epoch", r.best_epoch}, {"lr_reductions", r.lr_reductions}, {"final_loss", r.final_loss},
          {"final_val_loss", r.final_val_loss}, {"final_val_accuracy", r.final_val_accuracy},
          {"train_seconds", r.train_seconds}, {"model", r.model_path},
          {"test_predictions_csv", r.predictions_path}, {"plot", r.plot_path}};
}

nlohmann::json to_json(const recur::cli::ForecastResult& r) {
  auto val = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  auto pair = [&](const recur::cli::ErrorPair& p) {
    return nlohmann::json{{"rmse", val(p.rmse)}, {"mae", val(p.mae)}};
  };
  auto model_score = [&](const recur::cli::ModelScore& s) {
    nlohmann::json j = pair(s.all);
    j["name"] = s.name;
    j["per_step"] = nlohmann::json::array();
    for (std::size_t h = 0; h < s.per_step.size(); ++h) {
      nlohmann::json step = pair(s.per_step[h]);
      step["step"] = h + 1;
      j["per_step"].push_back(step);
    }
    return j;
  };
  nlohmann::json baselines = nlohmann::json::object();
  for (std::size_t k = 1; k < r.scores.size(); ++k) baselines[r.scores[k].key] = model_score(r.scores[k]);
  nlohmann::json recur_json = model_score(r.scores.at(0));
  recur_json["coverage80"] = val(r.coverage80);
  recur_json["coverage95"] = val(r.coverage95);
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& t : r.trials)
    trials.push_back({{"config", t.config.describe()}, {"validation_rmse", val(t.validation_rmse)}, {"shrink", t.shrink},
                      {"best_epoch", t.best_epoch}, {"epochs", t.epochs_run}, {"seconds", t.seconds},
                      {"chosen", t.chosen}});
  nlohmann::json future = nlohmann::json::array();
  for (std::size_t h = 0; h < r.future_mean.size(); ++h)
    future.push_back({{"time", r.future_labels[h]}, {"step", h + 1}, {"forecast", val(r.future_mean[h])},
                      {"lower95", val(r.future_lower95[h])}, {"upper95", val(r.future_upper95[h])}});
  return {{"data", r.data_name},
          {"target", r.target},
          {"features", r.features},
          {"time_column", r.time_column},
          {"frequency", r.frequency},
          {"rows", r.rows},
          {"test_points", r.test_points},
          {"test_from", r.test_from},
          {"test_to", r.test_to},
          {"horizon", r.horizon},
          {"season", r.season},
          {"season_source", r.season_source},
          {"model",
           {{"name", r.model_name},
            {"configuration", r.chosen},
            {"transform", r.transform_description},
            {"ensemble", r.members},
            {"shrink", r.shrink},
            {"holt_winters_weight", r.hw_weight},
            {"combined_with", r.combined_with},
            {"best_epochs", r.member_epochs},
            {"validation_rows", r.validation_rows},
            {"validation_folds", r.validation_folds},
            {"validation_rmse", val(r.validation_rmse)},
            {"search", trials}}},
          {"recur", recur_json},
          {"baselines", baselines},
          {"holt_winters_model", r.holt_winters},
          {"future", future},
          {"interrupted", r.interrupted},
          {"warnings", r.warnings},
          {"train_seconds", r.train_seconds},
          {"model_file", r.model_path},
          {"forecast_csv", r.csv_path},
          {"plot", r.plot_path},
          {"loss_plot", r.loss_plot_path}};
}

}  // namespace

// Numeric flags take plain decimal numbers only: CLI11 alone would read "--epochs 0x1A" as 26
// and "0b11" as 3, which no user means.
// Numeric flags take plain decimal numbers only: CLI11 alone would read "--epochs 0x1A" as 26,
// "0b11" as 3, "010" as 8 (octal) and "--seed -1" as 2^64-1.
void decimal_numbers_only(CLI::App* sub) {
  const auto make = [](bool integer, bool unsigned_) {
    return CLI::Validator(
        [integer, unsigned_](const std::string& text) -> std::string {
          const std::size_t b = text.find_first_not_of(" \t");
          const std::string t = b == std::string::npos ? text : text.substr(b);
          const std::size_t digits = !t.empty() && (t[0] == '-' || t[0] == '+') ? 1 : 0;
          const bool radix = t.find_first_of("xXbBoO") != std::string::npos;
          const bool octal = integer && t.size() > digits + 1 && t[digits] == '0' &&
                             std::isdigit(static_cast<unsigned char>(t[digits + 1]));
          if (radix || octal)
            return "\"" + text + "\" is not a plain decimal number (hexadecimal, octal and binary forms are not read)";
          if (unsigned_ && !t.empty() && t[0] == '-') return "\"" + text + "\" is negative; give a number >= 0";
          return "";
        },
        "DECIMAL");
  };
  for (CLI::Option* o : sub->get_options()) {
    const std::string type = o->get_type_name();
    if (type == "INT" || type == "UINT" || type == "FLOAT" || type == "NUMBER")
      o->check(make(type != "FLOAT" && type != "NUMBER", type == "UINT"));
  }
}

void add_forecast_options(CLI::App* sub, recur::cli::ForecastConfig& cfg) {
  sub->add_option("--data", cfg.data_path, "CSV file with a header row (default: bundled airpassengers)");
  sub->add_option("--target", cfg.target, "Column to forecast");
  sub->add_option("--features", cfg.features,
                       "Input columns besides the target (comma separated), or 'all' for every "
                       "numeric column but the time column (default: the target only)")->delimiter(',');
  sub->add_option("--time", cfg.time_column,
                  "Time column (dates, months, quarters, years, YYYYMMDD); never a model input "
                  "(default: detected; 'none' for no time column)");
  sub->add_option("--delimiter", cfg.delimiter, "CSV delimiter: ',', ';', tab or '|' (default: detected)");
  sub->add_option("--test-size", cfg.test_size, "Points at the end held out as the test set")->capture_default_str();
  sub->add_option("--horizon", cfg.horizon,
                  "Steps ahead: every forecast is a path of 1..H steps (one model output per step)")
      ->capture_default_str();
  sub->add_option("--season", cfg.season,
                  "Seasonal period (default: from the time column's frequency, else the autocorrelation)");
  sub->add_option("--search", cfg.search,
                  "on: choose transform, lookback and units by rolling-origin validation on the "
                  "training part; off: one configuration")->capture_default_str();
  sub->add_option("--combine", cfg.combine,
                  "on: average the model's forecast with Holt-Winters' (equal weights unless "
                  "validation clearly prefers others); off: the model alone")->capture_default_str();
  sub->add_option("--transform", cfg.transform,
                  "auto (searched), none, diff, log-diff, seasonal-diff, log-seasonal-diff, "
                  "holt-winters, log-holt-winters (the LSTM learns the residual of Holt-Winters)")
      ->capture_default_str();
  sub->add_option("--lookback", cfg.lookback, "Past steps in each input window (default 0: searched, 1-3 seasons)");
  sub->add_option("--units", cfg.units, "Units of the recurrent layer (default 0: 32, or searched among 16, 32, 64 with --search-units)");
  sub->add_flag("--search-units", cfg.search_units, "Also search the layer size (16, 32, 64); slower");
  sub->add_option("--layer", cfg.layer, "Recurrent layer: lstm, gru or simple_rnn")->capture_default_str();
  sub->add_option("--ensemble", cfg.ensemble, "Models from different seeds averaged")->capture_default_str();
  sub->add_option("--epochs", cfg.epochs, "Most training epochs per model (early stopping ends sooner)")
      ->capture_default_str();
  sub->add_option("--patience", cfg.patience, "Epochs without a better validation loss before stopping")
      ->capture_default_str();
  sub->add_option("--validation-size", cfg.validation_size,
                  "Rows at the end of the training part for validation (default 0: 20%)");
  sub->add_option("--batch-size", cfg.batch_size, "Samples per gradient step (default 0: from the data)");
  sub->add_option("--learning-rate", cfg.learning_rate, "Adam learning rate")->capture_default_str();
  sub->add_option("--seed", cfg.seed, "Seed of weights and shuffling (ensemble members use seed+1, ...)")
      ->capture_default_str();
  sub->add_option("--missing", cfg.missing, "Missing cells: error, interpolate or drop")->capture_default_str();
  sub->add_option("--model", cfg.model_path, "Model file to write (default: OUTPUT/model.recur)");
  sub->add_option("--output", cfg.output_dir, "Folder for the model, forecast CSV and plots")->capture_default_str();
  sub->add_option("--resume", cfg.resume_dir,
                  "Continue a killed or interrupted run from its checkpoint folder (OUTPUT.checkpoint); give the "
                  "same options as that run");
}

void add_classify_options(CLI::App* sub, recur::cli::ClassifyConfig& cfg) {
  sub->add_option("--data", cfg.data_path, "CSV file with a header row")->required();
  sub->add_option("--label", cfg.label, "Column holding the class (text or numbers)")->required();
  sub->add_option("--columns", cfg.columns,
                       "Numeric columns forming one sequence, step by step (default: every numeric column but the label)")
      ->delimiter(',');
  sub->add_option("--timesteps", cfg.timesteps, "Timesteps the columns are split into (default: one per column)");
  sub->add_option("--features", cfg.features, "Features per timestep (default: columns / timesteps)");
  sub->add_option("--sequence", cfg.sequence,
                       "A text column of symbols, one per timestep, one-hot encoded (instead of --columns); "
                       "sequences of different lengths are padded and masked");
  sub->add_option("--units", cfg.units, "Units of the recurrent layer (per direction)")->capture_default_str();
  sub->add_option("--layer", cfg.layer, "Recurrent layer: lstm, gru or simple_rnn")->capture_default_str();
  sub->add_flag("--bidirectional,!--no-bidirectional", cfg.bidirectional,
                     "Read each sequence in both directions (Bidirectional, concat); default off");
  sub->add_option("--pooling", cfg.pooling,
                       "Classify from the last output (none) or from the max or average of every "
                       "timestep's output")->capture_default_str();
  sub->add_option("--embed", cfg.embed,
                       "With --sequence: learn an Embedding of this size per symbol instead of one-hot (0)")
      ->capture_default_str();
  sub->add_option("--dropout", cfg.dropout,
                       "Fraction of input features dropped in training (one mask per sequence)")
      ->capture_default_str();
  sub->add_option("--recurrent-dropout", cfg.recurrent_dropout,
                       "Fraction of the recurrent state dropped in training")->capture_default_str();
  sub->add_option("--epochs", cfg.epochs, "Most training epochs")->capture_default_str();
  sub->add_option("--patience", cfg.patience,
                       "Stop after this many epochs without a better validation loss, keeping the best weights")
      ->capture_default_str();
  sub->add_option("--batch-size", cfg.batch_size, "Samples per gradient step")->capture_default_str();
  sub->add_option("--learning-rate", cfg.learning_rate, "Adam learning rate")->capture_default_str();
  sub->add_option("--seed", cfg.seed, "Seed of the split, weights and shuffling")->capture_default_str();
  sub->add_option("--test-split", cfg.test_split, "Fraction of rows held out as the test set")->capture_default_str();
  sub->add_option("--validation-split", cfg.validation_split,
                       "Fraction of the training rows used for validation")->capture_default_str();
  sub->add_option("--scaler", cfg.scaler, "Numeric columns: standard, minmax or none")->capture_default_str();
  sub->add_option("--model", cfg.model_path, "Model file to write (default: OUTPUT/model.recur)");
  sub->add_option("--output", cfg.output_dir, "Folder for the test predictions and plot")->capture_default_str();
  sub->add_option("--resume", cfg.resume_dir,
                  "Continue a killed or interrupted run from its checkpoint folder (OUTPUT.checkpoint); give the "
                  "same options as that run");
}

// `recur check`: every problem found, one per line (or as JSON); exit 0 when there is none, else
// the exit code of the first problem's family. `arrays` (check --model): which file went to
// which input or output, printed first.
int report_problems(const std::vector<recur::Problem>& problems, bool json_out,
                    const char* all_clear = "training would start with these data and options",
                    const std::vector<std::string>* arrays = nullptr) {
  if (json_out) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& p : problems) j.push_back({{"code", p.code}, {"type", p.type}, {"message", p.message}});
    nlohmann::json doc = {{"problems", j}};
    if (arrays) doc["arrays"] = *arrays;
    std::cout << doc.dump(2) << std::endl;
  } else {
    if (arrays)
      for (std::size_t k = 0; k < arrays->size(); ++k)
        std::printf("%s %s\n", k == 0 ? "Arrays:" : "       ", (*arrays)[k].c_str());
    if (problems.empty()) {
      std::printf("No problems found: %s.\n", all_clear);
    } else {
      std::printf("%zu problem%s found:\n", problems.size(), problems.size() == 1 ? "" : "s");
      for (const auto& p : problems)
        std::printf("  %s [%s]: %s\n", p.type.c_str(), p.code.c_str(), p.message.c_str());
    }
  }
  if (problems.empty()) return 0;
  const std::string& t = problems.front().type;
  if (t == "recur::ParseError") return 3;
  if (t == "recur::IoError") return 4;
  if (t == "recur::ModelFormatError") return 5;
  if (t == "recur::ValueError") return 6;
  if (t == "recur::ShapeError") return 7;
  return 1;
}

int main(int argc, char** argv) {
  // Training allocates the same large tensors every batch (layer outputs, gradients). glibc
  // would map each one fresh from the kernel and give it back on free, so every batch paid page
  // faults and zeroing for them (a third of a bidirectional DNA run's time): keep freed memory
  // in the process instead (32 MiB is the largest mmap threshold glibc accepts on 64-bit).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"recur: train and run LSTM recurrent neural networks from CSV files"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "recur 0.1.0");

  recur::cli::ForecastConfig cfg;
  bool json_out = false, quiet = false;
  auto* forecast = app.add_subcommand(
      "forecast", "Train an LSTM forecaster (configuration chosen by validation, an ensemble, "
                  "forecast paths with intervals) on a CSV time series and compare it with naive, "
                  "seasonal naive, drift and Holt-Winters on the last points. With no options: the "
                  "bundled airline passengers series.");
  add_forecast_options(forecast, cfg);
  decimal_numbers_only(forecast);
  forecast->add_flag("--json", json_out, "Print the final metrics as one JSON object on stdout");
  forecast->add_flag("--quiet", quiet, "No progress lines");

  recur::cli::ClassifyConfig ccfg;
  auto* classify = app.add_subcommand(
      "classify", "Train an LSTM sequence classifier on a CSV file (one sequence per row) and "
                  "report test accuracy, a confusion matrix and a majority-class baseline.");
  add_classify_options(classify, ccfg);
  decimal_numbers_only(classify);
  classify->add_flag("--json", json_out, "Print the final metrics as one JSON object on stdout");
  classify->add_flag("--quiet", quiet, "No per-epoch progress");

  std::string model_path, data_path, out_path;
  std::vector<std::string> input_files;
  int predict_batch = 0;
  auto* predict = app.add_subcommand(
      "predict", "Forecast or classify a CSV file with a model written by `recur forecast` or `recur classify` "
                 "(--data), or run any model (recur, Keras .keras/.h5, ONNX) on .npy arrays (--input)");
  predict->add_option("--model", model_path, "Model file: recur, Keras (.keras, .h5) or ONNX")->required();
  auto* predict_data = predict->add_option(
      "--data", data_path, "CSV with the model's columns (a forecaster defaults to the bundled airpassengers)");
  auto* predict_input =
      predict->add_option("--input", input_files,
                          "One .npy array per model input, in the model's input order, separated by commas "
                          "(float32/float64; integer arrays for Embedding ids)")
          ->delimiter(',')
          ->excludes(predict_data);
  predict->add_option("--output", out_path,
                      "File to write: with --data a CSV (default: predictions.csv beside the model); with --input "
                      "a .npy, or Y_0.npy, Y_1.npy, ... for a model with several outputs (default: "
                      "predictions.npy beside the model)");
  predict->add_option("--batch-size", predict_batch,
                      "With --input: samples per forward pass (default: the batch size the model's input fixes, "
                      "else 32)")
      ->check(CLI::PositiveNumber);
  decimal_numbers_only(predict);

  auto* check = app.add_subcommand(
      "check", "Run every data and configuration check of forecast or classify without "
               "training, or recur's data checks of any model file on .npy arrays (--model, --input, "
               "--labels), and report all problems found (not only the first)");
  check->require_subcommand(0, 1);
  recur::cli::ModelCheckConfig mcheck;
  check->add_option("--model", mcheck.model_path, "Model file to check arrays against: recur, Keras or ONNX");
  check->add_option("--input", mcheck.inputs, "One .npy per model input, in the model's input order, separated by commas")
      ->delimiter(',');
  check->add_option("--labels", mcheck.labels,
                    "One .npy of targets per model output, separated by commas (checked against the output "
                    "layer and the loss of the model's compile settings)")
      ->delimiter(',');
  check->add_option("--batch-size", mcheck.batch_size,
                    "Batch size fit would use (default: the one the model's input fixes, else 32)")
      ->check(CLI::PositiveNumber);
  check->add_option("--loss", mcheck.compile.losses,
                    "Loss for a model file without compile settings (one for all outputs, or one per output, "
                    "comma separated); with --optimizer")
      ->delimiter(',');
  check->add_option("--optimizer", mcheck.compile.optimizer, "Optimizer for a model file without compile settings");
  check->add_flag("--json", json_out, "Print the problems as JSON");
  decimal_numbers_only(check);
  auto* check_forecast = check->add_subcommand("forecast", "Check a forecast run (same options)");
  add_forecast_options(check_forecast, cfg);
  decimal_numbers_only(check_forecast);
  check_forecast->add_flag("--json", json_out, "Print the problems as JSON");
  auto* check_classify = check->add_subcommand("classify", "Check a classify run (same options)");
  add_classify_options(check_classify, ccfg);
  decimal_numbers_only(check_classify);
  check_classify->add_flag("--json", json_out, "Print the problems as JSON");

  auto* summary = app.add_subcommand(
      "summary", "Print a saved model's architecture (Keras's summary), where it came from and its compile settings");
  summary->add_option("--model", model_path, "Model file: recur, Keras (.keras, .h5) or ONNX")->required();

  std::string convert_in, convert_out;
  auto* convert = app.add_subcommand(
      "convert", "Convert a model file between recur (.recur), Keras 3 (.keras), Keras HDF5 (.h5), Keras "
                 "weights (.weights.h5) and ONNX (.onnx); OUT's extension names the format");
  convert->add_option("IN", convert_in, "Model file to read (any format, told by its first bytes)")->required();
  convert->add_option("OUT", convert_out, "File to write; not IN")->required();

  recur::cli::ModelFitConfig mfit;
  auto* fit = app.add_subcommand(
      "fit", "Train (fine-tune) a saved model of any format on .npy arrays with the compile settings in its "
             "file, and write it to --output (any format, by extension)");
  fit->add_option("--model", mfit.model_path, "Model file: recur, Keras (.keras, .h5) or ONNX")->required();
  fit->add_option("--input", mfit.inputs, "One .npy per model input, in the model's input order, separated by commas")
      ->delimiter(',')
      ->required();
  fit->add_option("--labels", mfit.labels, "One .npy of targets per model output, separated by commas")
      ->delimiter(',')
      ->required();
  fit->add_option("--output", mfit.output_path, "Model file to write (.recur, .keras, .h5, .weights.h5, .onnx)")
      ->required();
  fit->add_option("--epochs", mfit.epochs, "Passes over the data")->capture_default_str();
  fit->add_option("--batch-size", mfit.batch_size,
                  "Samples per gradient step (default: the batch size the model's input fixes, else 32)")
      ->check(CLI::PositiveNumber);
  fit->add_option("--learning-rate", mfit.compile.learning_rate,
                  "Learning rate (default: the one in the model's compile settings)");
  fit->add_option("--validation-split", mfit.validation_split,
                  "Fraction of the samples, the last ones, held out for validation")->capture_default_str();
  fit->add_option("--seed", mfit.seed, "Seed of the shuffling")->capture_default_str();
  fit->add_option("--loss", mfit.compile.losses,
                  "Loss replacing the file's (needed when it has none): one for all outputs, or one per output, "
                  "comma separated; with --optimizer")
      ->delimiter(',');
  fit->add_option("--optimizer", mfit.compile.optimizer,
                  "Optimizer replacing the file's (adam, sgd, rmsprop, adamw, adagrad); with --loss");
  fit->add_flag("--json", json_out, "Print the result as one JSON object on stdout");
  fit->add_flag("--quiet", quiet, "No progress bar");
  decimal_numbers_only(fit);

  try {
    app.parse(argc, argv);
    if (check->parsed() && !check_forecast->parsed() && !check_classify->parsed()) {
      if (mcheck.model_path.empty())
        throw CLI::RequiredError("check: give `forecast` or `classify` with that job's options, or --model FILE "
                                 "--input X.npy to check arrays against a model");
      if (mcheck.inputs.empty()) throw CLI::RequiredError("--input");
    }
    if (check->parsed() && (check_forecast->parsed() || check_classify->parsed()) && !mcheck.model_path.empty())
      throw CLI::ExcludesError("check --model", "check forecast / check classify");
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // The run's identity for its checkpoint: the arguments, less those that do not change it.
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quiet" || a == "--json" || a.rfind("--resume=", 0) == 0) continue;
    if (a == "--resume") {
      ++i;
      continue;
    }
    command.push_back(a);
  }
  cfg.command = command;
  ccfg.command = command;

  try {
    if (check->parsed() && !check_forecast->parsed() && !check_classify->parsed()) {
      const auto r = recur::cli::run_check_model(mcheck);
      return report_problems(r.problems, json_out,
                             r.labels_checked ? "fit would start with these inputs and labels"
                                              : "the model takes these inputs (give --labels to check targets too)",
                             &r.mapping);
    }
    if (check->parsed()) {
      // Problems that stop the data preparation itself (an unreadable file, a bad cell) are
      // reported as the one problem found at that stage.
      std::vector<recur::Problem> problems;
      try {
        if (check_forecast->parsed()) {
          cfg.check_only = true;
          problems = recur::cli::run_forecast(cfg, {}).problems;
        } else {
          ccfg.check_only = true;
          problems = recur::cli::run_classify(ccfg, {}).problems;
        }
      } catch (const recur::Error& e) {
        problems.push_back({e.code(), e.type(), e.message()});
      }
      return report_problems(problems, json_out);
    }
    if (forecast->parsed() || classify->parsed()) {
      recur::cli::TrainingCallbacks cb;
      // Keras's progress display on stderr (stdout may carry --json).
      if (!quiet && !json_out) cb.progress = std::make_shared<recur::ProgressBar>(1, stderr);
      std::signal(SIGINT, on_sigint);
      cb.on_epoch_end = [&](const recur::EpochLogs& l) {
        if (g_interrupted)
          std::fprintf(stderr, "interrupted: stopping after epoch %d and saving the model\n", l.epoch);
        return g_interrupted == 0;
      };
      if (forecast->parsed()) {
        // A forecast trains many small models (search, ensemble): one line per model on stderr
        // instead of a progress bar per epoch.
        cb.progress = nullptr;
        if (!quiet && !json_out) cb.on_line = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
        const auto r = recur::cli::run_forecast(cfg, cb);
        for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        if (json_out) std::cout << to_json(r).dump(2) << std::endl;
        else print_report(r);
      } else {
        const auto r = recur::cli::run_classify(ccfg, cb);
        nlohmann::json j = to_json(r);
        j["interrupted"] = g_interrupted != 0;
        if (!r.checkpoint_dir.empty()) j["checkpoint"] = r.checkpoint_dir;
        if (json_out) std::cout << j.dump(2) << std::endl;
        else print_report(r);
        if (!r.checkpoint_dir.empty())
          std::fprintf(stderr, "interrupted: continue the run with the same command and --resume %s\n",
                       r.checkpoint_dir.c_str());
      }
      // Interrupted runs still write their files (from the weights they have), but say so in
      // the exit status: 130, the shell's code for a Ctrl-C.
      if (g_interrupted) return 130;
    } else if (predict->parsed() && predict_input->count() > 0) {
      const auto r = recur::cli::run_predict_arrays({model_path, input_files, out_path, predict_batch});
      std::printf("Predicted %zu samples; wrote", r.samples);
      for (std::size_t k = 0; k < r.output_paths.size(); ++k)
        std::printf("%s %s %s", k ? "," : "", r.output_paths[k].c_str(), recur::shape_str(r.output_shapes[k]).c_str());
      std::printf("\n");
    } else if (predict->parsed()) {
      const auto r = recur::cli::run_predict(model_path, data_path, out_path);
      std::printf("Wrote %zu forecasts to %s\n", r.predictions, r.output_path.c_str());
    } else if (summary->parsed()) {
      std::fputs(recur::cli::describe_model(model_path).c_str(), stdout);
    } else if (convert->parsed()) {
      const auto r = recur::cli::run_convert(convert_in, convert_out);
      std::printf("Converted %s (%s) to %s (%s): %zu layers, %zu parameters.\n", convert_in.c_str(),
                  r.from_format.c_str(), convert_out.c_str(), r.to_format.c_str(), r.layers, r.params);
    } else if (fit->parsed()) {
      recur::cli::TrainingCallbacks cb;
      if (!quiet && !json_out) cb.progress = std::make_shared<recur::ProgressBar>(1, stderr);
      std::signal(SIGINT, on_sigint);
      cb.on_epoch_end = [&](const recur::EpochLogs& l) {
        if (g_interrupted)
          std::fprintf(stderr, "interrupted: stopping after epoch %d and saving the model\n", l.epoch);
        return g_interrupted == 0;
      };
      const auto r = recur::cli::run_fit_model(mfit, cb);
      if (json_out) {
        nlohmann::json logs = nlohmann::json::object();
        for (const auto& [k, v] : r.last_logs) logs[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
        std::cout << nlohmann::json{{"epochs", r.epochs_run}, {"train_samples", r.train_samples},
                                    {"validation_samples", r.validation_samples}, {"compile", r.compile},
                                    {"last_epoch", logs}, {"train_seconds", r.train_seconds},
                                    {"model", r.output_path}, {"interrupted", g_interrupted != 0}}
                         .dump(2)
                  << std::endl;
      } else {
        std::printf("Trained %d epoch%s on %zu samples", r.epochs_run, r.epochs_run == 1 ? "" : "s", r.train_samples);
        if (r.validation_samples) std::printf(" (%zu held out for validation)", r.validation_samples);
        std::printf(" in %.1fs with %s.\nLast epoch:", r.train_seconds, r.compile.c_str());
        for (const auto& [k, v] : r.last_logs) std::printf(" %s %s", k.c_str(), fixed(v, 6).c_str());
        std::printf("\nWrote %s\n", r.output_path.c_str());
        print_blas_note();
      }
      if (g_interrupted) return 130;
    }
  } catch (const recur::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return exit_code_for(e);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory: the data or model needs more memory than this machine "
                 "has. Use fewer rows, a shorter lookback or fewer units.\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal error: %s\nPlease report this with the command that "
                 "caused it.\n", e.what());
    return 1;
  }
  return 0;
}
