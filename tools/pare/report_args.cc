#include "tools/pare/report_args.h"

#include <algorithm>
#include <cstdio>

#include "formats/report/json.h"
#include "formats/report/report.h"
#include "formats/report/terminal.h"
#include "lib/base/atomic_file.h"
#include "tools/pare/commands.h"
#include "tools/pare/habits.h"

namespace pare::cli {

std::map<std::string, std::string> BudgetArgs::given() const {
  std::map<std::string, std::string> out;
  for (const auto& [flag, opt] : options)
    if (opt->count() > 0) out[flag] = values.at(flag);
  return out;
}

void add_budget_options(CLI::App& sub, BudgetArgs& a, bool check_only) {
  const std::map<std::string, std::string> help = {
      {"max-bytes", "budget: the file's size at most SIZE (5MB, 750KiB, 120000); else exit 1"},
      {"max-download-bytes", "budget: its compressed (download) size at most SIZE"},
      {"max-params", "budget: at most N parameters (200000, 1.5M)"},
      {"max-macs", "budget: at most N multiply-accumulates (50M, 2G; counted by one run, see --dim)"},
      {"max-runner-latency", "budget: the median of 10 timed runs of pare's runner on this machine, one thread, at "
                             "most DURATION (20ms, 1.5s)"},
      {"max-runner-peak-memory", "budget: pare's runner's intermediate tensors at their peak in one run at most SIZE"},
      {"max-growth", "budget, with --baseline: each size figure at most PERCENT over the baseline's (5%)"},
      {"min-sqnr", "budget, with --data: every output's SQNR at least DB"},
      {"min-cosine", "budget, with --data: every output's cosine similarity at least X"},
      {"max-top1-drop", "budget, with --data: top-1 accuracy lost at most POINTS (with --labels: samples the "
                        "original got right; without, disagreement with the original on any class-score output)"},
      {"min-accuracy", "budget, with --data and --labels: top-1 accuracy at least X (0..1)"},
  };
  for (const auto& key : metrics::budget_keys()) {
    const auto& only = metrics::check_only_budget_keys();
    if (!check_only && std::find(only.begin(), only.end(), key) != only.end()) continue;
    a.values[key];
    a.options[key] = sub.add_option("--" + key, a.values[key], help.at(key));
  }
  add_dim_options(sub, a.dims, "fix a symbolic dim for the MAC count, e.g. --dim batch=1 (repeatable)");
}

bool is_stdout(const std::string& path) { return path == "-"; }

void check_report_files(const ReportFiles& files) {
  int to_stdout = 0;
  for (const auto& f : files.all()) {
    if (is_stdout(f)) ++to_stdout;
    else check_output_path(f);
  }
  if (to_stdout > 1) fail("-: only one report can go to standard output");
}

void check_distinct_files(std::vector<std::pair<std::string, std::string>> option_and_path) {
  std::erase_if(option_and_path, [](const auto& p) { return is_stdout(p.second); });
  check_distinct_outputs(option_and_path);
}

std::FILE* text_stream(const std::vector<std::string>& paths) {
  for (const auto& p : paths)
    if (is_stdout(p)) return stderr;
  return stdout;
}

void write_output(const std::string& path, const std::string& text) {
  if (!is_stdout(path)) return write_file_atomic(path, text);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (std::ferror(stdout)) fail("-: cannot write the report to standard output");
}

void add_report_options(CLI::App& sub, ReportArgs& a) {
  sub.add_option("--data", a.eval.data,
                 "samples (input_K.pb or NAME.npy, sub-folders of them, or images): compare the outputs");
  sub.add_option("--labels", a.eval.labels,
                 "with --data: a class label per sample ('NAME LABEL' lines): true top-1 accuracy of both");
  sub.add_flag("--per-layer", a.eval.per_layer,
               "with --data: SQNR of every intermediate tensor the two share by name, worst first");
  sub.add_option("--markdown", a.files.markdown, "write the report as Markdown");
  sub.add_option("--html", a.files.html, "write the report as one self-contained HTML page with SVG charts");
  sub.add_option("--latency", a.latency,
                 "time N runs of each model with pare's runner (own report section; the one part that varies)")
      ->check(CLI::Range(1, 100000));
  sub.add_flag("-q,--quiet", a.quiet, "no progress bar");
  add_image_options(sub, a.images);
  add_budget_options(sub, a.budgets);
}

Prepared prepare(const ReportArgs& a) {
  // Every output is checked first, so a bad report path costs no work and leaves no model behind.
  check_report_files(a.files);
  check_distinct_files({{"the JSON report", a.files.json}, {"--markdown", a.files.markdown}, {"--html", a.files.html}});
  Prepared p;
  try {
    p.budget = metrics::parse_budget(a.budgets.given());
  } catch (const metrics::BudgetValueError& e) {
    fail("--{}: {}", e.key, e.message());
  }
  p.dims = parse_dims(a.budgets.dims);
  p.eval = a.eval;
  p.eval.shown_data = p.eval.data;
  p.eval.shown_labels = p.eval.labels;
  p.eval.images = image_options(a.images);
  if (p.budget.needs_data() && !p.eval.enabled())
    fail("--min-sqnr, --min-cosine, --max-top1-drop and --min-accuracy need --data DIR (the samples to compare on)");
  if (p.budget.min_accuracy && p.eval.labels.empty()) fail("--min-accuracy needs --labels FILE (a class label per sample)");
  if (!p.eval.enabled() && (!p.eval.labels.empty() || p.eval.per_layer))
    fail("{} needs --data DIR (the samples to run)", p.eval.labels.empty() ? "--per-layer" : "--labels");
  return p;
}

int conclude(const metrics::Report& report, const ReportFiles& files, const std::string& shown_output,
             const std::string& checked_file) {
  put_text(text_stream(files.all()), formats::terminal_text(report, shown_output));
  // Again, now that every input has been read (samples, labels): all or nothing.
  check_report_files(files);
  if (!files.json.empty()) write_output(files.json, formats::report_text(report));
  if (!files.markdown.empty() || !files.html.empty()) {
    nlohmann::json j = formats::report_json(report);
    if (!files.markdown.empty()) write_output(files.markdown, formats::render_markdown(j));
    if (!files.html.empty()) write_output(files.html, formats::render_html(j));
  }
  // The outputs are right as they are; a budget that does not hold is exit 1.
  std::string failures = formats::failure_lines(checked_file, report.budgets);
  std::fflush(stdout);
  put_text(stderr, failures);
  return failures.empty() ? 0 : 1;
}

}  // namespace pare::cli
