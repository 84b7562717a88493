#include "formats/report/check_common.h"

#include <fmt/format.h>

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
  const metrics::Budget& b = m.budget;
  std::vector<Measure> out = {
      {"bytes", "bytes", m.measured.bytes, b.max_bytes},
      {"download bytes", "download_bytes", m.measured.download_bytes, b.max_download_bytes},
      {"parameters", "params", m.measured.params, b.max_params},
  };
  if (b.max_macs) out.push_back({"MACs", "macs", m.measured.macs, b.max_macs});
  return out;
}

const std::vector<FidelityMeasure>& fidelity_measures() {
  static const std::vector<FidelityMeasure> m = {{"SQNR", "SQNR", " dB", 2},
                                                 {"cosine", "Cosine", "", 6},
                                                 {"top-1 drop", "Top-1 drop", " points", 2},
                                                 {"accuracy", "Accuracy", "", 4}};
  return m;
}

const metrics::BudgetResult* result_of(const metrics::CheckedModel& m, std::string_view what) {
  for (const auto& b : m.results)
    if (b.what == what) return &b;
  return nullptr;
}

bool is_over(const metrics::CheckedModel& m, std::string_view what) {
  const metrics::BudgetResult* b = result_of(m, what);
  return b && !b->ok;
}

std::string value_text(const Measure& m) { return m.value ? metrics::format_amount(m.what, *m.value) : "unknown"; }

std::string fidelity_value(const FidelityMeasure& f, const metrics::BudgetResult& b) {
  auto v = real(b.value);
  return v ? fmt::format("{:.{}f}{}", *v, f.decimals, f.unit) : "unknown";
}

std::string fidelity_limit(const FidelityMeasure& f, const metrics::BudgetResult& b) {
  return fmt::format("{}{}", real(b.limit).value_or(0), f.unit);
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

std::string change(const FidelityMeasure& f, const metrics::BudgetResult& b, const json* base) {
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
