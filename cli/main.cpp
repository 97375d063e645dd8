// The recur command-line tool. The only code in the project that prints or exits.
//
// Exit codes: 0 success; 100-120 bad command line (CLI11's own codes, e.g. 109 for an unknown
// option, 104 for a value of the wrong type); 3 data file problem (ParseError);
// 4 file system problem (IoError); 5 model file problem (ModelFormatError); 6 bad option or
// value (ValueError); 7 shape problem (ShapeError); 1 any other error.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "forecast.hpp"
#include "progress.hpp"
#include "recur/core/error.hpp"

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

void print_report(const recur::cli::ForecastResult& r, std::size_t horizon) {
  std::printf("\nData: %s, %zu rows; target \"%s\"", r.data_name.c_str(), r.rows, r.target.c_str());
  if (r.features.size() > 1) {
    std::printf(" from");
    for (const auto& f : r.features) std::printf(" %s", f.c_str());
  }
  std::printf("\nTrained on %zu windows (%zu held out for validation), %d epochs in %.1fs.\n",
              r.train_samples - r.validation_samples, r.validation_samples, r.epochs_run,
              r.train_seconds);
  std::printf("Test: the last %zu points (%s to %s), %zu-step-ahead forecasts from actual past "
              "values; the model never saw them.\n\n",
              r.test_points, r.test_from.c_str(), r.test_to.c_str(), horizon);
  std::string season = r.season == 1 && r.season_guessed
                           ? std::string("seasonal naive (no season found)")
                           : "seasonal naive (season " + std::to_string(r.season) +
                                 (r.season_guessed ? ", guessed)" : ")");
  std::printf("  %-34s %10s %10s\n", "model", "RMSE", "MAE");
  std::printf("  %-34s %10s %10s\n", "recur LSTM", fixed(r.lstm.rmse).c_str(), fixed(r.lstm.mae).c_str());
  std::printf("  %-34s %10s %10s\n", "naive (last value)", fixed(r.naive.rmse).c_str(),
              fixed(r.naive.mae).c_str());
  std::printf("  %-34s %10s %10s\n", season.c_str(), fixed(r.seasonal_naive.rmse).c_str(),
              fixed(r.seasonal_naive.mae).c_str());
  double best = r.naive.rmse;
  if (std::isfinite(r.seasonal_naive.rmse)) best = std::min(best, r.seasonal_naive.rmse);
  if (best > 0)
    std::printf("\nLSTM test RMSE is %.1f%% %s than the best baseline (in units of %s).\n",
                std::fabs(100.0 * (1.0 - r.lstm.rmse / best)),
                r.lstm.rmse <= best ? "lower" : "HIGHER", r.target.c_str());
  std::printf("Wrote %s, %s, %s\n", r.model_path.c_str(), r.csv_path.c_str(), r.plot_path.c_str());
}

