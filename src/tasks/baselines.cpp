#include "recur/tasks/baselines.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>
#include <utility>

#include "recur/core/error.hpp"

namespace recur::tasks {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Bounds of [HKOS] / forecast::ets ("usual" region).
constexpr double kAlphaLo = 1e-4, kAlphaHi = 0.9999;
constexpr double kPhiLo = 0.8, kPhiHi = 0.98;
// forecast::ets fits seasonal models only up to m = 24; beyond that we keep the heuristic
// seasonal states and optimise the rest (the fit stays a few ms per model for m = 365).
constexpr std::size_t kMaxOptimisedSeason = 24;
// In forecasting (not fitting), floors for a multiplicative model's denominators, relative to
// the initial level and to 1 for the season index: keeps outputs finite on hostile data.
constexpr double kRelativeFloor = 1e-9;

std::string str(std::size_t v) { return std::to_string(v); }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// --- Validation ------------------------------------------------------------------------------

std::size_t check_origins(const char* caller, std::size_t n,
                          const std::vector<std::size_t>& origins, std::size_t horizon) {
  if (horizon == 0)
    throw ValueError(std::string(caller) + ": horizon must be >= 1, got 0.",
                     codes::kBadHyperparameter);
  std::size_t max_origin = 0;
  for (std::size_t o : origins) {
    if (o >= n)
      throw ValueError(std::string(caller) + ": origin " + str(o) +
                       " is past the end of the series (" + str(n) + " values, last index " +
                       (n ? str(n - 1) : std::string("none")) +
                       "). An origin is the index of the last known value.");
    max_origin = std::max(max_origin, o);
  }
  return max_origin;
}

void check_finite(const char* caller, const std::vector<double>& y, std::size_t end) {
  for (std::size_t t = 0; t < end; ++t)
    if (!std::isfinite(y[t]))
      throw ValueError(std::string(caller) + ": the series must be finite, but y[" + str(t) +
                       "] = " + num(y[t]) + ". Drop or interpolate missing values first.",
                       codes::kNonFiniteData);
}

// Validates the inputs of a baseline and returns an empty ForecastPaths of the right shape.
ForecastPaths start_paths(const char* caller, const std::vector<double>& y,
                          const std::vector<std::size_t>& origins, std::size_t horizon) {
  const std::size_t max_origin = check_origins(caller, y.size(), origins, horizon);
  if (!origins.empty()) check_finite(caller, y, max_origin + 1);
  ForecastPaths p;
  p.origins = origins;
  p.horizon = horizon;
  p.values.assign(origins.size(), std::vector<double>(horizon, 0.0));
  return p;
}

// --- Holt-Winters filter -----------------------------------------------------------------------

// The states of [HKOS] ch. 2 at one time. ring[t % m] holds the latest seasonal index of the
// period of time t; a model without season is run as additive with m = 1, ring = {0}, gamma = 0.
struct HwState {
  double level = 0.0;
  double trend = 0.0;
  std::vector<double> ring;
};

struct HwModel {
  bool multiplicative = false;
  std::size_t m = 1;
  double alpha = 0.5, beta = 0.0, gamma = 0.0, phi = 1.0;
};

HwModel model_of(const HoltWintersParams& p) {
  HwModel md;
  md.multiplicative = p.season_kind == SeasonKind::kMultiplicative;
  md.m = p.season_kind == SeasonKind::kNone ? 1 : p.season;
  md.alpha = p.alpha;
  md.beta = p.trend == TrendKind::kNone ? 0.0 : p.beta;
  md.gamma = p.season_kind == SeasonKind::kNone ? 0.0 : p.gamma;
  md.phi = p.trend == TrendKind::kAdditiveDamped ? p.phi : 1.0;
  return md;
}

HwState initial_state(const HoltWintersParams& p) {
  HwState s;
  s.level = p.level0;
  s.trend = p.trend == TrendKind::kNone ? 0.0 : p.trend0;
  if (p.season_kind == SeasonKind::kNone)
    s.ring.assign(1, 0.0);
  else
    s.ring = p.season0;
  return s;
}

// One-step SSE of y[0, n) from the given initial states. Returns +inf when a multiplicative
// model's level base or season index leaves (0, inf): such parameters are outside the model.
template <bool kMultiplicative>
double sse_kernel(const HwModel& md, double level, double trend, std::vector<double>& ring,
                  const double* y, std::size_t n) {
  const std::size_t m = md.m;
  const double alpha = md.alpha, beta = md.beta, gamma = md.gamma, phi = md.phi;
  double sse = 0.0;
  std::size_t j = 0;  // t % m
  for (std::size_t t = 0; t < n; ++t) {
    const double base = level + phi * trend;
    double& s = ring[j];
    if constexpr (kMultiplicative) {
      if (!(base > 0.0) || !(s > 0.0)) return kInf;
      const double e = y[t] - base * s;
      sse += e * e;
      const double es = e / s;
      level = base + alpha * es;
      trend = phi * trend + beta * es;
      s += gamma * e / base;
    } else {
      const double e = y[t] - (base + s);
      sse += e * e;
      level = base + alpha * e;
      trend = phi * trend + beta * e;
      s += gamma * e;
    }
    if (++j == m) j = 0;
  }
  return std::isfinite(sse) ? sse : kInf;
}

double one_step_sse(const HwModel& md, const HwState& init, std::vector<double>& ring_scratch,
                    const double* y, std::size_t n) {
  ring_scratch = init.ring;
  return md.multiplicative ? sse_kernel<true>(md, init.level, init.trend, ring_scratch, y, n)
                           : sse_kernel<false>(md, init.level, init.trend, ring_scratch, y, n);
}

// Forecasting filter: the same recursions, with floored denominators instead of rejection.
class HwFilter {
 public:
  explicit HwFilter(const HoltWintersParams& p) : md_(model_of(p)), st_(initial_state(p)) {
    level_floor_ = kRelativeFloor * std::max(std::fabs(p.level0), 1e-300);
  }

