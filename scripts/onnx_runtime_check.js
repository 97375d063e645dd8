// Runs every <case>.onnx of a folder in onnxruntime (onnxruntime-node, CPU) on the inputs of
// <case>.json and compares the outputs with recur's there; prints a Markdown table, one row per
// model: its largest absolute difference over all outputs. Used by onnx_runtime_check.sh.
//   NODE_PATH=<node_modules> node scripts/onnx_runtime_check.js <folder>
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const kTolerance = 1e-5;

function version() {
  let dir = path.dirname(require.resolve('onnxruntime-node'));
  while (dir !== path.dirname(dir)) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8'));
      if (pkg.name === 'onnxruntime-node') return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return '?';
}

async function run(dir, name) {
  const data = JSON.parse(fs.readFileSync(path.join(dir, name + '.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(dir, name + '.onnx'), {graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const [k, v] of Object.entries(data.inputs)) feeds[k] = new ort.Tensor('float32', Float32Array.from(v.values), v.dims);
  const results = await session.run(feeds);
  let diff = 0;
  let values = 0;
  for (const [k, want] of Object.entries(data.outputs)) {
    const got = results[k];
    if (!got) throw new Error(`onnxruntime gave no output '${k}'`);
    if (got.dims.join(',') !== want.dims.join(',')) throw new Error(`output '${k}' is (${got.dims}), recur's (${want.dims})`);
    for (let i = 0; i < want.values.length; ++i) diff = Math.max(diff, Math.abs(got.data[i] - want.values[i]));
    values += want.values.length;
  }
  return {diff, values, outputs: Object.keys(data.outputs).length};
}

(async () => {
  const dir = process.argv[2];
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  console.log(`onnxruntime-node ${version()} (CPU execution provider), ${names.length} models, tolerance ${kTolerance}`);
  console.log('');
  console.log('| model | outputs | values | max abs difference | |');
  console.log('|---|---|---|---|---|');
  let bad = 0;
  let worst = 0;
  for (const name of names) {
    try {
      const r = await run(dir, name);
      worst = Math.max(worst, r.diff);
      const ok = r.diff <= kTolerance;
      if (!ok) ++bad;
      console.log(`| ${name} | ${r.outputs} | ${r.values} | ${r.diff.toExponential(2)} | ${ok ? 'ok' : 'DIFFERS'} |`);
    } catch (e) {
      ++bad;
      console.log(`| ${name} | | | | FAILED: ${String(e.message || e).split('\n')[0].slice(0, 160)} |`);
    }
  }
  console.log('');
  console.log(`${names.length - bad} of ${names.length} models within ${kTolerance}; largest difference ${worst.toExponential(2)}.`);
  process.exit(bad ? 1 : 0);
})();
