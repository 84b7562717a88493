// The check job (pare check): every model a budget file names (or the files
// given, each matched against its entries), measured and held to the tightest
// of the limits of every entry that names it, and compared with its reference
// on samples when an entry says so.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/progress.h"
#include "lib/metrics/report.h"

namespace pare::jobs {

struct CheckJob {
  std::string budget_file;                // "" when the limits are all in `budget`
  std::vector<std::string> files;         // empty: every file the entries name
  std::map<std::string, int64_t> dims;    // for every model; an entry's dims win
  metrics::Budget budget;                 // limits for every model (pare check's flags), tightened by its entries'
  metrics::Budget warn;                   // the same at the warn level
  // The size figures of an earlier report by model name (as the views show it),
  // for max-growth; a model it does not have is new, and has no growth.
  // nullopt: no baseline given (or none yet), and growth limits are not checked.
  std::optional<std::map<std::string, metrics::Measured::Sizes>> baseline;
  // Runner threads for the comparisons on samples (the figures do not depend on
  // it); the runner's latency and peak memory are measured on one thread.
  int threads = 1;
};

// Without a budget file, each of `files` is held to `budget` and `warn` alone
// (sizes and growth: fidelity needs a reference and samples, which only an entry names).
// Errors name the budget file and the line (a bad limit, a path that names no
// file, two comparisons for one model) or the model.
metrics::CheckReport check(const CheckJob& job, Progress& progress);

}  // namespace pare::jobs