  // One-step forecast of y[t], where t is the number of values absorbed so far.
  double predict_next() const { return combine(st_.level + md_.phi * st_.trend, 1); }

  void absorb(double y) {
    const double base_raw = st_.level + md_.phi * st_.trend;
    double& s = st_.ring[j_];
    if (md_.multiplicative) {
      const double base = std::max(base_raw, level_floor_);
      const double si = std::max(s, kRelativeFloor);
      const double e = y - base * si;
      st_.level = base + md_.alpha * e / si;
      st_.trend = md_.phi * st_.trend + md_.beta * e / si;
      s = si + md_.gamma * e / base;
    } else {
      const double e = y - (base_raw + s);
      st_.level = base_raw + md_.alpha * e;
      st_.trend = md_.phi * st_.trend + md_.beta * e;
      s += md_.gamma * e;
    }
    if (++j_ == md_.m) j_ = 0;
  }

  // h-step forecasts (h = 1..horizon) from the states after the last absorbed value.
  void forecast(double* out, std::size_t horizon) const {
    double phi_sum = 0.0, phi_pow = 1.0;
    for (std::size_t h = 1; h <= horizon; ++h) {
      phi_pow *= md_.phi;
      phi_sum += phi_pow;
      out[h - 1] = combine(st_.level + phi_sum * st_.trend, h);
    }
  }

 private:
  // Combines a trend-level value with the seasonal index of the period h steps after the last
  // absorbed value (ring index (t + h - 1) % m, where j_ = t % m is the next period).
  double combine(double base, std::size_t h) const {
    const double s = st_.ring[(j_ + h - 1) % md_.m];
    if (md_.multiplicative) return std::max(base, level_floor_) * std::max(s, kRelativeFloor);
    return base + s;
  }

