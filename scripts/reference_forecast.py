#!/usr/bin/python3
"""Reference forecasts for the development series, on recur forecast's protocol.

Runs with Debian 12's python3-statsmodels 0.13.5 (hence /usr/bin/python3, not a pyenv one):
    apt-get install python3-statsmodels
    /usr/bin/python3 scripts/reference_forecast.py [--horizon H] [--csv OUT.csv] [FILE.csv ...]
prints markdown tables of RMSE and MAE and writes one CSV row per series (default
build/reference_forecast.csv).

Protocol (the one `recur forecast` uses, cli/forecast.cpp):
  * the last test_size points are the test set, every earlier point is training data;
  * each test point t is forecast H steps ahead from the actual values y[0..t-H]
    (H = 1: one step ahead; the origin of the first test targets lies in the training part);
  * models are fitted on the training part only; their parameters then stay fixed while their
    states are updated with the actual values through the test part;
  * RMSE and MAE over the test points, in the series' own units;
  * missing cells are filled like `--missing interpolate` (linear, ends copy the nearest value),
    and the errors are taken against the filled values, as recur does.

Methods:
  naive           y[t-H]
  seasonal naive  y[t-k*m] with k*m the smallest multiple of the season m that is >= H (as recur;
                  equals naive when m = 1)
  drift           y[t-H] + H*slope, slope = (y[n_train-1]-y[0])/(n_train-1), fixed from training
  ets             statsmodels ExponentialSmoothing (Holt-Winters): trend none / additive /
                  additive damped, x season additive / multiplicative (multiplicative only for a
                  positive series; no season when m < 2), chosen by AICc on the training part.
                  Initial states estimated (heuristic when m > 24). The fitted parameters are run
                  through the whole series with statsmodels' own recursions (checked against its
                  fitted values on the training part).
  sarima          statsmodels SARIMAX, tiny AICc search on the training part: d from a KPSS test
                  (0 or 1; a constant when d = 0); for 2 <= m <= 52 seasonal D = 1 with a
                  (0,1,1)_m or (1,1,0)_m seasonal part and (p,q) in {(0,1),(1,0),(1,1),(2,0),
                  (0,2)} (the airline model is one of them); for m = 1 (p,q) in {(1,0),(0,1),(1,1),
                  (2,0),(0,2),(2,1),(1,2),(2,2)}; for m > 52 (half-hourly data with a weekly
                  season) the series is seasonally differenced by hand, y[t]-y[t-m], and an ARMA
                  of the same search is fitted to that (SARIMA (p,d,q)(0,1,0)_m). The fitted
                  model is applied to the full series with fixed parameters (res.apply), and
                  H-step forecasts come from its Kalman filter's predicted states.

The series and their test sizes and seasons come from data/series/manifest.csv (columns file,
target,test_size,season) plus the bundled data/airpassengers.csv (passengers, 24, 12).
"""
import argparse
import csv
import math
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

try:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    from statsmodels.tsa.stattools import kpss
except ImportError:  # pragma: no cover
    sys.exit("statsmodels is missing: apt-get install python3-statsmodels, and run with /usr/bin/python3")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILTIN = [("data/airpassengers.csv", "passengers", 24, 12)]


# ----------------------------------------------------------------------------- data

def read_manifest(path):
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.append((os.path.join(os.path.dirname(path), r["file"]), r["target"],
                         int(r["test_size"]), int(r["season"])))
    return rows


def read_series(path, target):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        k = header.index(target)
        vals = []
        for row in reader:
            if not row:
                continue
            cell = row[k].strip()
            vals.append(float(cell) if cell not in ("", "NA", "NaN", "nan") else math.nan)
    y = np.array(vals, dtype=float)
    missing = int(np.isnan(y).sum())
    if missing:  # as recur's --missing interpolate
        idx = np.arange(len(y))
        ok = ~np.isnan(y)
        y[~ok] = np.interp(idx[~ok], idx[ok], y[ok])  # np.interp copies the end values
    return y, missing


