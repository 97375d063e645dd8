#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan, and runs each for SECONDS
# (default 30) on a copy of its committed seed corpus, in a scratch directory: fuzz/corpus is
# only written with --update-corpus. Prints per target the executions, exec/s, corpus size and
# exit status; exits 1 on any finding (a crash, an escaped exception, a sanitizer report, an
# input over the memory or time limit), naming the reproducer files, which are kept.
#
#   scripts/fuzz.sh [SECONDS] [--build-dir DIR] [--jobs N] [--targets "fuzz_npy fuzz_csv"]
#                   [--keep-going] [--update-corpus] [--workdir DIR] [--stack-kb N]
#
#   --build-dir DIR   the fuzz build (default build-fuzz, or $RECUR_FUZZ_BUILD_DIR)
#   --jobs N          build parallelism (default: the number of CPUs)
#   --targets LIST    the targets to run (default: all ten)
#   --keep-going      run in libFuzzer's fork mode and carry on past findings, collecting every
#                     reproducer (for long runs); without it a target stops at its first finding
#   --update-corpus   merge the inputs that add coverage into fuzz/corpus/<target> afterwards
#   --workdir DIR     where the corpus copies, logs and reproducers go (default: a new
#                     directory under ${TMPDIR:-/tmp}, removed when nothing was found)
#   --stack-kb N      the targets' stack limit (default 2048 KiB, a common thread stack), so
#                     that unbounded recursion (deeply nested JSON) shows at a depth that an
#                     input of -max_len bytes can reach
#   CXX_FUZZ=clang++-16 (environment) picks another clang
#
# Replaying a reproducer: (ulimit -s 2048; build-fuzz/fuzz/<target> <file>); fuzz_hdf5 also
# needs the sanitizer options this script gives it (sanitizer_env_of; fuzz/README.md shows them).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=30
build_dir=${RECUR_FUZZ_BUILD_DIR:-build-fuzz}
jobs=$(nproc 2>/dev/null || echo 2)
targets="fuzz_model_file fuzz_model_file_crc fuzz_load_weights fuzz_npy fuzz_csv fuzz_zip fuzz_hdf5 fuzz_onnx
         fuzz_keras_h5 fuzz_keras_config"
