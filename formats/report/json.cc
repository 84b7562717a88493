#include "formats/report/json.h"

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/settings.h"

namespace pare::formats {

using json = nlohmann::json;

json figure_json(const metrics::Figure& f) {
  if (const auto* i = std::get_if<int64_t>(&f)) return *i;
  if (const auto* d = std::get_if<double>(&f)) return *d;
  return nullptr;
}

namespace {

metrics::Figure read_figure(const json& j) {
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_number()) return j.get<double>();
  return {};
}

json diff_json(const metrics::OutputDiff& d) {
  json j = {{"name", d.name},     {"sqnr_db", d.sqnr_db}, {"identical", d.identical},
            {"cosine", d.cosine}, {"max_abs", d.max_abs}, {"mean_abs", d.mean_abs}};
  if (d.top1_agreement) j["top1_agreement"] = *d.top1_agreement;
  if (d.spread)
    j["spread"] = {{"sqnr_low_db", d.spread->sqnr_db.low},      {"sqnr_high_db", d.spread->sqnr_db.high},
                   {"loudest_sample", d.spread->loudest_name}, {"loudest_share", d.spread->loudest_share},
                   {"loudest_sqnr_db", d.spread->loudest_sqnr_db}};
  if (!d.before_steps.empty()) {  // judged there: budgets and tune read these figures
    j["steps"] = d.steps;
    j["before_steps"] = json::array();
    for (const auto& t : d.before_steps) j["before_steps"].push_back(diff_json(t));
  }
  return j;
}

json steps_json(const std::vector<metrics::StepReport>& steps) {
  json out = json::array();
  for (const auto& r : steps)
    out.push_back({{"step", r.step},
                   {"stats", r.stats},
                   {"file_bytes", r.size.file_bytes},
                   {"download_bytes", r.size.download_bytes},
                   {"parameters", r.parameters}});
  return out;
}

void add_evaluation(json& report, const metrics::Evaluation& e) {
  report["data"] = {{"folder", e.folder}, {"samples", e.samples}};
  report["fidelity"] = json::array();
  for (const auto& d : e.diffs) report["fidelity"].push_back(diff_json(d));
  if (e.accuracy) {
    report["accuracy"] = {{"labels", e.labels}, {"before", e.accuracy->first}, {"after", e.accuracy->second}};
    if (e.accuracy_lost) report["accuracy"]["lost"] = *e.accuracy_lost;
    if (e.accuracy_change) {
      report["accuracy"]["change_low"] = e.accuracy_change->low;
      report["accuracy"]["change_high"] = e.accuracy_change->high;
    }
  }
  if (e.per_layer) {
    report["per_layer"] = json::array();
    for (const auto& l : e.layers)
      report["per_layer"].push_back({{"tensor", l.tensor}, {"node", l.node}, {"op", l.op},
                                     {"sqnr_db", l.diff.sqnr_db}, {"cosine", l.diff.cosine},
                                     {"max_abs", l.diff.max_abs}, {"identical", l.diff.identical}});
  }
}

json latency_json(const std::pair<metrics::Latency, metrics::Latency>& l) {
  auto j = [](const metrics::Latency& x) { return json{{"median_ms", x.median_ms}, {"min_ms", x.min_ms}}; };
  return {{"before", j(l.first)}, {"after", j(l.second)}, {"runs", l.second.runs}, {"threads", 1}, {"runner", "pare"}};
}

json budget_json(const metrics::BudgetResult& b, bool with_failure) {
  json j = {{"what", b.what}, {"value", figure_json(b.value)}, {"limit", figure_json(b.limit)}, {"ok", b.ok}};
  if (with_failure && !b.ok) j["failure"] = b.failure;
  if (b.level == metrics::Level::warn) j["level"] = "warn";
  return j;
}

}  // namespace

json facts_json(const metrics::ModelFacts& f) {
  json weight_bytes = f.weights.bytes_by_dtype;
  weight_bytes["total"] = f.weights.weight_bytes;
  json j = {{"file_bytes", f.size.file_bytes},    {"download_bytes", f.size.download_bytes},
            {"parameters", f.weights.parameters}, {"weight_bytes", weight_bytes},
            {"nodes", f.nodes.nodes_total}};
  if (f.macs.known) j["macs"] = f.macs.total;
  else j["macs_unknown_reason"] = f.macs.reason;
  j["parameters_by_dtype"] = f.weights.parameters_by_dtype;
  j["layers"] = json::array();
  for (const auto& l : f.layers)
    j["layers"].push_back({{"node", l.node}, {"op", l.op}, {"bytes", l.bytes}, {"parameters", l.parameters}});
  return j;
}