  HwModel md_;
  HwState st_;
  std::size_t j_ = 0;
  double level_floor_ = 0.0;
};

void check_params(const char* caller, const HoltWintersParams& p) {
  const std::string who = std::string(caller) + ": ";
  const bool seasonal = p.season_kind != SeasonKind::kNone;
  if (seasonal && p.season < 2)
    throw ValueError(who + "a seasonal Holt-Winters model needs season >= 2, got " +
                     str(p.season) + ".", codes::kBadHyperparameter);
  if (seasonal && p.season0.size() != p.season)
    throw ValueError(who + "season0 must hold one initial index per period (" + str(p.season) +
                     "), got " + str(p.season0.size()) + ".", codes::kBadHyperparameter);
  bool finite = std::isfinite(p.alpha) && std::isfinite(p.beta) && std::isfinite(p.gamma) &&
                std::isfinite(p.phi) && std::isfinite(p.level0) && std::isfinite(p.trend0);
  if (seasonal)
    for (double v : p.season0) finite = finite && std::isfinite(v);
  if (!finite) {
    const std::string values = "alpha " + num(p.alpha) + ", beta " + num(p.beta) + ", gamma " +
                               num(p.gamma) + ", phi " + num(p.phi) + ", level0 " +
                               num(p.level0) + ", trend0 " + num(p.trend0);
    throw ValueError(who + "the Holt-Winters parameters and initial states must be finite (" +
                     values + ").", codes::kBadHyperparameter);
  }
}

// --- Initial states: [HKOS] section 2.6 ----------------------------------------------------------

struct Heuristic {
  double level0 = 0.0, trend0 = 0.0;
  std::vector<double> season0;  // normalised: sum 0 (additive) or mean 1 (multiplicative)
};

// x: the training values (n >= 2; n >= 2m and, if multiplicative, all > 0 when seasonal).
Heuristic heuristic_states(const double* x, std::size_t n, TrendKind trend, SeasonKind kind,
                           std::size_t m) {
  Heuristic h;
  std::vector<double> adjusted(x, x + n);
  if (kind != SeasonKind::kNone) {
    // Classical decomposition of the first k full seasons: a centred moving average (2 x m when
    // m is even) is the trend; the detrended values averaged per period are the indices.
    const std::size_t k = std::min<std::size_t>(n / m, 5), len = k * m, half = m / 2;
    std::vector<double> sum(m, 0.0);
    std::vector<std::size_t> count(m, 0);
    for (std::size_t t = half; t + half < len; ++t) {
      double ma = 0.0;
      if (m % 2 == 1) {
        for (std::size_t i = t - half; i <= t + half; ++i) ma += x[i];
      } else {
        ma = 0.5 * (x[t - half] + x[t + half]);
        for (std::size_t i = t - half + 1; i < t + half; ++i) ma += x[i];
      }
      ma /= static_cast<double>(m);
      sum[t % m] += kind == SeasonKind::kMultiplicative ? x[t] / ma : x[t] - ma;
      ++count[t % m];
    }
    h.season0.resize(m);
    double mean = 0.0;
    for (std::size_t j = 0; j < m; ++j) {
      h.season0[j] = sum[j] / static_cast<double>(count[j]);
      mean += h.season0[j] / static_cast<double>(m);
    }
    for (double& s : h.season0) {
      if (kind == SeasonKind::kMultiplicative)
        s /= mean;
      else
        s -= mean;
    }
    for (std::size_t t = 0; t < n; ++t)
      adjusted[t] =
          kind == SeasonKind::kMultiplicative ? x[t] / h.season0[t % m] : x[t] - h.season0[t % m];
  }
  // A least-squares line a_t = level0 + trend0 (t + 1) through the first ten adjusted values.
  const std::size_t q = std::min<std::size_t>(n, 10);
  double tm = 0.0, am = 0.0;
  for (std::size_t t = 0; t < q; ++t) {
    tm += static_cast<double>(t + 1) / static_cast<double>(q);
    am += adjusted[t] / static_cast<double>(q);
  }
  double sxy = 0.0, sxx = 0.0;
  for (std::size_t t = 0; t < q; ++t) {
    const double dt = static_cast<double>(t + 1) - tm;
    sxy += dt * (adjusted[t] - am);
    sxx += dt * dt;
  }
  const double slope = sxx > 0.0 ? sxy / sxx : 0.0;
  if (trend == TrendKind::kNone) {
    h.level0 = am + slope * (1.0 - tm);  // the line at the first point: the level there
  } else {
    h.level0 = am - slope * tm;
    h.trend0 = slope;
  }
  return h;
}

// --- Nelder-Mead -------------------------------------------------------------------------------

// Minimises f over R^d from x0 with an initial simplex of x0 +- step along each axis. Uses the
// dimension-adaptive coefficients of Gao & Han (2012), which keep it working in ~30 dimensions.
// Stops after max_evals evaluations or when the simplex's values agree to 1e-10 relative or
// f_abs_tol absolute (a flat simplex is left to the caller's restart to confirm).
// f may return +inf (infeasible); NaN is treated as +inf.
template <typename F>
std::pair<std::vector<double>, double> nelder_mead(F&& f, std::vector<double> x0, double step,
                                                   std::size_t max_evals, double f_abs_tol) {
  const std::size_t d = x0.size();
  const double dd = static_cast<double>(d);
  const double da = std::max(dd, 2.0);  // d = 1 would give a shrink factor of 0
  const double c_reflect = 1.0, c_expand = 1.0 + 2.0 / da, c_contract = 0.75 - 0.5 / da,
               c_shrink = 1.0 - 1.0 / da;
  std::size_t evals = 0;
  auto eval = [&](const std::vector<double>& x) {
    ++evals;
    const double v = f(x);
    return std::isnan(v) ? kInf : v;
  };
  std::vector<std::vector<double>> pts(d + 1, x0);
  std::vector<double> val(d + 1);
  val[0] = eval(x0);
  for (std::size_t i = 0; i < d; ++i) {
    pts[i + 1][i] += step;
    val[i + 1] = eval(pts[i + 1]);
    if (!std::isfinite(val[i + 1])) {  // try the other side when a vertex is infeasible
      pts[i + 1][i] = x0[i] - step;
      val[i + 1] = eval(pts[i + 1]);
    }
  }
  std::vector<std::size_t> order(d + 1);
  std::vector<double> centroid(d), xr(d), xe(d), xc(d);
  while (evals < max_evals) {
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return val[a] < val[b]; });
    const std::size_t best = order[0], worst = order[d], second = order[d - 1];
    if (std::isfinite(val[worst]) &&
        val[worst] - val[best] <= 1e-10 * std::fabs(val[best]) + f_abs_tol)
      break;
    std::fill(centroid.begin(), centroid.end(), 0.0);
    for (std::size_t i = 0; i <= d; ++i)
      if (i != worst)
        for (std::size_t k = 0; k < d; ++k) centroid[k] += pts[i][k] / dd;
    for (std::size_t k = 0; k < d; ++k)
      xr[k] = centroid[k] + c_reflect * (centroid[k] - pts[worst][k]);
    const double fr = eval(xr);
    if (fr < val[best]) {
      for (std::size_t k = 0; k < d; ++k) xe[k] = centroid[k] + c_expand * (xr[k] - centroid[k]);
      const double fe = eval(xe);
      if (fe < fr) {
        pts[worst] = xe;
        val[worst] = fe;
      } else {
        pts[worst] = xr;
        val[worst] = fr;
      }
      continue;
    }
    if (fr < val[second]) {
      pts[worst] = xr;
      val[worst] = fr;
      continue;
    }
    // Contraction: outside if the reflected point beats the worst, inside otherwise.
    const bool outside = fr < val[worst];
    const std::vector<double>& towards = outside ? xr : pts[worst];
    for (std::size_t k = 0; k < d; ++k)
      xc[k] = centroid[k] + c_contract * (towards[k] - centroid[k]);
    const double fc = eval(xc);
    if (fc < (outside ? fr : val[worst])) {
      pts[worst] = xc;
      val[worst] = fc;
      continue;
    }
    for (std::size_t i = 0; i <= d; ++i) {
      if (i == best) continue;
      for (std::size_t k = 0; k < d; ++k)
        pts[i][k] = pts[best][k] + c_shrink * (pts[i][k] - pts[best][k]);
      val[i] = eval(pts[i]);
    }
  }
  const std::size_t best =
      static_cast<std::size_t>(std::min_element(val.begin(), val.end()) - val.begin());
  return {pts[best], val[best]};
}

