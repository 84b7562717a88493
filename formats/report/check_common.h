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

// A size measure of a row: what (as in BudgetResult), JSON key, value, limit
// and the warn level's.
struct Measure {
  const char* what;
  const char* key;
  std::optional<int64_t> value;
  std::optional<int64_t> limit, warn_limit;
};
// Bytes, download bytes, parameters; MACs and the runner's peak memory when a
// limit (of either level) asks for them.
std::vector<Measure> measures(const metrics::CheckedModel& m);

// The measures with a real value (the runner's latency, and the fidelity
// budgets) as check_limits names them, in report order: the column title, the
// unit and the decimals shown.
struct RealMeasure {
  const char* what;
  const char* title;
  const char* unit;
  int decimals;
};
const std::vector<RealMeasure>& real_measures();

// The result for `what` at `level`, or nullptr.
const metrics::BudgetResult* result_of(const metrics::CheckedModel& m, std::string_view what,
                                       metrics::Level level = metrics::Level::fail);
bool is_over(const metrics::CheckedModel& m, std::string_view what);
// "over" (a budget does not hold), "warn" (a warn level does not), "ok", or ""
// when neither level limits `what`.
std::string status_of(const metrics::CheckedModel& m, std::string_view what);
// The verdict of a check: "1 of 3 models over budget", "3 models within budget",
// each with ", 1 past a warn level" when one is.
std::string check_verdict(const metrics::CheckReport& report);
// The verdict of a model: "over", "warn" or "ok".
std::string verdict_of(const metrics::CheckedModel& m);
// The measures named in results but not in measures(): max-growth's, in order.
std::vector<std::string> growth_measures(const metrics::CheckedModel& m);
// A growth row's value and limit ("+8.1%", "+5%, warn +1%").
std::string growth_value(const metrics::CheckedModel& m, std::string_view what);
std::string growth_limit(const metrics::CheckedModel& m, std::string_view what);

std::string value_text(const Measure& m);
// "1.00 MB", "1.00 MB, warn 900.00 kB", "warn 900.00 kB", "-".
std::string limit_text(const Measure& m);
std::string real_value(const RealMeasure& f, const metrics::BudgetResult& b);
// The result of a fidelity measure at either level (the fail level's first), or nullptr.
const metrics::BudgetResult* real_result(const metrics::CheckedModel& m, const RealMeasure& f);
// "30 dB", "30 dB, warn 35 dB".
std::string real_limit(const metrics::CheckedModel& m, const RealMeasure& f);

// The size figures of each model of a baseline, for max-growth.
std::map<std::string, metrics::Measured::Sizes> baseline_sizes(const Baseline& baseline);
// The baseline's entry for a model, or nullptr.
const nlohmann::json* baseline_of(const Baseline& baseline, const std::string& name);
// "+120.00 kB, +4.0%", "-1200, -0.5%", "no change", "new" (no baseline entry), "" (no baseline value).
std::string change(const Measure& m, const nlohmann::json* base);
// The change of a fidelity value since the baseline ("+0.52 dB", "no change", "new", "").
std::string change(const RealMeasure& f, const metrics::BudgetResult& b, const nlohmann::json* base);

}  // namespace pare::formats
