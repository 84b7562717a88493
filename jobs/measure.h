// What the jobs share: the facts of a model, the pipeline run step by step
// with the size after each step, the evaluation of one model against another on
// samples, timed runs, and the budget check of a report. No CLI here: errors
// carry what went wrong, and a SamplesError says the samples were at fault so
// that each caller can name them its own way (--data, a budget file's 'data').
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/images/images.h"
#include "formats/tensors/tensors.h"
#include "lib/base/error.h"
#include "lib/base/progress.h"
#include "lib/metrics/report.h"
#include "lib/metrics/steps.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"

namespace pare::jobs {

// Reading the samples or their labels failed; the message is the reader's.
class SamplesError : public Error {
 public:
  explicit SamplesError(const Error& e) : Error(e) {}
};

// A model and its one compiled runner session in a job, compiled on first use
// (MACs, evaluation, timing). A model the runner cannot compile keeps the
// error: the MAC count reports it as the reason, evaluation and timing throw it.
class Runner {
 public:
  // `threads`: the session's (results do not depend on it).
  explicit Runner(const ir::Model& model, int threads = 1) : model_(model), threads_(threads) {}
  const ir::Model& model() const { return model_; }
  rt::Session& session();

 private:
  const ir::Model& model_;
  int threads_ = 1;
  std::unique_ptr<rt::Session> session_;
  std::optional<Error> error_;
};

// MACs from static shape inference when it gives every shape a MAC formula
// needs, else from one run of the session on seeded inputs (unknown with the
// reason when it cannot run, or when a static shape exceeds a run's memory bound).
metrics::MacStats count_macs(Runner& model, const std::map<std::string, int64_t>& dims);
// The facts of the runner's model, measured from the bytes it is stored as (a
// file's or a serialisation's).
metrics::ModelFacts measure_model(Runner& model, const metrics::FileSize& size,
                                  const std::map<std::string, int64_t>& dims);

// The steps of `pipeline` run on `model`, each measured as it would be written
// (the waterfall). Errors gain the pass's name. `model` should already carry its
// final metadata. `last_bytes` receives the serialisation after the last step
// (the bytes of the file to write), untouched when the pipeline is empty.
std::vector<metrics::StepReport> run_steps(ir::Model& model, const passes::Pipeline& pipeline,
                                           passes::PassContext& ctx, bool verify_each, std::string* last_bytes);

// What fidelity compares of one model: its outputs, and for an output computed
// through a discontinuous step the last continuous tensors before it
// (metrics/steps.h), captured from the same run.
class FidelityProbe {
 public:
  explicit FidelityProbe(const ir::Model& model);
  // The outputs in order, then the tensors before steps (output by output).
  std::vector<ir::Tensor> run(rt::Session& session, const std::map<std::string, ir::Tensor>& sample) const;
  const std::vector<metrics::OutputSteps>& steps() const { return steps_; }

 private:
  std::vector<metrics::OutputSteps> steps_;
  std::vector<std::string> outputs_, before_steps_;
};

// Accumulates one model's probed tensors against a reference's over samples.
// The tensors before an output's steps pair up in order when both models have
// as many (names may differ: strip renames); otherwise, or when a pair is not
// float32 of one shape, that output is compared as itself only.
class FidelityAccumulator {
 public:
  FidelityAccumulator(const FidelityProbe& reference, const FidelityProbe& got);
  // `weight`: as OutputDiffAccumulator::add's.
  void add(const std::vector<ir::Tensor>& reference, const std::vector<ir::Tensor>& got, double weight = 1.0);
  std::vector<metrics::OutputDiff> result() const;

 private:
  struct Pair {
    size_t output, reference, got;  // indices into the probed vectors
    metrics::OutputDiffAccumulator acc;
    bool usable = true;
  };
  std::vector<metrics::OutputDiffAccumulator> outputs_;
  std::vector<std::vector<std::string>> steps_;
  std::vector<Pair> pairs_;
};

// How to evaluate: the samples (a folder) and the labels, as opened and as shown.
struct EvalJob {
  std::string data, labels;              // as this process opens them ("" for none)
  std::string shown_data, shown_labels;  // as the report names them
  formats::ImageOptions images;
  bool per_layer = false;
  bool enabled() const { return !data.empty(); }
};

// The shape of each input as a sample has it, by input name.
using SampleShapes = std::map<std::string, std::vector<int64_t>>;
SampleShapes shapes_of(const formats::Sample& sample);

// `after` against `before` on the samples of job.data; reading them (and the
// labels) throws a SamplesError. `first_shapes`, when given, receives the
// first sample's shapes.
metrics::Evaluation evaluate(Runner& before, Runner& after, const EvalJob& job, Progress& progress,
                             SampleShapes* first_shapes = nullptr);
// The same on samples already in memory (pare build feeds a cut model the source
// model's intermediate tensors); `names` are the samples' names, for job.labels.
metrics::Evaluation evaluate(Runner& before, Runner& after, const std::vector<formats::Sample>& samples, const std::vector<std::string>& names,
                             const EvalJob& job, Progress& progress);

// `dims` and, for every symbolic input dim of `model` that `dims` does not size
// (by its symbol or by position), its size in `shapes` (rt::input_dim_key):
// a model with symbolic dims is counted and timed at the shapes its samples
// have, while what --dim sizes stays as given.
std::map<std::string, int64_t> dims_with_samples(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                                 const SampleShapes& shapes);

// Median and min of `runs` timed runs of `session` on `feed` (warm-ups are the caller's).
metrics::Latency time_runs(rt::Session& session, const std::map<std::string, ir::Tensor>& feed, int runs);
// Median and min over `runs` timed runs (after 2 warm-ups) on seeded inputs, one thread.
metrics::Latency measure_latency(Runner& model, const std::map<std::string, int64_t>& dims, int runs);

// Checks `budget` against the report's "after" and evaluation, into report.budgets.
void check_budgets(metrics::Report& report, const metrics::Budget& budget);

}  // namespace pare::jobs
