#!/usr/bin/python3
"""Reference Holt-Winters values from statsmodels, for tests/tasks/baselines_test.cpp.

Run with Debian's python3-statsmodels (0.13):  /usr/bin/python3 tests/golden/make_holt_winters_golden.py
It writes tests/golden/holt_winters_golden.json. The C++ tests read that file; no Python at test
time. Two kinds of records:

"filter_cases": statsmodels.tsa.holtwinters.ExponentialSmoothing run with FIXED smoothing
  parameters and FIXED initial states (initialization_method="known", fit(optimized=False)).
  "fitted"[t] is the one-step forecast of y[t] (t = 0 is the forecast from the initial states);
  "forecast" holds the h = 1..H forecasts from the last point, "mid_forecast" those from the origin
  "mid_origin" (statsmodels run on y[:mid_origin + 1]). The C++ filter must match these exactly.

  statsmodels 0.13's ExponentialSmoothing.forecast uses a stale seasonal index at horizons that
  are multiples of m: it reads s_{T-m} where the equations (Hyndman & Athanasopoulos, FPP 2nd ed.
  section 7.3; Hyndman et al. 2008; R's forecast::ets) use s_T. This is statsmodels issue #9538,
  fixed by pull request #10230. So "forecast" / "mid_forecast" apply the textbook equation
      yhat[T+h] = (l_T + (phi + ... + phi^h) b_T)  (+ or *)  s_{T+h-m*ceil(h/m)}
  to statsmodels' own final states (results.level, .trend, .season), and the script checks that
  this equals statsmodels' forecast at every other horizon. For the cases without a
  multiplicative season it also checks them against statsmodels' separate ETSModel code (not
  used for multiplicative seasons: its season update divides by the new level l_t instead of
  l_{t-1} + phi b_{t-1} as in Hyndman et al. 2008, ch. 2, and forecast::ets). statsmodels' raw
  output is kept as "statsmodels_forecast" / "statsmodels_mid_forecast".

"fit_cases": statsmodels' own optimised fit (initialization_method="estimated", fit() with its
  defaults, except damping_trend bounded to [0.8, 0.98] as in forecast::ets and recur) of every
  trend/season combination on the first "fit_end" points of airpassengers. "sse" is its one-step
  SSE on those points; "test_forecasts" are the one-step forecasts of y[fit_end .. n) made by
  running the fitted model (parameters frozen) through the actual values, and "test_rmse" their
  RMSE. The C++ fit must be about as good.

Parametrisation. statsmodels writes the trend update in the recursive (Holt) form
    b_t = beta* (l_t - l_{t-1}) + (1 - beta*) phi b_{t-1},      smoothing_trend = beta*,
while recur uses the error-correction form of Hyndman et al. (2008), b_t = phi b_{t-1} + beta e_t
(additive season) or + beta e_t / s_{t-m} (multiplicative season). Substituting
l_t - l_{t-1} = phi b_{t-1} + alpha e_t (resp. alpha e_t / s_{t-m}) gives
    beta = alpha * beta*        (recur's beta = smoothing_level * smoothing_trend).
alpha (smoothing_level), gamma (smoothing_seasonal), phi (damping_trend), the initial level and
trend are the same numbers in both. statsmodels' initial_seasonal[j] is the seasonal index applied
to y[j] for j < m, recur's season0[j] likewise.
"""
import csv
import json
import os
import warnings

import numpy as np
import statsmodels
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

TRENDS = {"none": (None, False), "additive": ("add", False), "additive_damped": ("add", True)}
SEASONS = {"none": None, "additive": "add", "multiplicative": "mul"}


def airpassengers():
    with open(os.path.join(ROOT, "data", "airpassengers.csv")) as f:
        return [float(r["passengers"]) for r in csv.DictReader(f)]


def synthetic(n=50, m=7):
    rng = np.random.RandomState(7)
    t = np.arange(n)
    y = 20.0 + 0.3 * t + 3.0 * np.sin(2 * np.pi * t / m) + rng.normal(0.0, 0.8, n)
    return [float(v) for v in y]


