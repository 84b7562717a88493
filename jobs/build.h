// The build job (pare build PLAN.yaml): every subtask of a plan through the
// shrink job, like Make. The source model is read once; a subtask's "before" is
// the source, cut when the plan says so; samples are for the source model, and a
// cut's inputs are computed by running it on them. Writes OUT/<name>.onnx,
// OUT/manifest.json and OUT/report.json (sorted keys, only paths as written in
// the plan: byte-identical across runs and output folders). A subtask whose model
// is newer than the plan, the model and the samples it uses is up to date:
// skipped, its entries taken from the previous manifest and report.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/progress.h"
#include "lib/metrics/report.h"

namespace pare::jobs {

struct BuildJob {
  std::string plan;
  bool force = false;  // rebuild every subtask, up to date or not
  // A subtask over budget is not written (nor listed in the manifest), so the next
  // build makes it again; with keep_failed it is kept as jobs::rejected_path says.
  bool keep_failed = false;
  int threads = 1;  // each subtask's ShrinkJob::threads (the bytes do not depend on it)
};

struct BuiltSubtask {
  std::string name;
  std::string output;                     // the model file, as this process opens it
  std::optional<metrics::Report> report;  // when built (not up to date)
  std::vector<metrics::BudgetResult> budgets;
};

// Builds each subtask in plan order and calls `done` after each (to show it);
// returns them all once manifest.json and report.json are written.
std::vector<BuiltSubtask> build(const BuildJob& job, Progress& progress,
                                const std::function<void(const BuiltSubtask&)>& done);

}  // namespace pare::jobs
