// Times a model in ONNX Runtime (npm onnxruntime-node) on input_K.pb files:
//   node bench/ort_bench.js MODEL IN_DIR [--runs N] [--warmup N] [--threads N]
// prints JSON {median_ms, min_ms, runs, threads}. One intra-op thread by default,
// to compare with pare's single-threaded runner.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const { decode } = require('../tests/ort/tensor_pb.js');

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(name);
    if (i < 0) return def;
    const v = Number(args[i + 1]);
    args.splice(i, 2);
    return v;
  };
  const runs = opt('--runs', 20), warmup = opt('--warmup', 3), threads = opt('--threads', 1);
  const [model, inDir] = args;
  const dir = process.env.PARE_ORT_DIR || path.join(os.homedir(), '.cache', 'pare', 'ort');
  const ort = require(path.join(dir, 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  const feeds = {};
  session.inputNames.forEach((name, k) => {
    const t = decode(fs.readFileSync(path.join(inDir, `input_${k}.pb`)));
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const median = ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
  console.log(JSON.stringify({ median_ms: median, min_ms: ms[0], runs, threads }));
}

main().catch((e) => {
  process.stderr.write(`ort_bench: error: ${String(e.message || e).split('\n')[0]}\n`);
  process.exit(2);
});
