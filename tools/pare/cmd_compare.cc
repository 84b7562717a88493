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
  std::string a, b;
  ReportArgs report;
};

int compare(const Args& args) {
  auto [limits, dims, eval] = prepare(args.report);
  ir::Model a = formats::onnx::load_model(args.a);
  ir::Model b = formats::onnx::load_model(args.b);
  Progress progress(!args.report.quiet && stderr_is_terminal());
  ModelFacts fa = measure_model(a, args.a, dims), fb = measure_model(b, args.b, dims);
  Evaluation evaluation;
  try {
    evaluation = evaluate(a, b, eval, progress);
  } catch (Error& e) {
    e.with_context(args.a + " vs " + args.b);
    throw;
  }

  print_facts(args.a, args.b, fa, fb);
  nlohmann::json report = {{"input", args.a}, {"output", args.b}, {"pipeline", ""},
                           {"before", facts_json(fa)}, {"after", facts_json(fb)}};
  std::optional<std::pair<Latency, Latency>> latency;
  int runs = args.report.latency;
  if (runs > 0) latency = {measure_latency(a, dims, runs), measure_latency(b, dims, runs)};
  return conclude(report, evaluation, eval, latency, limits, fb, args.report.files, args.b);
}

}  // namespace

const Command kCompareCommand = {
    "compare", "sizes, MACs and output fidelity of model B against model A", [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      sub.add_option("a", a->a, "the reference model (e.g. the original)")->required();
      sub.add_option("b", a->b, "the model compared with it (e.g. the shrunk one)")->required();
      sub.add_option("--json", a->report.files.json, "write the report as JSON (sorted keys, byte-identical across runs)");
      add_report_options(sub, a->report);
      return [a] { return compare(*a); };
    }};

}  // namespace pare::cli
