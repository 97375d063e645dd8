#!/usr/bin/env bash
# Runs recur's ONNX exports in onnxruntime and reports, per model, the largest absolute
# difference between onnxruntime's outputs and recur's (docs/onnx.md, "onnxruntime").
#
#   scripts/onnx_runtime_check.sh [build-dir]        (default: build; needs recur-tests built)
#
# onnxruntime comes from the npm registry as onnxruntime-node (its CPU runtime is inside the
# package; --ignore-scripts skips the optional GPU download), installed into a scratch folder
# ($ONNX_CHECK_DIR, default a fresh /tmp folder; reused when it already has it). The models are
# the ONNX round-trip test cases (tests/model/onnx_test.cpp), written with their inputs and
# recur's outputs by the test OnnxRuntimeCases.WriteForOnnxRuntime; scripts/onnx_runtime_check.js
# runs them. Exit status: 0 all within 1e-5, 1 a model differs or fails, 2 usage, 3 no
# onnxruntime.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
tests=$build/tests/recur-tests
if [ ! -x "$tests" ]; then
  echo "onnx_runtime_check: no $tests; build it first: cmake --build $build --target recur-tests" >&2
  exit 2
fi
command -v node >/dev/null && command -v npm >/dev/null || { echo "onnx_runtime_check: needs node and npm" >&2; exit 3; }
work=${ONNX_CHECK_DIR:-$(mktemp -d /tmp/recur-onnxruntime.XXXXXX)}
mkdir -p "$work/npm" "$work/cases"
if [ ! -d "$work/npm/node_modules/onnxruntime-node" ]; then
  echo "installing onnxruntime-node into $work/npm ..." >&2
  (cd "$work/npm" && [ -f package.json ] || echo '{"private": true}' > "$work/npm/package.json")
  if ! (cd "$work/npm" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node >&2); then
    echo "onnx_runtime_check: npm could not install onnxruntime-node (no registry access?)" >&2
    exit 3
  fi
fi
rm -f "$work/cases"/*
RECUR_ONNX_EXPORT_DIR="$work/cases" "$tests" --gtest_filter=OnnxRuntimeCases.WriteForOnnxRuntime >/dev/null
echo "command: scripts/onnx_runtime_check.sh $*"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores available ($(lscpu | sed -n 's/^Architecture: *//p'))"
NODE_PATH="$work/npm/node_modules" node "$root/scripts/onnx_runtime_check.js" "$work/cases"
