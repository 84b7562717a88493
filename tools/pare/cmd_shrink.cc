// pare shrink MODEL -o OUT [--passes PIPELINE]: the main job. Loads, runs the
// pipeline, writes the model atomically, and prints what it gained.
#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/strings.h"
#include "lib/ir/verify.h"
#include "lib/metrics/size.h"
#include "passes/pipeline.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace {

struct Args {
  std::string model, output, passes;
  bool verify_each = false;
  bool external_data = false;
};

std::string change(int64_t before, int64_t after) {
  double pct = before ? 100.0 * static_cast<double>(after - before) / static_cast<double>(before) : 0.0;
  return fmt::format("{:>12} -> {:<12} ({:+.1f}%)", before, after, pct);
}

int shrink(const Args& a) {
  // Check the cheap things first, so a mistake costs nothing.
  refuse_overwrite_input(a.model, a.output);
  passes::Pipeline pipeline = passes::Pipeline::parse(a.passes);
  ir::Model model = formats::onnx::load_model(a.model);
  auto size_before = metrics::measure_file(a.model);
  auto weights_before = metrics::count_weights(model);
  auto nodes_before = metrics::count_nodes(model);

  passes::PassContext ctx;
  std::vector<passes::StepResult> results;
  try {
    results = pipeline.run(model, ctx, a.verify_each);
    ir::verify(model);
  } catch (Error& e) {
    e.with_context(a.model);
    throw;
  }
  if (!pipeline.empty()) model.set_metadata("pare.pipeline", pipeline.str());
  formats::onnx::SaveOptions options;
  options.external_data = a.external_data;
  formats::onnx::save_model(model, a.output, options);

  auto size_after = metrics::measure_file(a.output);
  auto weights_after = metrics::count_weights(model);
  auto nodes_after = metrics::count_nodes(model);
  fmt::print("{} -> {}\n", a.model, a.output);
  fmt::print("  pipeline    {}\n", pipeline.empty() ? "(none)" : pipeline.str());
  fmt::print("  file        {}\n", change(size_before.file_bytes, size_after.file_bytes));
  fmt::print("  download    {}\n", change(size_before.download_bytes, size_after.download_bytes));
  fmt::print("  parameters  {}\n", change(weights_before.parameters, weights_after.parameters));
  fmt::print("  nodes       {}\n", change(nodes_before.nodes_total, nodes_after.nodes_total));
  for (const auto& r : results) {
    std::vector<std::string> stats;
    for (const auto& [k, v] : r.stats) stats.push_back(k + "=" + std::to_string(v));
    fmt::print("  {:<11} {}\n", r.step, stats.empty() ? "no change" : join(stats, " "));
  }
  return 0;
}

}  // namespace

const Command kShrinkCommand = {
    "shrink", "apply a pipeline of passes and write the smaller model", [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      sub.add_option("model", a->model, "ONNX model file")->required();
      sub.add_option("-o,--output", a->output, "where to write the result (never the input)")->required();
      sub.add_option("--passes", a->passes, "pipeline, e.g. 'dce' (see pare passes); none writes an equivalent model");
      sub.add_flag("--verify-each", a->verify_each, "check the IR's invariants after every pass");
      sub.add_flag("--external-data", a->external_data, "store large tensors in OUT.data beside the model");
      return [a] { return shrink(*a); };
    }};

}  // namespace pare::cli
