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
  for (const auto& [from, to] : {std::pair<std::string, std::string>{" > budget ", " exceeds budget "},
                                 std::pair<std::string, std::string>{" < budget ", " is below budget "}})
    if (size_t at = m.find(from); at != std::string::npos) return m.replace(at, from.size(), to);
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

// A cell with the value, the limit, the change since the baseline; bold when over.
std::string cell(std::string text, const std::string& change, bool over) {
  if (!change.empty()) text += " (" + change + ")";
  if (over) text = "**" + text + "**";
  return " " + markdown_cell(text) + " |";
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
    if (m.limit) text += " / " + metrics::format_amount(m.what, *m.limit);
    md += cell(text, baseline ? change(m, base) : "", is_over(r, m.what));
  }
  for (const auto* f : fidelity) {
    const metrics::BudgetResult* b = result_of(r, f->what);
    if (!b) {
      md += " |";
      continue;
    }
    md += cell(fidelity_value(*f, *b) + " / " + fidelity_limit(*f, *b), baseline ? change(*f, *b, base) : "", !b->ok);
  }
  return md + (r.over() ? " **over** |\n" : " ok |\n");
}

}  // namespace

std::string github_annotations(const metrics::CheckReport& report) {
  std::string out;
  for (const auto& r : report.models)
    for (const auto& b : r.results)
      if (!b.ok) out += fmt::format("::error file={}::{}\n", github_escape_property(r.name), github_escape_data(annotation(b)));
  return out;
}

std::string github_summary(const metrics::CheckReport& report, const Baseline* baseline) {
  const auto& rows = report.models;
  bool any_macs = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.budget.max_macs.has_value(); });
  std::vector<const FidelityMeasure*> fidelity;  // the columns that some row has
  for (const auto& m : fidelity_measures())
    if (std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return result_of(r, m.what) != nullptr; }))
      fidelity.push_back(&m);
  size_t over = report.over();
  std::string md = report.budget_file.empty() ? "### pare check\n\n"  // limits given as flags
                                              : fmt::format("### pare check: {}\n\n", markdown_cell(report.budget_file));
  const char* models = rows.size() == 1 ? "model" : "models";
  md += over ? fmt::format("{} of {} {} over budget.\n\n", over, rows.size(), models)
             : fmt::format("{} {} within budget.\n\n", rows.size(), models);
  std::string header = "| Model | Bytes | Download bytes | Parameters |", rule = "|---|---|---|---|";
  if (any_macs) header += " MACs |", rule += "---|";
  for (const auto* m : fidelity) header += fmt::format(" {} |", m->title), rule += "---|";
  md += header + " Status |\n" + rule + "---|\n";
  for (const auto& r : rows) md += summary_row(r, any_macs, fidelity, baseline);
  return md + "\n";
}

}  // namespace pare::formats
