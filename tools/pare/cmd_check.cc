// pare check [FILES...] [--budget BUDGET.yaml] [--max-bytes SIZE ...]
//            [--baseline OLD.json] [--github] [--junit FILE] [--json FILE|-]
// The CI budget gate (in the spirit of size-limit): measures each model the
// budget file names (jobs/check.h), prints a table per model, and exits 1 when
// one is over a limit, with one "pare: check failed: FILE: WHAT VALUE > budget
// LIMIT" line on stderr per budget that does not hold. The budgets are the
// eight of pare shrink (lib/metrics/budget.h); the views are formats/report's.
// The size budgets may also be given as flags, with or without a budget file
// (then they hold for every model); a --baseline that does not exist yet is a
// notice (the first run of a gate has none); GITHUB_ACTIONS=true means --github.
// --max-growth limits each size figure's growth over the baseline's; --warn
// KEY=VALUE sets any budget at the warn level (a "pare: check warning" line, exit 0).
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "formats/report/ci.h"
#include "formats/report/json.h"
#include "formats/report/terminal.h"
#include "jobs/check.h"
#include "lib/base/atomic_file.h"
#include "tools/pare/commands.h"
#include "tools/pare/habits.h"
#include "tools/pare/report_args.h"

namespace pare::cli {
namespace check_command {

struct Args {
  std::vector<std::string> files;
  BudgetArgs budgets;  // the budget flags, and --dim NAME=N for every model (an entry's dims: win)
  std::vector<std::string> warn;  // --warn KEY=VALUE
  std::string budget, baseline, junit, json;
  bool github = false, quiet = false;
  int threads = 1;
};

// The flags' budget; a bad value names its flag.
metrics::Budget flag_budget(const BudgetArgs& a) {
  try {
    return metrics::parse_budget(a.given());
  } catch (const metrics::BudgetValueError& e) {
    fail("--{}: {}", e.key, e.message());
  }
}

// The --warn KEY=VALUE flags' budget; a bad one names the flag and the key.
metrics::Budget warn_budget(const std::vector<std::string>& flags) {
  std::map<std::string, std::string> texts;
  for (const auto& f : flags) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0)
      fail("--warn: '{}' is not KEY=VALUE (e.g. --warn max-download-bytes=900KB)", f);
    std::string key = f.substr(0, eq);
    if (texts.count(key)) fail("--warn: {} is given twice", key);
    texts[key] = f.substr(eq + 1);
  }
  try {
    return metrics::parse_budget(texts);
  } catch (const metrics::BudgetValueError& e) {
    fail("--warn: {}: {}", e.key, e.message());
  }
}

// The baseline, or none when the file does not exist yet (a first run), said on stderr.
std::optional<formats::Baseline> read_baseline(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::fprintf(stderr, "pare: notice: %s: no baseline yet (a first run?); changes show once it exists\n",
                 printable(path).c_str());
    return std::nullopt;
  }
  return formats::read_check_baseline(path);
}

bool github_actions() {
  const char* v = std::getenv("GITHUB_ACTIONS");
  return v && std::strcmp(v, "true") == 0;
}

void append_step_summary(const std::string& path, const std::string& md) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (!out) fail("{}: cannot append the GitHub step summary: {}", path, std::strerror(errno));
  out << md;
  out.flush();
  if (!out) fail("{}: cannot append the GitHub step summary: write failed", path);
}

int check(const Args& a) {
  check_report_files({a.json, a.junit, ""});
  check_distinct_files({{"--json", a.json}, {"--junit", a.junit}});
  jobs::CheckJob job{a.budget, a.files, parse_dims(a.budgets.dims), flag_budget(a.budgets), warn_budget(a.warn), {}};
  if (a.budget.empty() && job.budget.empty() && job.warn.empty())
    fail("pare check needs limits: --budget FILE, or budget flags such as --max-download-bytes 1MB");
  std::optional<formats::Baseline> baseline = read_baseline(a.baseline);
  const formats::Baseline* base = baseline ? &*baseline : nullptr;
  if (baseline) job.baseline = formats::baseline_sizes(*baseline);
  job.threads = a.threads;
  Progress progress(!a.quiet && stderr_is_terminal());
  metrics::CheckReport report = jobs::check(job, progress);

  std::FILE* text = text_stream({a.json, a.junit});
  put_text(text, formats::check_text(report, base));
  if (a.github || github_actions()) {
    fmt::print(text, "{}", formats::github_annotations(report));
    const char* summary = std::getenv("GITHUB_STEP_SUMMARY");
    if (summary && *summary) append_step_summary(summary, formats::github_summary(report, base));
  }
  // Every input has been read now (budget, baseline, models, samples): neither
  // report may be one of them, checked before either is written.
  check_report_files({a.json, a.junit, ""});
  if (!a.json.empty()) write_output(a.json, formats::check_json(report).dump(2) + "\n");
  if (!a.junit.empty()) write_output(a.junit, formats::junit_xml(report));
  std::fflush(stdout);
  for (const auto& r : report.models) put_text(stderr, formats::failure_lines(r.name, r.results));
  return report.over() ? 1 : 0;
}

}  // namespace check_command

const Command kCheckCommand = {
    "check", "CI budget gate: fail when a model grows past its limits or drifts from its reference (budget YAML)",
    [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<check_command::Args>();
      sub.add_option("files", a->files, "models to check (each must match an entry of the budget; default: all entries)");
      sub.add_option("--budget", a->budget,
                     "budget file (YAML: models: [{path, max-bytes, max-download-bytes, max-params, max-macs, "
                     "max-runner-latency, max-runner-peak-memory, max-growth, warn, dims, reference, data, labels, image, min-sqnr, min-cosine, max-top1-drop, min-accuracy}]); "
                     "optional with budget flags");
      add_budget_options(sub, a->budgets, /*check_only=*/true);
      sub.add_option("--warn", a->warn,
                     "a budget at the warn level, KEY=VALUE (e.g. max-download-bytes=900KB, max-growth=1%): reported "
                     "as 'pare: check warning', exit 0 (repeatable)");
      sub.add_option("--baseline", a->baseline,
                     "a JSON file written earlier by pare check --json: show each change (missing: a notice)");
      sub.add_flag("--github", a->github,
                   "GitHub Actions: ::error annotations, and a Markdown table appended to $GITHUB_STEP_SUMMARY "
                   "(on by itself when GITHUB_ACTIONS=true)");
      sub.add_option("--junit", a->junit, "write a JUnit XML report to this file (- for stdout)");
      sub.add_option("--json", a->json, "write the measurements as JSON (sorted keys; the --baseline format; - for stdout)");
      sub.add_flag("-q,--quiet", a->quiet, "no progress bar while models are compared with their references");
      sub.add_option("--threads", a->threads,
                     "runner threads for the comparisons on samples (results do not depend on it; "
                     "max-runner-latency and max-runner-peak-memory are measured on one thread)")
          ->check(CLI::Range(1, 256));
      return [a] { return check_command::check(*a); };
    }};

}  // namespace pare::cli
