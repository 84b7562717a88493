#include <fmt/format.h>

#include <algorithm>
#include <cctype>

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

// The size measures some row has, in measures()'s order: the table's columns.
std::vector<std::string> size_columns(const std::vector<metrics::CheckedModel>& rows) {
  std::vector<std::string> out;
  for (const char* what : {"bytes", "download bytes", "parameters", "MACs", "runner peak memory"})
    for (const auto& r : rows) {
      auto ms = measures(r);
      if (std::any_of(ms.begin(), ms.end(), [&](const Measure& m) { return what == std::string(m.what); })) {
        out.push_back(what);
        break;
      }
    }
  return out;
}

std::string summary_row(const metrics::CheckedModel& r, const std::vector<std::string>& sizes,
                        const std::vector<const RealMeasure*>& reals, const Baseline* baseline) {
  const nlohmann::json* base = baseline ? baseline_of(*baseline, r.name) : nullptr;
  std::string md = "| `" + markdown_cell(r.name) + "` |";
  auto ms = measures(r);
  for (const auto& what : sizes) {
    auto m = std::find_if(ms.begin(), ms.end(), [&](const Measure& x) { return x.what == what; });
    if (m == ms.end()) {
      md += " |";
      continue;
    }
    std::string text = value_text(*m);
    if (m->limit || m->warn_limit) text += " / " + limit_text(*m);
    // The change is shown in the cell, so a growth limit marks the cell too.
    std::string status = status_of(r, what), growth = status_of(r, what + " growth");
    if (growth == "over" || (growth == "warn" && status != "over")) status = growth;
    md += cell(text, baseline ? change(*m, base) : "", status);
  }
  for (const auto* f : reals) {
    const metrics::BudgetResult* b = real_result(r, *f);
    if (!b) {
      md += " |";
      continue;
    }
    md += cell(real_value(*f, *b) + " / " + real_limit(r, *f), baseline ? change(*f, *b, base) : "",
               status_of(r, f->what));
  }
  std::string verdict = verdict_of(r);
  return md + (verdict == "over" ? " **over** |\n" : verdict == "warn" ? " warn |\n" : " ok |\n");
}

// "Download bytes" for "download bytes", "MACs" as it is.
std::string column_title(std::string what) {
  if (!what.empty() && what != "MACs") what[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(what[0])));
  return what;
}

}  // namespace

// One annotation: at the budget file's line that sets the limit when there is
// one (the model named in the message), else at the model.
std::string annotation_line(const metrics::CheckReport& report, const metrics::CheckedModel& r,
                            const metrics::BudgetResult& b) {
  bool warn = b.level == metrics::Level::warn;
  auto line = r.limit_lines.find((warn ? "warn." : "") + metrics::budget_key_of(b.what));
  std::string where = github_escape_property(r.name), message = annotation(b);
  if (!report.budget_file.empty() && line != r.limit_lines.end()) {
    where = fmt::format("{},line={}", github_escape_property(report.budget_file), line->second);
    message = r.name + ": " + message;
  }
  return fmt::format("::{} file={}::{}\n", warn ? "warning" : "error", where, github_escape_data(message));
}

std::string github_annotations(const metrics::CheckReport& report) {
  std::string out;
  for (const auto& r : report.models)
    for (const auto& b : r.results)
      if (!b.ok && !metrics::repeats_a_failure(r.results, b)) out += annotation_line(report, r, b);
  return out;
}

std::string github_summary(const metrics::CheckReport& report, const Baseline* baseline) {
  const auto& rows = report.models;
  std::vector<std::string> sizes = size_columns(rows);
  std::vector<const RealMeasure*> reals;  // the columns that some row has
  for (const auto& m : real_measures())
    if (std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return real_result(r, m) != nullptr; }))
      reals.push_back(&m);
  std::string md = report.budget_file.empty() ? "### pare check\n\n"  // limits given as flags
                                              : fmt::format("### pare check: {}\n\n", markdown_cell(report.budget_file));
  md += check_verdict(report) + ".\n\n";
  std::string header = "| Model |", rule = "|---|";
  for (const auto& what : sizes) header += " " + column_title(what) + " |", rule += "---|";
  for (const auto* m : reals) header += fmt::format(" {} |", m->title), rule += "---|";
  md += header + " Status |\n" + rule + "---|\n";
  for (const auto& r : rows) md += summary_row(r, sizes, reals, baseline);
  return md + "\n";
}

}  // namespace pare::formats
