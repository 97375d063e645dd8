#!/usr/bin/env bash
# The whole test suite built with clang under AddressSanitizer and UndefinedBehaviorSanitizer
# (issue 11). Too slow for every CI run on 2 cores (see the README's reliability section for the
# measured time); run it before a release and after any change to a loader or kernel.
#   scripts/sanitize_tests.sh [BUILD_DIR]      (default build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g"
start=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DRECUR_BUILD_BENCH=OFF -DRECUR_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$build" -j"$(nproc)"
built=$(date +%s)
# detect_leaks: the tests spawn the CLI, which is checked too (it inherits the options).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export LSAN_OPTIONS=suppressions=$(cd "$(dirname "$0")" && pwd)/lsan_suppressions.txt
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -E 'consumer_find_package|CompileTime'
end=$(date +%s)
echo "sanitized suite: build $((built - start)) s, tests $((end - built)) s on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
