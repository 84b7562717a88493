// The JSON view of the typed reports: the one writer and the one reader.
//
// The shrink report (pare shrink --report, pare compare --json, one entry of
// pare build's report.json) has sorted keys (nlohmann's std::map objects), so the
// same report gives the same bytes: "input", "output", "pipeline", "before",
// "after" always; "name" and "cut" for a build subtask; "passes" when the job ran
// a pipeline; "data", "fidelity", "accuracy", "per_layer" when it evaluated on
// samples; "latency" when timed; "budgets" when any limit was set; "trimmed"
// when trim removed something. pare check's report ("models") is written here too.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lib/metrics/report.h"

namespace pare::formats {

nlohmann::json report_json(const metrics::Report& report);
// The report as written to a file: 2-space indent and a final newline.
std::string report_text(const metrics::Report& report);

nlohmann::json facts_json(const metrics::ModelFacts& facts);
// A shape: known dims as numbers, symbolic ones by name, unknown ones null; null for an unknown rank.
nlohmann::json shape_json(const std::optional<ir::Shape>& shape);
// The inputs or outputs of a model for a manifest (pare build, pare split):
// name, dtype and shape (symbolic dims by name, unknown ones null); constants left out.
nlohmann::json values_json(const std::vector<ir::Value*>& values);
nlohmann::json figure_json(const metrics::Figure& figure);

// The reader: the budgets of a report entry as they were written (a build
// subtask's keep their failure lines), for a subtask that is up to date.
std::vector<metrics::BudgetResult> read_budgets(const nlohmann::json& entry);

// pare check --json: {"models": [...]}; also the --baseline format.
nlohmann::json check_json(const metrics::CheckReport& report);
// Reads a file written by pare check --json: its models by "file"; throws
// pare::Error naming the file when it is not one.
std::map<std::string, nlohmann::json> read_check_baseline(const std::string& path);

}  // namespace pare::formats
