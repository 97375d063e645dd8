#pragma once
// The forecasting pipeline as library code: a series (target plus optional feature columns)
// -> a chosen transform -> sliding windows -> an ensemble of recurrent models with H outputs
// (direct multi-step, "MIMO") -> forecast paths in the series' own units with prediction
// intervals. `recur forecast` is a thin shell around fit_forecaster / predict_paths.
//
// Protocol (nothing here ever sees the test part):
//   rows [0, train_end) are the training part; its last `validation_size` rows are the
//   validation segment. Every model is trained on the windows whose targets all lie before the
//   validation segment, stopped early on the validation windows (the weights of the best epoch
//   are restored), and scored by rolling-origin validation: every validation point is forecast
//   1..H steps ahead from the actual values before it (Tashman 2000, "Out-of-sample tests of
//   forecasting accuracy"); with search_folds 2 a configuration is also trained on the rows
//   before the segment of the same length that precedes it and scored there. The search, the
//   ensemble, the shrink of the correction, the weight of the combination with Holt-Winters and
//   the interval widths use only these scores and residuals; finally every member is trained
//   again on the whole training part for its best epoch count.
//
// Sources: direct multi-horizon output (Taieb et al. 2012, "A review and comparison of
// strategies for multi-step ahead time series forecasting"); seasonal differencing (Box &
// Jenkins; Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., 9.1);
// ensembles of seeds (Smyl 2020, the M4 winner ES-RNN, ensembled); forecast combination
// (Bates & Granger 1969; Makridakis et al. 2020, the M4 competition); split-conformal intervals
// from held-out residuals (Vovk et al. 2005; Stankeviciute et al. 2021 for multi-step
// forecasts, one width per horizon step).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "recur/data/scaler.hpp"
#include "recur/model/sequential.hpp"
#include "recur/tasks/baselines.hpp"

namespace recur::tasks {

/// How the target enters the model. z = log(y) for the log forms, else y.
///   none:               inputs z_s,                targets z_{o+h}
///   diff / log-diff:     inputs z_s - z_{s-1},      targets z_{o+h} - z_o (change from the origin)
///   seasonal-diff / log-seasonal-diff (lag m):
///                        inputs z_s - z_{s-m},      targets z_{o+h} - z_{o+h-m*ceil(h/m)}
///                        (the change from the seasonal-naive forecast)
///   holt-winters / log-holt-winters (season m or none):
///                        inputs z_s - zhat_{s|s-1}, targets z_{o+h} - zhat_{o+h|o}
///                        where zhat is a Holt-Winters model fitted on z of the training
///                        windows only (a hybrid in the spirit of Smyl's ES-RNN and Zhang 2003:
///                        the recurrent model learns what exponential smoothing misses; an
///                        output of 0 is the Holt-Winters forecast itself)
/// Feature columns enter as levels (none) or first differences (every other form; logged with
/// the log forms when the column is positive).
enum class SeriesTransform {
  kNone,
  kDiff,
  kLogDiff,
  kSeasonalDiff,
  kLogSeasonalDiff,
  kHoltWinters,
  kLogHoltWinters,
};

/// "none", "diff", "log-diff", "seasonal-diff", "log-seasonal-diff", "holt-winters",
/// "log-holt-winters".
std::string transform_name(SeriesTransform t);
/// Human wording: "levels", "difference", "log-difference", "seasonal difference (lag 12)", ...
std::string transform_description(SeriesTransform t, std::size_t season_lag);
/// Parses transform_name's names. Throws ValueError listing them otherwise.
SeriesTransform parse_transform(const std::string& name);
bool is_log(SeriesTransform t);
bool is_seasonal(SeriesTransform t);  // the seasonal differences
bool is_holt_winters(SeriesTransform t);

/// One model configuration of the search.
struct ForecasterConfig {
  SeriesTransform transform = SeriesTransform::kLogDiff;
  std::size_t season_lag = 0;  // lag m of the seasonal transforms and Holt-Winters' season (0 otherwise)
  std::size_t lookback = 12;   // timesteps per window
  std::size_t units = 32;      // of the recurrent layer
  std::string layer = "lstm";  // lstm, gru or simple_rnn
  /// e.g. "log-diff, lookback 24, LSTM(32)".
  std::string describe() const;
};

/// A series: columns[0] is the target, the others are input features; all the same length,
/// finite values, in the series' own units.
struct SeriesData {
  std::vector<std::string> names;
  std::vector<std::vector<double>> columns;
  std::size_t rows() const { return columns.empty() ? 0 : columns[0].size(); }
};

/// A series encoded by a SeriesCoder: the target in the model's space, the scaled inputs and,
/// for the Holt-Winters forms, the smoothing model's forecasts from every origin.
struct CodedSeries {
  std::vector<double> z;  // (rows,) target, log where chosen
  Tensor inputs;          // (rows, channels), scaled; rows before first_input_row() are 0
  std::vector<double> hw_one_step;  // (rows,) zhat_{s|s-1} (Holt-Winters forms)
  std::vector<double> hw_paths;     // (rows, horizon) zhat_{o+h|o} (Holt-Winters forms)
};

/// The fitted preprocessing of one configuration: which columns are logged, the Holt-Winters
/// model of the hybrid forms and the scalers (inputs per channel, targets per horizon step),
/// all fitted on the training windows' rows only.
struct SeriesCoder {
  ForecasterConfig config;
  std::size_t horizon = 1;
  std::vector<bool> log;  // per column
  Scaler input_scaler;    // per channel (= column)
  Scaler target_scaler;   // per horizon step
  HoltWintersParams hw;   // the Holt-Winters forms and the combination: fitted on z[0, fit_end)
  /// The forecast combination (Bates & Granger 1969; the M4 competition's lesson that a
  /// combination beats its members, Makridakis et al. 2020): when `combine` is set (the forms
  /// without Holt-Winters only), `hw` is also fitted on z with season `combine_season`, and the
  /// forecast in the model's space is (1 - hw_weight) * the model's + hw_weight * Holt-Winters'.
  bool combine = false;
  std::size_t combine_season = 0;
  double hw_weight = 0.0;  // in [0, 1]; 0 is the model alone
  bool uses_holt_winters() const { return combine || is_holt_winters(config.transform); }