keep_going=0
update_corpus=0
workdir=""
stack_kb=2048
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --keep-going) keep_going=1; shift ;;
    --update-corpus) update_corpus=1; shift ;;
    --workdir) workdir=$2; shift 2 ;;
    --stack-kb) stack_kb=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) seconds=$1; shift ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case $build_dir in /*) ;; *) build_dir=$root/$build_dir ;; esac

# The seed corpus of a target (fuzz_model_file_crc reads the model files of fuzz_model_file)
# and its longest input: a few times the largest seed, so mutations can grow a file.
corpus_of() { case $1 in fuzz_model_file_crc) echo fuzz_model_file ;; *) echo "$1" ;; esac; }
max_len_of() {
  case $1 in
    fuzz_model_file|fuzz_model_file_crc|fuzz_load_weights) echo 32768 ;;  # a checkpoint seed is 22 KB
    fuzz_npy) echo 2048 ;;
    fuzz_csv) echo 4096 ;;
    fuzz_zip) echo 8192 ;;     # the largest seed is a 4 KB .keras archive
    fuzz_hdf5) echo 16384 ;;   # seeds up to 8 KB (a global heap collection alone is 4 KB)
    fuzz_onnx) echo 16384 ;;   # seeds up to 5 KB
    fuzz_keras_h5) echo 65536 ;;  # seeds up to 35 KB
    fuzz_keras_config) echo 16384 ;;  # configs up to 10 KB
    *) echo 4096 ;;
  esac
}

# libFuzzer dictionaries: tokens of each format that mutations splice in (JSON keys, layer
# classes, extreme numbers, deep nesting), written to the work directory for the run.
write_dict() {
  case $1 in
    fuzz_model_file|fuzz_model_file_crc|fuzz_load_weights) cat <<'DICT' ;;
"RECURMDL"
"\x01\x00\x00\x00"
"\xff\xff\xff\xff"
"\xff\xff\xff\xff\xff\xff\xff\x7f"
"\"units\":"
"\"input_shape\":"
"\"layers\":"
"\"class_name\":"
"\"config\":"
"\"layer\":"
"\"cell\":"
"\"metadata\":"
"\"compile\":"
"\"optimizer\":"
"\"schedule\":"
"\"merge_mode\":"
"\"input_dim\":"
"\"output_dim\":"
"\"mask_zero\":"
"\"rate\":"
"\"LSTM\""
"\"GRU\""
"\"SimpleRNN\""
"\"RNN\""
"\"LSTMCell\""
"\"Bidirectional\""
"\"TimeDistributed\""
"\"Embedding\""
"\"Masking\""
"\"Dense\""
"\"Flatten\""
"\"Dropout\""
"\"Activation\""
"\"GlobalMaxPooling1D\""
"\"sparse_categorical_crossentropy\""
"\"AdamW\""
"\"ExponentialDecay\""
"null"
"true"
"-1"
"0"
"1e308"
"-1e308"
"4294967296"
"18446744073709551615"
"99999999999999999999"
"100000"
"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
"{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
DICT
    fuzz_npy) cat <<'DICT' ;;
"\x93NUMPY"
"\x01\x00"
"\x02\x00"
"'descr':"
"'fortran_order':"
"'shape':"
"'<f4'"
"'<f8'"
"'>f8'"
"'|u1'"
"'<i8'"
"'<u8'"
"'|O'"
"'<c8'"
"False"
"True"
"()"
"(0,)"
"4294967296"
"18446744073709551616"
"99999999999999999999999"
"9223372036854775807"
"\x00\x00\x80\x7f"
"\x00\x00\xc0\x7f"
"\xff\xff\xff\xff\xff\xff\xef\x7f"
DICT
    fuzz_csv) cat <<'DICT' ;;
"\""
"\"\""
";"
"|"
"\x09"
"\x0d\x0a"
"\x0d"
"\xef\xbb\xbf"
"NA"
"N/A"
"NaN"
"null"
"?"
"inf"
"1e309"
"-0"
"1,5"
"1.234,5"
"year"
"quarter"
"month"
"1959-Q1"
"1959-01"
"1959-02-29"
"2020-01-01 00:00"
"2020-01-01T00:00:00"
"19580329"
"1960"
DICT
    fuzz_zip) cat <<'DICT' ;;
"PK\x03\x04"
"PK\x01\x02"
"PK\x05\x06"
"PK\x06\x06"
"PK\x06\x07"
"PK\x07\x08"
"\x01\x00\x10\x00"
"UT\x09\x00"
"\x08\x00"
"\x14\x00"
"-\x00"
"\xff\xff"
"\xff\xff\xff\xff"
"\xff\xff\xff\xff\xff\xff\xff\xff"
"metadata.json"
"config.json"
"model.weights.h5"
"assets/"
"../"
"/"
"\\"
"C:"
DICT
    fuzz_hdf5) cat <<'DICT' ;;
"\x89HDF\x0d\x0a\x1a\x0a"
"OHDR"
"OCHK"
"TREE"
"HEAP"
"SNOD"
"GCOL"
"BTHD"
"BTLF"
"BTIN"
"FRHP"
"FHDB"
"FHIB"
"FSHD"
"FSSE"
"\xff\xff\xff\xff\xff\xff\xff\xff"
"\x00\x00\x00\x00\x00\x00\x00\x00"
"\x00\x00\x00\x80"
"\xff\xff\xff\x7f"
"layer_names"
"weight_names"
"model_weights"
"keras_version"
"vars"
DICT
    fuzz_onnx) cat <<'DICT' ;;
"\x08\x08"
"\x08\x11"
"\xff\xff\xff\xff\xff\xff\xff\xff\x01"
"\x80\x80\x80\x80\x10"
"LSTM"
"GRU"
"RNN"
"Gemm"
"MatMul"
"Add"
"Sigmoid"
"Softmax"
"Tanh"
"Relu"
"Transpose"
"Squeeze"
"Unsqueeze"
"Reshape"
"Slice"
"Concat"
"Gather"
"Identity"
"hidden_size"
"direction"
"bidirectional"
"reverse"
"activations"
"linear_before_reset"
"layout"
"axis"
"axes"
"perm"
"transA"
"transB"
"clip"
"input_forget"
"ai.onnx"
"com.microsoft"
DICT
    fuzz_keras_h5) cat <<'DICT' ;;
"\x89HDF\x0d\x0a\x1a\x0a"
"OHDR"
"TREE"
"HEAP"
"SNOD"
"GCOL"
"\xff\xff\xff\xff\xff\xff\xff\xff"
"\x00\x00\x00\x80"
"model_config"
"training_config"
"model_weights"
"layer_names"
"weight_names"
"keras_version"
"backend"
"kernel:0"
"recurrent_kernel:0"
"bias:0"
"\"class_name\": "
"\"units\": "
"\"batch_input_shape\": "
"\"layers\": "
"\"config\": "
"null"
"-1"
"4294967296"
"1e308"
DICT
    fuzz_keras_config) cat <<'DICT' ;;
"\"class_name\":"
"\"config\":"
"\"layers\":"
"\"name\":"
"\"units\":"
"\"activation\":"
"\"recurrent_activation\":"
"\"return_sequences\":"
"\"return_state\":"
"\"go_backwards\":"
"\"stateful\":"
"\"unroll\":"
"\"reset_after\":"
"\"use_bias\":"
"\"dropout\":"
"\"batch_shape\":"
"\"batch_input_shape\":"
"\"input_shape\":"
"\"input_dim\":"
"\"output_dim\":"
"\"mask_zero\":"
"\"mask_value\":"
"\"rate\":"
"\"layer\":"
"\"backward_layer\":"
"\"merge_mode\":"
"\"cell\":"
"\"cells\":"
"\"inbound_nodes\":"
"\"input_layers\":"
"\"output_layers\":"
"\"args\":"
"\"kwargs\":"
"\"keras_history\":"
"\"build_config\":"
"\"compile_config\":"
"\"module\":"
"\"registered_name\":"
"\"dtype\":"
"\"target_shape\":"
"\"n\":"
"\"axis\":"
"\"Sequential\""
"\"Functional\""
"\"InputLayer\""
"\"LSTM\""
"\"GRU\""
"\"SimpleRNN\""
"\"RNN\""
"\"LSTMCell\""
"\"StackedRNNCells\""
"\"Bidirectional\""
"\"TimeDistributed\""
"\"Embedding\""
"\"Masking\""
"\"Dense\""
"\"Dropout\""
"\"Flatten\""
"\"Reshape\""
"\"RepeatVector\""
"\"Concatenate\""
"\"Add\""
"\"GlobalAveragePooling1D\""
"\"hard_sigmoid\""
"\"softmax\""
"\"keras.layers\""
"\"__tensor__\""
"null"
"true"
"-1"
"0"
"1e308"
"4294967296"
"18446744073709551615"
"100000"
"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
"{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
DICT
    *) ;;
  esac
}

cxx=${CXX_FUZZ:-clang++}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found; libFuzzer needs clang (Debian: apt-get install clang" \
       "libclang-rt-14-dev), or set CXX_FUZZ to a clang++" >&2
  exit 2
fi
echo "== building the fuzz targets in $build_dir (clang++, -fsanitize=fuzzer,address,undefined)"
cmake -S "$root" -B "$build_dir" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DRECUR_FUZZ=ON -DRECUR_BUILD_TESTS=OFF -DRECUR_BUILD_EXAMPLES=OFF -DRECUR_BUILD_BENCH=OFF \
  -DRECUR_BUILD_CLI=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$build_dir" -j "$jobs" --target $targets

if [ -z "$workdir" ]; then
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/recur-fuzz.XXXXXX")
  own_workdir=1
else
  mkdir -p "$workdir"
  own_workdir=0
fi

# One thread: reproducible runs, and the sanitizers' cost is not multiplied by a thread pool.
export RECUR_NUM_THREADS=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# Sanitizer options of one target, as environment assignments. Every target that reads model
# files can reach libhdf5 (Model::load and load_weights tell the formats apart by their first
# bytes), which is not instrumented and, on a damaged file, allocates buffers sized by the file's fields before
# it checks them against the file's end (H5C_protect: up to exabytes). allocator_may_return_null
# makes such a malloc return NULL, as glibc's does, and libhdf5 then refuses the file;
# max_allocation_size_mb refuses the same way those below that but above libFuzzer's malloc
# limit (-rss_limit_mb), which would otherwise count as an out-of-memory. recur's own
# allocations go through operator new, which still reports. libhdf5 also leaks on some of its
# error paths: scripts/lsan_suppressions.txt.
sanitizer_env_of() {
  case $1 in
    fuzz_hdf5|fuzz_keras_h5|fuzz_keras_config|fuzz_load_weights|fuzz_onnx|fuzz_model_file|fuzz_model_file_crc)
      echo "ASAN_OPTIONS=$ASAN_OPTIONS:allocator_may_return_null=1:max_allocation_size_mb=1536"
      echo "LSAN_OPTIONS=suppressions=$root/scripts/lsan_suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}" ;;
    *)
      echo "ASAN_OPTIONS=$ASAN_OPTIONS"
      echo "LSAN_OPTIONS=${LSAN_OPTIONS:-}" ;;
  esac
}

# Replays each reproducer (the first 40) and prints every distinct report once: its first line
# (the uncaught exception's what(), the sanitizer's error, the broken invariant, the timeout or
# out-of-memory), the first frame in recur's sources, and one reproducer.
report_distinct() {
  local bin=$1 findings=$2 f out sig at key seen="" n=0
  for f in $findings; do
    n=$((n + 1))
    [ "$n" -gt 40 ] && break
    out=$(ulimit -s "$stack_kb" 2>/dev/null; timeout 60 env "${run_env[@]}" "$bin" -rss_limit_mb=2048 -timeout=10 "$f" 2>&1 || true)
    sig=$(printf '%s\n' "$out" | grep -m1 -oE 'what\(\): .*|runtime error: .*|recur fuzz: .*|ERROR: (AddressSanitizer|LeakSanitizer): [a-z-]+( [a-z-]+)*|ERROR: libFuzzer: [a-z-]+( [a-z-]+)*( \(malloc\([0-9]+\)\))?' \
            | cut -c1-200 || true)
    at=$(printf '%s\n' "$out" | grep -m1 -oE '/src/[^ ]+:[0-9]+' | sed -E 's|.*/src/|src/|' || true)
    key=$(printf '%s %s' "$sig" "$at" | sed -E 's/[0-9]+/N/g')
    case $seen in *"|$key|"*) continue ;; esac
    seen="$seen|$key|"
    echo "      ${sig:-(no report line; see the log)}${at:+  [at $at]}"
    echo "        reproducer: $f"
  done
}

