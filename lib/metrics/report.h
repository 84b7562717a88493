// The typed report of a job: plain structs that the jobs (jobs/) fill and the
// views (formats/report) render. The JSON report is written and read by one
// writer and one reader (formats/report/json.h); every other view (Markdown,
// HTML, terminal text, the CI views of pare check) is one file of formats/report.
//
// Adding a section: a field here, its JSON in formats/report/json.cc (writer
// and reader), and one function per view that shows it (docs/design.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/metrics/budget.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/layers.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"

namespace pare::metrics {

// What a report says about one model: "before" and "after".
struct ModelFacts {
  FileSize size;
  WeightStats weights;
  GraphStats nodes;
  MacStats macs;
  std::vector<LayerWeights> layers;  // weight bytes by layer, largest first
};

// One step of the pipeline and the model as it would be written after it (the waterfall).
struct StepReport {
  std::string step;                      // canonical text
  std::map<std::string, int64_t> stats;  // what the pass reported
  FileSize size;
  int64_t parameters = 0;
};

// `after` against `before` on samples.
struct Evaluation {
  std::string folder;  // the samples, as the user named them
  std::string labels;  // the labels file, as named ("" without labels)
  size_t samples = 0;
  std::vector<OutputDiff> diffs;
  std::optional<std::pair<double, double>> accuracy;  // before, after (with labels)
  std::optional<double> accuracy_lost;                // with labels: metrics::top1_lost
  std::optional<Range> accuracy_change;               // with labels, 2+ samples: metrics::top1_change_range
  bool per_layer = false;
  std::vector<LayerDiff> layers;  // worst first (with per_layer)
};

// Timed runs of pare's runner, one thread: the one part of a report that is not reproducible.
struct Latency {
  double median_ms = 0, min_ms = 0;
  int runs = 0;
};

// A cut before the pipeline (pare build's subtasks).
struct Cut {
  std::vector<std::string> inputs, outputs;
};

// pare tune: the search behind the model it wrote (Report::tune).
struct TuneLayerReport {
  std::string layer, op;
  int64_t parameters = 0;
  std::string choice;                     // as chosen: "p4+s50", "qdq", "fp32"
  std::map<std::string, double> sqnr_db;  // each choice measured alone: the worst output's SQNR (200: no change)
};
// One configuration verified on every search sample.
struct TunePoint {
  double noise_budget_db = 0;  // the noise budget T of the greedy (a uniform candidate: its estimated noise), as an SQNR: 10*log10(1/T)
  int64_t bytes = 0, download_bytes = 0;
  double cost = 0;             // the search's estimate of the objective (latency: MAC-time units)
  std::optional<int64_t> macs;  // counted on the built model (unknown: the runner could not tell)
  int64_t int8_layers = 0;     // layers with int8 activations (static QDQ)
  std::optional<double> sqnr, cosine, top1_drop, accuracy;
  bool ok = false, chosen = false;
  std::string error;  // why the configuration could not be built (such points are not in the front)
};
struct TuneSummary {
  std::string objective;
  size_t search_samples = 0, sensitivity_samples = 0;
  // The samples the sensitivities ran on, by name, with the number of samples
  // each stands for (jobs::tune_detail::choose_sensitivity_samples).
  std::vector<std::pair<std::string, double>> sensitivity_set;
  std::vector<TuneLayerReport> layers;  // in graph order
  std::vector<TunePoint> front;         // every verified configuration, smallest cost first
  int64_t evaluations = 0;  // sensitivity runs measured now
  int64_t cached = 0;       // sensitivities read from the cache
  int64_t skipped = 0;      // choices not measured: a gentler one already broke the noise cap, or a bound was hit
  int64_t verifications = 0;
  int64_t unbuilt = 0;  // verifications whose configuration could not be built
  double seconds = 0;
  std::string cache;    // the cache folder ("" for none)
  std::string stopped;  // why the sensitivity search stopped early ("" when it finished)
};

// The report of shrink, compare and one subtask of build.
struct Report {
  std::string name;  // build: the subtask ("" otherwise; no "name" in the JSON)
  std::string input, output, pipeline;
  std::optional<Cut> cut;
  ModelFacts before, after;
  std::optional<std::vector<StepReport>> steps;  // "passes": shrink and build, not compare
  std::optional<Evaluation> evaluation;          // "data", "fidelity", "accuracy", "per_layer"
  std::optional<std::pair<Latency, Latency>> latency;  // before, after
  std::vector<BudgetResult> budgets;
  bool budget_failure_lines = false;  // build: each failed budget keeps its failure line ("failure")
  std::vector<std::pair<std::string, std::string>> trimmed;  // what trim removed: key -> JSON text
  std::optional<TuneSummary> tune;  // pare tune: "tune"
  // Set when a budget did not hold, so the model was not written at `output`:
  // where it was kept instead, "" for nowhere ("rejected": {"kept_at": ...}).
  std::optional<std::string> rejected_kept_at;
};

// The measured side of a report, for the budget check.
Measured measured(const ModelFacts& after, const Evaluation* evaluation);

// ---- pare check: one checked model per row ----

struct CheckedModel {
  std::string name;  // relative to the budget file's folder: what every view shows
  std::string path;  // what was opened
  Budget budget;     // the tightest of every entry that names it
  Budget warn;       // the same at the warn level: reported, never failing
  Measured measured;
  bool macs_counted = false;  // MACs cost a run: counted only when a limit asks
  // The comparison with a reference on samples, as the budget file names them.
  std::string reference, data, labels;
  std::optional<Evaluation> evaluation;
  std::vector<BudgetResult> results;  // every limit (fail level, then warn level), held or not
  std::string growth_unchecked;       // why a growth limit was not checked ("no baseline"); "" when it was
  // The budget file line of each limit: budget key ("warn." + key at the warn
  // level) -> the line of the entry whose value is the tightest; none for limits
  // given as flags.
  std::map<std::string, int> limit_lines;
  bool over() const;                  // a fail-level limit does not hold
  bool warned() const;                // a warn-level limit does not hold
};

struct CheckReport {
  std::string budget_file;  // as given
  std::vector<CheckedModel> models;
  size_t over() const;    // models over a budget
  size_t warned() const;  // models within budget past a warn level
};

}  // namespace pare::metrics
