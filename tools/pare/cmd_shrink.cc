// pare shrink MODEL -o OUT [--passes PIPELINE]: the main job. Loads, runs the
// pipeline, writes the model atomically, and prints what it gained.
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/metrics/compare.h"
#include "lib/runtime/session.h"
#include "lib/base/strings.h"
#include "lib/ir/verify.h"
#include "lib/metrics/size.h"
#include "passes/pipeline.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace {

struct Args {
  std::string model, output, passes, data, report;
  bool verify_each = false;
  bool external_data = false;
};

// Runs both models on every sample and compares each output of `after` with `before`.
std::vector<metrics::OutputDiff> fidelity(const ir::Model& before, const ir::Model& after,
                                          const std::vector<formats::Sample>& all) {
  rt::Session a(before), b(after);
  std::vector<metrics::OutputDiffAccumulator> acc;
  for (const auto& n : a.output_names()) acc.emplace_back(n);
  for (const auto& sample : all) {
    auto ya = a.run(sample), yb = b.run(sample);
    for (size_t k = 0; k < ya.size(); ++k) acc[k].add(ya[k], yb[k]);
  }
  std::vector<metrics::OutputDiff> out;
  for (const auto& x : acc) out.push_back(x.result());
  return out;
}

nlohmann::json size_json(const metrics::FileSize& f, const metrics::WeightStats& w, const metrics::GraphStats& g) {
  nlohmann::json weight_bytes = w.bytes_by_dtype;
  weight_bytes["total"] = w.weight_bytes;
  return {{"file_bytes", f.file_bytes}, {"download_bytes", f.download_bytes}, {"parameters", w.parameters},
          {"weight_bytes", weight_bytes}, {"nodes", g.nodes_total}};
}

std::string change(int64_t before, int64_t after) {
  double pct = before ? 100.0 * static_cast<double>(after - before) / static_cast<double>(before) : 0.0;
  return fmt::format("{:>12} -> {:<12} ({:+.1f}%)", before, after, pct);
}

int shrink(const Args& a) {
  // Check the cheap things first, so a mistake costs nothing.
  refuse_overwrite_input(a.model, a.output);
  passes::Pipeline pipeline = passes::Pipeline::parse(a.passes);
  ir::Model model = formats::onnx::load_model(a.model);
  // The original, kept for --data: the pipeline edits `model` in place.
  ir::Model original = a.data.empty() ? ir::Model{} : formats::onnx::load_model(a.model);
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
  // Fidelity before anything is written: bad samples must leave no output behind.
  std::vector<metrics::OutputDiff> diffs;
  size_t samples = 0;
  if (!a.data.empty()) {
    auto all = formats::read_samples(a.data, rt::Session(original).input_names());
    samples = all.size();
    diffs = fidelity(original, model, all);
  }
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
  nlohmann::json report = {{"input", a.model}, {"output", a.output}, {"pipeline", pipeline.str()},
                           {"before", size_json(size_before, weights_before, nodes_before)},
                           {"after", size_json(size_after, weights_after, nodes_after)}};
  report["passes"] = nlohmann::json::array();
  for (const auto& r : results) {
    std::vector<std::string> stats;
    for (const auto& [k, v] : r.stats) stats.push_back(k + "=" + std::to_string(v));
    fmt::print("  {:<11} {}\n", r.step, stats.empty() ? "no change" : join(stats, " "));
    report["passes"].push_back({{"step", r.step}, {"stats", r.stats}});
  }
  if (!a.data.empty()) {
    report["data"] = {{"folder", a.data}, {"samples", samples}};
    report["fidelity"] = nlohmann::json::array();
    fmt::print("  fidelity on {} samples of {}:\n", samples, a.data);
    for (const auto& d : diffs) {
      std::string top1 = d.top1_agreement ? fmt::format(", top-1 agreement {:.4f}", *d.top1_agreement) : "";
      fmt::print("    {}: SQNR {} dB, cosine {:.6f}, max abs {:.6g}, mean abs {:.6g}{}\n", d.name,
                 d.identical ? "inf (identical)" : fmt::format("{:.2f}", d.sqnr_db), d.cosine, d.max_abs, d.mean_abs, top1);
      nlohmann::json j = {{"name", d.name}, {"sqnr_db", d.sqnr_db}, {"identical", d.identical}, {"cosine", d.cosine},
                          {"max_abs", d.max_abs}, {"mean_abs", d.mean_abs}};
      if (d.top1_agreement) j["top1_agreement"] = *d.top1_agreement;
      report["fidelity"].push_back(j);
    }
  }
  if (!a.report.empty()) write_file_atomic(a.report, report.dump(2) + "\n");
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
      sub.add_option("--data", a->data, "samples (input_K.pb or NAME.npy, or sub-folders of them): compare outputs before and after");
      sub.add_option("--report", a->report, "write the report as JSON (sorted keys, byte-identical across runs)");
      return [a] { return shrink(*a); };
    }};

}  // namespace pare::cli
