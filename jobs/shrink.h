// The shrink job: one model through a pipeline, measured and written, with the
// report of what it cost. pare shrink runs it on a file; pare build runs it on
// each subtask (the source model, cut first when the subtask says so).
//
// The route: load once (or take the caller's model), set the metadata, run the
// steps (each measured as it would be written), verify, evaluate on samples
// (before anything is written: bad samples leave no output), check the outputs
// once more, measure the bytes the last step made, check the budgets, write
// those bytes when the budgets hold, and time when asked. The bytes measured are
// the bytes written. A budget that does not hold leaves nothing at the output, so
// that Make (and CI) run the rule again instead of taking a rejected model for
// an up-to-date one.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jobs/measure.h"
#include "lib/metrics/report.h"
#include "passes/pipeline.h"

namespace pare::jobs {

struct ShrinkJob {
  // The model file, and its bytes when the caller has read them already (else
  // the job reads it, once). With a cut, the cut model is the "before".
  std::string input;
  const std::string* input_bytes = nullptr;
  std::string output;  // where the result goes
  // As the report names them.
  std::string name, shown_input, shown_output;
  std::optional<metrics::Cut> cut;
  passes::Pipeline pipeline;  // as run
  passes::Pipeline shown;     // as reported (steps and "pipeline")
  std::vector<std::pair<std::string, std::string>> metadata;  // set before the steps (after pare.pipeline)
  std::string error_context;  // a frame for the errors of the steps ("" for none)
  bool verify_each = false, external_data = false;
  EvalJob eval;
  // The samples to evaluate on when they are not eval.data's folder as it is
  // (a cut's inputs, computed by the source model).
  std::function<formats::SampleSet(const ir::Model& before)> eval_samples;
  // What passes read samples with (calib=DIR).
  std::function<std::vector<formats::Sample>(const std::string&, const std::vector<std::string>&)> load_samples;
  std::map<std::string, int64_t> dims;
  // Runner threads of the evaluation and of the counts (results do not depend
  // on it); latency is timed on one thread whatever this says.
  int threads = 1;
  int latency_runs = 0;
  metrics::Budget budget;
  bool budget_failure_lines = false;
  // Where the model goes when a budget does not hold: nowhere by default, or
  // rejected_path(output) (the report's "rejected" says which).
  bool keep_failed = false;
  // Checked again (check_output_path) once every input has been read, before the model is written.
  std::vector<std::string> other_outputs;
};

struct ShrinkResult {
  metrics::Report report;
  ir::Model model;    // as written
  std::string bytes;  // the model's file (empty with external data); written only when the budgets hold
};

ShrinkResult shrink(const ShrinkJob& job, Progress& progress);

// Where a model whose budget does not hold is kept on request: beside `output`,
// "small.onnx" -> "small.rejected.onnx" (a name without ".onnx" gains ".rejected").
std::string rejected_path(const std::string& output);

// A cut that cannot be made (a tensor the model does not have...); the message is the pass's.
class CutError : public Error {
 public:
  explicit CutError(const Error& e) : Error(e.what()) {}
};
// Applies the cut pass to `model`; throws CutError.
void apply_cut(ir::Model& model, const metrics::Cut& cut);

}  // namespace pare::jobs
