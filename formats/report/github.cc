#include <fmt/format.h>

#include <algorithm>

#include "formats/report/ci.h"

namespace pare::formats {
namespace {

std::string github_escape_data(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out;
}

std::string github_escape_property(const std::string& s) {
  std::string out;
  for (char c : github_escape_data(s)) {
    if (c == ':') out += "%3A";
    else if (c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

// A failure as a GitHub annotation: "exceeds" and "is below" where the
// failure line says ">" and "<".
std::string annotation(const metrics::BudgetResult& b) {
  std::string m = b.failure;
  for (const char* limit : {"budget", "warn level"})
    for (const auto& [from, to] : {std::pair<std::string, std::string>{" > ", " exceeds "},
                                   std::pair<std::string, std::string>{" < ", " is below "}})
      if (size_t at = m.find(from + limit + " "); at != std::string::npos) return m.replace(at, from.size(), to);
  return m;
}

std::string markdown_cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

// A cell with the value, the limit, the change since the baseline; bold when
// over a budget, italic when past a warn level.
std::string cell(std::string text, const std::string& change, const std::string& status) {
  if (!change.empty()) text += " (" + change + ")";
  text = markdown_cell(text);
  if (status == "over") text = "**" + text + "**";
  if (status == "warn") text = "_" + text + "_";
  return " " + text + " |";
}

std::string summary_row(const metrics::CheckedModel& r, bool any_macs,
                        const std::vector<const FidelityMeasure*>& fidelity, const Baseline* baseline) {
  const nlohmann::json* base = baseline ? baseline_of(*baseline, r.name) : nullptr;
  std::string md = "| `" + markdown_cell(r.name) + "` |";
  auto ms = measures(r);
  for (size_t k = 0; k < (any_macs ? 4u : 3u); ++k) {
    if (k >= ms.size()) {
      md += " |";
      continue;
    }
    const Measure& m = ms[k];
    std::string text = value_text(m);
    if (m.limit || m.warn_limit) text += " / " + limit_text(m);
    // The change is shown in the cell, so a growth limit marks the cell too.
    std::string status = status_of(r, m.what), growth = status_of(r, std::string(m.what) + " growth");
    if (growth == "over" || (growth == "warn" && status != "over")) status = growth;
    md += cell(text, baseline ? change(m, base) : "", status);
  }
  for (const auto* f : fidelity) {
    const metrics::BudgetResult* b = fidelity_result(r, *f);
    if (!b) {
      md += " |";
      continue;
    }
    md += cell(fidelity_value(*f, *b) + " / " + fidelity_limit(r, *f), baseline ? change(*f, *b, base) : "",
               status_of(r, f->what));
  }
  std::string verdict = verdict_of(r);
  return md + (verdict == "over" ? " **over** |\n" : verdict == "warn" ? " warn |\n" : " ok |\n");
}

}  // namespace

std::string github_annotations(const metrics::CheckReport& report) {
  std::string out;
  for (const auto& r : report.models)
    for (const auto& b : r.results)
      if (!b.ok && !metrics::repeats_a_failure(r.results, b))
        out += fmt::format("::{} file={}::{}\n", b.level == metrics::Level::warn ? "warning" : "error",
                           github_escape_property(r.name), github_escape_data(annotation(b)));
  return out;
}

std::string github_summary(const metrics::CheckReport& report, const Baseline* baseline) {
  const auto& rows = report.models;
  bool any_macs = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return measures(r).size() > 3; });
  std::vector<const FidelityMeasure*> fidelity;  // the columns that some row has
  for (const auto& m : fidelity_measures())
    if (std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return fidelity_result(r, m) != nullptr; }))
      fidelity.push_back(&m);
  std::string md = report.budget_file.empty() ? "### pare check\n\n"  // limits given as flags
                                              : fmt::format("### pare check: {}\n\n", markdown_cell(report.budget_file));
  md += check_verdict(report) + ".\n\n";
  std::string header = "| Model | Bytes | Download bytes | Parameters |", rule = "|---|---|---|---|";
  if (any_macs) header += " MACs |", rule += "---|";
  for (const auto* m : fidelity) header += fmt::format(" {} |", m->title), rule += "---|";
  md += header + " Status |\n" + rule + "---|\n";
  for (const auto& r : rows) md += summary_row(r, any_macs, fidelity, baseline);
  return md + "\n";
}

}  // namespace pare::formats
