// Saves the graph ONNX Runtime (npm onnxruntime-node) runs after its optimisations:
//   node tests/ort/ort_optimize.js MODEL OUT [--opt basic|extended]
// Tests read it to see what ORT fused (QDQ -> QLinearConv). 'extended' is the
// highest level whose saved graph is not specific to this machine's CPU.
'use strict';
const path = require('path');
const os = require('os');

async function main() {
  const args = process.argv.slice(2);
  let opt = 'extended';
  const oi = args.indexOf('--opt');
  if (oi >= 0) { opt = args[oi + 1]; args.splice(oi, 2); }
  if (args.length !== 2) throw new Error('usage: ort_optimize.js MODEL OUT [--opt basic|extended]');
  const dir = process.env.PARE_ORT_DIR || path.join(os.homedir(), '.cache', 'pare', 'ort');
  const ort = require(path.join(dir, 'node_modules', 'onnxruntime-node'));
  await ort.InferenceSession.create(args[0], { graphOptimizationLevel: opt, optimizedModelFilePath: args[1] });
}

main().catch((e) => {
  process.stderr.write(`ort_optimize: error: ${String(e.message || e).split('\n')[0]}\n`);
  process.exit(2);
});
