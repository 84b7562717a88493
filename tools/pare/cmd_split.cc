// pare split MODEL --at T [--at T...] -o DIR: per-subtask models, chained (jobs/split.h).
// pare extract MODEL --outputs A,B -o OUT: one subtask of a multi-output model.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/report/json.h"
#include "jobs/split.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "lib/base/strings.h"
#include "lib/metrics/size.h"
#include "passes/cut.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace split_command {

struct SplitArgs {
  std::string model, dir;
  std::vector<std::string> at, dims;
};

int run_split(const SplitArgs& a) {
  std::vector<jobs::SplitPart> parts = jobs::split(a.model, a.at, parse_dims(a.dims));
  std::filesystem::create_directories(a.dir);
  nlohmann::json manifest = {{"source", a.model}, {"cut_at", a.at}, {"parts", nlohmann::json::array()}};
  for (size_t k = 0; k < parts.size(); ++k) {
    std::string file = fmt::format("part{}.onnx", k);
    write_file_atomic(a.dir + "/" + file, parts[k].bytes);
    manifest["parts"].push_back({{"file", file},
                                 {"inputs", formats::values_json(parts[k].model.graph->inputs)},
                                 {"outputs", formats::values_json(parts[k].model.graph->outputs)},
                                 {"bytes", parts[k].bytes.size()},
                                 {"download_bytes", metrics::deflate_size(parts[k].bytes)},
                                 {"sha256", sha256_hex(parts[k].bytes)}});
    fmt::print("{}/{}: {} -> {} ({})\n", a.dir, file, join(parts[k].inputs, ", "), join(parts[k].outputs, ", "),
               human_bytes(static_cast<int64_t>(parts[k].bytes.size())));
  }
  write_file_atomic(a.dir + "/manifest.json", manifest.dump(2) + "\n");
  fmt::print("chained, the {} parts reproduce the original outputs exactly\n", parts.size());
  return 0;
}

struct ExtractArgs {
  std::string model, output, outputs;
  std::vector<std::string> dims;
};

int extract(const ExtractArgs& a) {
  refuse_overwrite_input(a.model, a.output);
  ir::Model m = formats::onnx::load_model(a.model);
  std::vector<std::string> names;
  for (const auto& n : pare::split(a.outputs, ','))
    if (!n.empty()) names.push_back(n);
  if (names.empty()) throw Error("--outputs: name at least one tensor");
  try {
    passes::cut(m, {}, names, parse_dims(a.dims));
  } catch (Error& e) {
    throw e.with_context(a.model);
  }
  formats::onnx::save_model(m, a.output);
  fmt::print("{} -> {}: outputs {}; {} nodes, {}\n", a.model, a.output, join(names, ", "), m.graph->nodes().size(),
             human_bytes(metrics::measure_file(a.output).file_bytes));
  return 0;
}

// The options of pare split.
void declare_split(CLI::App& sub, SplitArgs& a) {
  sub.add_option("model", a.model, "ONNX model file")->required();
  sub.add_option("--at", a.at, "tensor to cut at (repeatable, in computation order)")->required();
  sub.add_option("-o,--output", a.dir, "folder for part0.onnx, part1.onnx... and manifest.json")->required();
  add_dim_options(sub, a.dims, "size of a symbolic dim for the check run, NAME=N (repeatable)");
}

// The options of pare extract.
void declare_extract(CLI::App& sub, ExtractArgs& a) {
  sub.add_option("model", a.model, "ONNX model file")->required();
  sub.add_option("--outputs", a.outputs, "comma-separated tensors to keep as outputs")->required();
  sub.add_option("-o,--output", a.output, "where to write the result (never the input)")->required();
  add_dim_options(sub, a.dims, "size of a symbolic dim, NAME=N, for typing new outputs (repeatable)");
}

}  // namespace split_command

const Command kSplitCommand = {"split", "cut a model at tensors into chained per-subtask models, with a manifest",
                               with_args(split_command::declare_split, split_command::run_split)};

const Command kExtractCommand = {"extract", "keep one subtask of a multi-output model (the nodes its outputs need)",
                                 with_args(split_command::declare_extract, split_command::extract)};

}  // namespace pare::cli
