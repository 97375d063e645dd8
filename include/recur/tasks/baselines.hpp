#pragma once
// Classical forecasting baselines for `recur forecast`, which scores an LSTM against them on the
// same test points: naive, seasonal naive, random walk with drift, and Holt-Winters exponential
// smoothing chosen by AICc.
//
// Indexing shared by every function here: y is one series y[0..N), an origin o is the index of
// the last value the forecaster may use (y[0..o], inclusive), and the h-step forecast made at o
// is the forecast of y[o + h], h = 1..horizon. o + h may lie past the end of y (a true forecast).
//
// References (method descriptions and equations; no code was taken from either):
//   [FPP]  R. J. Hyndman, G. Athanasopoulos, Forecasting: Principles and Practice, 2nd ed.,
//          OTexts 2018, section 3.1 (simple methods) and chapter 7 (exponential smoothing; ch. 8
//          in the 3rd ed.).
//   [HKOS] R. J. Hyndman, A. B. Koehler, J. K. Ord, R. D. Snyder, Forecasting with Exponential
//          Smoothing: The State Space Approach, Springer 2008, chapter 2 (recursions, point
//          forecasts and the additive-error state space form), section 2.6 (initial states),
//          chapter 7 (AIC, AICc).
#include <cstddef>
#include <string>
#include <vector>

