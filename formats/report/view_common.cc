// The helpers the Markdown and HTML views share; see view_common.h.
#include "formats/report/view_common.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "lib/base/error.h"
#include "lib/base/settings.h"
#include "lib/base/strings.h"

namespace pare::formats::view {

// ---------------------------------------------------------------- reading

const json& null_json() {
  static const json n;
  return n;
}

// j[key], or null when j is not an object or has no such key.
const json& member(const json& j, const char* key) {
  if (!j.is_object()) return null_json();
  auto it = j.find(key);
  return it == j.end() ? null_json() : *it;
}

// Text of a JSON value: a string as it is, null as "", anything else as JSON.
std::string text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return j.dump();
}

// The items of an array section, or none.
const json& array_of(const json& j, const char* key) {
  const json& a = member(j, key);
  static const json empty = json::array();
  return a.is_array() ? a : empty;
}

std::string joined(const json& j, const char* key) {
  std::string out;
  for (const auto& x : array_of(j, key)) out += (out.empty() ? "" : ", ") + text(x);
  return out;
}

void check_required(const json& r) {
  if (!r.is_object()) fail("report: not a JSON object (expected the output of pare shrink {})", spell(Setting::kReportFile));
  for (const char* key : {"input", "output", "pipeline", "before", "after"})
    if (!r.contains(key))
      fail("report: missing \"{}\" (expected the output of pare shrink {})", key, spell(Setting::kReportFile));
  for (const char* key : {"before", "after"})
    if (!r[key].is_object()) fail("report: \"{}\" is not an object", key);
}




int decimals(Kind k) {
  switch (k) {
    case Kind::Db: return 2;
    case Kind::Cosine: return 6;
    case Kind::Frac: return 4;
    default: return -1;
  }
}

// The exact JSON spelling of a number, for data-value.
std::string exact(const json& v) { return v.is_number() ? v.dump() : ""; }

std::string fixed(double v, int places) { return fmt::format("{:.{}f}", v, places); }

// A number by its kind (see report.h); "unknown" for null.
std::string num(const json& v, Kind k) {
  if (v.is_null()) return "unknown";
  if (!v.is_number()) return text(v);
  if (v.is_number_integer() && (k == Kind::Int || k == Kind::Generic)) return v.dump();
  double d = v.get<double>();
  switch (k) {
    case Kind::Db:
    case Kind::Cosine:
    case Kind::Frac: return fixed(d, decimals(k));
    case Kind::Abs: return fmt::format("{:.6g}", d);
    case Kind::Int:
    case Kind::Generic: return fmt::format("{}", d);
  }
  return v.dump();
}

std::string human(const json& v) { return v.is_number() ? human_bytes(v.get<int64_t>()) : ""; }

// "+12.3%" for after relative to before; "n/a" when it cannot be computed.
std::string change_pct(const json& before, const json& after) {
  if (!before.is_number() || !after.is_number() || before.get<double>() == 0) return "n/a";
  double b = before.get<double>(), a = after.get<double>();
  return fmt::format("{:+.1f}%", 100.0 * (a - b) / b);
}

// "+1234" / "-1234" bytes relative to the previous row; "" when unknown.
std::string delta(const json& prev, const json& cur) {
  if (!prev.is_number_integer() || !cur.is_number_integer()) return "";
  return fmt::format("{:+}", cur.get<int64_t>() - prev.get<int64_t>());
}

Kind budget_kind(const std::string& what) {
  if (what == "bytes" || what == "download bytes" || what == "parameters" || what == "MACs") return Kind::Int;
  if (what == "SQNR" || what == "top-1 drop") return Kind::Db;  // two decimals
  if (what == "cosine") return Kind::Cosine;
  if (what == "accuracy") return Kind::Frac;
  return Kind::Generic;
}

// A budget's value and limit as text; one that is over gets more decimals
// until the two read differently (so "30.00 over 30.00" never shows).
std::pair<std::string, std::string> budget_numbers(const json& b) {
  std::string what = text(member(b, "what"));
  const json &value = member(b, "value"), &limit = member(b, "limit");
  Kind k = budget_kind(what);
  std::string v = num(value, k), l = num(limit, k);
  int p = decimals(k);
  bool over = member(b, "ok").is_boolean() && !member(b, "ok").get<bool>();
  if (over && p >= 0 && value.is_number() && limit.is_number() && value.get<double>() != limit.get<double>()) {
    for (; p <= 12 && v == l; ++p) {
      v = fixed(value.get<double>(), p);
      l = fixed(limit.get<double>(), p);
    }
  }
  return {v, l};
}

std::string budget_status(const json& b) {
  const json& ok = member(b, "ok");
  return ok.is_boolean() ? (ok.get<bool>() ? "ok" : "over") : "unknown";
}

