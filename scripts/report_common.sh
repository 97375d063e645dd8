# Sourced by the report_*.sh scripts: the recur binary, a scratch folder, and `measure`, which
# runs `recur SUBCOMMAND --json ARGS...` and sets $json (its output) and $nanoseconds (wall time).
recur=${1:-build/cli/recur}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
measure() {
  subcommand=$1; shift
  start=$(date +%s%N)
  json=$("$recur" "$subcommand" --json --output "$out/run" "$@")
  end=$(date +%s%N)
  nanoseconds=$((end - start))
}
