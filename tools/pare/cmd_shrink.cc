// pare shrink MODEL -o OUT [--passes PIPELINE]: the main job. Loads, runs the
// pipeline, writes the model atomically, and prints what it gained.
//
// Budgets (--max-bytes, --max-download-bytes, --max-params, --max-macs,
// --min-sqnr, --min-cosine, --max-top1-drop, --min-accuracy) are checked after
// the model and the report are written (both are correct outputs); each one
// that does not hold is one line "pare: check failed: OUT: WHAT VALUE > budget
// LIMIT" on stderr, and the exit code is 1.
//
// The size waterfall: after each step the IR is serialised (as save_model
// writes it without --external-data) and deflated, so the report shows what
// each pass gained. MACs before and after come from one run of each model
// (seeded inputs; --dim for symbolic dims), or are reported unknown with the reason.
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/report/report.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/strings.h"
#include "lib/ir/verify.h"
#include "passes/pipeline.h"
#include "tools/pare/commands.h"
#include "tools/pare/evaluate.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {
namespace {

struct Args {
  std::string model, output, passes;
  bool verify_each = false;
  bool external_data = false;
  ReportArgs report;
};

int shrink(const Args& a) {
  // Check the cheap things first, so a mistake costs nothing.
  refuse_overwrite_input(a.model, a.output);
  check_output_path(a.output);
  const ReportFiles& files = a.report.files;
  check_distinct_outputs({{"-o", a.output}, {"-o's external data", a.output + ".data"}, {"--report", files.json},
                          {"--markdown", files.markdown}, {"--html", files.html}});
  auto [limits, dims, eval] = prepare(a.report);
  passes::Pipeline pipeline = passes::Pipeline::parse(a.passes);
  ir::Model model = formats::onnx::load_model(a.model);
  // The original, for the "before" facts, fidelity and latency: the pipeline edits `model` in place.
  ir::Model original = formats::onnx::load_model(a.model);
  const formats::ImageOptions& images = eval.images;
  Progress progress(!a.report.quiet && stderr_is_terminal());
  ModelFacts before = measure_model(original, a.model, dims);

  passes::PassContext ctx;
  ctx.load_samples = [&](const std::string& dir, const std::vector<std::string>& inputs) {
    return formats::read_sample_set(dir, inputs, images).samples;
  };
  ctx.progress = [&](const std::string& what, size_t done, size_t total) { progress.update(what, done, total); };
  // The metadata goes on first, so the size after each step is the size of the
  // file that step would have written (the last one: the output's size).
  if (!pipeline.empty()) model.set_metadata("pare.pipeline", pipeline.str());
  std::vector<StepReport> steps;
  try {
    steps = run_steps(model, pipeline, ctx, a.verify_each);
    progress.finish();
    ir::verify(model);
  } catch (Error& e) {
    e.with_context(a.model);
    throw;
  }
  // Fidelity before anything is written: bad samples must leave no output behind.
  Evaluation evaluation = evaluate(original, model, eval, progress);
  // Every input has been read now (samples, calibration data, labels): no output
  // may be one of them, checked before the first byte is written.
  check_output_path(a.output);
  check_output_path(a.output + ".data");
  check_report_files(files);
  formats::onnx::SaveOptions options;
  options.external_data = a.external_data;
  formats::onnx::save_model(model, a.output, options);

  ModelFacts after = measure_model(model, a.output, dims);
  print_facts(a.model, a.output, before, after);
  fmt::print("  pipeline    {}\n", pipeline.empty() ? "(none)" : pipeline.str());
  nlohmann::json report = {{"input", a.model}, {"output", a.output}, {"pipeline", pipeline.str()},
                           {"before", facts_json(before)}, {"after", facts_json(after)}};
  report_steps(report, steps);
  // What trim removed, for the app to do outside the model (also in the model's metadata).
  for (const auto& [key, value] : model.metadata)
    if (key.rfind("pare.trim.", 0) == 0) {
      report["trimmed"][key.substr(10)] = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
      fmt::print("  trimmed     {}: {}\n", key.substr(10), value);
    }
  std::optional<std::pair<Latency, Latency>> latency;
  int runs = a.report.latency;
  if (runs > 0) latency = {measure_latency(original, dims, runs), measure_latency(model, dims, runs)};
  return conclude(report, evaluation, eval, latency, limits, after, a.report.files, a.output);
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
      sub.add_option("--report", a->report.files.json, "write the report as JSON (sorted keys, byte-identical across runs)");
      add_report_options(sub, a->report);
      return [a] { return shrink(*a); };
    }};

}  // namespace pare::cli