def errors(actual, pred):
    e = np.asarray(actual) - np.asarray(pred)
    return float(np.sqrt(np.mean(e * e))), float(np.mean(np.abs(e)))


# ----------------------------------------------------------------------------- ETS

def hw_run(y, p, trend, damped, seasonal, m, n_fit, h):
    """statsmodels' Holt-Winters recursions (holtwinters/model.py _predict) over y with fixed
    parameters p. Returns (fitted one-step values for y[0..n_fit-1], h-step forecasts f where
    f[o] is the forecast of y[o+h] made after seeing y[0..o])."""
    n = len(y)
    alpha = p["smoothing_level"]
    beta = p["smoothing_trend"] if trend else 0.0
    gamma = p["smoothing_seasonal"] if seasonal else 0.0
    phi = p["damping_trend"] if damped else 1.0
    l = p["initial_level"]
    b = p["initial_trend"] if trend else 0.0
    s = list(np.atleast_1d(p["initial_seasons"])) if seasonal else [0.0]
    mm = m if seasonal else 1
    # season for observation i is s[i]; s grows by one per observation
    phi_h = sum(phi ** j for j in range(1, h + 1)) if trend else 0.0
    fitted = np.empty(n)
    fore = np.full(n, np.nan)
    for i in range(n):
        lb = l + phi * b if trend else l
        fitted[i] = lb * s[i] if seasonal == "mul" else lb + (s[i] if seasonal else 0.0)
        yi = y[i]
        if seasonal == "mul":
            l_new = alpha * yi / s[i] + (1 - alpha) * lb
            s.append(gamma * yi / lb + (1 - gamma) * s[i])
        elif seasonal == "add":
            l_new = alpha * (yi - s[i]) + (1 - alpha) * lb
            s.append(gamma * (yi - lb) + (1 - gamma) * s[i])
        else:
            l_new = alpha * yi + (1 - alpha) * lb
            s.append(0.0)
        if trend:
            b = beta * (l_new - l) + (1 - beta) * phi * b
        l = l_new
        # forecast of y[i+h] from the state after y[i]
        base = l + phi_h * b
        if seasonal:
            si = s[i + 1 + (h - 1) % mm]  # the season of observation i+h
            fore[i] = base * si if seasonal == "mul" else base + si
        else:
            fore[i] = base
    return fitted[:n_fit], fore


def lowest_aicc(candidates, fit, label):
    """Fits every candidate with `fit` (statsmodels' warnings silenced), skips the ones that fail
    or have no finite AICc, and returns (result, candidate) of the lowest AICc."""
    best = None
    for cand in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fit(cand)
        except Exception as exc:  # noqa: BLE001
            print(f"    {label} {cand}: {exc}", file=sys.stderr)
            continue
        if np.isfinite(res.aicc) and (best is None or res.aicc < best[0].aicc):
            best = (res, cand)
    return best


def fit_ets(y, n_train, m, h):
    train = y[:n_train]
    seasons = [None]
    if m >= 2 and n_train >= 2 * m + 2:
        seasons = ["add"] + (["mul"] if np.all(train > 0) else [])
    candidates = [(trend, damped, seasonal) for seasonal in seasons
                  for trend, damped in ((None, False), ("add", False), ("add", True))]
    res, (trend, damped, seasonal) = lowest_aicc(
        candidates,
        lambda c: ExponentialSmoothing(train, trend=c[0], damped_trend=c[1], seasonal=c[2],
                                       seasonal_periods=m if c[2] else None,
                                       initialization_method="heuristic" if (c[2] and m > 24) else "estimated").fit(),
        "ets")
    p = dict(res.params)
    fitted, fore = hw_run(y, p, trend, damped, seasonal, m, n_train, h)
    gap = float(np.max(np.abs(fitted - np.asarray(res.fittedvalues))))
    scale = float(np.max(np.abs(train)))
    if gap > 1e-6 * max(scale, 1.0):
        print(f"    warning: ETS recursion differs from statsmodels' fitted values by {gap:g}", file=sys.stderr)
    # label: trend (N none, A additive, Ad damped), season (N none, A additive, M multiplicative)
    name = ("N" if trend is None else ("Ad" if damped else "A")) + "," + {None: "N", "add": "A", "mul": "M"}[seasonal]
    return fore, name