def model(y, trend, season, m, **known):
    tr, damped = TRENDS[trend]
    kwargs = dict(trend=tr, damped_trend=damped, seasonal=SEASONS[season],
                  seasonal_periods=m if season != "none" else None)
    return ExponentialSmoothing(np.asarray(y), **kwargs, **known)


def run_fixed(y, trend, season, m, p):
    known = dict(initialization_method="known", initial_level=p["initial_level"])
    fit_kwargs = dict(optimized=False, smoothing_level=p["smoothing_level"])
    if trend != "none":
        known["initial_trend"] = p["initial_trend"]
        fit_kwargs["smoothing_trend"] = p["smoothing_trend"]
    if trend == "additive_damped":
        fit_kwargs["damping_trend"] = p["damping_trend"]
    if season != "none":
        known["initial_seasonal"] = p["initial_seasonal"]
        fit_kwargs["smoothing_seasonal"] = p["smoothing_seasonal"]
    return model(y, trend, season, m, **known).fit(**fit_kwargs)


def textbook_forecast(res, trend, season, m, phi, horizon):
    """The forecast equation applied to the final states of a statsmodels Holt-Winters result."""
    level, trend_state = float(res.level[-1]), float(res.trend[-1]) if trend != "none" else 0.0
    if trend != "additive_damped":
        phi = 1.0
    out, phi_sum = [], 0.0
    for h in range(1, horizon + 1):
        phi_sum += phi ** h
        base = level + phi_sum * trend_state
        if season == "none":
            out.append(base)
            continue
        k = -(-h // m)  # ceil(h / m)
        s = float(res.season[len(res.season) - 1 + h - m * k])
        out.append(base * s if season == "multiplicative" else base + s)
    raw = np.asarray(res.forecast(horizon), dtype=float)
    for h in range(1, horizon + 1):
        if season == "none" or h % m != 0:
            assert abs(out[h - 1] - raw[h - 1]) <= 1e-9 * abs(raw[h - 1]), (h, out[h - 1], raw[h - 1])
    return out, [float(v) for v in raw]


def check_with_ets(y, trend, season, m, p, forecast):
    """statsmodels' ETSModel (additive errors) with the same fixed values gives the same forecasts."""
    tr, damped = TRENDS[trend]
    kw = dict(error="add", trend=tr, damped_trend=damped, seasonal=SEASONS[season],
              seasonal_periods=m if season != "none" else None, initialization_method="known",
              initial_level=p["initial_level"])
    if trend != "none":
        kw["initial_trend"] = p["initial_trend"]
    if season != "none":
        kw["initial_seasonal"] = np.asarray(p["initial_seasonal"])
    mod = ETSModel(np.asarray(y), **kw)
    values = {"smoothing_level": p["smoothing_level"],
              "smoothing_trend": p["smoothing_level"] * p["smoothing_trend"],  # beta = alpha beta*
              "smoothing_seasonal": p["smoothing_seasonal"], "damping_trend": p["damping_trend"]}
    res = mod.smooth(np.array([values[n] for n in mod.param_names]))
    ets = np.asarray(res.forecast(len(forecast)))
    assert np.allclose(ets, forecast, rtol=1e-9, atol=0), (ets, forecast)


def filter_case(name, y, trend, season, m, mid_origin):
    p = {"smoothing_level": 0.35, "smoothing_trend": 0.15, "smoothing_seasonal": 0.25,
         "damping_trend": 0.92, "initial_level": float(np.mean(y[:max(m, 1)])),
         "initial_trend": (y[m] - y[0]) / m if m > 1 else y[1] - y[0]}
    if season == "additive":
        p["initial_seasonal"] = [v - p["initial_level"] + 0.5 for v in y[:m]]  # not normalised
    elif season == "multiplicative":
        p["initial_seasonal"] = [1.02 * v / p["initial_level"] for v in y[:m]]
    horizon = 2 * m + 3 if season != "none" else 10
    res = run_fixed(y, trend, season, m, p)
    mid = run_fixed(y[:mid_origin + 1], trend, season, m, p)
    forecast, raw = textbook_forecast(res, trend, season, m, p["damping_trend"], horizon)
    mid_forecast, mid_raw = textbook_forecast(mid, trend, season, m, p["damping_trend"], horizon)
    if season != "multiplicative":
        check_with_ets(y, trend, season, m, p, forecast)
        check_with_ets(y[:mid_origin + 1], trend, season, m, p, mid_forecast)
    rec = {"name": name, "trend": trend, "season_kind": season,
           "season": m if season != "none" else 0, "y": y,
           "alpha": p["smoothing_level"],
           "smoothing_trend": p["smoothing_trend"] if trend != "none" else 0.0,
           "gamma": p["smoothing_seasonal"] if season != "none" else 0.0,
           "phi": p["damping_trend"] if trend == "additive_damped" else 1.0,
           "level0": p["initial_level"], "trend0": p["initial_trend"] if trend != "none" else 0.0,
           "season0": p.get("initial_seasonal", []),
           "fitted": [float(v) for v in res.fittedvalues],
           "horizon": horizon,
           "forecast": forecast, "statsmodels_forecast": raw,
           "mid_origin": mid_origin,
           "mid_forecast": mid_forecast, "statsmodels_mid_forecast": mid_raw}
    return rec


def fit_case(y, fit_end, m, trend, season):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # phi in [0.8, 0.98] as in forecast::ets and recur (statsmodels' default allows 0.995).
        bounds = {"damping_trend": (0.8, 0.98)} if trend == "additive_damped" else None
        res = model(y[:fit_end], trend, season, m, initialization_method="estimated",
                    bounds=bounds).fit()
    p = dict(res.params)
    if season == "none":
        p.pop("initial_seasons", None)
    else:
        p["initial_seasonal"] = [float(v) for v in p["initial_seasons"]]
    full = run_fixed(y, trend, season, m, p)
    test = [float(v) for v in full.fittedvalues[fit_end:]]
    err = np.asarray(y[fit_end:]) - np.asarray(test)
    return {"trend": trend, "season_kind": season, "sse": float(res.sse), "aicc": float(res.aicc),
            "alpha": float(p["smoothing_level"]),
            "smoothing_trend": float(p["smoothing_trend"]) if trend != "none" else 0.0,
            "gamma": float(p["smoothing_seasonal"]) if season != "none" else 0.0,
            "phi": float(p["damping_trend"]) if trend == "additive_damped" else 1.0,
            "test_forecasts": test, "test_rmse": float(np.sqrt(np.mean(err ** 2)))}


def main():
    air, syn = airpassengers(), synthetic()
    filters = [
        filter_case("air_additive_trend_additive_season", air, "additive", "additive", 12, 100),
        filter_case("air_additive_trend_multiplicative_season", air, "additive", "multiplicative", 12, 100),
        filter_case("air_damped_trend_multiplicative_season", air, "additive_damped", "multiplicative", 12, 77),
        filter_case("air_damped_trend_additive_season", air, "additive_damped", "additive", 12, 77),
        filter_case("air_no_trend_multiplicative_season", air, "none", "multiplicative", 12, 60),
        filter_case("synthetic_damped_trend_no_season", syn, "additive_damped", "none", 1, 30),
        filter_case("synthetic_no_trend_no_season", syn, "none", "none", 1, 30),
        filter_case("synthetic_additive_trend_additive_season_7", syn, "additive", "additive", 7, 33),
        filter_case("synthetic_no_trend_additive_season_7", syn, "none", "additive", 7, 33),
    ]
    fit_end, m = 120, 12
    fits = [fit_case(air, fit_end, m, t, s) for t in TRENDS for s in SEASONS]
    out = {"generator": "tests/golden/make_holt_winters_golden.py",
           "statsmodels_version": statsmodels.__version__,
           "filter_cases": filters,
           "fit_cases": {"series": "airpassengers", "y": air, "fit_end": fit_end, "season": m,
                         "models": fits}}
    with open(os.path.join(HERE, "holt_winters_golden.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for r in fits:
        print(f"{r['trend']:16s} {r['season_kind']:15s} sse {r['sse']:10.1f} aicc {r['aicc']:8.2f} "
              f"test rmse {r['test_rmse']:7.2f}")


if __name__ == "__main__":
    main()
