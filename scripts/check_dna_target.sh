#!/bin/sh
# Issue 10's classifier target, checked where it belongs (not in a unit test): `recur classify`
# with its defaults must reach a test accuracy of at least 0.93 on the bundled DNA splice data for
# seeds 1-5, under every fused-kernel path this CPU has (RECUR_ISA avx2, and avx512 when the CPU
# has it) and both OpenBLAS kernel choices (its own detection, and OPENBLAS_CORETYPE=Haswell).
# Prints one line per run and a summary; exits 1 if any run is below the target.
#   scripts/check_dna_target.sh [path/to/recur]
set -eu
. "$(dirname "$0")/report_common.sh"
target=0.93
isas=avx2
if grep -q avx512f /proc/cpuinfo 2>/dev/null; then isas="avx2 avx512"; fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "| RECUR_ISA | OPENBLAS_CORETYPE | seed | test accuracy | epochs | wall time |"
echo "|---|---|---|---|---|---|"
runs=0
missed=0
for isa in $isas; do
  for core in detected Haswell; do
    for seed in 1 2 3 4 5; do
      if [ "$core" = detected ]; then
        json=$(env -u OPENBLAS_CORETYPE RECUR_ISA=$isa "$recur" classify --json --output "$out/run" \
               --data data/dna_splice.csv --label class --sequence sequence --seed $seed)
      else
        json=$(env OPENBLAS_CORETYPE=$core RECUR_ISA=$isa "$recur" classify --json --output "$out/run" \
               --data data/dna_splice.csv --label class --sequence sequence --seed $seed)
      fi
      line=$(printf '%s\n' "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ok = d["accuracy"] >= float(sys.argv[1])
print("%s %.4f %d %.1f" % ("ok" if ok else "MISSED", d["accuracy"], d["epochs"], d["train_seconds"]))' "$target")
      set -- $line
      echo "| $isa | $core | $seed | $2 $( [ "$1" = ok ] || echo '(below 0.93)') | $3 | $4 s |"
      runs=$((runs + 1))
      [ "$1" = ok ] || missed=$((missed + 1))
    done
  done
done
echo
echo "target $target: met on $((runs - missed)) of $runs runs"
[ "$missed" -eq 0 ]
