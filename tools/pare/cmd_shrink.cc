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
  std::string model, output, passes, report, markdown, html;
  bool verify_each = false;
  bool external_data = false;
  bool quiet = false;
  int latency = 0;  // --latency N: timed runs of each model (0: none)
  EvalOptions eval;
  ImageArgs images;
  BudgetArgs budgets;
};

std::string macs_text(const metrics::MacStats& m) { return m.known ? std::to_string(m.total) : "unknown"; }

int shrink(const Args& args) {
  // Check the cheap things first, so a mistake costs nothing.
  refuse_overwrite_input(args.model, args.output);
  Limits limits = parse_limits(args.budgets.given());
  auto dims = parse_dims(args.budgets.dims);
  EvalOptions eval = args.eval;
  eval.images = image_options(args.images);
  if (limits.needs_data() && !eval.enabled())
    fail("--min-sqnr, --min-cosine, --max-top1-drop and --min-accuracy need --data DIR (the samples to compare on)");
  if (limits.min_accuracy && eval.labels.empty()) fail("--min-accuracy needs --labels FILE (a class label per sample)");
  if (!eval.enabled() && (!eval.labels.empty() || eval.per_layer))
    fail("{} needs --data DIR (the samples to run)", eval.labels.empty() ? "--per-layer" : "--labels");
  passes::Pipeline pipeline = passes::Pipeline::parse(args.passes);
  const Args& a = args;
  ir::Model model = formats::onnx::load_model(a.model);
  // The original, kept for --data: the pipeline edits `model` in place.
  ir::Model original = formats::onnx::load_model(a.model);
  formats::ImageOptions images = eval.images;
  Progress progress(!a.quiet && stderr_is_terminal());
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
  if (!pipeline.empty()) model.set_metadata("pare.pipeline", pipeline.str());
  // Fidelity before anything is written: bad samples must leave no output behind.
  Evaluation evaluation = evaluate(original, model, eval, progress);
  formats::onnx::SaveOptions options;
  options.external_data = a.external_data;
  formats::onnx::save_model(model, a.output, options);

  ModelFacts after = measure_model(model, a.output, dims);
  fmt::print("{} -> {}\n", a.model, a.output);
  fmt::print("  pipeline    {}\n", pipeline.empty() ? "(none)" : pipeline.str());
  fmt::print("  file        {}\n", change(before.size.file_bytes, after.size.file_bytes));
  fmt::print("  download    {}\n", change(before.size.download_bytes, after.size.download_bytes));
  fmt::print("  parameters  {}\n", change(before.weights.parameters, after.weights.parameters));
  fmt::print("  nodes       {}\n", change(before.nodes.nodes_total, after.nodes.nodes_total));
  if (before.macs.known && after.macs.known) fmt::print("  MACs        {}\n", change(before.macs.total, after.macs.total));
  else fmt::print("  MACs        {} -> {} ({})\n", macs_text(before.macs), macs_text(after.macs),
                  before.macs.known ? after.macs.reason : before.macs.reason);
  nlohmann::json report = {{"input", a.model}, {"output", a.output}, {"pipeline", pipeline.str()},
                           {"before", facts_json(before)}, {"after", facts_json(after)}};
  report_steps(report, steps);
  // What trim removed, for the app to do outside the model (also in the model's metadata).
  for (const auto& [key, value] : model.metadata)
    if (key.rfind("pare.trim.", 0) == 0) {
      report["trimmed"][key.substr(10)] = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
      fmt::print("  trimmed     {}: {}\n", key.substr(10), value);
    }
  report_evaluation(report, evaluation, eval);
  if (a.latency > 0)
    report_latency(report, measure_latency(original, dims, a.latency), measure_latency(model, dims, a.latency));
  std::vector<BudgetResult> budgets = check_limits(limits, after, &evaluation);
  report_budgets(report, budgets);

  if (!a.report.empty()) write_file_atomic(a.report, report.dump(2) + "\n");
  if (!a.markdown.empty()) write_file_atomic(a.markdown, formats::render_markdown(report));
  if (!a.html.empty()) write_file_atomic(a.html, formats::render_html(report));
  // The model and the report are right as they are; a budget that does not hold is exit 1.
  return print_budget_failures(a.output, budgets) ? 1 : 0;
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
      sub.add_option("--data", a->eval.data, "samples (input_K.pb or NAME.npy, sub-folders of them, or images): compare outputs before and after");
      sub.add_option("--report", a->report, "write the report as JSON (sorted keys, byte-identical across runs)");
      sub.add_option("--markdown", a->markdown, "write the report as Markdown");
      sub.add_option("--html", a->html, "write the report as one self-contained HTML page with SVG charts");
      sub.add_option("--labels", a->eval.labels, "with --data: a class label per sample ('NAME LABEL' lines): true top-1 accuracy before and after");
      sub.add_flag("--per-layer", a->eval.per_layer, "with --data: SQNR of every intermediate tensor against the original, worst first");
      sub.add_flag("-q,--quiet", a->quiet, "no progress bar");
      sub.add_option("--latency", a->latency,
                     "time N runs of each model with pare's runner (own report section; the one part that varies)")
          ->check(CLI::Range(1, 100000));
      add_image_options(sub, a->images);
      add_budget_options(sub, a->budgets);
      return [a] { return shrink(*a); };
    }};

}  // namespace pare::cli
