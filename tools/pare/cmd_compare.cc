// pare compare A B: the facts of a shrink for two models that already exist
// (B against A): sizes, download sizes, parameters, nodes and MACs of both;
// with --data, how far each output of B moved from A's (and true accuracy with
// --labels, per-tensor error with --per-layer); budgets on B (jobs/compare.h).
#include "jobs/compare.h"
#include "tools/pare/commands.h"
#include "tools/pare/report_args.h"

namespace pare::cli {
namespace compare_command {

struct Args {
  std::string a, b;
  ReportArgs report;
};

int compare(const Args& args) {
  Prepared p = prepare(args.report);
  jobs::CompareJob job{args.a, args.b, p.eval, p.dims, args.report.latency, p.budget};
  Progress progress(!args.report.quiet && stderr_is_terminal());
  metrics::Report r = naming_data([&] { return jobs::compare(job, progress); }, args.a + " vs " + args.b);
  return conclude(r, args.report.files, args.b, args.b);
}

// The options of pare compare.
void declare(CLI::App& sub, Args& a) {
  sub.add_option("a", a.a, "the reference model (e.g. the original)")->required();
  sub.add_option("b", a.b, "the model compared with it (e.g. the shrunk one)")->required();
  sub.add_option("--json", a.report.files.json, "write the report as JSON (sorted keys, byte-identical across runs)");
  add_report_options(sub, a.report);
}

}  // namespace compare_command

const Command kCompareCommand = {"compare", "sizes, MACs and output fidelity of model B against model A",
                                 with_args(compare_command::declare, compare_command::compare)};

}  // namespace pare::cli
