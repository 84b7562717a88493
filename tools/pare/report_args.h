// The options that shrink and compare share: samples (--data, --labels,
// --per-layer, image options), budgets (--max-bytes ... --min-accuracy, --dim),
// report files (--markdown, --html; --report/--json per command) and --latency;
// turning them into the job's parts, and the common end of a command: print the
// report, write its files, print the budget failures and return the exit code.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "jobs/measure.h"
#include "lib/metrics/report.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {

// Declares the budget flags and --dim on `sub`.
struct BudgetArgs {
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;
  std::vector<std::string> dims;
  std::map<std::string, std::string> given() const;  // budget key -> text, the flags given
};
// The budget flags; those only pare check measures (metrics::check_only_budget_keys:
// runner latency and memory, growth since a baseline) only when `check_only`.
void add_budget_options(CLI::App& sub, BudgetArgs& a, bool check_only = false);

// Where a report goes: JSON, Markdown and HTML, each when its path is not empty.
// "-" is standard output; then the human text goes to stderr, so that a pipe
// (pare shrink ... --json - | jq) reads the report and nothing else.
struct ReportFiles {
  std::string json, markdown, html;
  std::vector<std::string> all() const { return {json, markdown, html}; }
};
// check_output_path on each (none is an input read so far, each can be written);
// at most one of them may be "-".
void check_report_files(const ReportFiles& files);
bool is_stdout(const std::string& path);
// check_distinct_outputs without the "-" among them.
void check_distinct_files(std::vector<std::pair<std::string, std::string>> option_and_path);
// Where the human text goes: stderr when one of `paths` is "-", else stdout.
std::FILE* text_stream(const std::vector<std::string>& paths);
// Writes `text` to `path` atomically, or to stdout when `path` is "-".
void write_output(const std::string& path, const std::string& text);

struct ReportArgs {
  jobs::EvalJob eval;  // --data, --labels, --per-layer
  ImageArgs images;
  BudgetArgs budgets;
  ReportFiles files;  // .json is declared by each command (--report, --json)
  int latency = 0;    // --latency N: timed runs of each model (0: none)
  bool quiet = false;
};
// --data, --labels, --per-layer, --markdown, --html, --latency, -q, image and budget options.
void add_report_options(CLI::App& sub, ReportArgs& a);

struct Prepared {
  metrics::Budget budget;
  std::map<std::string, int64_t> dims;
  jobs::EvalJob eval;  // with the image options parsed
};
// Parses and cross-checks the options before any work (errors name the flag).
Prepared prepare(const ReportArgs& a);

// Prints the report, writes its files, then a "check failed" line per budget
// that does not hold (`checked_file` names the model). Returns 0, or 1 when a
// budget does not hold.
int conclude(const metrics::Report& report, const ReportFiles& files, const std::string& shown_output,
             const std::string& checked_file);

// Runs `job`; an error reading the samples gains the frame "--data" (then `outer`, when given).
template <typename F>
auto naming_data(F job, const std::string& outer = "") -> decltype(job()) {
  try {
    return job();
  } catch (jobs::SamplesError& e) {
    e.with_context("--data");
    if (!outer.empty()) e.with_context(outer);
    throw;
  }
}

}  // namespace pare::cli
