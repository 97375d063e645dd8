#!/bin/sh
# Runs `recur classify` on the bundled digits and DNA splice data with the default settings (and
# DNA with seeds 1-4, to show the spread, and with other recurrent layers) and prints one table row per run.
#   scripts/report_classify.sh [path/to/recur]
set -eu
. "$(dirname "$0")/report_common.sh"
run() {
  label=$1; shift
  measure classify "$@"
  printf '%s\n' "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("| %s | %s | %.4f | %.4f (\"%s\") | %d (best %d) | %.1f s |" % (sys.argv[1], sys.argv[2], d["accuracy"], d["majority_accuracy"], d["majority_class"], d["epochs"], d["best_epoch"], int(sys.argv[3]) / 1e9))
' "$label" "$*" "$nanoseconds"
}
echo "| data | options | test accuracy | majority class | epochs run | wall time |"
echo "|---|---|---|---|---|---|"
run digits --data data/digits.csv --label label --timesteps 8 --features 8
run dna_splice --data data/dna_splice.csv --label class --sequence sequence
for seed in 1 2 3 4; do
  run dna_splice --data data/dna_splice.csv --label class --sequence sequence --seed $seed
done
# Other heads and layers on DNA: the last output only (the default until average pooling
# replaced it), over the same seeds; then Bidirectional, GRU and an Embedding.
for seed in 42 1 2 3 4; do
  run dna_splice --data data/dna_splice.csv --label class --sequence sequence --pooling none --seed $seed
done
run dna_splice --data data/dna_splice.csv --label class --sequence sequence --pooling max
run dna_splice --data data/dna_splice.csv --label class --sequence sequence --bidirectional
run dna_splice --data data/dna_splice.csv --label class --sequence sequence --layer gru
run dna_splice --data data/dna_splice.csv --label class --sequence sequence --embed 8