  /// The first row with a defined input (0 levels, 1 differences and Holt-Winters residuals,
  /// m seasonal differences).
  std::size_t first_input_row() const;
  /// The first origin with a full window: first_input_row() + lookback - 1.
  std::size_t first_origin() const;
  /// Fits log flags, the Holt-Winters model and the scalers on rows [0, fit_end). Throws
  /// ValueError when a log form meets a value <= 0 (naming the column and row) or fit_end leaves
  /// no training window.
  void fit(const SeriesData& data, std::size_t fit_end);
  /// Encodes a series (any length; the Holt-Winters states run from its first row).
  CodedSeries encode(const SeriesData& data) const;
  /// Windows x (origins, lookback, channels) for origins [begin, end), and when `with_targets`
  /// y (origins, horizon), scaled (each target index must be < rows). With stride s > 1 only
  /// every s-th origin counting back from end - 1 is taken (in time order).
  void windows(const CodedSeries& coded, std::size_t begin, std::size_t end, bool with_targets,
               Tensor* x, Tensor* y, std::size_t stride = 1) const;
  /// z_{o+h}'s base, from values at or before o: 0, z_o, the seasonal-naive z, or the
  /// Holt-Winters forecast.
  double base(const CodedSeries& coded, std::size_t origin, std::size_t h) const;
};

/// Forecast paths: for each origin o (the last row known), step h = 1..horizon forecasts
/// row o + h. Values are in the series' own units, row-major (origins.size(), horizon).
struct PathForecast {
  std::vector<std::size_t> origins;
  std::size_t horizon = 1;
  std::vector<double> mean, lower80, upper80, lower95, upper95;
  double at(const std::vector<double>& v, std::size_t i, std::size_t h) const {
    return v[i * horizon + (h - 1)];
  }
};

/// One trained configuration of the search.
struct SearchTrial {
  ForecasterConfig config;
  double validation_rmse = 0;  // rolling-origin, steps 1..H, the series' units
  double shrink = 1.0;         // the correction's shrink toward the base that scored it
  std::size_t folds = 1;       // validation folds that scored it
  int epochs_run = 0, best_epoch = 0;
  double seconds = 0;
  bool chosen = false;
};

struct ForecasterOptions {
  std::size_t horizon = 1;
  /// Seasonal periods that may drive the seasonal transforms and the lookbacks, most useful
  /// first (e.g. {7, 365} for daily data); empty or {1}: none.
  std::vector<std::size_t> seasons;
  /// Rows at the end of the training part held out for validation (0: 20% of it, at least
  /// 2 * horizon).
  std::size_t validation_size = 0;
  /// The search: every value left at its "auto" (transform empty, lookback 0, units 0) is
  /// chosen by validation; `search` false takes the first candidate of each instead.
  bool search = true;
  std::string transform;  // "" auto, else transform_name
  std::size_t lookback = 0, units = 0;
  std::string layer = "lstm";
  /// Models averaged (seeds seed, seed+1, ...).
  std::size_t ensemble = 5;
  /// Models (seeds seed, seed+1, ...) whose mean scores each configuration of the search; the
  /// winner's become the first ensemble members.
  std::size_t search_seeds = 1;
  /// Validation folds of the search: 1 scores each configuration on the validation segment only;
  /// k > 1 also trains it on the rows before each of the k - 1 earlier segments of the same
  /// length and scores it there (one seed each); the score is the root mean square of the
  /// folds' RMSEs. Segments of 200 rows or more use one fold and one seed.
  std::size_t search_folds = 2;
  /// Search the layer size among 32, 16 and 64 (else 32 unless `units` says).
  bool search_units = false;
  /// Shrink the model's correction over its base where validation prefers it (Forecaster::shrink);
  /// false keeps the model as trained.
  bool shrink = true;
  /// Combine the model's forecast with a Holt-Winters forecast of the same series (transforms
  /// without Holt-Winters only), weighted as validation chooses (SeriesCoder::hw_weight);
  /// false keeps the model alone.
  bool combine = true;
  /// After validation, train every member again on the whole training part (validation rows
  /// included) for its best epoch count; the intervals keep the validation residuals' widths.
  bool refit = true;
  int max_epochs = 300;
  int patience = 20;
  int batch_size = 0;  // 0: from the number of windows (8 to 128)
  float learning_rate = 0.005f;
  std::uint64_t seed = 42;
  /// Called after every epoch of every training; return false to stop everything (e.g. Ctrl-C):
  /// the models trained so far are kept.
  std::function<bool(const EpochLogs&)> on_epoch_end;
  /// A folder (which must exist) where every finished training is journaled as a model file,
  /// keyed by its configuration, seed, rows, options and a fingerprint of the data. A run given
  /// the folder of a killed or interrupted run loads those trainings instead of repeating them
  /// and ends with bit-identical models (each training is a pure function of what is in its key).
  /// Empty: no journal.
  std::string checkpoint_dir;
  /// Called after each search trial and ensemble member, for progress lines.
  std::function<void(const std::string& stage, std::size_t index, std::size_t count,
                     const SearchTrial& trial)>
      on_trial;
};

/// A trained forecaster: the ensemble folded into one model (see merge note in the .cpp: N
/// members of U units become one layer of N*U units with block-diagonal weights and a Dense
/// head that averages them, exactly), its coder, and the validation residual quantiles.
struct Forecaster {
  SeriesCoder coder;
  Sequential model;
  std::size_t members = 0;
  std::size_t train_end = 0, fit_end = 0;  // training part, and where validation starts
  /// Half-widths of the 80% and 95% intervals per horizon step, in the model's space (log
  /// units for the log forms): split-conformal quantiles of |validation residual|.
  std::vector<double> width80, width95;
  std::vector<SearchTrial> trials;
  std::vector<int> member_epochs;  // best epoch of each member
  /// The model's correction over its base (naive, seasonal naive, Holt-Winters; 0 for levels)
  /// is multiplied by this, chosen on validation among 1, 0.75, 0.5, 0.25, 0 and baked into the
  /// model's Dense head (shrinkage toward the base where the model adds noise).
  double shrink = 1.0;
  double validation_rmse = 0;      // of the ensemble
  std::vector<double> validation_loss_curve, loss_curve;  // of the first member
  std::vector<std::vector<double>> member_validation_loss;  // each member's, per epoch
  bool interrupted = false;
  bool refit = false;  // the model was retrained on the whole training part
  double seconds = 0;
};

/// Trains a forecaster on rows [0, train_end) of `data` (later rows are never read; all rows are
/// only checked to be finite and at most 1e100 in magnitude). data: C columns of N rows, the
/// target first; the model takes (batch, lookback, C) and outputs (batch, horizon). Throws
/// ValueError: RECUR-E0013 when the training part is too short for the horizon, lookback and
/// validation segment (naming the sizes) or an option is out of range; RECUR-E0005 for a value
/// that is not finite or too large; RECUR-E0200 for a log transform on values <= 0.
Forecaster fit_forecaster(const SeriesData& data, std::size_t train_end, const ForecasterOptions& options);

/// Forecast paths from every origin in [first, last] (inclusive; last <= rows - 1; origins before
/// the coder's first origin are skipped), with intervals.
PathForecast predict_paths(Forecaster& forecaster, const SeriesData& data, std::size_t first,
                           std::size_t last);

/// The metadata that predict needs (coder, widths, chosen configuration, trials) as JSON text,
/// and back. from_json throws ModelFormatError on missing or inconsistent fields.
std::string forecaster_metadata(const Forecaster& f);
void forecaster_from_metadata(const std::string& json_text, Forecaster* f);

}  // namespace recur::tasks