std::string yes_no(const json& v) { return v.is_boolean() ? (v.get<bool>() ? "yes" : "no") : "n/a"; }

std::string worst_tensors(size_t shown, size_t total) {
  return fmt::format("The worst {} of {} tensors (all are in the JSON report).", shown, total);
}

const std::vector<std::string>& layer_columns() {
  static const std::vector<std::string> columns = {"#", "tensor", "node", "op", "SQNR dB", "cosine", "max abs", "identical"};
  return columns;
}

std::string spread_range(const json& f) {
  const json& s = member(f, "spread");
  if (!s.is_object()) return "n/a";
  return num(member(s, "sqnr_low_db"), Kind::Db) + " to " + num(member(s, "sqnr_high_db"), Kind::Db);
}

std::string loudest_share(const json& f) {
  const json& s = member(f, "spread");
  if (!s.is_object()) return "n/a";
  const json& share = member(s, "loudest_share");
  std::string pct = share.is_number() ? fixed(100 * share.get<double>(), 0) + "%" : "unknown";
  return pct + " (" + num(member(s, "loudest_sqnr_db"), Kind::Db) + " dB alone)";
}

bool any_spread(const json& fidelity) {
  for (const auto& f : fidelity) {
    if (member(f, "spread").is_object()) return true;
    for (const auto& t : array_of(f, "before_steps"))
      if (member(t, "spread").is_object()) return true;
  }
  return false;
}

std::string accuracy_change_range(const json& acc) {
  const json &lo = member(acc, "change_low"), &hi = member(acc, "change_high");
  if (!lo.is_number() || !hi.is_number()) return "n/a";
  return fmt::format("{:+.2f} to {:+.2f} points", 100 * lo.get<double>(), 100 * hi.get<double>());
}

// "constants_removed=1, folded=1", or "no change".
std::string stats_text(const json& stats) {
  if (!stats.is_object() || stats.empty()) return "no change";
  std::vector<std::string> parts;
  for (const auto& [k, v] : stats.items()) parts.push_back(k + "=" + num(v, Kind::Generic));
  return join(parts, ", ");
}

// The dtypes in either weight_bytes object, sorted, without "total".
std::vector<std::string> dtypes_of(const json& before, const json& after) {
  std::set<std::string> all;
  for (const json* w : {&before, &after})
    if (w->is_object())
      for (const auto& [k, v] : w->items())
        if (k != "total") all.insert(k);
  return {all.begin(), all.end()};
}

// The bytes of `dtype` in a weight_bytes object: a dtype the model does not hold has 0.
json dtype_bytes(const json& weights, const std::string& dtype) {
  const json& v = member(weights, dtype.c_str());
  return v.is_null() && weights.is_object() ? json(0) : v;
}

// The layers that hold the most weight bytes after, with the same node's entry
// before (null when the node is new or was renamed): "size by layer".
std::vector<LayerSize> top_layers(const json& before, const json& after) {
  std::vector<LayerSize> out;
  const json& la = member(after, "layers");
  const json& lb = member(before, "layers");
  if (!la.is_array()) return out;
  for (const auto& l : la) {
    if (out.size() == kTopLayers) break;
    json prior = nullptr;
    if (lb.is_array())
      for (const auto& b : lb)
        if (member(b, "node") == member(l, "node")) prior = member(b, "bytes");
    out.push_back({&l, prior});
  }
  return out;
}

bool has_waterfall(const json& passes) {
  return std::any_of(passes.begin(), passes.end(),
                     [](const json& p) { return member(p, "file_bytes").is_number(); });
}
// ---------------------------------------------------------------- HTML

std::string esc(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      case '\n': o += "&#10;"; break;  // kept in attributes, where a raw newline would become a space
      case '\r': o += "&#13;"; break;
      case '\t': o += "&#9;"; break;
      default:
        // Other control characters cannot appear in XML 1.0 (JUnit) nor be shown in HTML.
        o += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    }
  }
  return o;
}

// An id fragment: [A-Za-z0-9_-] kept, anything else '_'.
std::string id_part(std::string_view s) {
  std::string o(s);
  for (auto& c : o)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) c = '_';
  return o;
}

// At most `max` characters (UTF-8 code points), the last one "…" when cut.
std::string shorten(const std::string& s, size_t max) {
  std::vector<size_t> starts;  // byte offset of each code point
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  if (starts.size() <= max) return s;
  return s.substr(0, starts[max - 1]) + "\xE2\x80\xA6";
}

std::string data_value(const json& v) {
  return v.is_number() ? fmt::format(" data-value=\"{}\"", esc(exact(v))) : std::string();
}
}  // namespace pare::formats::view
