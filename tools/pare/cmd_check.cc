// pare check [FILES...] --budget BUDGET.yaml [--baseline OLD.json] [--github]
//            [--junit FILE] [--json FILE]
// The CI budget gate (in the spirit of size-limit): measures each model the
// budget file names (jobs/check.h), prints a table per model, and exits 1 when
// one is over a limit, with one "pare: check failed: FILE: WHAT VALUE > budget
// LIMIT" line on stderr per budget that does not hold. The budgets are the
// eight of pare shrink (lib/metrics/budget.h); the views are formats/report's.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "formats/report/ci.h"
#include "formats/report/json.h"
#include "formats/report/terminal.h"
#include "jobs/check.h"
#include "lib/base/atomic_file.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace {

struct Args {
  std::vector<std::string> files;
  std::vector<std::string> dims;  // --dim NAME=N for every model; an entry's dims: win
  std::string budget, baseline, junit, json;
  bool github = false, quiet = false;
};

void append_step_summary(const std::string& path, const std::string& md) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (!out) fail("{}: cannot append the GitHub step summary: {}", path, std::strerror(errno));
  out << md;
  out.flush();
  if (!out) fail("{}: cannot append the GitHub step summary: write failed", path);
}

int check(const Args& a) {
  check_output_path(a.json);
  check_output_path(a.junit);
  check_distinct_outputs({{"--json", a.json}, {"--junit", a.junit}});
  jobs::CheckJob job{a.budget, a.files, parse_dims(a.dims)};
  formats::Baseline baseline;
  if (!a.baseline.empty()) baseline = formats::read_check_baseline(a.baseline);
  const formats::Baseline* base = a.baseline.empty() ? nullptr : &baseline;
  Progress progress(!a.quiet && stderr_is_terminal());
  metrics::CheckReport report = jobs::check(job, progress);

  fmt::print("{}", formats::check_text(report, base));
  if (a.github) {
    fmt::print("{}", formats::github_annotations(report));
    const char* summary = std::getenv("GITHUB_STEP_SUMMARY");
    if (summary && *summary) append_step_summary(summary, formats::github_summary(report, base));
  }
  // Every input has been read now (budget, baseline, models, samples): neither
  // report may be one of them, checked before either is written.
  check_output_path(a.json);
  check_output_path(a.junit);
  if (!a.json.empty()) write_file_atomic(a.json, formats::check_json(report).dump(2) + "\n");
  if (!a.junit.empty()) write_file_atomic(a.junit, formats::junit_xml(report));
  std::fflush(stdout);
  for (const auto& r : report.models) std::fputs(formats::failure_lines(r.name, r.results).c_str(), stderr);
  return report.over() ? 1 : 0;
}

}  // namespace

const Command kCheckCommand = {
    "check", "CI budget gate: fail when a model grows past its limits or drifts from its reference (budget YAML)",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      sub.add_option("files", a->files, "models to check (each must match an entry of the budget; default: all entries)");
      sub.add_option("--budget", a->budget,
                     "budget file (YAML: models: [{path, max-bytes, max-download-bytes, max-params, max-macs, dims, "
                     "reference, data, labels, image, min-sqnr, min-cosine, max-top1-drop, min-accuracy}])")
          ->required();
      sub.add_option("--dim", a->dims,
                     "fix a symbolic dim for MACs, e.g. --dim batch=1 (repeatable; a budget entry's dims: win)");
      add_input_shape_option(sub, a->dims);
      sub.add_option("--baseline", a->baseline, "a JSON file written earlier by pare check --json: show each change");
      sub.add_flag("--github", a->github,
                   "GitHub Actions: ::error annotations, and a Markdown table appended to $GITHUB_STEP_SUMMARY");
      sub.add_option("--junit", a->junit, "write a JUnit XML report to this file");
      sub.add_option("--json", a->json, "write the measurements as JSON (sorted keys; the --baseline format)");
      sub.add_flag("-q,--quiet", a->quiet, "no progress bar while models are compared with their references");
      return [a] { return check(*a); };
    }};

}  // namespace pare::cli
