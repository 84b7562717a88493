// The plan file of pare build (docs/plans.md): one source model, optional
// samples, and subtasks built in file order:
//   model: models/face.onnx
//   output: out/
//   data: samples/            # optional: samples for the source model
//   labels: samples/labels.txt
//   calib: calib/             # pipelines may say ${calib}
//   image: {size: 128x128, mean: "0.5", std: "0.5", layout: NCHW, channels: rgb}
//   dims: {batch: 1}
//   subtasks:
//     heads:
//       cut: {inputs: [x], outputs: [a, b]}
//       passes: "quantize(int8, weights-only)"
//       budget: {max-download-bytes: 200KB, min-sqnr: 30}
//     detector:
//       variants:                # instead of passes/budget/weights: one model each
//         tiny: {passes: "...", budget: {...}}
//         full: {passes: "...", weights: external}
//   share: true                  # trunk + heads per variant name (jobs/build.h)
// Paths are relative to the plan's folder. Every error names the file and the
// line (and the subtask and key).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "formats/images/images.h"
#include "lib/metrics/budget.h"
#include "passes/pipeline.h"

namespace pare::formats {

// One model to build: a subtask, or one variant of it (named NAME.VARIANT,
// with its own pipeline, budget and weights; the subtask's cut).
struct Subtask {
  std::string name;     // the model's file is <name>.onnx
  std::string group;    // the subtask as the plan names it
  std::string variant;  // "" for a subtask without variants
  bool external_weights = false;  // weights: external: <name>.onnx.data beside the graph
  int line = 0, cut_line = 0;
  bool has_cut = false;
  std::vector<std::string> cut_inputs, cut_outputs;
  passes::Pipeline pipeline;  // as run: ${calib} is the folder as this process opens it
  passes::Pipeline shown;     // as reported: ${calib} is the path as written in the plan
  bool uses_calib = false;
  std::map<std::string, std::string> budget_texts;  // as written
  metrics::Budget budget;
};

struct Plan {
  std::string path;  // as given
  std::filesystem::path dir;      // its folder, which the paths in it are relative to
  std::string model, output, data, labels, calib;  // as written
  formats::ImageOptions images;
  std::map<std::string, int64_t> dims;
  bool share = false;  // factor a shared trunk out of the subtasks' models (per variant)
  std::vector<Subtask> subtasks;  // in plan order, each variant its own

  std::string resolve(const std::string& written) const {
    return written.empty() ? "" : (dir / written).string();
  }
  std::string output_file(const Subtask& s) const {
    return (std::filesystem::path(resolve(output)) / (s.name + ".onnx")).string();
  }
};

// Reads and checks a plan: keys, paths that must exist, subtask names, cuts,
// pipelines (${calib} substituted) and budgets.
Plan load_plan(const std::string& path);

}  // namespace pare::formats
