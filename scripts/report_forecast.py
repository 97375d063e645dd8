#!/usr/bin/env python3
"""Runs `recur forecast` with its defaults on every series the project ships and on any folder
of CSV files, and writes a table: recur against naive, seasonal naive, drift and Holt-Winters on
the same test points (RMSE, MAE), recur's interval coverage, the chosen configuration and the
wall time.

    scripts/report_forecast.py [--recur build/cli/recur] [--horizon H] [--seeds 1,2,...]
                               [--csv out.csv] [FOLDER_OR_CSV ...]

With no paths: the bundled airline series and every series of data/series (manifest.csv).
A folder with a manifest.csv (file,target,test_size,season) runs as the manifest says; a folder
without one runs each CSV with its last column as the target and --test-size 24 (or a fifth of
the rows when the file is short). Only the defaults are run: --data, --target, --test-size, plus
--missing interpolate for a series with empty cells (the manifest's season is not passed: recur
infers it). With --seeds, every series runs once per seed and the table gives recur's median and
range. Needs python3 (standard library only).
"""
import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def has_empty_cells(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return any(cell.strip() in ("", "NA") for row in rows[1:] for cell in row)


def jobs_from(paths):
    jobs = []
    if not paths:
        jobs.append(("airpassengers", None, "passengers", 24))
        paths = [os.path.join(ROOT, "data", "series")]
    for p in paths:
        if os.path.isdir(p):
            manifest = os.path.join(p, "manifest.csv")
            if os.path.exists(manifest):
                with open(manifest, newline="") as f:
                    for row in csv.DictReader(f):
                        jobs.append((row["file"][:-4], os.path.join(p, row["file"]), row["target"],
                                     int(row["test_size"])))
                continue
            files = sorted(os.path.join(p, x) for x in os.listdir(p) if x.endswith(".csv"))
        else:
            files = [p]
        for path in files:
            with open(path, newline="") as f:
                rows = list(csv.reader(f))
            target = rows[0][-1]
            n = len(rows) - 1
            jobs.append((os.path.basename(path)[:-4], path, target, min(24, max(2, n // 5))))
    return jobs


def run(recur, job, horizon, seed, out):
    name, path, target, test_size = job
    cmd = [recur, "forecast", "--json", "--output", out, "--target", target,
           "--test-size", str(test_size), "--horizon", str(horizon), "--seed", str(seed)]
    if path:
        cmd += ["--data", path]
        if has_empty_cells(path):
            cmd += ["--missing", "interpolate"]
    start = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if r.returncode != 0:
        return None, seconds, (r.stderr or r.stdout).strip().splitlines()[-1]
    return json.loads(r.stdout), seconds, ""


def fmt(x, digits=4):
    if x is None:
        return "n/a"
    return f"{x:.{digits}g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--recur", default=os.path.join(ROOT, "build", "cli", "recur"))
    ap.add_argument("--horizon", type=int, default=1)
    ap.add_argument("--seeds", default="42")
    ap.add_argument("--csv", default="")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs_from(a.paths):
            results = []
            for seed in seeds:
                d, seconds, err = run(a.recur, job, a.horizon, seed, os.path.join(tmp, "run"))
                if d is None:
                    print(f"{job[0]}: failed: {err}", file=sys.stderr)
                    continue
                results.append((d, seconds))
            if not results:
                rows.append({"series": job[0], "error": "failed"})
                continue
            d = results[0][0]
            recur_rmse = [r[0]["recur"]["rmse"] for r in results]
            base = d["baselines"]
            best_naive = min(x for x in (base["naive"]["rmse"], base["seasonal_naive"]["rmse"]) if x is not None)
            hw = base.get("holt_winters", {}).get("rmse")
            med = statistics.median(recur_rmse)
            rows.append({
                "series": job[0], "rows": d["rows"], "test": d["test_points"], "season": d["season"],
                "recur_rmse": med, "recur_min": min(recur_rmse), "recur_max": max(recur_rmse),
                "recur_mae": statistics.median(r[0]["recur"]["mae"] for r in results),
                "naive": base["naive"]["rmse"], "seasonal_naive": base["seasonal_naive"]["rmse"],
                "drift": base["drift"]["rmse"], "holt_winters": hw,
                "vs_best_naive": med / best_naive if best_naive else None,
                "vs_holt_winters": med / hw if hw else None,
                "coverage80": statistics.median(r[0]["recur"]["coverage80"] for r in results),
                "coverage95": statistics.median(r[0]["recur"]["coverage95"] for r in results),
                "config": d["model"]["configuration"] + (
                    f" + Holt-Winters {d['model']['holt_winters_weight']:.0%}"
                    if d["model"].get("holt_winters_weight") else ""),
                "seconds": statistics.median(r[1] for r in results),
            })
            r = rows[-1]
            print(f"{r['series']}: recur {fmt(r['recur_rmse'])} naive-best x{fmt(r['vs_best_naive'], 3)} "
                  f"HW x{fmt(r['vs_holt_winters'], 3)} ({r['config']}, {r['seconds']:.1f}s)", file=sys.stderr, flush=True)
    print(f"recur forecast defaults, horizon {a.horizon}, seeds {a.seeds}; {cpu_model()}, "
          f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}\n")
    multi = len(seeds) > 1
    head = ["series", "rows", "test", "season", "recur RMSE" + (" (median; range)" if multi else ""), "MAE",
            "naive", "seasonal naive", "drift", "Holt-Winters", "recur / best naive", "recur / HW",
            "80% / 95% covered", "chosen", "wall s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    ok = [r for r in rows if "error" not in r]
    for r in rows:
        if "error" in r:
            print(f"| {r['series']} | failed |" + " |" * (len(head) - 2))
            continue
        rr = fmt(r["recur_rmse"]) + (f" ({fmt(r['recur_min'])}-{fmt(r['recur_max'])})" if multi else "")
        print(f"| {r['series']} | {r['rows']} | {r['test']} | {r['season']} | {rr} | {fmt(r['recur_mae'])} | "
              f"{fmt(r['naive'])} | {fmt(r['seasonal_naive'])} | {fmt(r['drift'])} | {fmt(r['holt_winters'])} | "
              f"{fmt(r['vs_best_naive'], 3)} | {fmt(r['vs_holt_winters'], 3)} | "
              f"{r['coverage80']:.0%} / {r['coverage95']:.0%} | {r['config']} | {r['seconds']:.1f} |")
    if ok:
        beats = sum(1 for r in ok if r["vs_best_naive"] is not None and r["vs_best_naive"] < 1)
        hw = [r["vs_holt_winters"] for r in ok if r["vs_holt_winters"] is not None]
        print(f"\nrecur beats the better of naive / seasonal naive on {beats} of {len(ok)}; "
              f"median recur / Holt-Winters RMSE {statistics.median(hw):.3f}; "
              f"median 80% coverage {statistics.median(r['coverage80'] for r in ok):.0%}, "
              f"95% {statistics.median(r['coverage95'] for r in ok):.0%}.")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=sorted({k for r in rows for k in r}))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
