#!/bin/sh
# Runs `recur forecast` on the three bundled data sets with the settings reported in README.md
# and prints one line per run: LSTM, naive and seasonal-naive test RMSE / MAE and wall time.
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
print("| %s | %s | %s | %s | %s | %.1f s |" % (sys.argv[1], sys.argv[2], f(d["lstm"]), f(d["naive"]), f(d["seasonal_naive"]), int(sys.argv[3]) / 1e9))
' "$label" "$*" "$nanoseconds"
}
echo "| data | options | LSTM RMSE / MAE | naive | seasonal naive | wall time |"
echo "|---|---|---|---|---|---|"
run airpassengers
run seattle_weather --data data/seattle_weather.csv --target temp_max --features all --season 365
run seattle_weather --data data/seattle_weather.csv --target temp_max --features all --season 365 --test-size 365
run seattle_weather --data data/seattle_weather.csv --target temp_max --features all --season 365 --test-size 365 --lookback 30 --transform none --epochs 30
run macrodata --data data/macrodata.csv --target realgdp --features all
run macrodata --data data/macrodata.csv --target realgdp
run macrodata --data data/macrodata.csv --target realgdp --lookback 4 --epochs 50
