#include "lib/metrics/report.h"

#include <algorithm>

namespace pare::metrics {

Measured measured(const ModelFacts& after, const Evaluation* e) {
  Measured m;
  m.bytes = after.size.file_bytes;
  m.download_bytes = after.size.download_bytes;
  m.params = after.weights.parameters;
  if (after.macs.known) m.macs = after.macs.total;
  else m.macs_reason = after.macs.reason;
  if (e) add_fidelity(m, e->diffs, e->accuracy ? std::optional(e->accuracy->second) : std::nullopt, e->accuracy_lost);
  return m;
}

namespace {
bool any_failing(const std::vector<BudgetResult>& results, Level level) {
  return std::any_of(results.begin(), results.end(), [&](const BudgetResult& b) { return !b.ok && b.level == level; });
}
}  // namespace

bool CheckedModel::over() const { return any_failing(results, Level::fail); }
bool CheckedModel::warned() const { return any_failing(results, Level::warn); }

size_t CheckReport::over() const {
  return std::count_if(models.begin(), models.end(), [](const CheckedModel& m) { return m.over(); });
}

size_t CheckReport::warned() const {
  return std::count_if(models.begin(), models.end(), [](const CheckedModel& m) { return !m.over() && m.warned(); });
}

}  // namespace pare::metrics
