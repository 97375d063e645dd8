#!/bin/sh
# Runs `recur forecast` on the three bundled data sets with the settings reported in README.md
# and prints one line per run: recur, naive, seasonal-naive, drift and Holt-Winters test RMSE / MAE
# and wall time.
#   scripts/report_datasets.sh [path/to/recur]
set -eu
. "$(dirname "$0")/report_common.sh"
run() {
  label=$1; shift
  measure forecast "$@"
  printf '%s\n' "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = lambda p: "n/a" if p["rmse"] is None else "%.2f / %.2f" % (p["rmse"], p["mae"])
b = d["baselines"]
print("| %s | %s | %s | %s | %s | %s | %s | %.1f s |" % (sys.argv[1], sys.argv[2], f(d["recur"]), f(b["naive"]), f(b["seasonal_naive"]), f(b["drift"]), f(b["holt_winters"]) if "holt_winters" in b else "n/a", int(sys.argv[3]) / 1e9))
' "$label" "$*" "$nanoseconds"
}
echo "| data | options | recur RMSE / MAE | naive | seasonal naive | drift | Holt-Winters | wall time |"
echo "|---|---|---|---|---|---|---|---|"
run airpassengers
run seattle_weather --data data/seattle_weather.csv --target temp_max
run seattle_weather --data data/seattle_weather.csv --target temp_max --features all
run seattle_weather --data data/seattle_weather.csv --target temp_max --test-size 365
run macrodata --data data/macrodata.csv --target realgdp
run macrodata --data data/macrodata.csv --target realgdp --features all
run macrodata --data data/macrodata.csv --target realgdp --horizon 4
