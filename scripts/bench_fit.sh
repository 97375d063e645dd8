#!/usr/bin/env bash
# Whole fit() epochs, recur against PyTorch (issue 14, item 6; BENCHMARKS.md, "Training end to
# end"): build/bench/recur-fit-bench against bench/fit_bench_torch.py (Debian's python3-torch
# 1.13, run with /usr/bin/python3), one model at a time so that both sides of a row run close
# together: recur at its default threads (all cores) and at 1; torch at torch.set_num_threads
# 1 and 2, each with OpenBLAS (which does torch's GEMMs) at 1 and 2 threads. Prints a table:
# model, recur samples/s, torch samples/s at its best setting, ratio; and the same at 1 thread
# each (the comparison that background load on other cores disturbs least).
#
#   BUILD=build-fit scripts/bench_fit.sh [OUT_DIR]
#
# Env: BUILD (default build); MODELS ("padded forecast forecast-air"); RECUR_THREADS ("0 1",
# 0 = default); TORCH_THREADS ("1 2"); BLAS_THREADS ("1 2"); RECUR_ARGS / TORCH_ARGS (extra
# options, e.g. "--epochs 1 --samples 512"); PROFILE (batches of the forward / backward / step
# breakdown, 16; 0 off); TIMEOUT (seconds per torch run, 150: a setting slower than that is cut
# off and reported from the epochs it finished); EXTRAS (1: also torch's padded-pack and
# padded-nopack, for information); SWEEP (1: the sweep above; 0: only the rounds below);
# ROUNDS (3): then, per round and model, recur at its default threads, recur at 1 and torch
# 1 / OpenBLAS 1 back to back (padded at 2048 samples, 2 timed epochs), and the median of the
# per-round ratios: the estimate least moved by load that comes and goes. Every timed run
# holds /tmp/recur-bench.lock, so two benchmarks never overlap; compiles and other jobs can
# still load the machine: loadavg is written before each run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${1:-$(mktemp -d /tmp/bench-fit.XXXXXX)}
LOCK=/tmp/recur-bench.lock
PROFILE=${PROFILE:-16}
TIMEOUT=${TIMEOUT:-150}
mkdir -p "$OUT"
bin=$BUILD/bench/recur-fit-bench
[ -x "$bin" ] || { echo "build $bin first: cmake --build $BUILD --target recur-fit-bench" >&2; exit 1; }

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  grep -m1 'model name' /proc/cpuinfo
  grep -m1 'cpu family' /proc/cpuinfo
  grep -m1 '^model[[:space:]]' /proc/cpuinfo
  echo "cores: $(nproc)"
  echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} RECUR_NUM_THREADS=${RECUR_NUM_THREADS:-unset}"
  /usr/bin/python3 -c 'import torch; print("torch", torch.__version__)'
  /usr/bin/python3 bench/fit_bench_torch.py --check  # torch's padded == its packed formulation
} | tee "$OUT/machine.txt"

# run FILE COMMAND...: under the lock, loadavg first, output to FILE and the console.
run() {
  local file=$1
  shift
  flock "$LOCK" bash -c 'echo "# loadavg $(cat /proc/loadavg)"; "$@"' _ "$@" 2>&1 | tee "$OUT/$file" || true
}

[ "${SWEEP:-1}" = 1 ] && for m in ${MODELS:-padded forecast forecast-air}; do
  for rt in ${RECUR_THREADS:-0 1}; do
    echo "== $m: recur threads $rt" >&2
    run "recur-$m-t$rt.txt" "$bin" --models "$m" --threads "$rt" --profile "$PROFILE" ${RECUR_ARGS:-}
  done
  for t in ${TORCH_THREADS:-1 2}; do
    for b in ${BLAS_THREADS:-1 2}; do
      echo "== $m: torch threads $t, OpenBLAS threads $b" >&2
      run "torch-$m-t$t-blas$b.txt" env OPENBLAS_NUM_THREADS="$b" timeout "$TIMEOUT" /usr/bin/python3 \
        bench/fit_bench_torch.py --models "$m" --threads "$t" --profile "$PROFILE" ${TORCH_ARGS:-}
    done
  done
done
if [ "${SWEEP:-1}" = 1 ] && [ "${EXTRAS:-1}" = 1 ]; then
  # Same semantics with pack_padded_sequence (quadratic backward in torch 1.13: 512 samples, 1
  # epoch) and no masking at all (not the same semantics), at torch 1 / OpenBLAS 1.
  echo "== torch extras: padded-pack, padded-nopack" >&2
  run torch-padded-pack-t1-blas1.txt env OPENBLAS_NUM_THREADS=1 timeout "$TIMEOUT" /usr/bin/python3 \
    bench/fit_bench_torch.py --models padded-pack --threads 1 --samples 512 --epochs 1 --profile 2
  run torch-padded-nopack-t1-blas1.txt env OPENBLAS_NUM_THREADS=1 timeout "$TIMEOUT" /usr/bin/python3 \
    bench/fit_bench_torch.py --models padded-nopack --threads 1 --profile "$PROFILE" ${TORCH_ARGS:-}