// --- Fitting one model ---------------------------------------------------------------------------

// Smoothing parameters live in u in [-kUMax, kUMax]: beyond that the logistic map is flat to
// within 3e-7 and Nelder-Mead would only wander.
constexpr double kUMax = 15.0;
double sigmoid(double u) { return 1.0 / (1.0 + std::exp(-std::clamp(u, -kUMax, kUMax))); }
double logit(double p) {
  p = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(p / (1.0 - p));
}

// The optimiser works on an unconstrained vector u: the smoothing parameters through logistic
// maps onto their bounds (beta = alpha * sigmoid, gamma = (1 - alpha) * sigmoid: the ets region),
// the initial states as heuristic + scale * u. Seasonal states: m - 1 free, the last one keeps
// the sum at 0 (additive) or m (multiplicative) -- the normalisation of [HKOS] 2.6, which loses
// nothing since shifting (scaling) level and season in opposite ways leaves every forecast as is.
class Parametrisation {
 public:
  Parametrisation(TrendKind trend, SeasonKind kind, std::size_t m, Heuristic h, double scale,
                  bool optimise_season)
      : trend_(trend),
        kind_(kind),
        m_(kind == SeasonKind::kNone ? 0 : m),
        h_(std::move(h)),
        scale_(scale),
        optimise_season_(optimise_season && kind != SeasonKind::kNone) {
    season_scale_ = kind == SeasonKind::kMultiplicative
                        ? std::clamp(scale / std::max(std::fabs(h_.level0), 1e-300), 1e-4, 0.5)
                        : scale;
  }

