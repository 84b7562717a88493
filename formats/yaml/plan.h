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

struct Subtask {
  std::string name;
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
  std::vector<Subtask> subtasks;

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