# ----------------------------------------------------------------------------- SARIMA

def choose_d(x):
    x = x[~np.isnan(x)]
    if len(x) < 12:
        return 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = kpss(x, regression="c", nlags="auto")[1]
    return 1 if p < 0.05 else 0


def state_forecasts(res, h):
    """f[o] = forecast of endog[o+h] from data up to o, for o = 0..nobs-1 (NaN past the end)."""
    fr = res.filter_results
    T = fr.transition[:, :, 0]
    c = fr.state_intercept[:, 0]
    Z = fr.design[:, :, 0]
    d = fr.obs_intercept[:, 0]
    A = fr.predicted_state[:, 1:]  # a_{o+1|o}, o = 0..nobs-1
    for _ in range(h - 1):
        A = T @ A + c[:, None]
    f = (Z @ A + d[:, None])[0]
    return f


def fit_sarima(y, n_train, m, h):
    seasonal = 2 <= m <= 52 and n_train >= 3 * m
    long_season = m > 52
    if long_season:
        if h > m:
            raise ValueError("horizon longer than the season")
        x = y[m:] - y[:-m]  # x[k] = y[k+m] - y[k]
        n_fit = n_train - m
    else:
        x = y
        n_fit = n_train
    train = x[:n_fit]
    if seasonal:
        D = 1
        sd = train[m:] - train[:-m]
        d = choose_d(sd)
        grid = [((p, d, q), (P, D, Q, m)) for (P, Q) in ((0, 1), (1, 0))
                for (p, q) in ((0, 1), (1, 0), (1, 1), (2, 0), (0, 2))]
    else:
        d = choose_d(train)
        grid = [((p, d, q), (0, 0, 0, 0))
                for (p, q) in ((1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (2, 1), (1, 2), (2, 2))]
    trend = "c" if (d == 0 and not seasonal) else None
    res, (order, sorder) = lowest_aicc(
        grid, lambda c: SARIMAX(train, order=c[0], seasonal_order=c[1], trend=trend).fit(disp=False, maxiter=200),
        "sarima")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = res.apply(x)  # same parameters, states filtered through the whole series
    fx = state_forecasts(full, h)  # fx[o] forecasts x[o+h]
    if long_season:
        # y[k+m] = y[k] + x[k]; forecast of y[t] made at origin t-h (h <= m): y[t-m] + xhat
        fore = np.full(len(y), np.nan)
        for o in range(len(x)):
            t = o + h + m  # y index of the target of x[o+h]
            if t < len(y):
                fore[t - h] = y[t - m] + fx[o]
        name = f"({order[0]},{order[1]},{order[2]})(0,1,0){m}"
    else:
        fore = fx
        name = f"({order[0]},{order[1]},{order[2]})" + \
            (f"({sorder[0]},{sorder[1]},{sorder[2]}){m}" if seasonal else "") + ("+c" if trend else "")
    return fore, name


# ----------------------------------------------------------------------------- main

def evaluate(path, target, test_size, m, h):
    y, missing = read_series(path, target)
    n = len(y)
    n_train = n - test_size
    targets = np.arange(n_train, n)
    origins = targets - h
    actual = y[targets]
    out = {"file": os.path.relpath(path, ROOT), "target": target, "rows": n, "missing": missing,
           "test_size": test_size, "season": m, "horizon": h}
    back = m * ((h + m - 1) // m)
    out["naive"] = errors(actual, y[origins])
    out["seasonal_naive"] = errors(actual, y[targets - back]) if targets[0] >= back else (math.nan, math.nan)
    slope = (y[n_train - 1] - y[0]) / (n_train - 1)
    out["drift"] = errors(actual, y[origins] + h * slope)
    t0 = time.time()
    spent = {}
    for key, fit in (("ets", fit_ets), ("sarima", fit_sarima)):
        start = time.time()
        try:
            fore, name = fit(y, n_train, m, h)
            out[key] = errors(actual, fore[origins])
            out[key + "_model"] = name
        except Exception as exc:  # noqa: BLE001
            print(f"  {path}: {key.upper()} failed: {exc}", file=sys.stderr)
            out[key], out[key + "_model"] = (math.nan, math.nan), "failed"
        spent[key] = time.time() - start
    out["seconds"] = round(time.time() - t0, 1)
    print(f"  {out['file']}: ets {spent['ets']:.1f}s, sarima {spent['sarima']:.1f}s", file=sys.stderr)
    return out


METHODS = ["naive", "seasonal_naive", "drift", "ets", "sarima"]


def fmt(v):
    if not np.isfinite(v):
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.2f}"
    if a >= 0.1:
        return f"{v:.3f}"
    return f"{v:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="CSV files from the manifest (default: all, plus data/airpassengers.csv)")
    ap.add_argument("--manifest", default=os.path.join(ROOT, "data/series/manifest.csv"))
    ap.add_argument("--horizon", type=int, default=1, help="steps ahead (as recur's --horizon)")
    ap.add_argument("--csv", default=os.path.join(ROOT, "build", "reference_forecast.csv"),
                    help="where to write the results (default: build/reference_forecast.csv)")
    args = ap.parse_args()
    if args.horizon < 1:
        ap.error("--horizon must be >= 1")
    entries = [(os.path.join(ROOT, f), t, ts, s) for f, t, ts, s in BUILTIN] + read_manifest(args.manifest)
    if args.files:
        want = {os.path.abspath(f) for f in args.files}
        entries = [e for e in entries if os.path.abspath(e[0]) in want]
        if not entries:
            sys.exit("none of the files is in the manifest")
    results = [evaluate(p, t, ts, s, args.horizon) for p, t, ts, s in entries]

    # CSV: one row per series, rmse and mae per method
    cols = ["file", "target", "rows", "missing", "test_size", "season", "horizon"]
    for k in METHODS:
        cols += [f"{k}_rmse", f"{k}_mae"]
    cols += ["ets_model", "sarima_model"]
    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    with open(args.csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for r in results:
            row = [r[c] for c in cols[:7]]
            for k in METHODS:
                row += [f"{r[k][0]:.6g}", f"{r[k][1]:.6g}"]
            row += [r["ets_model"], r["sarima_model"]]
            w.writerow(row)

    # Markdown: RMSE (MAE below in a second table), best RMSE in bold
    print(f"\nHorizon {args.horizon}; test = last test_size points; models fitted on the training part.\n")
    for idx, label in ((0, "RMSE"), (1, "MAE")):
        print(f"{label}:\n")
        print("| series | n | test | m | naive | snaive | drift | ETS | SARIMA | ETS model | SARIMA model |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for r in results:
            vals = [r[k][idx] for k in METHODS]
            finite = [v for v in vals if np.isfinite(v)]
            best = min(finite) if finite else None
            cells = [("**" + fmt(v) + "**") if best is not None and v == best else fmt(v) for v in vals]
            name = os.path.basename(r["file"]).removesuffix(".csv") + ":" + r["target"]
            miss = f" ({r['missing']} NA)" if r["missing"] else ""
            print(f"| {name}{miss} | {r['rows']} | {r['test_size']} | {r['season']} | " + " | ".join(cells) +
                  f" | {r['ets_model']} | {r['sarima_model']} |")
        print()
    print(f"wrote {args.csv}", file=sys.stderr)


if __name__ == "__main__":
    main()