fi
for r in $(seq 1 "${ROUNDS:-3}"); do
  for m in ${MODELS:-padded forecast forecast-air}; do
    args=""
    [ "$m" = padded ] && args="--samples 2048 --epochs 2"
    echo "== round $r, $m: recur threads 0 and 1, torch 1 / OpenBLAS 1" >&2
    run "round$r-$m-recur-t0.txt" "$bin" --models "$m" --threads 0 $args
    run "round$r-$m-recur-t1.txt" "$bin" --models "$m" --threads 1 $args
    run "round$r-$m-torch-t1-blas1.txt" env OPENBLAS_NUM_THREADS=1 timeout "$TIMEOUT" /usr/bin/python3 \
      bench/fit_bench_torch.py --models "$m" --threads 1 $args
  done
done
echo "loadavg after: $(cat /proc/loadavg)" | tee -a "$OUT/machine.txt"

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/table.md"
import glob, os, re, statistics, sys
out = sys.argv[1]

def runs(pattern):
    """One record per file: its RESULT line, or the median of the epochs it finished."""
    for path in sorted(glob.glob(os.path.join(out, pattern))):
        epochs, result = [], None
        for line in open(path):
            kv = dict(x.split("=", 1) for x in line.split()[1:] if "=" in x)
            if line.startswith("RESULT "):
                result = kv
            elif line.startswith("EPOCH "):
                epochs.append(float(kv["samples_per_s"]))
        if result is None:
            m = re.match(r"torch-(.+)-t(\d)-blas(\d)\.txt", os.path.basename(path))
            if not m:
                continue
            result = {"model": m[1], "threads": m[2], "blas_threads": m[3],
                      "samples_per_s": str(statistics.median(epochs)) if epochs else "0",
                      "cut": f" cut off after {len(epochs)} epochs"}
        yield result

def best(records, keep=lambda r: True):
    b = {}
    for r in records:
        if keep(r) and (r["model"] not in b or float(r["samples_per_s"]) > float(b[r["model"]]["samples_per_s"])):
            b[r["model"]] = r
    return b

recur_all = list(runs("recur-*.txt"))  # the sweep's files (rounds are round*)
torch_all = list(runs("torch-*.txt"))

def rounds():
    ratios = {}
    for path in sorted(glob.glob(os.path.join(out, "round*-torch-t1-blas1.txt"))):
        base = path[: -len("torch-t1-blas1.txt")]
        t = next(iter(runs(os.path.relpath(path, out))), None)
        for rt in ("t0", "t1"):
            r = next(iter(runs(os.path.relpath(base + f"recur-{rt}.txt", out))), None)
            if t and r and float(t["samples_per_s"]) > 0:
                ratios.setdefault((t["model"], rt), []).append(
                    (float(r["samples_per_s"]), float(t["samples_per_s"]), r["threads"]))
    if not ratios:
        return
    print("\nRounds (recur, then torch 1 / OpenBLAS 1, back to back; medians over rounds):\n")
    print("| model | recur threads | recur samples/s | torch samples/s | recur / torch per round | median ratio |")
    print("|---|---:|---:|---:|---|---:|")
    for (m, rt), v in ratios.items():
        per = [a / b for a, b, _ in v]
        print(f"| {m} | {v[0][2]} | {statistics.median(a for a, _, _ in v):,.0f} | "
              f"{statistics.median(b for _, b, _ in v):,.0f} | {', '.join(f'{x:.2f}' for x in per)} | "
              f"{statistics.median(per):.2f}x |")

def torch_desc(t):
    return f"{t['model']}; torch {t['threads']}, OpenBLAS {t['blas_threads']}{t.get('cut', '')}"

def table(title, rb, tb):
    print(f"\n{title}\n")
    print("| model | recur samples/s | torch samples/s | recur / torch |")
    print("|---|---:|---:|---:|")
    rows = []
    matched = [tb[m] for m in ("padded", "padded-pack") if m in tb]
    if matched:  # torch's faster formulation of the masked semantics
        rows.append(("padded", max(matched, key=lambda r: float(r["samples_per_s"])), ""))
    rows += [(m, tb[m], "") for m in ("forecast", "forecast-air") if m in tb]
    rows += [("padded", tb[m], f" vs torch {m} (information)") for m in ("padded-pack", "padded-nopack") if m in tb]
    for m, t, note in rows:
        r = rb.get(m)
        if not r:
            continue
        rs, ts = float(r["samples_per_s"]), float(t["samples_per_s"])
        print(f"| {m}{note} | {rs:,.0f} ({r['threads']} threads) | {ts:,.0f} ({torch_desc(t)}) | {rs / ts:.2f}x |")

if recur_all and torch_all:
    table("Each at its best thread setting:", best(recur_all), best(torch_all))
    table("Both at 1 thread (torch 1, OpenBLAS 1):", best(recur_all, lambda r: r["threads"] == "1"),
          best(torch_all, lambda r: r["threads"] == "1" and r["blas_threads"] == "1"))
rounds()
PY
echo "raw output in $OUT" >&2