namespace recur::tasks {

/// A matrix of forecast paths: values[i][h-1] is the forecast of y[origins[i] + h] made at
/// origin origins[i], i.e. using only y[0..origins[i]] (inclusive), h = 1..horizon.
/// values has origins.size() rows of horizon values each, in the order of `origins`.
struct ForecastPaths {
  std::vector<std::size_t> origins;
  std::size_t horizon = 1;
  std::vector<std::vector<double>> values;
};

/// Naive forecast [FPP 3.1]: every horizon repeats the last known value, y^[o+h] = y[o].
/// Throws ValueError if horizon == 0 (kBadHyperparameter), an origin is >= y.size() (kValue),
/// or y[0..max origin] holds a NaN or infinity (kNonFiniteData).
ForecastPaths naive_forecast(const std::vector<double>& y, const std::vector<std::size_t>& origins,
                             std::size_t horizon);

/// Seasonal naive forecast [FPP 3.1]: the value one season back from the target, taken from the
/// last complete season seen at the origin: y^[o+h] = y[o + h - m * ceil(h / m)], m = season.
/// Where that index is negative (the origin is less than one season into the series) the
/// forecast is NaN. season == 1 is the naive forecast. Throws like naive_forecast, and
/// ValueError (kBadHyperparameter) if season == 0.
ForecastPaths seasonal_naive_forecast(const std::vector<double>& y,
                                      const std::vector<std::size_t>& origins, std::size_t horizon,
                                      std::size_t season);

/// Random walk with drift [FPP 3.1]: y^[o+h] = y[o] + h * (y[o] - y[0]) / o, the average change
/// over the history up to the origin carried forward; at o = 0 it is the naive forecast.
/// Throws like naive_forecast.
ForecastPaths drift_forecast(const std::vector<double>& y, const std::vector<std::size_t>& origins,
                             std::size_t horizon);

/// Trend component: none (N), additive (A), or additive damped (Ad) with damping phi.
enum class TrendKind { kNone, kAdditive, kAdditiveDamped };
/// Seasonal component: none (N), additive (A), or multiplicative (M).
enum class SeasonKind { kNone, kAdditive, kMultiplicative };

/// Parameters and initial states of a Holt-Winters model in the error-correction form of [HKOS]
/// ch. 2 (additive errors; the point forecasts are those of [FPP] 7.3). With
/// base_t = l_{t-1} + phi b_{t-1} and s = s_{t-m} (season index of the same period one season ago):
///   additive season:        yhat_t = base_t + s,   e_t = y_t - yhat_t
///                           l_t = base_t + alpha e_t,        b_t = phi b_{t-1} + beta e_t,
///                           s_t = s + gamma e_t
///   multiplicative season:  yhat_t = base_t * s,   e_t = y_t - yhat_t
///                           l_t = base_t + alpha e_t / s,    b_t = phi b_{t-1} + beta e_t / s,
///                           s_t = s + gamma e_t / base_t
///   no season:              as additive with s = 0.
/// h-step forecast from time t:
///   (l_t + (phi + phi^2 + ... + phi^h) b_t)  (+ or *)  s_{t+h-m*ceil(h/m)}.
/// Conventions: phi = 1 for kAdditive; beta = 0, phi = 1, trend0 = 0 for kNone; gamma = 0 and
/// season0 empty for kNone season.
/// Mapping to statsmodels' ExponentialSmoothing (recursive form, b_t = beta* (l_t - l_{t-1}) +
/// (1 - beta*) phi b_{t-1}): smoothing_level = alpha, smoothing_trend = beta* = beta / alpha,
/// smoothing_seasonal = gamma, damping_trend = phi, initial_level = level0, initial_trend =
/// trend0, initial_seasonal = season0; R's forecast::ets uses recur's alpha, beta, gamma, phi.
/// One-step values match statsmodels 0.13 to rounding; its h-step forecasts too except at
/// h = m, 2m, ..., where statsmodels 0.13 reads a stale seasonal index (statsmodels issue #9538).
struct HoltWintersParams {
  TrendKind trend = TrendKind::kNone;
  SeasonKind season_kind = SeasonKind::kNone;
  /// Season length m (periods per cycle); 0 when season_kind is kNone.
  std::size_t season = 0;
  double alpha = 0.5;   ///< level smoothing, 0 < alpha < 1
  double beta = 0.0;    ///< trend smoothing (error-correction form), 0 < beta < alpha
  double gamma = 0.0;   ///< season smoothing, 0 < gamma < 1 - alpha
  double phi = 1.0;     ///< damping, 0.8 <= phi <= 0.98 for kAdditiveDamped
  double level0 = 0.0;  ///< l_0, the level before y[0]
  double trend0 = 0.0;  ///< b_0, the trend before y[0]
  /// season0[j] is the seasonal index applied to y[j], j < m (s_{j+1-m} in [HKOS]'s 1-based
  /// time); size m. Additive indices are in the units of y, multiplicative ones are ratios.
  std::vector<double> season0;
};

/// One model tried by fit_holt_winters, with its training criteria (sse, aicc as in
/// HoltWintersFit). aicc is +infinity for a model with too many parameters for the points.
struct HoltWintersCandidate {
  TrendKind trend = TrendKind::kNone;
  SeasonKind season_kind = SeasonKind::kNone;
  double sse = 0.0;
  double aicc = 0.0;
};

/// A fitted Holt-Winters model.
struct HoltWintersFit {
  HoltWintersParams params;
  /// Sum of squared one-step errors on y[0, n), including y[0] forecast from the initial states.
  double sse = 0.0;
  /// AICc = n log(sse / n) + 2k + 2k(k+1) / (n - k - 1) ([HKOS] ch. 7, Gaussian additive
  /// errors), up to a constant shared by all models of one series; +infinity when n <= k + 1.
  double aicc = 0.0;
  /// Training points, the fit_end given.
  std::size_t n = 0;
  /// k: smoothing parameters + phi + l0 + b0 + (m - 1) seasonal states + the error variance.
  std::size_t num_params = 0;
  /// Whether the m initial seasonal states were optimised (true) or kept at their heuristic
  /// values (false: long seasons, to keep the fit fast).
  bool season0_optimised = false;
  /// Every model tried, in the order tried (simplest first). Empty from fit_holt_winters_model.
  std::vector<HoltWintersCandidate> candidates;
};

/// Fits Holt-Winters models on the training part y[0, fit_end) and returns the one with the
/// lowest AICc on it (as R's forecast::ets does; ties keep the simpler model). Candidates: trend
/// none / additive / additive damped times season none / additive / multiplicative; seasonal
/// models only if season >= 2 and fit_end >= 2 * season (two full seasons for the initial
/// states), multiplicative only if every training value is > 0. A model with more parameters
/// than the points allow (AICc infinite) is kept only if nothing else fits, in which case simple
/// exponential smoothing is returned. Each model is fitted as by fit_holt_winters_model, and in
/// addition started from the fits of the models nested in it (the same model without trend, with
/// undamped trend, without season), so a larger model fits at least about as well as a nested one
/// and the SSE can be lower than fit_holt_winters_model's for the same kinds.
/// y: (N,) with N >= fit_end; season: m, 0 or 1 for no season. Values past fit_end are not read.
/// Throws ValueError: fit_end < 2 or fit_end > y.size() (kBadHyperparameter), a non-finite
/// value in y[0, fit_end) (kNonFiniteData).
HoltWintersFit fit_holt_winters(const std::vector<double>& y, std::size_t fit_end,
                                std::size_t season);

/// Fits one Holt-Winters model by minimising the one-step SSE on y[0, fit_end) with Nelder-Mead
/// over the smoothing parameters (inside the bounds 0 < alpha < 1, 0 < beta < alpha,
/// 0 < gamma < 1 - alpha, 0.8 <= phi <= 0.98 of [HKOS] / forecast::ets) and the initial states,
/// which start from the heuristic of [HKOS] 2.6 (a 2 x m moving average over the first
/// seasons, seasonal averages of the detrended values, a line through the first ten seasonally
/// adjusted values). Seasonal initial states are optimised only for m <= 24 (forecast::ets's
/// limit); for longer seasons they keep their heuristic values. Parameter sets that make a
/// multiplicative model's level or season index non-positive are rejected; if every start is
/// rejected (a steeply falling positive series), the fit has sse = aicc = +infinity and the
/// parameters of the start (finite). Work is capped (about 6e5 filter steps per Nelder-Mead run):
/// a few ms per model on 120 points, tens of ms on 3000 points with season 365.
/// Throws ValueError (kBadHyperparameter) when the model does not apply (see fit_holt_winters),
/// and like fit_holt_winters.
HoltWintersFit fit_holt_winters_model(const std::vector<double>& y, std::size_t fit_end,
                                      std::size_t season, TrendKind trend, SeasonKind season_kind);

/// Runs the model's recursions through y with the parameters FIXED (the states are updated by
/// the actual values, including those past the fit's training part) and returns the h-step
/// forecasts from each origin. Only y[0..max origin] is read. A multiplicative model fed values
/// that drive its level or season index to <= 0 (possible only on non-positive data past the
/// training part) has those denominators floored at a tiny positive value, so the output stays
/// finite. Throws ValueError: horizon == 0 or parameters inconsistent (season0.size() != season,
/// non-finite parameter; kBadHyperparameter), an origin >= y.size() (kValue), a non-finite value
/// in y[0..max origin] (kNonFiniteData).
ForecastPaths holt_winters_forecast(const HoltWintersFit& fit, const std::vector<double>& y,
                                    const std::vector<std::size_t>& origins, std::size_t horizon);
ForecastPaths holt_winters_forecast(const HoltWintersParams& params, const std::vector<double>& y,
                                    const std::vector<std::size_t>& origins, std::size_t horizon);

/// One-step forecasts of every y[t], t in [0, y.size()): yhat[0] comes from the initial states,
/// yhat[t] from origin t - 1 (fixed parameters, as holt_winters_forecast). (N,) -> (N,).
/// Throws like holt_winters_forecast.
std::vector<double> holt_winters_one_step(const HoltWintersParams& params,
                                          const std::vector<double>& y);

/// A one-line description, e.g. "Holt-Winters (additive damped trend, multiplicative season 12)"
/// or "Holt-Winters (no trend, no season)".
std::string describe(const HoltWintersParams& params);

}  // namespace recur::tasks