json tune_json(const metrics::TuneSummary& s) {
  json j = {{"objective", s.objective},         {"search_samples", s.search_samples},
            {"sensitivity_samples", s.sensitivity_samples}, {"evaluations", s.evaluations},
            {"cached", s.cached},               {"skipped", s.skipped},
            {"verifications", s.verifications}, {"unbuilt", s.unbuilt}, {"seconds", s.seconds},
            {"cache", s.cache},                 {"stopped", s.stopped}};
  j["sensitivity_set"] = json::array();
  for (const auto& [name, weight] : s.sensitivity_set) j["sensitivity_set"].push_back({{"sample", name}, {"weight", weight}});
  j["front"] = json::array();
  for (const auto& p : s.front) {
    json e = {{"noise_budget_db", p.noise_budget_db}, {"bytes", p.bytes}, {"download_bytes", p.download_bytes},
              {"cost", p.cost}, {"int8_layers", p.int8_layers}, {"ok", p.ok}, {"chosen", p.chosen}};
    if (p.sqnr) e["sqnr_db"] = *p.sqnr;
    if (p.cosine) e["cosine"] = *p.cosine;
    if (p.top1_drop) e["top1_drop"] = *p.top1_drop;
    if (p.accuracy) e["accuracy"] = *p.accuracy;
    if (p.macs) e["macs"] = *p.macs;
    j["front"].push_back(e);
  }
  j["layers"] = json::array();
  for (const auto& l : s.layers)
    j["layers"].push_back({{"layer", l.layer}, {"op", l.op}, {"parameters", l.parameters}, {"choice", l.choice},
                           {"sqnr_db", l.sqnr_db}});
  return j;
}

json report_json(const metrics::Report& r) {
  json j = {{"input", r.input},
            {"output", r.output},
            {"pipeline", r.pipeline},
            {"before", facts_json(r.before)},
            {"after", facts_json(r.after)}};
  if (!r.name.empty()) j["name"] = r.name;
  if (r.cut) j["cut"] = {{"inputs", r.cut->inputs}, {"outputs", r.cut->outputs}};
  if (r.steps) j["passes"] = steps_json(*r.steps);
  for (const auto& [key, value] : r.trimmed)
    j["trimmed"][key] = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (r.evaluation) add_evaluation(j, *r.evaluation);
  if (r.latency) j["latency"] = latency_json(*r.latency);
  if (r.tune) j["tune"] = tune_json(*r.tune);
  if (r.rejected_kept_at)
    j["rejected"] = {{"kept_at", r.rejected_kept_at->empty() ? json() : json(*r.rejected_kept_at)}};
  if (!r.budgets.empty()) {
    j["budgets"] = json::array();
    for (const auto& b : r.budgets) j["budgets"].push_back(budget_json(b, r.budget_failure_lines));
  }
  return j;
}

json shape_json(const std::optional<ir::Shape>& shape) {
  if (!shape) return nullptr;
  json dims = json::array();
  for (const auto& d : shape->dims) dims.push_back(d.is_known() ? json(d.value) : d.symbol.empty() ? json() : json(d.symbol));
  return dims;
}

json values_json(const std::vector<ir::Value*>& values) {
  json out = json::array();
  for (const ir::Value* v : values) {
    if (v->is_constant()) continue;
    out.push_back({{"name", v->name()}, {"dtype", std::string(ir::name(v->dtype))}, {"shape", shape_json(v->shape)}});
  }
  return out;
}

std::string report_text(const metrics::Report& report) { return report_json(report).dump(2) + "\n"; }

std::vector<metrics::BudgetResult> read_budgets(const json& entry) {
  std::vector<metrics::BudgetResult> out;
  if (!entry.contains("budgets")) return out;
  for (const auto& b : entry["budgets"])
    out.push_back({b.value("what", ""), read_figure(b.value("value", json())), read_figure(b.value("limit", json())),
                   b.value("ok", true), b.value("failure", ""),
                   b.value("level", "") == "warn" ? metrics::Level::warn : metrics::Level::fail});
  return out;
}

