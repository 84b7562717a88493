// What shrink, compare and build share: the facts of a model (sizes, parameters,
// nodes, MACs), the evaluation of one model against another on samples
// (fidelity, true accuracy, per-layer error), budgets, and their report sections.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "formats/images/images.h"
#include "formats/tensors/tensors.h"
#include "lib/base/progress.h"
#include "lib/metrics/budget.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/layers.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "passes/pipeline.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {

// ---- budgets ----

// The budget flags as written (--max-bytes 5MB ...), by flag name.
using BudgetTexts = std::map<std::string, std::string>;
// The flags, in the order reports list them.
const std::vector<std::string>& budget_flags();

// Declares the budget flags and --dim on `sub`; `texts` receives the given ones
// when `collect` runs (after parsing).
struct BudgetArgs {
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;
  std::vector<std::string> dims;
  BudgetTexts given() const;
};
void add_budget_options(CLI::App& sub, BudgetArgs& a);

struct Limits {
  metrics::Budget size;
  std::optional<double> min_sqnr, min_cosine, max_top1_drop, min_accuracy;
  bool needs_data() const { return min_sqnr || min_cosine || max_top1_drop || min_accuracy; }
};
// Parses the texts; a bad value is a pare::Error naming the flag (`where`: "--max-bytes"
// on the command line, "plan.yaml: subtask 'face': max-bytes" in a plan).
Limits parse_limits(const BudgetTexts& texts, const std::string& where_prefix = "--");

// ---- facts of one model ----

struct ModelFacts {
  metrics::FileSize size;
  metrics::WeightStats weights;
  metrics::GraphStats nodes;
  metrics::MacStats macs;
  std::vector<metrics::LayerWeights> layers;  // weight bytes by layer, largest first
};
ModelFacts measure_model(const ir::Model& model, const std::string& path, const std::map<std::string, int64_t>& dims);
nlohmann::json facts_json(const ModelFacts& f);
// "A -> B" and the file, download, parameters, nodes and MACs lines.
void print_facts(const std::string& a, const std::string& b, const ModelFacts& before, const ModelFacts& after);

// ---- the pipeline, step by step ----

struct StepReport {
  std::string step;                       // canonical text
  std::map<std::string, int64_t> stats;   // what the pass reported
  metrics::FileSize size;                 // the model as it would be written after this step
  int64_t parameters = 0;
};
// Runs each step of `pipeline` on `model`, measuring it after each (the waterfall).
// Errors gain the pass's name. `model` should already carry its final metadata.
std::vector<StepReport> run_steps(ir::Model& model, const passes::Pipeline& pipeline, passes::PassContext& ctx,
                                  bool verify_each);
// Prints each step and adds "passes" to the report.
void report_steps(nlohmann::json& report, const std::vector<StepReport>& steps);

// ---- evaluation of `after` against `before` ----

struct EvalOptions {
  std::string data, labels;
  formats::ImageOptions images;
  bool per_layer = false;
  bool enabled() const { return !data.empty(); }
};
struct Evaluation {
  size_t samples = 0;
  std::vector<metrics::OutputDiff> diffs;
  std::optional<std::pair<double, double>> accuracy;  // before, after
  std::vector<metrics::LayerDiff> layers;
};
// Reads the samples (errors gain "--data" context) and runs both models.
Evaluation evaluate(const ir::Model& before, const ir::Model& after, const EvalOptions& o, Progress& progress);
// The same on samples already in memory (pare build feeds a cut model the source
// model's intermediate tensors); `names` are the samples' names, for o.labels
// (o.data is not read).
Evaluation evaluate(const ir::Model& before, const ir::Model& after, const std::vector<formats::Sample>& samples,
                    const std::vector<std::string>& names, const EvalOptions& o, Progress& progress);
// Adds "data", "fidelity", "accuracy", "per_layer" to the report and prints them.
void report_evaluation(nlohmann::json& report, const Evaluation& e, const EvalOptions& o);

// ---- latency (--latency): the one part of a report that is not reproducible ----

// Median and min over `runs` timed runs (after 2 warm-ups) on seeded inputs, one thread.
Latency measure_latency(const ir::Model& model, const std::map<std::string, int64_t>& dims, int runs);
// Adds "latency" {"before", "after", "runs", "threads"} to the report and prints it.
void report_latency(nlohmann::json& report, const Latency& before, const Latency& after);

// ---- budgets checked ----

struct BudgetResult {
  std::string what;
  nlohmann::json value, limit;  // value: null when unknown
  bool ok = true;
  std::string failure;  // "SQNR 23.3 dB < budget 30 dB"; empty when ok
};
std::vector<BudgetResult> check_limits(const Limits& limits, const ModelFacts& after, const Evaluation* e);
// Adds "budgets" to the report and prints a one-line summary.
void report_budgets(nlohmann::json& report, const std::vector<BudgetResult>& results);
// Where a report goes: JSON, Markdown and HTML, each when its path is not empty.
struct ReportFiles {
  std::string json, markdown, html;
};
// check_output_path on each (none is an input read so far, each can be written).
void check_report_files(const ReportFiles& files);

// The common end of shrink and compare: adds the evaluation, latency (when
// measured) and budgets to the report, writes the report files, then prints a
// "check failed" line per budget that does not hold. Returns the exit code (0 or 1).
int conclude(nlohmann::json& report, const Evaluation& e, const EvalOptions& o,
             const std::optional<std::pair<Latency, Latency>>& latency, const Limits& limits, const ModelFacts& after,
             const ReportFiles& files, const std::string& checked_file);
// Prints "pare: check failed: FILE: ..." for each failure; true if any.
bool print_budget_failures(const std::string& file, const std::vector<BudgetResult>& results);

// "   578966 -> 180080       (-68.9%)"
std::string change(int64_t before, int64_t after);
std::string sqnr_text(const metrics::OutputDiff& d);

// ---- the options shrink and compare share ----

struct ReportArgs {
  EvalOptions eval;
  ImageArgs images;
  BudgetArgs budgets;
  ReportFiles files;  // .json is declared by each command (--report, --json)
  int latency = 0;    // --latency N: timed runs of each model (0: none)
  bool quiet = false;
};
// --data, --labels, --per-layer, --markdown, --html, --latency, -q, image and budget options.
void add_report_options(CLI::App& sub, ReportArgs& a);

struct Prepared {
  Limits limits;
  std::map<std::string, int64_t> dims;
  EvalOptions eval;  // with the image options parsed
};
// Parses and cross-checks the options before any work (errors name the flag).
Prepared prepare(const ReportArgs& a);

}  // namespace pare::cli
