// What the views of pare check's report share (terminal table, GitHub step
// summary): the measures of a row, the fidelity columns, and each figure's
// change since a baseline (a report written earlier by pare check --json).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/metrics/report.h"

namespace pare::formats {

// The reports of a baseline by model file; nullptr as a baseline: none given.
using Baseline = std::map<std::string, nlohmann::json>;

// A size measure of a row: what (as in BudgetResult), JSON key, value, limit.
struct Measure {
  const char* what;
  const char* key;
  std::optional<int64_t> value;
  std::optional<int64_t> limit;
};
// Bytes, download bytes, parameters; MACs when a limit asks for them.
std::vector<Measure> measures(const metrics::CheckedModel& m);

// The fidelity budgets as check_limits names them, in report order: the
// column title, the unit and the decimals shown.
struct FidelityMeasure {
  const char* what;
  const char* title;
  const char* unit;
  int decimals;
};
const std::vector<FidelityMeasure>& fidelity_measures();

const metrics::BudgetResult* result_of(const metrics::CheckedModel& m, std::string_view what);
bool is_over(const metrics::CheckedModel& m, std::string_view what);

std::string value_text(const Measure& m);
std::string fidelity_value(const FidelityMeasure& f, const metrics::BudgetResult& b);
std::string fidelity_limit(const FidelityMeasure& f, const metrics::BudgetResult& b);

// The baseline's entry for a model, or nullptr.
const nlohmann::json* baseline_of(const Baseline& baseline, const std::string& name);
// "+120.00 kB, +4.0%", "-1200, -0.5%", "no change", "new" (no baseline entry), "" (no baseline value).
std::string change(const Measure& m, const nlohmann::json* base);
// The change of a fidelity value since the baseline ("+0.52 dB", "no change", "new", "").
std::string change(const FidelityMeasure& f, const metrics::BudgetResult& b, const nlohmann::json* base);

}  // namespace pare::formats
