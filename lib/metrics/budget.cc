#include "lib/metrics/budget.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

#include "lib/base/strings.h"

namespace pare::metrics {
namespace {

// A strict decimal number ("30", "0.999", "-5.5"); nullopt on anything else.
std::optional<double> parse_number(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Runs `parse` on the text of `key`; any error becomes a BudgetValueError for the key.
template <typename F>
auto parse_value(const std::string& key, const std::string& text, F parse) -> decltype(parse(text)) {
  try {
    return parse(text);
  } catch (const Error& e) {
    throw BudgetValueError(key, e.what());
  } catch (const std::exception&) {
    throw BudgetValueError(key, fmt::format("'{}' is not a valid value", text));
  }
}

double parse_ranged(const std::string& key, const std::string& text, double lo, double hi, const char* what) {
  auto v = parse_number(text);
  if (!v || *v < lo || *v > hi) throw BudgetValueError(key, fmt::format("'{}' is not {}", text, what));
  return *v;
}

// `value` with enough decimals (at least `decimals`) that it reads on the failing side of `limit`.
std::string figure(double value, double limit, bool is_min, int decimals) {
  for (int p = decimals; p <= 12; ++p) {
    std::string s = fmt::format("{:.{}f}", value, p);
    double shown = std::strtod(s.c_str(), nullptr);
    if (is_min ? shown < limit : shown > limit) return s;
  }
  return fmt::format("{}", value);
}

// How a limit is named in the line that says it does not hold.
const char* limit_word(Level level) { return level == Level::warn ? "warn level" : "budget"; }

// A fidelity limit: `value` nullopt when it could not be measured (`why`).
BudgetResult fidelity_result(const std::string& what, std::optional<double> value, double limit, bool is_min,
                             const std::string& unit, int decimals, const std::string& why, Level level) {
  BudgetResult r{what, value ? Figure(*value) : Figure(), limit, true, "", level};
  std::string suffix = unit.empty() ? "" : " " + unit;
  if (!value) {
    r.ok = false;
    r.failure = fmt::format("{} unknown ({}), {} {}{} cannot be checked", what, why, limit_word(level), limit, suffix);
  } else if (is_min ? *value < limit : *value > limit) {
    r.ok = false;
    r.failure = fmt::format("{} {}{} {} {} {}{}", what, figure(*value, limit, is_min, decimals), suffix,
                            is_min ? "<" : ">", limit_word(level), limit, suffix);
  }
  return r;
}

// The growth of one size figure since the baseline, when both know it (and the
// baseline's is not 0, from which every growth is infinite).
void add_growth(std::vector<BudgetResult>& out, const std::string& what, std::optional<int64_t> now,
                std::optional<int64_t> before, double limit, Level level) {
  if (!now || !before || *before <= 0) return;
  double percent = 100.0 * static_cast<double>(*now - *before) / static_cast<double>(*before);
  BudgetResult r{what + " growth", percent, limit, percent <= limit, "", level};
  if (!r.ok)
    r.failure = fmt::format("{} grew {}% since the baseline ({} -> {}) > {} +{}%", what,
                            figure(percent, limit, false, 1), format_amount(what, *before), format_amount(what, *now),
                            limit_word(level), limit);
  out.push_back(r);
}

}  // namespace

const std::vector<std::string>& budget_keys() {
  static const std::vector<std::string> keys = {
      "max-bytes",  "max-download-bytes", "max-params",    "max-macs",    "max-runner-latency", "max-runner-peak-memory",
      "max-growth", "min-sqnr",           "min-cosine",    "max-top1-drop", "min-accuracy"};
  return keys;
}

const std::vector<std::string>& check_only_budget_keys() {
  static const std::vector<std::string> keys = {"max-runner-latency", "max-runner-peak-memory", "max-growth"};
  return keys;
}

std::string budget_key_of(std::string_view what) {
  static const std::map<std::string, std::string, std::less<>> keys = {
      {"bytes", "max-bytes"},       {"download bytes", "max-download-bytes"}, {"parameters", "max-params"},
      {"MACs", "max-macs"},         {"runner latency", "max-runner-latency"},
      {"runner peak memory", "max-runner-peak-memory"},                      {"SQNR", "min-sqnr"},
      {"cosine", "min-cosine"},     {"top-1 drop", "max-top1-drop"},          {"accuracy", "min-accuracy"}};
  if (is_growth(what)) return "max-growth";
  auto it = keys.find(what);
  return it == keys.end() ? "" : it->second;
}

const std::vector<std::string>& fidelity_budget_keys() {
  static const std::vector<std::string> keys = {"min-sqnr", "min-cosine", "max-top1-drop", "min-accuracy"};
  return keys;
}

Budget parse_budget(const std::map<std::string, std::string>& texts) {
  for (const auto& [key, text] : texts)
    if (std::find(budget_keys().begin(), budget_keys().end(), key) == budget_keys().end())
      throw BudgetValueError(key, fmt::format("not a budget (budgets: {}){}", join(budget_keys(), ", "),
                                              did_you_mean(key, budget_keys())));
  auto has = [&](const std::string& k) { return texts.count(k) > 0; };
  auto size = [&](const std::string& k) -> std::optional<int64_t> {
    if (!has(k)) return std::nullopt;
    const std::string& text = texts.at(k);
    int64_t v = parse_value(k, text, [](const std::string& t) { return parse_size(t); });
    if (v < 0 || std::count(text.begin(), text.end(), '.') > 1)
      throw BudgetValueError(k, fmt::format("'{}' is not a size (examples: 5MB, 750KiB, 120000)", text));
    return v;
  };
  auto count = [&](const std::string& k) -> std::optional<int64_t> {
    if (!has(k)) return std::nullopt;
    return parse_value(k, texts.at(k), [](const std::string& t) { return parse_count(t); });
  };
  Budget b;
  b.max_bytes = size("max-bytes");
  b.max_download_bytes = size("max-download-bytes");
  b.max_params = count("max-params");
  b.max_macs = count("max-macs");
  if (has("max-runner-latency"))
    b.max_runner_latency_ms = parse_value("max-runner-latency", texts.at("max-runner-latency"),
                                          [](const std::string& t) { return parse_duration_ms(t); });
  b.max_runner_peak_memory = size("max-runner-peak-memory");
  if (has("max-growth"))
    b.max_growth = parse_value("max-growth", texts.at("max-growth"), [](const std::string& t) { return parse_growth(t); });
  if (has("min-sqnr")) b.min_sqnr = parse_ranged("min-sqnr", texts.at("min-sqnr"), -1e9, 1e9, "a number of dB (e.g. 30)");
  if (has("min-cosine"))
    b.min_cosine = parse_ranged("min-cosine", texts.at("min-cosine"), -1, 1,
                                "a cosine similarity between -1 and 1 (e.g. 0.999)");
  if (has("max-top1-drop"))
    b.max_top1_drop = parse_ranged("max-top1-drop", texts.at("max-top1-drop"), 0, 100,
                                   "a number of percentage points between 0 and 100 (e.g. 1)");
  if (has("min-accuracy"))
    b.min_accuracy = parse_ranged("min-accuracy", texts.at("min-accuracy"), 0, 1, "a fraction between 0 and 1 (e.g. 0.9)");
  return b;
}

Budget tightest(const Budget& a, const Budget& b) {
  auto pick = [](const auto& x, const auto& y, bool highest) {
    if (!x) return y;
    if (!y) return x;
    return highest ? std::max(x, y) : std::min(x, y);
  };
  Budget t;
  t.max_bytes = pick(a.max_bytes, b.max_bytes, false);
  t.max_download_bytes = pick(a.max_download_bytes, b.max_download_bytes, false);
  t.max_params = pick(a.max_params, b.max_params, false);
  t.max_macs = pick(a.max_macs, b.max_macs, false);
  t.max_runner_latency_ms = pick(a.max_runner_latency_ms, b.max_runner_latency_ms, false);
  t.max_runner_peak_memory = pick(a.max_runner_peak_memory, b.max_runner_peak_memory, false);
  t.max_growth = pick(a.max_growth, b.max_growth, false);
  t.min_sqnr = pick(a.min_sqnr, b.min_sqnr, true);
  t.min_cosine = pick(a.min_cosine, b.min_cosine, true);
  t.max_top1_drop = pick(a.max_top1_drop, b.max_top1_drop, false);
  t.min_accuracy = pick(a.min_accuracy, b.min_accuracy, true);
  return t;
}

Figure limit_of(const Budget& b, std::string_view key) {
  auto figure = [](const auto& limit) -> Figure {
    if (!limit) return {};
    return *limit;
  };
  if (key == "max-bytes") return figure(b.max_bytes);
  if (key == "max-download-bytes") return figure(b.max_download_bytes);
  if (key == "max-params") return figure(b.max_params);
  if (key == "max-macs") return figure(b.max_macs);
  if (key == "max-runner-latency") return figure(b.max_runner_latency_ms);
  if (key == "max-runner-peak-memory") return figure(b.max_runner_peak_memory);
  if (key == "max-growth") return figure(b.max_growth);
  if (key == "min-sqnr") return figure(b.min_sqnr);
  if (key == "min-cosine") return figure(b.min_cosine);
  if (key == "max-top1-drop") return figure(b.max_top1_drop);
  if (key == "min-accuracy") return figure(b.min_accuracy);
  return {};
}

void add_fidelity(Measured& m, const std::vector<OutputDiff>& compared, std::optional<double> accuracy,
                  std::optional<double> lost) {
  std::vector<OutputDiff> outputs = judged(compared);
  auto worst = [&](auto get, bool lowest) -> std::optional<double> {
    std::optional<double> w;
    for (const auto& d : outputs)
      if (auto v = get(d); v && (!w || (lowest ? *v < *w : *v > *w))) w = v;
    return w;
  };
  m.sqnr = worst([](const OutputDiff& d) { return std::optional(d.sqnr_db); }, true);
  m.cosine = worst([](const OutputDiff& d) { return std::optional(d.cosine); }, true);
  m.top1_drop = worst(
      [](const OutputDiff& d) -> std::optional<double> {
        if (!d.top1_agreement) return std::nullopt;
        return 100.0 * (1.0 - *d.top1_agreement);
      },
      false);
  m.accuracy = accuracy;
  if (lost) m.top1_drop = 100.0 * *lost;
}

std::vector<BudgetResult> check_limits(const Budget& budget, const Measured& m, Level level) {
  std::vector<BudgetResult> out;
  auto failures = check_budget(m, budget);
  auto size_limit = [&](const std::string& what, int64_t value, const std::optional<int64_t>& limit, bool known) {
    if (!limit) return;
    BudgetResult r{what, known ? Figure(value) : Figure(), *limit, true, "", level};
    for (const auto& f : failures)
      if (f.what == what) {
        r.ok = false;
        r.failure = f.unknown ? fmt::format("{} unknown ({}), {} {} cannot be checked", f.what, m.macs_reason,
                                            limit_word(level), format_amount(f.what, f.limit))
                              : describe(f, level);
      }
    out.push_back(r);
  };
  size_limit("bytes", m.bytes, budget.max_bytes, true);
  size_limit("download bytes", m.download_bytes, budget.max_download_bytes, true);
  size_limit("parameters", m.params, budget.max_params, true);
  size_limit("MACs", m.macs.value_or(-1), budget.max_macs, m.macs.has_value());
  if (budget.max_runner_latency_ms)
    out.push_back(fidelity_result("runner latency", m.runner_latency_ms, *budget.max_runner_latency_ms, false, "ms", 2,
                                  m.run_reason, level));
  if (budget.max_runner_peak_memory) {
    const char* what = "runner peak memory";
    int64_t limit = *budget.max_runner_peak_memory;
    BudgetResult r{what, m.runner_peak_memory ? Figure(*m.runner_peak_memory) : Figure(), limit, true, "", level};
    if (!m.runner_peak_memory) {
      r.ok = false;
      r.failure = fmt::format("{} unknown ({}), {} {} cannot be checked", what, m.run_reason, limit_word(level),
                              format_amount(what, limit));
    } else if (*m.runner_peak_memory > limit) {
      r.ok = false;
      r.failure = describe({what, *m.runner_peak_memory, limit}, level);
    }
    out.push_back(r);
  }
  if (budget.max_growth && m.baseline) {
    const Measured::Sizes& before = *m.baseline;
    add_growth(out, "bytes", m.bytes, before.bytes, *budget.max_growth, level);
    add_growth(out, "download bytes", m.download_bytes, before.download_bytes, *budget.max_growth, level);
    add_growth(out, "parameters", m.params, before.params, *budget.max_growth, level);
    add_growth(out, "MACs", m.macs, before.macs, *budget.max_growth, level);
  }
  if (budget.min_sqnr)
    out.push_back(fidelity_result("SQNR", m.sqnr, *budget.min_sqnr, true, "dB", 1, m.compare_reason, level));
  if (budget.min_cosine)
    out.push_back(fidelity_result("cosine", m.cosine, *budget.min_cosine, true, "", 4, m.compare_reason, level));
  if (budget.max_top1_drop)
    out.push_back(
        fidelity_result("top-1 drop", m.top1_drop, *budget.max_top1_drop, false, "points", 1, m.top1_reason, level));
  if (budget.min_accuracy)
    out.push_back(fidelity_result("accuracy", m.accuracy, *budget.min_accuracy, true, "", 4, "no labels", level));
  return out;
}

bool is_growth(std::string_view what) { return what.ends_with(" growth"); }

bool repeats_a_failure(const std::vector<BudgetResult>& results, const BudgetResult& r) {
  if (r.ok || r.level != Level::warn) return false;
  return std::any_of(results.begin(), results.end(),
                     [&](const BudgetResult& b) { return b.level == Level::fail && !b.ok && b.what == r.what; });
}

std::vector<BudgetFailure> check_budget(const Measured& m, const Budget& b) {
  std::vector<BudgetFailure> out;
  auto check = [&](const char* what, int64_t value, const std::optional<int64_t>& limit) {
    if (limit && value > *limit) out.push_back({what, value, *limit});
  };
  check("bytes", m.bytes, b.max_bytes);
  check("download bytes", m.download_bytes, b.max_download_bytes);
  check("parameters", m.params, b.max_params);
  if (b.max_macs) {
    if (!m.macs) out.push_back({"MACs", -1, *b.max_macs, true});
    else check("MACs", *m.macs, b.max_macs);
  }
  return out;
}

bool is_byte_amount(std::string_view what) {
  return what == "bytes" || what == "download bytes" || what == "runner peak memory";
}

std::string format_amount(std::string_view what, int64_t value) {
  return is_byte_amount(what) ? human_bytes(value) : std::to_string(value);
}

std::string describe(const BudgetFailure& f, Level level) {
  if (f.unknown)
    return fmt::format("{} unknown, {} {} cannot be checked", f.what, limit_word(level), format_amount(f.what, f.limit));
  std::string value = format_amount(f.what, f.value), limit = format_amount(f.what, f.limit);
  if (value == limit) {  // 229.03 kB > budget 229.03 kB says nothing: show the exact bytes too
    value += fmt::format(" ({} B)", f.value);
    limit += fmt::format(" ({} B)", f.limit);
  }
  return fmt::format("{} {} > {} {}", f.what, value, limit_word(level), limit);
}

namespace {
// "1.5 G" as its number (the leading digits and points, nullopt when they are
// not one number) and its unit (the rest, after spaces): counts and durations.
std::pair<std::optional<double>, std::string> number_and_unit(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  std::string unit(text.substr(i));
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  return {i ? parse_number(std::string(text.substr(0, i))) : std::nullopt, unit};
}
}  // namespace

int64_t parse_count(std::string_view text) {
  auto [number, unit] = number_and_unit(text);
  double scale = 0;
  if (unit.empty()) scale = 1;
  else if (unit == "k" || unit == "K") scale = 1e3;
  else if (unit == "m" || unit == "M") scale = 1e6;
  else if (unit == "g" || unit == "G") scale = 1e9;
  if (!number || scale == 0) fail("'{}' is not a count (examples: 200000, 50M, 1.5G)", text);
  double value = *number * scale;
  if (value >= 9.2e18) fail("'{}' is too large a count", text);  // beyond int64
  return static_cast<int64_t>(std::llround(value));
}

double parse_duration_ms(std::string_view text) {
  std::string_view trimmed = text;
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  auto [number, unit] = number_and_unit(trimmed);
  double scale = unit == "us" ? 1e-3 : unit == "ms" ? 1 : unit == "s" ? 1e3 : 0;
  if (!number || scale == 0) fail("'{}' is not a duration (examples: 20ms, 1.5s, 250us)", text);
  return *number * scale;
}

double parse_growth(std::string_view text) {
  std::string t(text);
  while (!t.empty() && t.back() == ' ') t.pop_back();
  std::optional<double> v;
  if (t.size() > 1 && t.back() == '%') {
    t.pop_back();
    while (!t.empty() && t.back() == ' ') t.pop_back();
    v = parse_number(t);
  }
  if (!v || *v < 0) fail("'{}' is not a growth in percent (examples: 5%, 0.5%, 0%)", text);
  return *v;
}

}  // namespace pare::metrics