status=0
summary=""
for t in $targets; do
  bin=$build_dir/fuzz/$t
  corpus=$workdir/corpus/$t
  artifacts=$workdir/artifacts/$t
  log=$workdir/$t.log
  mkdir -p "$corpus" "$artifacts"
  seeds=$root/fuzz/corpus/$(corpus_of "$t")
  if [ -d "$seeds" ]; then cp "$seeds"/* "$corpus"/ 2>/dev/null || true; fi
  write_dict "$t" >"$workdir/$t.dict"
  mapfile -t run_env < <(sanitizer_env_of "$t")
  args=(-max_total_time="$seconds" -max_len="$(max_len_of "$t")" -rss_limit_mb=2048 -timeout=10
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -s "$workdir/$t.dict" ] && args+=(-dict="$workdir/$t.dict")
  if [ "$keep_going" = 1 ]; then
    args+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  fi
  echo "== $t: ${seconds}s, -max_len=$(max_len_of "$t"), log $log"
  rc=0
  (ulimit -s "$stack_kb" 2>/dev/null; exec env "${run_env[@]}" "$bin" "${args[@]}" "$corpus") >"$log" 2>&1 || rc=$?

  # The last status line: "#N ... corp: ... exec/s: X ..." (both the plain and the fork mode).
  last=$(grep -E '^#[0-9]+' "$log" | grep 'exec/s' | tail -n 1 || true)
  execs=$(printf '%s\n' "$last" | sed -nE 's/^#([0-9]+).*/\1/p')
  execs_stat=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  [ -n "$execs_stat" ] && execs=$execs_stat
  rate=$(printf '%s\n' "$last" | sed -nE 's/.*exec\/s:? *([0-9]+).*/\1/p')
  rate_stat=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  [ -n "$rate_stat" ] && rate=$rate_stat
  # Fork mode: the status line's rate is the last job's; the whole run's is executions / time.
  elapsed=$(printf '%s\n' "$last" | sed -nE 's/.* time: *([0-9]+)s.*/\1/p')
  [ -n "$elapsed" ] && [ "$elapsed" -gt 0 ] && [ -n "$execs" ] && rate=$((execs / elapsed))
  cov=$(printf '%s\n' "$last" | sed -nE 's/.*cov: *([0-9]+).*/\1/p')
  files=$(find "$corpus" -type f | wc -l)
  kb=$(( ($(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}') + 1023) / 1024 ))
  findings=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \
               -o -name 'leak-*' \) | sort)
  line="$t: ${execs:-?} executions, ${rate:-?} exec/s, coverage ${cov:-?}, corpus $files files (${kb} KiB), exit $rc"
  if [ -n "$findings" ] || [ "$rc" -ne 0 ]; then
    status=1
    line="$line  FINDING"
    echo "$line"
    if [ -z "$findings" ]; then
      echo "    no reproducer written; see $log"
    else
      echo "    $(printf '%s\n' "$findings" | wc -l) reproducer(s) in $artifacts; distinct reports:"
      report_distinct "$bin" "$findings"
    fi
  else
    echo "$line"
  fi
  summary="$summary$line"$'\n'

  if [ "$update_corpus" = 1 ]; then
    mkdir -p "$seeds"
    env "${run_env[@]}" "$bin" -merge=1 -max_len="$(max_len_of "$t")" -rss_limit_mb=2048 -timeout=10 \
      "$seeds" "$corpus" >>"$log" 2>&1 || true
    echo "    merged into fuzz/corpus/$(corpus_of "$t"): $(find "$seeds" -type f | wc -l) files"
  fi
done

echo "== summary (${seconds}s per target)"
printf '%s' "$summary"
if [ "$status" -ne 0 ]; then
  echo "== findings: reproducers and logs are kept in $workdir"
elif [ "$own_workdir" = 1 ]; then
  rm -rf "$workdir"
fi
exit "$status"
