// The compare job: the facts of a shrink for two models that already exist (B
// against A), the evaluation of B against A on samples, timing and budgets on B.
#pragma once

#include <map>
#include <string>

#include "jobs/measure.h"
#include "lib/metrics/report.h"

namespace pare::jobs {

struct CompareJob {
  std::string a, b;  // the model files, as given
  EvalJob eval;
  std::map<std::string, int64_t> dims;
  int latency_runs = 0;
  metrics::Budget budget;
};

// Errors while evaluating name both models ("A vs B"); reading the samples is a
// SamplesError without that frame (the caller names the samples first).
metrics::Report compare(const CompareJob& job, Progress& progress);

}  // namespace pare::jobs
