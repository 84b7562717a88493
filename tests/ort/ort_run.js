// Runs a model in ONNX Runtime (npm onnxruntime-node) on ONNX test-data files:
//   node tests/ort/ort_run.js MODEL IN_DIR OUT_DIR [--threads N] [--opt disabled|basic|extended|all]
// reads IN_DIR/input_K.pb in the model's input order, writes OUT_DIR/output_K.pb
// in its output order. One-line error and exit 2 on failure.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const { decode, encode } = require('./tensor_pb.js');

function ortModule() {
  const dir = process.env.PARE_ORT_DIR || path.join(os.homedir(), '.cache', 'pare', 'ort');
  return require(path.join(dir, 'node_modules', 'onnxruntime-node'));
}

async function main() {
  const args = process.argv.slice(2);
  let threads = 1;
  const ti = args.indexOf('--threads');
  if (ti >= 0) { threads = Number(args[ti + 1]); args.splice(ti, 2); }
  // 'disabled' runs QDQ models literally (dequantize, float op, quantize); 'all'
  // fuses them into integer kernels, which round differently.
  let opt = 'all';
  const oi = args.indexOf('--opt');
  if (oi >= 0) { opt = args[oi + 1]; args.splice(oi, 2); }
  if (args.length !== 3) throw new Error('usage: ort_run.js MODEL IN_DIR OUT_DIR [--threads N]');
  const [model, inDir, outDir] = args;
  const ort = ortModule();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: opt, executionMode: 'sequential',
  });
  const feeds = {};
  session.inputNames.forEach((name, k) => {
    const file = path.join(inDir, `input_${k}.pb`);
    if (!fs.existsSync(file)) throw new Error(`${file}: missing (input '${name}')`);
    const t = decode(fs.readFileSync(file));
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  session.outputNames.forEach((name, k) => {
    const r = results[name];
    fs.writeFileSync(path.join(outDir, `output_${k}.pb`), encode(name, r.type, r.dims, r.data));
  });
}

main().catch((e) => {
  process.stderr.write(`ort_run: error: ${String(e.message || e).split('\n')[0]}\n`);
  process.exit(2);
});
