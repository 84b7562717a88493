// pare compare A B: the facts of a shrink for two models that already exist
// (B against A): sizes, download sizes, parameters, nodes and MACs of both;
// with --data, how far each output of B moved from A's (and true accuracy with
// --labels, per-tensor error with --per-layer); budgets on B.
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/report/report.h"
#include "lib/base/atomic_file.h"
#include "tools/pare/commands.h"
#include "tools/pare/evaluate.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {
namespace {

struct Args {
  std::string a, b, json, markdown, html;
  bool quiet = false;
  int latency = 0;  // --latency N: timed runs of each model (0: none)
  EvalOptions eval;
  ImageArgs images;
  BudgetArgs budgets;
};

int compare(const Args& args) {
  Limits limits = parse_limits(args.budgets.given());
  auto dims = parse_dims(args.budgets.dims);
  EvalOptions eval = args.eval;
  eval.images = image_options(args.images);
  if (limits.needs_data() && !eval.enabled())
    fail("--min-sqnr, --min-cosine, --max-top1-drop and --min-accuracy need --data DIR (the samples to compare on)");
  if (limits.min_accuracy && eval.labels.empty()) fail("--min-accuracy needs --labels FILE (a class label per sample)");
  ir::Model a = formats::onnx::load_model(args.a);
  ir::Model b = formats::onnx::load_model(args.b);
  Progress progress(!args.quiet && stderr_is_terminal());
  ModelFacts fa = measure_model(a, args.a, dims), fb = measure_model(b, args.b, dims);
  Evaluation evaluation;
  try {
    evaluation = evaluate(a, b, eval, progress);
  } catch (Error& e) {
    e.with_context(args.a + " vs " + args.b);
    throw;
  }

  fmt::print("{} -> {}\n", args.a, args.b);
  fmt::print("  file        {}\n", change(fa.size.file_bytes, fb.size.file_bytes));
  fmt::print("  download    {}\n", change(fa.size.download_bytes, fb.size.download_bytes));
  fmt::print("  parameters  {}\n", change(fa.weights.parameters, fb.weights.parameters));
  fmt::print("  nodes       {}\n", change(fa.nodes.nodes_total, fb.nodes.nodes_total));
  if (fa.macs.known && fb.macs.known) fmt::print("  MACs        {}\n", change(fa.macs.total, fb.macs.total));
  else fmt::print("  MACs        unknown ({})\n", fa.macs.known ? fb.macs.reason : fa.macs.reason);
  nlohmann::json report = {{"input", args.a}, {"output", args.b}, {"pipeline", ""},
                           {"before", facts_json(fa)}, {"after", facts_json(fb)}};
  report_evaluation(report, evaluation, eval);
  if (args.latency > 0)
    report_latency(report, measure_latency(a, dims, args.latency), measure_latency(b, dims, args.latency));
  std::vector<BudgetResult> budgets = check_limits(limits, fb, &evaluation);
  report_budgets(report, budgets);
  if (!args.json.empty()) write_file_atomic(args.json, report.dump(2) + "\n");
  if (!args.markdown.empty()) write_file_atomic(args.markdown, formats::render_markdown(report));
  if (!args.html.empty()) write_file_atomic(args.html, formats::render_html(report));
  return print_budget_failures(args.b, budgets) ? 1 : 0;
}

}  // namespace

const Command kCompareCommand = {
    "compare", "sizes, MACs and output fidelity of model B against model A", [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      sub.add_option("a", a->a, "the reference model (e.g. the original)")->required();
      sub.add_option("b", a->b, "the model compared with it (e.g. the shrunk one)")->required();
      sub.add_option("--data", a->eval.data, "samples (input_K.pb or NAME.npy, sub-folders of them, or images): compare outputs");
      sub.add_option("--labels", a->eval.labels, "with --data: a class label per sample: true top-1 accuracy of both");
      sub.add_flag("--per-layer", a->eval.per_layer, "with --data: SQNR of every tensor the two share by name, worst first");
      sub.add_option("--json", a->json, "write the report as JSON (sorted keys, byte-identical across runs)");
      sub.add_option("--markdown", a->markdown, "write the report as Markdown");
      sub.add_option("--html", a->html, "write the report as one self-contained HTML page with SVG charts");
      sub.add_flag("-q,--quiet", a->quiet, "no progress bar");
      sub.add_option("--latency", a->latency,
                     "time N runs of each model with pare's runner (own report section; the one part that varies)")
          ->check(CLI::Range(1, 100000));
      add_image_options(sub, a->images);
      add_budget_options(sub, a->budgets);
      return [a] { return compare(*a); };
    }};

}  // namespace pare::cli
