#include "formats/report/check_common.h"

#include <fmt/format.h>

#include <algorithm>

#include "lib/base/strings.h"

namespace pare::formats {

using json = nlohmann::json;

namespace {
std::optional<double> real(const metrics::Figure& f) {
  if (const auto* d = std::get_if<double>(&f)) return *d;
  if (const auto* i = std::get_if<int64_t>(&f)) return static_cast<double>(*i);
  return std::nullopt;
}
}  // namespace

std::vector<Measure> measures(const metrics::CheckedModel& m) {
  const metrics::Budget &b = m.budget, &w = m.warn;
  std::vector<Measure> out = {
      {"bytes", "bytes", m.measured.bytes, b.max_bytes, w.max_bytes},
      {"download bytes", "download_bytes", m.measured.download_bytes, b.max_download_bytes, w.max_download_bytes},
      {"parameters", "params", m.measured.params, b.max_params, w.max_params},
  };
  if (b.max_macs || w.max_macs) out.push_back({"MACs", "macs", m.measured.macs, b.max_macs, w.max_macs});
  if (b.max_runner_peak_memory || w.max_runner_peak_memory)
    out.push_back({"runner peak memory", "runner_peak_memory", m.measured.runner_peak_memory, b.max_runner_peak_memory,
                   w.max_runner_peak_memory});
  return out;
}

const std::vector<RealMeasure>& real_measures() {
  static const std::vector<RealMeasure> m = {{"runner latency", "Runner latency", " ms", 2},
                                             {"SQNR", "SQNR", " dB", 2},
                                                 {"cosine", "Cosine", "", 6},
                                                 {"top-1 drop", "Top-1 drop", " points", 2},
                                                 {"accuracy", "Accuracy", "", 4}};
  return m;
}

const metrics::BudgetResult* result_of(const metrics::CheckedModel& m, std::string_view what, metrics::Level level) {
  for (const auto& b : m.results)
    if (b.what == what && b.level == level) return &b;
  return nullptr;
}

std::string status_of(const metrics::CheckedModel& m, std::string_view what) {
  const metrics::BudgetResult *f = result_of(m, what), *w = result_of(m, what, metrics::Level::warn);
  if (f && !f->ok) return "over";
  if (w && !w->ok) return "warn";
  return f || w ? "ok" : "";
}

std::string check_verdict(const metrics::CheckReport& report) {
  size_t over = report.over(), warned = report.warned(), n = report.models.size();
  const char* models = n == 1 ? "model" : "models";
  std::string v = over ? fmt::format("{} of {} {} over budget", over, n, models)
                       : fmt::format("{} {} within budget", n, models);
  if (warned) v += fmt::format(", {} past a warn level", warned);
  return v;
}

std::string verdict_of(const metrics::CheckedModel& m) { return m.over() ? "over" : m.warned() ? "warn" : "ok"; }

std::vector<std::string> growth_measures(const metrics::CheckedModel& m) {
  std::vector<std::string> out;
  for (const auto& b : m.results)
    if (metrics::is_growth(b.what) && std::find(out.begin(), out.end(), b.what) == out.end()) out.push_back(b.what);
  return out;
}

std::string growth_value(const metrics::CheckedModel& m, std::string_view what) {
  const metrics::BudgetResult* b = result_of(m, what);
  if (!b) b = result_of(m, what, metrics::Level::warn);
  auto v = b ? real(b->value) : std::nullopt;
  return v ? fmt::format("{:+.1f}%", *v) : "unknown";
}

std::string growth_limit(const metrics::CheckedModel& m, std::string_view what) {
  std::vector<std::string> parts;
  if (const auto* b = result_of(m, what)) parts.push_back(fmt::format("+{}%", real(b->limit).value_or(0)));
  if (const auto* w = result_of(m, what, metrics::Level::warn))
    parts.push_back(fmt::format("warn +{}%", real(w->limit).value_or(0)));
  return join(parts, ", ");
}

bool is_over(const metrics::CheckedModel& m, std::string_view what) {
  const metrics::BudgetResult* b = result_of(m, what);
  return b && !b->ok;
}

std::string value_text(const Measure& m) { return m.value ? metrics::format_amount(m.what, *m.value) : "unknown"; }

std::string limit_text(const Measure& m) {
  std::vector<std::string> parts;
  if (m.limit) parts.push_back(metrics::format_amount(m.what, *m.limit));
  if (m.warn_limit) parts.push_back("warn " + metrics::format_amount(m.what, *m.warn_limit));
  return parts.empty() ? "-" : join(parts, ", ");
}

std::string real_value(const RealMeasure& f, const metrics::BudgetResult& b) {
  auto v = real(b.value);
  return v ? fmt::format("{:.{}f}{}", *v, f.decimals, f.unit) : "unknown";
}

const metrics::BudgetResult* real_result(const metrics::CheckedModel& m, const RealMeasure& f) {
  const metrics::BudgetResult* b = result_of(m, f.what);
  return b ? b : result_of(m, f.what, metrics::Level::warn);
}

std::string real_limit(const metrics::CheckedModel& m, const RealMeasure& f) {
  std::vector<std::string> parts;
  if (const auto* b = result_of(m, f.what)) parts.push_back(fmt::format("{}{}", real(b->limit).value_or(0), f.unit));
  if (const auto* w = result_of(m, f.what, metrics::Level::warn))
    parts.push_back(fmt::format("warn {}{}", real(w->limit).value_or(0), f.unit));
  return join(parts, ", ");
}

std::map<std::string, metrics::Measured::Sizes> baseline_sizes(const Baseline& baseline) {
  auto count = [](const json& entry, const char* key) -> std::optional<int64_t> {
    if (!entry.is_object() || !entry.contains(key) || !entry[key].is_number_integer()) return std::nullopt;
    return entry[key].get<int64_t>();
  };
  std::map<std::string, metrics::Measured::Sizes> out;
  for (const auto& [name, entry] : baseline)
    out[name] = {count(entry, "bytes"), count(entry, "download_bytes"), count(entry, "params"), count(entry, "macs")};
  return out;
}

const json* baseline_of(const Baseline& baseline, const std::string& name) {
  auto it = baseline.find(name);
  return it == baseline.end() ? nullptr : &it->second;
}

std::string change(const Measure& m, const json* base) {
  if (!base) return "new";
  if (!m.value || !base->contains(m.key) || !(*base)[m.key].is_number_integer()) return "";
  int64_t old = (*base)[m.key].get<int64_t>(), d = *m.value - old;
  if (d == 0) return "no change";
  std::string amount = metrics::format_amount(m.what, d);
  if (d > 0) amount = "+" + amount;
  if (old == 0) return amount;
  return fmt::format("{}, {:+.1f}%", amount, 100.0 * static_cast<double>(d) / static_cast<double>(old));
}

std::string change(const RealMeasure& f, const metrics::BudgetResult& b, const json* base) {
  if (!base) return "new";
  auto v = real(b.value);
  if (!v || !base->contains("budgets") || !(*base)["budgets"].is_array()) return "";
  for (const auto& old : (*base)["budgets"])
    if (old.is_object() && old.contains("what") && old["what"] == b.what && old.contains("value") &&
        old["value"].is_number()) {
      double d = *v - old["value"].get<double>();
      return d == 0 ? "no change" : fmt::format("{:+.{}f}{}", d, f.decimals, f.unit);
    }
  return "";
}

}  // namespace pare::formats