  std::size_t num_smoothing() const {
    return 1 + (trend_ != TrendKind::kNone) + (kind_ != SeasonKind::kNone) +
           (trend_ == TrendKind::kAdditiveDamped);
  }
  std::size_t num_states() const {
    return 1 + (trend_ != TrendKind::kNone) + (optimise_season_ ? m_ - 1 : 0);
  }
  std::size_t size() const { return num_smoothing() + num_states(); }

  // u for the given smoothing values (each strictly inside its range) and heuristic states.
  std::vector<double> encode(double alpha, double beta_star, double gamma_star, double phi) const {
    std::vector<double> u(size(), 0.0);
    std::size_t i = 0;
    u[i++] = logit((alpha - kAlphaLo) / (kAlphaHi - kAlphaLo));
    if (trend_ != TrendKind::kNone) u[i++] = logit(beta_star);
    if (kind_ != SeasonKind::kNone) u[i++] = logit(gamma_star);
    if (trend_ == TrendKind::kAdditiveDamped) u[i++] = logit((phi - kPhiLo) / (kPhiHi - kPhiLo));
    return u;
  }

  // u for a model of the same or a nested kind (warm start): missing components get the values
  // that make them vanish or nearly so (beta -> 0, b0 = 0, gamma -> 0, season indices neutral).
  std::vector<double> encode(const HoltWintersParams& p) const {
    const double alpha = std::clamp(p.alpha, kAlphaLo, kAlphaHi);
    const bool had_trend = p.trend != TrendKind::kNone,
               had_season = p.season_kind != SeasonKind::kNone;
    const double beta_star = had_trend ? p.beta / alpha : 1e-4;
    const double gamma_star = had_season ? p.gamma / std::max(1.0 - alpha, 1e-12) : 1e-4;
    const double phi = p.trend == TrendKind::kAdditiveDamped ? p.phi : kPhiHi;
    std::vector<double> u = encode(alpha, beta_star, gamma_star, phi);
    std::size_t i = num_smoothing();
    u[i++] = (p.level0 - h_.level0) / scale_;
    if (trend_ != TrendKind::kNone)
      u[i++] = ((had_trend ? p.trend0 : 0.0) - h_.trend0) / (0.1 * scale_);
    if (optimise_season_) {
      const double neutral = kind_ == SeasonKind::kMultiplicative ? 1.0 : 0.0;
      for (std::size_t j = 0; j + 1 < m_; ++j) {
        const double target = had_season && p.season0.size() == m_ ? p.season0[j] : neutral;
        u[i++] = (target - h_.season0[j]) / season_scale_;
      }
    }
    return u;
  }

  void decode(const std::vector<double>& u, HwModel& md, HwState& st) const {
    std::size_t i = 0;
    md.alpha = kAlphaLo + (kAlphaHi - kAlphaLo) * sigmoid(u[i++]);
    md.beta = trend_ != TrendKind::kNone ? md.alpha * sigmoid(u[i++]) : 0.0;
    md.gamma = kind_ != SeasonKind::kNone ? (1.0 - md.alpha) * sigmoid(u[i++]) : 0.0;
    md.phi =
        trend_ == TrendKind::kAdditiveDamped ? kPhiLo + (kPhiHi - kPhiLo) * sigmoid(u[i++]) : 1.0;
    md.multiplicative = kind_ == SeasonKind::kMultiplicative;
    md.m = kind_ == SeasonKind::kNone ? 1 : m_;
    st.level = h_.level0 + scale_ * u[i++];
    st.trend = trend_ != TrendKind::kNone ? h_.trend0 + 0.1 * scale_ * u[i++] : 0.0;
    if (kind_ == SeasonKind::kNone) {
      st.ring.assign(1, 0.0);
      return;
    }
    st.ring = h_.season0;
    if (!optimise_season_) return;
    double sum = 0.0;
    for (std::size_t j = 0; j + 1 < m_; ++j) {
      st.ring[j] += season_scale_ * u[i++];
      sum += st.ring[j];
    }
    st.ring[m_ - 1] = (kind_ == SeasonKind::kMultiplicative ? static_cast<double>(m_) : 0.0) - sum;
  }

  HoltWintersParams params(const std::vector<double>& u) const {
    HwModel md;
    HwState st;
    decode(u, md, st);
    HoltWintersParams p;
    p.trend = trend_;
    p.season_kind = kind_;
    p.season = kind_ == SeasonKind::kNone ? 0 : m_;
    p.alpha = md.alpha;
    p.beta = md.beta;
    p.gamma = md.gamma;
    p.phi = md.phi;
    p.level0 = st.level;
    p.trend0 = st.trend;
    if (kind_ != SeasonKind::kNone) p.season0 = st.ring;
    return p;
  }