nlohmann::json to_json(const recur::cli::ForecastResult& r) {
  auto pair = [](const recur::cli::ErrorPair& p) {
    auto val = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    return nlohmann::json{{"rmse", val(p.rmse)}, {"mae", val(p.mae)}};
  };
  return {{"data", r.data_name},
          {"target", r.target},
          {"features", r.features},
          {"rows", r.rows},
          {"test_points", r.test_points},
          {"test_from", r.test_from},
          {"test_to", r.test_to},
          {"season", r.season},
          {"lstm", pair(r.lstm)},
          {"naive", pair(r.naive)},
          {"seasonal_naive", pair(r.seasonal_naive)},
          {"epochs", r.epochs_run},
          {"final_loss", r.final_loss},
          {"final_val_loss", r.final_val_loss},
          {"train_seconds", r.train_seconds},
          {"model", r.model_path},
          {"forecast_csv", r.csv_path},
          {"plot", r.plot_path}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"recur: train and run LSTM recurrent neural networks from CSV files"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "recur 0.1.0");

  recur::cli::ForecastConfig cfg;
  bool json_out = false, quiet = false;
  auto* forecast = app.add_subcommand(
      "forecast", "Train an LSTM forecaster on a CSV time series and compare it with naive "
                  "baselines on the last points. With no options: the bundled airline "
                  "passengers series.");
  forecast->add_option("--data", cfg.data_path, "CSV file with a header row (default: bundled airpassengers)");
  forecast->add_option("--target", cfg.target, "Column to forecast");
  forecast->add_option("--features", cfg.features,
                       "Input columns besides the target (comma separated), or 'all' for every "
                       "numeric column (default: the target only)")->delimiter(',');
  forecast->add_option("--lookback", cfg.lookback, "Past steps in each input window")->capture_default_str();
  forecast->add_option("--horizon", cfg.horizon, "Steps ahead to forecast")->capture_default_str();
  forecast->add_option("--units", cfg.units, "LSTM units")->capture_default_str();
  forecast->add_option("--epochs", cfg.epochs, "Training epochs")->capture_default_str();
  forecast->add_option("--batch-size", cfg.batch_size, "Samples per gradient step")->capture_default_str();
  forecast->add_option("--learning-rate", cfg.learning_rate, "Adam learning rate")->capture_default_str();
  forecast->add_option("--seed", cfg.seed, "Seed of weights and shuffling")->capture_default_str();
  forecast->add_option("--test-size", cfg.test_size, "Points at the end held out as the test set")->capture_default_str();
  forecast->add_option("--validation-split", cfg.validation_split,
                       "Fraction of the training windows (the latest) used for validation")->capture_default_str();
  forecast->add_option("--transform", cfg.transform,
                       "auto (log-diff for positive columns, else diff), none, diff, log-diff")
      ->capture_default_str();
  forecast->add_option("--scaler", cfg.scaler, "standard, minmax or none")->capture_default_str();
  forecast->add_option("--missing", cfg.missing, "Missing cells: error, interpolate or drop")->capture_default_str();
  forecast->add_option("--season", cfg.season, "Season length for the seasonal naive baseline (default: guessed)");
  forecast->add_option("--model", cfg.model_path, "Model file to write (default: OUTPUT/model.recur)");
  forecast->add_option("--output", cfg.output_dir, "Folder for the forecast CSV and plot")->capture_default_str();
  forecast->add_flag("--json", json_out, "Print the final metrics as one JSON object on stdout");
  forecast->add_flag("--quiet", quiet, "No per-epoch progress");

  std::string model_path, data_path, out_path = "predictions.csv";
  auto* predict = app.add_subcommand("predict", "Forecast with a saved model");
  predict->add_option("--model", model_path, "Model file written by `recur forecast`")->required();
  predict->add_option("--data", data_path, "CSV with the model's columns (default: bundled airpassengers)");
  predict->add_option("--output", out_path, "CSV file to write")->capture_default_str();

  auto* summary = app.add_subcommand("summary", "Print a saved model's architecture");
  summary->add_option("--model", model_path, "Model file")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (forecast->parsed()) {
      recur::cli::Progress progress(!quiet && !json_out);
      recur::cli::ForecastCallbacks cb;
      std::signal(SIGINT, on_sigint);
      cb.on_epoch_end = [&](const recur::EpochLogs& l) {
        progress.on_epoch_end(l);
        if (g_interrupted)
          std::fprintf(stderr, "interrupted: stopping after epoch %d and saving the model\n", l.epoch);
        return g_interrupted == 0;
      };
      cb.on_batch_end = [&](int b, int n, double loss) { progress.on_batch_end(b, n, loss); };
      const auto r = recur::cli::run_forecast(cfg, cb);
      if (json_out) std::cout << to_json(r).dump(2) << std::endl;
      else print_report(r, cfg.horizon);
    } else if (predict->parsed()) {
      const auto r = recur::cli::run_predict(model_path, data_path, out_path);
      std::printf("Wrote %zu forecasts to %s\n", r.predictions, r.output_path.c_str());
    } else if (summary->parsed()) {
      std::fputs(recur::cli::describe_model(model_path).c_str(), stdout);
    }
  } catch (const recur::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return exit_code_for(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: internal error: %s\nPlease report this with the command that "
                 "caused it.\n", e.what());
    return 1;
  }
  return 0;
}