namespace {

// The limits at `level` a checked model is held to, by the key "limits" uses
// (every growth result has the one max-growth limit).
json limits_json(const metrics::CheckedModel& m, metrics::Level level) {
  static const std::map<std::string, std::string> keys = {
      {"bytes", "bytes"},      {"download bytes", "download_bytes"}, {"parameters", "params"},
      {"MACs", "macs"},        {"SQNR", "min_sqnr"},                 {"cosine", "min_cosine"},
      {"top-1 drop", "max_top1_drop"}, {"accuracy", "min_accuracy"},
      {"runner latency", "runner_latency_ms"}, {"runner peak memory", "runner_peak_memory"}};
  json limits = json::object();
  for (const auto& b : m.results)
    if (b.level == level) limits[metrics::is_growth(b.what) ? "max_growth" : keys.at(b.what)] = figure_json(b.limit);
  return limits;
}

// The limits at `level` that do not hold.
json failures_json(const metrics::CheckedModel& m, metrics::Level level) {
  json failures = json::array();
  for (const auto& b : m.results)
    if (!b.ok && b.level == level)
      failures.push_back({{"what", b.what}, {"limit", figure_json(b.limit)}, {"value", figure_json(b.value)}});
  return failures;
}

}  // namespace

json check_json(const metrics::CheckReport& report) {
  json models = json::array();
  for (const auto& r : report.models) {
    json m;
    m["file"] = r.name;
    m["bytes"] = r.measured.bytes;
    m["download_bytes"] = r.measured.download_bytes;
    m["params"] = r.measured.params;
    if (r.measured.macs) m["macs"] = *r.measured.macs;
    if (!r.measured.macs_reason.empty()) m["macs_unknown_reason"] = r.measured.macs_reason;
    // Measured on this machine by pare's runner, when a limit asks (not reproducible: latency).
    if (r.measured.runner_latency_ms) m["runner_latency_ms"] = *r.measured.runner_latency_ms;
    if (r.measured.runner_peak_memory) m["runner_peak_memory"] = *r.measured.runner_peak_memory;
    m["limits"] = limits_json(r, metrics::Level::fail);
    m["failures"] = failures_json(r, metrics::Level::fail);
    if (!r.warn.empty()) {  // the warn level, when one is set
      m["warn_limits"] = limits_json(r, metrics::Level::warn);
      m["warnings"] = failures_json(r, metrics::Level::warn);
    }
    if (r.evaluation) {  // the comparison with the reference, and every budget as checked
      m["reference"] = r.reference;
      m["data"] = r.data;
      if (!r.labels.empty()) m["labels"] = r.labels;
      m["samples"] = r.evaluation->samples;
      m["fidelity"] = json::array();
      for (const auto& d : r.evaluation->diffs) m["fidelity"].push_back(diff_json(d));
      if (r.evaluation->accuracy)
        m["accuracy"] = {{"before", r.evaluation->accuracy->first}, {"after", r.evaluation->accuracy->second},
                         {"lost", r.evaluation->accuracy_lost.value_or(0.0)}};
      json budgets = json::array();
      for (const auto& b : r.results) budgets.push_back(budget_json(b, true));
      m["budgets"] = budgets;
    }
    models.push_back(m);
  }
  return json{{"models", models}};
}

std::map<std::string, json> read_check_baseline(const std::string& path) {
  std::string text = read_input_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not a JSON file written by pare check {}: {}", path, spell(Setting::kCheckReportFile), e.what());
  }
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array())
    fail("{}: not a file written by pare check {} (no \"models\" list)", path, spell(Setting::kCheckReportFile));
  std::map<std::string, json> out;
  for (const auto& m : j["models"]) {
    if (!m.is_object() || !m.contains("file") || !m["file"].is_string())
      fail("{}: not a file written by pare check {} (a model without \"file\")", path, spell(Setting::kCheckReportFile));
    out[m["file"].get<std::string>()] = m;
  }
  return out;
}

}  // namespace pare::formats