 private:
  TrendKind trend_;
  SeasonKind kind_;
  std::size_t m_;
  Heuristic h_;
  double scale_, season_scale_ = 1.0;
  bool optimise_season_;
};

std::size_t count_params(TrendKind trend, SeasonKind kind, std::size_t m) {
  std::size_t k = 2 + 1;  // alpha, l0, error variance
  if (trend != TrendKind::kNone) k += 2;
  if (trend == TrendKind::kAdditiveDamped) k += 1;
  if (kind != SeasonKind::kNone) k += 1 + (m - 1);
  return k;
}

double aicc_of(double sse, std::size_t n, std::size_t k, double sse_floor) {
  if (!std::isfinite(sse) || n <= k + 1) return kInf;
  const double nn = static_cast<double>(n), kk = static_cast<double>(k);
  const double aic = nn * std::log(std::max(sse, sse_floor) / nn) + 2.0 * kk;
  return aic + 2.0 * kk * (kk + 1.0) / (nn - kk - 1.0);
}

// Why a model does not apply to y[0, n) with season m, or "" if it does.
std::string inapplicable(const double* y, std::size_t n, std::size_t m, SeasonKind kind) {
  if (kind == SeasonKind::kNone) return "";
  if (m < 2) return "a seasonal model needs season >= 2, got " + str(m);
  if (n < 2 * m)
    return "a seasonal model with season " + str(m) + " needs two full seasons (" + str(2 * m) +
           " points) to initialise, got " + str(n);
  if (kind == SeasonKind::kMultiplicative)
    for (std::size_t t = 0; t < n; ++t)
      if (!(y[t] > 0.0))
        return "a multiplicative season needs every value > 0, but y[" + str(t) +
               "] = " + num(y[t]);
  return "";
}

void check_fit_inputs(const char* caller, const std::vector<double>& y, std::size_t fit_end) {
  if (fit_end < 2 || fit_end > y.size())
    throw ValueError(std::string(caller) + ": fit_end must be in [2, " + str(y.size()) +
                     "] (at least 2 training points, none past the series), got " +
                     str(fit_end) + " for a series of " + str(y.size()) + " values.",
                     codes::kBadHyperparameter);
  check_finite(caller, y, fit_end);
}

// Fits one model. `warm` holds fits of nested models (same season without trend, ...): starting
// from them makes the larger model at least about as good as the nested one, which Nelder-Mead
// from the heuristic start alone does not guarantee.
HoltWintersFit fit_model(const std::vector<double>& y, std::size_t n, std::size_t m,
                         TrendKind trend, SeasonKind kind,
                         const std::vector<const HoltWintersParams*>& warm = {}) {
  const double* x = y.data();
  const Heuristic h = heuristic_states(x, n, trend, kind, m);
  // Scale of the state offsets: the typical one-step change of the series.
  double diff2 = 0.0, mean_abs = 0.0;
  for (std::size_t t = 0; t < n; ++t) {
    mean_abs += std::fabs(x[t]) / static_cast<double>(n);
    if (t > 0) diff2 += (x[t] - x[t - 1]) * (x[t] - x[t - 1]);
  }
  const double scale_floor = mean_abs > 0.0 ? 1e-8 * mean_abs : 1e-8;
  const double scale = std::max(std::sqrt(diff2 / static_cast<double>(n - 1)), scale_floor);
  // SSEs below this are all "zero" to the optimiser and to AICc (a constant series).
  const double sse_floor = static_cast<double>(n) * std::pow(1e-10 * std::max(mean_abs, 1e-150), 2);
  const bool optimise_season = kind != SeasonKind::kNone && m <= kMaxOptimisedSeason;
  const Parametrisation par(trend, kind, m, h, scale, optimise_season);

  HwModel md;
  HwState st;
  std::vector<double> ring;
  auto objective = [&](const std::vector<double>& u) {
    par.decode(u, md, st);
    return one_step_sse(md, st, ring, x, n);
  };
  // Work cap per Nelder-Mead run: enough to converge on short series, a bounded number of filter
  // steps (kStepBudget) on long ones.
  constexpr double kStepBudget = 6e5;
  constexpr std::size_t kStage1Starts = 3;
  constexpr int kMaxRuns = 2;
  const std::size_t d_all = par.size(), d_smooth = par.num_smoothing();
  auto cap = [&](std::size_t d) {
    const auto by_budget = static_cast<std::size_t>(kStepBudget / static_cast<double>(n));
    return std::clamp<std::size_t>(by_budget, 40 * d, 250 * d);
  };

  // Stage 1: a coarse grid over alpha, then the smoothing parameters alone by Nelder-Mead from the
  // best grid points, the states at their heuristic values.
  std::vector<std::pair<double, std::vector<double>>> grid;
  for (double alpha : {0.02, 0.1, 0.3, 0.6, 0.9, 0.99}) {
    std::vector<double> u = par.encode(alpha, 0.05, 0.05, 0.95);
    grid.emplace_back(objective(u), std::move(u));
  }
  std::sort(grid.begin(), grid.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<double> best_u = grid[0].second;
  double best = grid[0].first;
  for (std::size_t g = 0; g < kStage1Starts && std::isfinite(grid[g].first); ++g) {
    std::vector<double> u = grid[g].second;
    auto f1 = [&](const std::vector<double>& s) {
      std::copy(s.begin(), s.end(), u.begin());
      return objective(u);
    };
    auto [s_opt, v] = nelder_mead(
        f1, std::vector<double>(u.begin(), u.begin() + static_cast<std::ptrdiff_t>(d_smooth)), 1.0,
        cap(d_smooth), sse_floor);
    if (v < best) {
      best = v;
      best_u = u;
      std::copy(s_opt.begin(), s_opt.end(), best_u.begin());
    }
  }
  for (const HoltWintersParams* p : warm) {
    std::vector<double> u = par.encode(*p);
    const double v = objective(u);
    if (v < best) {
      best = v;
      best_u = std::move(u);
    }
  }
  // Stage 2: everything, restarted from the optimum with a fresh simplex while that still helps
  // (the standard cure for Nelder-Mead's premature collapse).
  for (int run = 0; run < kMaxRuns && std::isfinite(best); ++run) {
    auto [u, v] = nelder_mead(objective, best_u, run == 0 ? 0.5 : 0.25, cap(d_all), sse_floor);
    const bool improved = v < best * (1.0 - 1e-6);
    if (v < best) {
      best = v;
      best_u = std::move(u);
    }
    if (!improved && run > 0) break;
  }

  HoltWintersFit fit;
  fit.n = n;
  fit.params = par.params(best_u);
  fit.sse = best;
  fit.num_params = count_params(trend, kind, m);
  fit.aicc = aicc_of(best, n, fit.num_params, sse_floor);
  fit.season0_optimised = optimise_season;
  return fit;
}

}  // namespace

// --- Simple baselines ----------------------------------------------------------------------------

ForecastPaths naive_forecast(const std::vector<double>& y, const std::vector<std::size_t>& origins,
                             std::size_t horizon) {
  ForecastPaths p = start_paths("naive_forecast", y, origins, horizon);
  for (std::size_t i = 0; i < origins.size(); ++i)
    std::fill(p.values[i].begin(), p.values[i].end(), y[origins[i]]);
  return p;
}

ForecastPaths seasonal_naive_forecast(const std::vector<double>& y,
                                      const std::vector<std::size_t>& origins, std::size_t horizon,
                                      std::size_t season) {
  if (season == 0)
    throw ValueError(
        "seasonal_naive_forecast: season must be >= 1 (1 is the naive forecast), got 0.",
        codes::kBadHyperparameter);
  ForecastPaths p = start_paths("seasonal_naive_forecast", y, origins, horizon);
  for (std::size_t i = 0; i < origins.size(); ++i) {
    const std::size_t o = origins[i];
    for (std::size_t h = 1; h <= horizon; ++h) {
      const std::size_t back = season * ((h + season - 1) / season);  // m * ceil(h / m) >= h
      p.values[i][h - 1] = o + h >= back ? y[o + h - back] : kNaN;
    }
  }
  return p;
}

ForecastPaths drift_forecast(const std::vector<double>& y, const std::vector<std::size_t>& origins,
                             std::size_t horizon) {
  ForecastPaths p = start_paths("drift_forecast", y, origins, horizon);
  for (std::size_t i = 0; i < origins.size(); ++i) {
    const std::size_t o = origins[i];
    const double slope = o == 0 ? 0.0 : (y[o] - y[0]) / static_cast<double>(o);
    for (std::size_t h = 1; h <= horizon; ++h)
      p.values[i][h - 1] = y[o] + static_cast<double>(h) * slope;
  }
  return p;
}

// --- Holt-Winters --------------------------------------------------------------------------------

HoltWintersFit fit_holt_winters_model(const std::vector<double>& y, std::size_t fit_end,
                                      std::size_t season, TrendKind trend, SeasonKind season_kind) {
  check_fit_inputs("fit_holt_winters_model", y, fit_end);
  const std::string why = inapplicable(y.data(), fit_end, season, season_kind);
  if (!why.empty())
    throw ValueError("fit_holt_winters_model: " + why + ". Choose another season kind, or use " +
                     "fit_holt_winters, which skips models that do not apply.",
                     codes::kBadHyperparameter);
  return fit_model(y, fit_end, season, trend, season_kind);
}

HoltWintersFit fit_holt_winters(const std::vector<double>& y, std::size_t fit_end,
                                std::size_t season) {
  check_fit_inputs("fit_holt_winters", y, fit_end);
  HoltWintersFit best;
  bool have = false;
  std::vector<HoltWintersCandidate> tried;
  // fits[season kind][trend kind], kept for the warm starts of the larger models.
  HoltWintersFit fits[3][3];
  bool fitted[3][3] = {};
  const SeasonKind kinds[] = {SeasonKind::kNone, SeasonKind::kAdditive,
                              SeasonKind::kMultiplicative};
  const TrendKind trends[] = {TrendKind::kNone, TrendKind::kAdditive, TrendKind::kAdditiveDamped};
  for (int si = 0; si < 3; ++si) {
    if (!inapplicable(y.data(), fit_end, season, kinds[si]).empty()) continue;
    for (int ti = 0; ti < 3; ++ti) {
      std::vector<const HoltWintersParams*> warm;
      if (ti > 0 && fitted[si][0]) warm.push_back(&fits[si][0].params);   // without trend
      if (ti == 2 && fitted[si][1]) warm.push_back(&fits[si][1].params);  // undamped
      if (si > 0 && fitted[0][ti]) warm.push_back(&fits[0][ti].params);   // without season
      HoltWintersFit& f = fits[si][ti];
      f = fit_model(y, fit_end, season, trends[ti], kinds[si], warm);
      fitted[si][ti] = true;
      tried.push_back({trends[ti], kinds[si], f.sse, f.aicc});
      // Strictly better AICc wins; the first model (simple exponential smoothing) is the fallback
      // when no model has a finite AICc.
      if (!have || f.aicc < best.aicc) {
        best = f;
        have = true;
      }
    }
  }
  best.candidates = std::move(tried);
  return best;
}

ForecastPaths holt_winters_forecast(const HoltWintersParams& params, const std::vector<double>& y,
                                    const std::vector<std::size_t>& origins, std::size_t horizon) {
  check_params("holt_winters_forecast", params);
  ForecastPaths p = start_paths("holt_winters_forecast", y, origins, horizon);
  if (origins.empty()) return p;
  std::vector<std::size_t> order(origins.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return origins[a] < origins[b]; });
  HwFilter filter(params);
  std::size_t absorbed = 0;
  for (std::size_t i : order) {
    while (absorbed <= origins[i]) filter.absorb(y[absorbed++]);
    filter.forecast(p.values[i].data(), horizon);
  }
  return p;
}

ForecastPaths holt_winters_forecast(const HoltWintersFit& fit, const std::vector<double>& y,
                                    const std::vector<std::size_t>& origins, std::size_t horizon) {
  return holt_winters_forecast(fit.params, y, origins, horizon);
}

std::vector<double> holt_winters_one_step(const HoltWintersParams& params,
                                          const std::vector<double>& y) {
  check_params("holt_winters_one_step", params);
  check_finite("holt_winters_one_step", y, y.size());
  std::vector<double> out(y.size());
  HwFilter filter(params);
  for (std::size_t t = 0; t < y.size(); ++t) {
    out[t] = filter.predict_next();
    filter.absorb(y[t]);
  }
  return out;
}

std::string describe(const HoltWintersParams& params) {
  std::string trend = params.trend == TrendKind::kNone       ? "no trend"
                      : params.trend == TrendKind::kAdditive ? "additive trend"
                                                             : "additive damped trend";
  std::string season = params.season_kind == SeasonKind::kNone ? "no season"
                       : params.season_kind == SeasonKind::kAdditive
                           ? "additive season " + str(params.season)
                           : "multiplicative season " + str(params.season);
  return "Holt-Winters (" + trend + ", " + season + ")";
}

}  // namespace recur::tasks
