// Markdown and HTML renderings of the shrink report; the rules are in report.h.
#include "formats/report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "lib/base/error.h"
#include "lib/base/strings.h"

namespace pare::formats {
namespace {

using json = nlohmann::json;

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

void check_required(const json& r) {
  if (!r.is_object()) fail("report: not a JSON object (expected the output of pare shrink --report)");
  for (const char* key : {"input", "output", "pipeline", "before", "after"})
    if (!r.contains(key)) fail("report: missing \"{}\" (expected the output of pare shrink --report)", key);
  for (const char* key : {"before", "after"})
    if (!r[key].is_object()) fail("report: \"{}\" is not an object", key);
}

// ---------------------------------------------------------------- numbers

enum class Kind { Int, Db, Cosine, Abs, Frac, Generic };

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

// "constants_removed=1, folded=1", or "no change".
std::string stats_text(const json& stats) {
  if (!stats.is_object() || stats.empty()) return "no change";
  std::vector<std::string> parts;
  for (const auto& [k, v] : stats.items()) parts.push_back(k + "=" + num(v, Kind::Generic));
  return join(parts, ", ");
}

// The rows of the size table: (label, key, is a size in bytes).
struct Quantity {
  const char* label;
  const char* key;
  const char* id;
  bool bytes;
};
constexpr Quantity kQuantities[] = {{"file bytes", "file_bytes", "file-bytes", true},
                                    {"download bytes", "download_bytes", "download-bytes", true},
                                    {"parameters", "parameters", "parameters", false},
                                    {"nodes", "nodes", "nodes", false}};

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
constexpr size_t kTopLayers = 20;
struct LayerSize {
  const json* after;
  json before_bytes;
};
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

// ---------------------------------------------------------------- Markdown

// A code span that shows `s` literally; in a table, | is escaped too.
std::string md_code(std::string s, bool in_table) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  if (in_table) {
    std::string e;
    for (char c : s) {
      if (c == '|') e += '\\';
      e += c;
    }
    s = e;
  }
  size_t run = 0, longest = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string fence(longest + 1, '`');
  bool pad = s.empty() || s.front() == '`' || s.back() == '`';
  return fence + (pad ? " " : "") + s + (pad ? " " : "") + fence;
}

std::string md_size(const json& v) {
  if (!v.is_number()) return num(v, Kind::Int);
  return fmt::format("{} ({})", num(v, Kind::Int), human(v));
}

void md_row(std::string& o, const std::vector<std::string>& cells) { o += "| " + join(cells, " | ") + " |\n"; }

// Header row and alignment row; `right` marks numeric columns.
void md_head(std::string& o, const std::vector<std::string>& names, const std::vector<bool>& right) {
  md_row(o, names);
  std::vector<std::string> align;
  for (bool r : right) align.push_back(r ? "---:" : "---");
  md_row(o, align);
}

}  // namespace

std::string render_markdown(const json& r) {
  check_required(r);
  std::string o;
  const json &before = r["before"], &after = r["after"];
  o += fmt::format("# pare shrink report: {} -> {}\n\n", md_code(text(r["input"]), false),
                   md_code(text(r["output"]), false));
  std::string pipeline = text(r["pipeline"]);
  o += fmt::format("Pipeline: {}\n\n", pipeline.empty() ? "(none)" : md_code(pipeline, false));

  o += "## Size\n\n";
  md_head(o, {"", "before", "after", "change"}, {false, true, true, true});
  for (const auto& q : kQuantities) {
    const json &b = member(before, q.key), &a = member(after, q.key);
    md_row(o, {q.label, q.bytes ? md_size(b) : num(b, Kind::Int), q.bytes ? md_size(a) : num(a, Kind::Int),
               change_pct(b, a)});
  }
  if (before.contains("macs") || after.contains("macs")) {
    auto cell = [](const json& side) { return side.contains("macs") ? num(side["macs"], Kind::Int) : std::string("unknown"); };
    bool both = before.contains("macs") && after.contains("macs");
    md_row(o, {"MACs", cell(before), cell(after), both ? change_pct(before["macs"], after["macs"]) : "n/a"});
  }
  o += "\n";
  if (after.contains("macs_unknown_reason"))
    o += fmt::format("MACs unknown: {}\n\n", md_code(text(after["macs_unknown_reason"]), false));

  const json &wb = member(before, "weight_bytes"), &wa = member(after, "weight_bytes");
  if (wb.is_object() || wa.is_object()) {
    o += "### Weight bytes by dtype\n\n";
    md_head(o, {"dtype", "before", "after"}, {false, true, true});
    for (const auto& d : dtypes_of(wb, wa)) md_row(o, {md_code(d, true), md_size(dtype_bytes(wb, d)), md_size(dtype_bytes(wa, d))});
    md_row(o, {"total", md_size(member(wb, "total")), md_size(member(wa, "total"))});
    o += "\n";
  }
  auto layers_by_size = top_layers(before, after);
  if (!layers_by_size.empty()) {
    o += fmt::format("### Weight bytes by layer (the {} largest after)\n\n", layers_by_size.size());
    md_head(o, {"layer", "op", "before", "after"}, {false, false, true, true});
    for (const auto& l : layers_by_size)
      md_row(o, {md_code(text(member(*l.after, "node")), true), md_code(text(member(*l.after, "op")), true),
                 l.before_bytes.is_number() ? md_size(l.before_bytes) : "n/a", md_size(member(*l.after, "bytes"))});
    o += "\n";
  }

  const json& passes = array_of(r, "passes");
  if (has_waterfall(passes)) {
    o += "## Size after each step\n\n";
    md_head(o, {"#", "step", "file bytes", "change", "download bytes", "change", "parameters"},
            {true, false, true, true, true, true, true});
    const json *pf = &member(before, "file_bytes"), *pd = &member(before, "download_bytes");
    md_row(o, {"0", "original", md_size(*pf), "", md_size(*pd), "", num(member(before, "parameters"), Kind::Int)});
    for (size_t i = 0; i < passes.size(); ++i) {
      const json& p = passes[i];
      const json &f = member(p, "file_bytes"), &d = member(p, "download_bytes");
      md_row(o, {std::to_string(i + 1), md_code(text(member(p, "step")), true), md_size(f), delta(*pf, f), md_size(d),
                 delta(*pd, d), num(member(p, "parameters"), Kind::Int)});
      if (f.is_number()) pf = &f;
      if (d.is_number()) pd = &d;
    }
    o += "\n";
  }
  if (!passes.empty()) {
    o += "## Passes\n\n";
    md_head(o, {"#", "step", "changes"}, {true, false, false});
    for (size_t i = 0; i < passes.size(); ++i)
      md_row(o, {std::to_string(i + 1), md_code(text(member(passes[i], "step")), true),
                 md_code(stats_text(member(passes[i], "stats")), true)});
    o += "\n";
  }

  const json& data = member(r, "data");
  const json& fidelity = array_of(r, "fidelity");
  if (data.is_object() || !fidelity.empty()) {
    o += "## Fidelity\n\n";
    if (data.is_object())
      o += fmt::format("On {} samples of {}.\n\n", num(member(data, "samples"), Kind::Int),
                       md_code(text(member(data, "folder")), false));
    if (!fidelity.empty()) {
      md_head(o, {"output", "SQNR dB", "identical", "cosine", "max abs", "mean abs", "top-1 agreement"},
              {false, true, false, true, true, true, true});
      for (const auto& f : fidelity) {
        const json& top1 = member(f, "top1_agreement");
        md_row(o, {md_code(text(member(f, "name")), true), num(member(f, "sqnr_db"), Kind::Db),
                   yes_no(member(f, "identical")), num(member(f, "cosine"), Kind::Cosine),
                   num(member(f, "max_abs"), Kind::Abs), num(member(f, "mean_abs"), Kind::Abs),
                   f.contains("top1_agreement") ? num(top1, Kind::Frac) : "n/a"});
      }
      o += "\n";
    }
  }

  const json& acc = member(r, "accuracy");
  if (acc.is_object()) {
    o += "## Accuracy\n\n";
    o += fmt::format("Top-1 accuracy against the labels in {}.\n\n", md_code(text(member(acc, "labels")), false));
    const json &b = member(acc, "before"), &a = member(acc, "after");
    md_head(o, {"before", "after", "change"}, {true, true, true});
    std::string change = b.is_number() && a.is_number()
                             ? fmt::format("{:+.2f} points", 100 * (a.get<double>() - b.get<double>()))
                             : "n/a";
    md_row(o, {num(b, Kind::Frac), num(a, Kind::Frac), change});
    o += "\n";
  }

  const json& layers = array_of(r, "per_layer");
  if (r.contains("per_layer")) {
    size_t shown = std::min<size_t>(layers.size(), 20);
    o += "## Per-layer error\n\n";
    o += fmt::format("The worst {} of {} tensors (all are in the JSON report).\n\n", shown, layers.size());
    if (shown) {
      md_head(o, {"#", "tensor", "node", "op", "SQNR dB", "cosine", "max abs", "identical"},
              {true, false, false, false, true, true, true, false});
      for (size_t i = 0; i < shown; ++i) {
        const json& l = layers[i];
        md_row(o, {std::to_string(i + 1), md_code(text(member(l, "tensor")), true),
                   md_code(text(member(l, "node")), true), md_code(text(member(l, "op")), true),
                   num(member(l, "sqnr_db"), Kind::Db), num(member(l, "cosine"), Kind::Cosine),
                   num(member(l, "max_abs"), Kind::Abs), yes_no(member(l, "identical"))});
      }
      o += "\n";
    }
  }

  const json& budgets = array_of(r, "budgets");
  if (r.contains("budgets")) {
    size_t over = std::count_if(budgets.begin(), budgets.end(), [](const json& b) { return budget_status(b) != "ok"; });
    o += "## Budgets\n\n";
    o += over ? fmt::format("{} of {} not held.\n\n", over, budgets.size())
              : fmt::format("All {} held.\n\n", budgets.size());
    if (!budgets.empty()) {
      md_head(o, {"budget", "value", "limit", "status"}, {false, true, true, false});
      for (const auto& b : budgets) {
        auto [v, l] = budget_numbers(b);
        md_row(o, {md_code(text(member(b, "what")), true), v, l, budget_status(b)});
      }
      o += "\n";
    }
  }
  if (r.contains("latency")) {
    const json& l = r["latency"];
    o += "## Latency\n\nMeasured with pare's runner on one thread; the one part of this report that varies between runs.\n\n";
    md_head(o, {"", "before", "after"}, {false, true, true});
    md_row(o, {"median ms", fmt::format("{:.3f}", member(member(l, "before"), "median_ms").get<double>()),
               fmt::format("{:.3f}", member(member(l, "after"), "median_ms").get<double>())});
    md_row(o, {"min ms", fmt::format("{:.3f}", member(member(l, "before"), "min_ms").get<double>()),
               fmt::format("{:.3f}", member(member(l, "after"), "min_ms").get<double>())});
    o += "\n";
  }
  return o;
}

// ---------------------------------------------------------------- HTML

namespace {

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
      default: o += c;
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

// <td id=ID data-value=...>TEXT</td>; `text_html` is already escaped.
std::string td(const std::string& id, const json& v, const std::string& text_html, bool numeric = true) {
  std::string attrs = id.empty() ? "" : fmt::format(" id=\"{}\"", id);
  if (numeric) attrs += " class=\"num\"";
  return fmt::format("<td{}{}>{}</td>", attrs, data_value(v), text_html);
}
std::string td_num(const std::string& id, const json& v, Kind k) { return td(id, v, esc(num(v, k))); }
std::string td_text(const std::string& id, const std::string& s) { return td(id, null_json(), esc(s), false); }
std::string td_code(const std::string& id, const std::string& s) {
  return td(id, null_json(), "<code>" + esc(s) + "</code>", false);
}
// A size: the exact number in an element with the id, its human form beside it.
std::string td_size(const std::string& id, const json& v) {
  if (!v.is_number()) return td(id, v, esc(num(v, Kind::Int)));
  std::string attrs = id.empty() ? "" : fmt::format(" id=\"{}\"", id);
  return fmt::format("<td class=\"num\"><span{}{}>{}</span> <small>({})</small></td>", attrs, data_value(v),
                     num(v, Kind::Int), esc(human(v)));
}
std::string th_row(const std::vector<std::string>& names) {
  std::string o = "<tr>";
  for (const auto& n : names) o += "<th>" + esc(n) + "</th>";
  return o + "</tr>\n";
}

constexpr const char* kCss = R"(body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#1f2328;background:#fff;line-height:1.45}
h1{font-size:1.5rem;word-break:break-all}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}h3{font-size:1rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;background:#f6f8fa;padding:.1em .3em;border-radius:4px;word-break:break-all}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}small{color:#656d76}
.ok{color:#1a7f37;font-weight:600}.over{color:#cf222e;font-weight:600}
svg.chart{display:block;max-width:100%;height:auto;margin:.5rem 0 1rem;font-family:system-ui,sans-serif}
svg.chart text{font-size:12px;fill:#1f2328}svg.chart .axis{stroke:#d0d7de}svg.chart .limit{stroke:#cf222e;stroke-dasharray:4 3}
)";

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr const char* kFileColor = "#4e79a7";
constexpr const char* kDownloadColor = "#f28e2b";

std::string f1(double v) { return fmt::format("{:.1f}", v); }

// Chart geometry shared by the three charts: labels on the left, bars to the right.
constexpr double kWidth = 760, kLabelWidth = 230, kValueWidth = 120;
constexpr double kBarArea = kWidth - kLabelWidth - kValueWidth;

std::string svg_open(const std::string& id, const std::string& title, double height) {
  return fmt::format(
      "<svg id=\"{}\" class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-labelledby=\"{}-title\">\n<title id=\"{}-title\">{}</title>\n",
      id, f1(kWidth), f1(height), f1(kWidth), f1(height), id, id, esc(title));
}

std::string legend_item(double x, double y, const char* color, const std::string& label) {
  return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"></rect>"
                     "<text x=\"{}\" y=\"{}\">{}</text>\n",
                     f1(x), f1(y), color, f1(x + 16), f1(y + 10.5), esc(label));
}

// One horizontal bar with its tooltip and value text after it.
std::string bar(const std::string& cls, double x, double y, double w, double h, const char* color, const json& value,
                const std::string& extra_attrs, const std::string& tooltip) {
  return fmt::format("<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{}{}>"
                     "<title>{}</title></rect>\n",
                     cls, f1(x), f1(y), f1(std::max(0.0, w)), f1(h), color, data_value(value), extra_attrs,
                     esc(tooltip));
}

double number_or(const json& v, double fallback) { return v.is_number() ? v.get<double>() : fallback; }

// The file and download bytes of the original, then after each step.
std::string waterfall_chart(const json& r) {
  struct Stage {
    std::string label;
    const json *file, *download;
  };
  std::vector<Stage> stages = {
      {"original", &member(r["before"], "file_bytes"), &member(r["before"], "download_bytes")}};
  const json& passes = array_of(r, "passes");
  if (has_waterfall(passes)) {
    for (const auto& p : passes)
      if (member(p, "file_bytes").is_number())
        stages.push_back({text(member(p, "step")), &member(p, "file_bytes"), &member(p, "download_bytes")});
  } else {
    stages.push_back({"output", &member(r["after"], "file_bytes"), &member(r["after"], "download_bytes")});
  }
  double top = 0;
  for (const auto& s : stages) top = std::max({top, number_or(*s.file, 0), number_or(*s.download, 0)});
  if (top <= 0) top = 1;
  const double row = 36, head = 28;
  double height = head + row * stages.size() + 8;
  std::string o = svg_open("chart-waterfall", "Size after each step: file bytes and download bytes", height);
  o += legend_item(kLabelWidth, 4, kFileColor, "file bytes");
  o += legend_item(kLabelWidth + 110, 4, kDownloadColor, "download bytes");
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    double y = head + row * i;
    std::string step_attr = fmt::format(" data-step=\"{}\"", esc(s.label));
    o += fmt::format("<text x=\"4\" y=\"{}\">{}<title>{}</title></text>\n", f1(y + 18), esc(shorten(s.label, 32)),
                     esc(s.label));
    struct Series {
      const json* v;
      const char* cls;
      const char* color;
      const char* what;
    };
    for (int k = 0; k < 2; ++k) {
      Series se = k == 0 ? Series{s.file, "bar file", kFileColor, "file bytes"}
                         : Series{s.download, "bar download", kDownloadColor, "download bytes"};
      double yy = y + 3 + 14 * k;
      double w = kBarArea * number_or(*se.v, 0) / top;
      o += bar(se.cls, kLabelWidth, yy, w, 13, se.color, *se.v, step_attr,
               fmt::format("{}: {} {}", s.label, num(*se.v, Kind::Int), se.what));
      o += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", f1(kLabelWidth + w + 4), f1(yy + 10.5),
                       esc(se.v->is_number() ? human(*se.v) : "unknown"));
    }
  }
  o += fmt::format("<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"></line>\n", f1(kLabelWidth), f1(head),
                   f1(kLabelWidth), f1(height - 8));
  return o + "</svg>\n";
}

// Weight bytes by dtype, before and after, as two stacked bars.
std::string dtype_chart(const json& wb, const json& wa) {
  std::vector<std::string> dtypes = dtypes_of(wb, wa);
  double top = 1;
  for (const json* w : {&wb, &wa}) {
    double sum = 0;
    for (const auto& d : dtypes) sum += std::max(0.0, number_or(member(*w, d.c_str()), 0));
    top = std::max(top, sum);
  }
  const double row = 30, head = 8;
  double legend_rows = std::ceil(dtypes.size() / 5.0);
  double height = head + 2 * row + 20 * legend_rows + 8;
  std::string o = svg_open("chart-dtypes", "Weight bytes by dtype, before and after", height);
  for (size_t i = 0; i < dtypes.size(); ++i)
    o += legend_item(kLabelWidth + 100 * (i % 5), head + 2 * row + 4 + 20 * (i / 5), kPalette[i % std::size(kPalette)],
                     dtypes[i]);
  const char* names[] = {"before", "after"};
  const json* sides[] = {&wb, &wa};
  for (int s = 0; s < 2; ++s) {
    double y = head + row * s;
    o += fmt::format("<text x=\"4\" y=\"{}\">{}</text>\n", f1(y + 15), names[s]);
    double x = kLabelWidth;
    for (size_t i = 0; i < dtypes.size(); ++i) {
      const json& v = member(*sides[s], dtypes[i].c_str());
      if (!v.is_number()) continue;
      double w = kBarArea * std::max(0.0, v.get<double>()) / top;
      o += bar("bar dtype", x, y + 3, w, 18, kPalette[i % std::size(kPalette)], v,
               fmt::format(" data-side=\"{}\" data-dtype=\"{}\"", names[s], esc(dtypes[i])),
               fmt::format("{} {}: {} bytes", names[s], dtypes[i], num(v, Kind::Int)));
      x += w;
    }
    const json& total = member(*sides[s], "total");
    o += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", f1(x + 4), f1(y + 16),
                     esc(total.is_number() ? human(total) : ""));
  }
  return o + "</svg>\n";
}

// Weight bytes of the largest layers after, with their bytes before.
std::string layer_size_chart(const std::vector<LayerSize>& layers) {
  double top = 1;
  for (const auto& l : layers)
    top = std::max({top, number_or(member(*l.after, "bytes"), 0), number_or(l.before_bytes, 0)});
  const double row = 34, head = 28;
  double height = head + row * layers.size() + 8;
  std::string o = svg_open("chart-layer-sizes", "Weight bytes of the largest layers, before and after", height);
  o += legend_item(kLabelWidth, 4, kPalette[9], "before");
  o += legend_item(kLabelWidth + 90, 4, kPalette[0], "after");
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& l = *layers[i].after;
    std::string name = text(member(l, "node"));
    double y = head + row * i;
    o += fmt::format("<text x=\"4\" y=\"{}\">{}<title>{}</title></text>\n", f1(y + 18), esc(shorten(name, 32)), esc(name));
    const json* values[] = {&layers[i].before_bytes, &member(l, "bytes")};
    const char* sides[] = {"before", "after"};
    const char* colors[] = {kPalette[9], kPalette[0]};
    for (int k = 0; k < 2; ++k) {
      if (!values[k]->is_number()) continue;
      double yy = y + 3 + 14 * k, w = kBarArea * values[k]->get<double>() / top;
      o += bar("bar layer-size", kLabelWidth, yy, w, 13, colors[k], *values[k],
               fmt::format(" data-side=\"{}\" data-layer=\"{}\"", sides[k], esc(name)),
               fmt::format("{} {}: {} bytes", name, sides[k], num(*values[k], Kind::Int)));
      o += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", f1(kLabelWidth + w + 4), f1(yy + 10.5), esc(human(*values[k])));
    }
  }
  return o + "</svg>\n";
}

// SQNR of the worst layers as bars, red under 20 dB, amber under 30 dB.
std::string layer_chart(const json& layers, const json& budgets) {
  size_t n = std::min<size_t>(layers.size(), 30);
  const json* limit_json = nullptr;  // an SQNR budget's limit
  for (const auto& b : budgets)
    if (text(member(b, "what")) == "SQNR" && member(b, "limit").is_number()) limit_json = &member(b, "limit");
  std::optional<double> limit;
  if (limit_json) limit = limit_json->get<double>();
  double top = std::max(1.0, limit.value_or(0) * 1.1);
  for (size_t i = 0; i < n; ++i) {
    const json& l = layers[i];
    if (!member(l, "identical").is_boolean() || !member(l, "identical").get<bool>())
      top = std::max(top, number_or(member(l, "sqnr_db"), 0));
  }
  const double row = 20, head = 24;
  double height = head + row * n + 8;
  std::string o = svg_open("chart-layers", fmt::format("SQNR of the worst {} layers (dB)", n), height);
  o += fmt::format("<text x=\"{}\" y=\"14\">SQNR dB (longer is better)</text>\n", f1(kLabelWidth));
  for (size_t i = 0; i < n; ++i) {
    const json& l = layers[i];
    std::string name = text(member(l, "tensor"));
    const json& sqnr = member(l, "sqnr_db");
    bool identical = member(l, "identical").is_boolean() && member(l, "identical").get<bool>();
    double v = number_or(sqnr, 0);
    double w = identical ? kBarArea : kBarArea * std::clamp(v, 0.0, top) / top;
    const char* color = identical || v >= 30 ? "#59a14f" : v >= 20 ? "#edc948" : "#e15759";
    double y = head + row * i;
    o += fmt::format("<text x=\"4\" y=\"{}\">{}<title>{}</title></text>\n", f1(y + 13), esc(shorten(name, 32)),
                     esc(name));
    std::string shown = identical ? "identical" : num(sqnr, Kind::Db) + " dB";
    o += bar("bar layer", kLabelWidth, y + 2, w, 15, color, sqnr, fmt::format(" data-tensor=\"{}\"", esc(name)),
             fmt::format("{} ({}): {}", name, text(member(l, "op")), shown));
    o += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", f1(kLabelWidth + w + 4), f1(y + 13), esc(shown));
  }
  if (limit && *limit > 0) {
    double x = kLabelWidth + kBarArea * std::min(*limit, top) / top;
    o += fmt::format("<line class=\"limit\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{}>"
                     "<title>SQNR budget {} dB</title></line>\n",
                     f1(x), f1(head - 4), f1(x), f1(height - 4), data_value(*limit_json), num(*limit_json, Kind::Db));
    o += fmt::format("<text x=\"{}\" y=\"14\" text-anchor=\"middle\">budget {} dB</text>\n", f1(x),
                     num(*limit_json, Kind::Db));
  }
  return o + "</svg>\n";
}

}  // namespace

std::string render_html(const json& r) {
  check_required(r);
  const json &before = r["before"], &after = r["after"];
  std::string input = text(r["input"]), output = text(r["output"]), pipeline = text(r["pipeline"]);
  std::string o;
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  o += fmt::format("<title>pare shrink report: {} -&gt; {}</title>\n", esc(input), esc(output));
  o += fmt::format("<style>\n{}</style>\n</head>\n<body>\n<main>\n", kCss);
  o += fmt::format("<h1>pare shrink report: <code id=\"report-input\">{}</code> -&gt; <code id=\"report-output\">{}</code></h1>\n",
                   esc(input), esc(output));
  o += fmt::format("<p>Pipeline: {}</p>\n",
                   pipeline.empty() ? "(none)" : fmt::format("<code id=\"pipeline\">{}</code>", esc(pipeline)));

  // Size.
  o += "<section id=\"size\">\n<h2>Size</h2>\n<table id=\"size-table\">\n";
  o += th_row({"", "before", "after", "change"});
  for (const auto& q : kQuantities) {
    const json &b = member(before, q.key), &a = member(after, q.key);
    std::string id = q.id;
    o += "<tr><th>" + esc(q.label) + "</th>";
    o += q.bytes ? td_size("before-" + id, b) : td_num("before-" + id, b, Kind::Int);
    o += q.bytes ? td_size("after-" + id, a) : td_num("after-" + id, a, Kind::Int);
    o += td_text("change-" + id, change_pct(b, a)) + "</tr>\n";
  }
  if (before.contains("macs") || after.contains("macs")) {
    auto cell = [](const std::string& id, const json& side) {
      return side.contains("macs") ? td_num(id, side["macs"], Kind::Int) : td_text(id, "unknown");
    };
    bool both = before.contains("macs") && after.contains("macs");
    o += "<tr><th>MACs</th>" + cell("before-macs", before) + cell("after-macs", after) +
         td_text("change-macs", both ? change_pct(before["macs"], after["macs"]) : "n/a") + "</tr>\n";
  }
  o += "</table>\n";
  if (after.contains("macs_unknown_reason"))
    o += fmt::format("<p>MACs unknown: <code>{}</code></p>\n", esc(text(after["macs_unknown_reason"])));
  o += waterfall_chart(r);

  const json &wb = member(before, "weight_bytes"), &wa = member(after, "weight_bytes");
  if (wb.is_object() || wa.is_object()) {
    o += "<h3>Weight bytes by dtype</h3>\n<table id=\"dtype-table\">\n" + th_row({"dtype", "before", "after"});
    for (const auto& d : dtypes_of(wb, wa))
      o += "<tr>" + td_code("", d) + td_size("weights-before-" + id_part(d), dtype_bytes(wb, d)) +
           td_size("weights-after-" + id_part(d), dtype_bytes(wa, d)) + "</tr>\n";
    o += "<tr><th>total</th>" + td_size("weights-before-total", member(wb, "total")) +
         td_size("weights-after-total", member(wa, "total")) + "</tr>\n</table>\n";
    o += dtype_chart(wb, wa);
  }
  auto layers_by_size = top_layers(before, after);
  if (!layers_by_size.empty()) {
    o += fmt::format("<h3>Weight bytes by layer (the {} largest after)</h3>\n", layers_by_size.size());
    o += layer_size_chart(layers_by_size);
    o += "<table id=\"layer-size-table\">\n" + th_row({"layer", "op", "before", "after"});
    for (size_t i = 0; i < layers_by_size.size(); ++i) {
      const auto& l = layers_by_size[i];
      std::string id = fmt::format("layer-size-{}-", i);
      o += "<tr>" + td_code(id + "node", text(member(*l.after, "node"))) + td_code(id + "op", text(member(*l.after, "op"))) +
           (l.before_bytes.is_number() ? td_size(id + "before", l.before_bytes) : td_text(id + "before", "n/a")) +
           td_size(id + "after", member(*l.after, "bytes")) + "</tr>\n";
    }
    o += "</table>\n";
  }
  o += "</section>\n";

  const json& passes = array_of(r, "passes");
  if (has_waterfall(passes)) {
    o += "<section id=\"waterfall\">\n<h2>Size after each step</h2>\n<table id=\"waterfall-table\">\n";
    o += th_row({"#", "step", "file bytes", "change", "download bytes", "change", "parameters"});
    const json *pf = &member(before, "file_bytes"), *pd = &member(before, "download_bytes");
    o += "<tr>" + td_num("", json(0), Kind::Int) + td_text("", "original") +
         td_size("waterfall-original-file-bytes", *pf) + td_text("", "") +
         td_size("waterfall-original-download-bytes", *pd) + td_text("", "") +
         td_num("waterfall-original-parameters", member(before, "parameters"), Kind::Int) + "</tr>\n";
    for (size_t i = 0; i < passes.size(); ++i) {
      const json& p = passes[i];
      const json &f = member(p, "file_bytes"), &d = member(p, "download_bytes");
      std::string id = fmt::format("waterfall-{}-", i);
      o += "<tr>" + td_num("", json(i + 1), Kind::Int) + td_code("", text(member(p, "step"))) +
           td_size(id + "file-bytes", f) + td(id + "file-change", null_json(), esc(delta(*pf, f))) +
           td_size(id + "download-bytes", d) + td(id + "download-change", null_json(), esc(delta(*pd, d))) +
           td_num(id + "parameters", member(p, "parameters"), Kind::Int) + "</tr>\n";
      if (f.is_number()) pf = &f;
      if (d.is_number()) pd = &d;
    }
    o += "</table>\n</section>\n";
  }
  if (!passes.empty()) {
    o += "<section id=\"passes\">\n<h2>Passes</h2>\n<table id=\"passes-table\">\n" + th_row({"#", "step", "changes"});
    for (size_t i = 0; i < passes.size(); ++i) {
      const json& stats = member(passes[i], "stats");
      std::string cells;
      if (!stats.is_object() || stats.empty()) {
        cells = "no change";
      } else {
        std::vector<std::string> parts;
        for (const auto& [k, v] : stats.items())
          parts.push_back(fmt::format("<span class=\"stat\" id=\"pass-{}-stat-{}\" data-stat=\"{}\"{}>{}={}</span>", i,
                                      id_part(k), esc(k), data_value(v), esc(k), esc(num(v, Kind::Generic))));
        cells = join(parts, ", ");
      }
      o += "<tr>" + td_num("", json(i + 1), Kind::Int) +
           td(fmt::format("pass-{}-step", i), null_json(), "<code>" + esc(text(member(passes[i], "step"))) + "</code>",
              false) +
           td(fmt::format("pass-{}-stats", i), null_json(), cells, false) + "</tr>\n";
    }
    o += "</table>\n</section>\n";
  }

  const json& data = member(r, "data");
  const json& fidelity = array_of(r, "fidelity");
  if (data.is_object() || !fidelity.empty()) {
    o += "<section id=\"fidelity\">\n<h2>Fidelity</h2>\n";
    if (data.is_object()) {
      const json& samples = member(data, "samples");
      o += fmt::format("<p>On <span id=\"data-samples\"{}>{}</span> samples of <code id=\"data-folder\">{}</code>.</p>\n",
                       data_value(samples), esc(num(samples, Kind::Int)), esc(text(member(data, "folder"))));
    }
    if (!fidelity.empty()) {
      o += "<table id=\"fidelity-table\">\n" +
           th_row({"output", "SQNR dB", "identical", "cosine", "max abs", "mean abs", "top-1 agreement"});
      for (size_t i = 0; i < fidelity.size(); ++i) {
        const json& f = fidelity[i];
        std::string id = fmt::format("fidelity-{}-", i);
        o += "<tr>" + td_code(id + "name", text(member(f, "name"))) + td_num(id + "sqnr", member(f, "sqnr_db"), Kind::Db) +
             td_text(id + "identical", yes_no(member(f, "identical"))) +
             td_num(id + "cosine", member(f, "cosine"), Kind::Cosine) +
             td_num(id + "max-abs", member(f, "max_abs"), Kind::Abs) +
             td_num(id + "mean-abs", member(f, "mean_abs"), Kind::Abs) +
             (f.contains("top1_agreement") ? td_num(id + "top1", f["top1_agreement"], Kind::Frac)
                                           : td_text(id + "top1", "n/a")) +
             "</tr>\n";
      }
      o += "</table>\n";
    }
    o += "</section>\n";
  }

  const json& acc = member(r, "accuracy");
  if (acc.is_object()) {
    const json &b = member(acc, "before"), &a = member(acc, "after");
    o += "<section id=\"accuracy\">\n<h2>Accuracy</h2>\n";
    o += fmt::format("<p>Top-1 accuracy against the labels in <code id=\"accuracy-labels\">{}</code>.</p>\n",
                     esc(text(member(acc, "labels"))));
    std::string change = b.is_number() && a.is_number()
                             ? fmt::format("{:+.2f} points", 100 * (a.get<double>() - b.get<double>()))
                             : "n/a";
    o += "<table id=\"accuracy-table\">\n" + th_row({"before", "after", "change"}) + "<tr>" +
         td_num("accuracy-before", b, Kind::Frac) + td_num("accuracy-after", a, Kind::Frac) +
         td_text("accuracy-change", change) + "</tr>\n</table>\n</section>\n";
  }

  const json& layers = array_of(r, "per_layer");
  const json& budgets = array_of(r, "budgets");
  if (r.contains("per_layer")) {
    size_t shown = std::min<size_t>(layers.size(), 30);
    o += "<section id=\"per-layer\">\n<h2>Per-layer error</h2>\n";
    o += fmt::format("<p>The worst {} of {} tensors (all are in the JSON report).</p>\n", shown, layers.size());
    if (shown) {
      o += layer_chart(layers, budgets);
      o += "<table id=\"layers-table\">\n" +
           th_row({"#", "tensor", "node", "op", "SQNR dB", "cosine", "max abs", "identical"});
      for (size_t i = 0; i < shown; ++i) {
        const json& l = layers[i];
        std::string id = fmt::format("layer-{}-", i);
        o += "<tr>" + td_num("", json(i + 1), Kind::Int) + td_code(id + "tensor", text(member(l, "tensor"))) +
             td_code(id + "node", text(member(l, "node"))) + td_code(id + "op", text(member(l, "op"))) +
             td_num(id + "sqnr", member(l, "sqnr_db"), Kind::Db) +
             td_num(id + "cosine", member(l, "cosine"), Kind::Cosine) +
             td_num(id + "max-abs", member(l, "max_abs"), Kind::Abs) +
             td_text(id + "identical", yes_no(member(l, "identical"))) + "</tr>\n";
      }
      o += "</table>\n";
    }
    o += "</section>\n";
  }

  if (r.contains("budgets")) {
    size_t over = std::count_if(budgets.begin(), budgets.end(), [](const json& b) { return budget_status(b) != "ok"; });
    o += "<section id=\"budgets\">\n<h2>Budgets</h2>\n";
    o += fmt::format("<p id=\"budgets-summary\" class=\"{}\">{}</p>\n", over ? "over" : "ok",
                     over ? fmt::format("{} of {} not held.", over, budgets.size())
                          : fmt::format("All {} held.", budgets.size()));
    if (!budgets.empty()) {
      o += "<table id=\"budgets-table\">\n" + th_row({"budget", "value", "limit", "status"});
      for (size_t i = 0; i < budgets.size(); ++i) {
        const json& b = budgets[i];
        auto [v, l] = budget_numbers(b);
        std::string id = fmt::format("budget-{}-", i), status = budget_status(b);
        o += "<tr>" + td_text(id + "what", text(member(b, "what"))) + td(id + "value", member(b, "value"), esc(v)) +
             td(id + "limit", member(b, "limit"), esc(l)) +
             fmt::format("<td id=\"{}status\" class=\"{}\">{}</td>", id, status == "ok" ? "ok" : "over", status) +
             "</tr>\n";
      }
      o += "</table>\n";
    }
    o += "</section>\n";
  }
  if (r.contains("latency")) {
    const json& l = r["latency"];
    auto ms = [&](const char* side, const char* key, const std::string& id) {
      const json& v = member(member(l, side), key);
      return td(id, v, esc(fmt::format("{:.3f}", v.get<double>())));
    };
    o += "<section id=\"latency\">\n<h2>Latency</h2>\n<p>Measured with pare's runner on one thread; the one part of "
         "this report that varies between runs.</p>\n<table id=\"latency-table\">\n" +
         th_row({"", "before", "after"});
    o += "<tr><th>median ms</th>" + ms("before", "median_ms", "latency-before-median") +
         ms("after", "median_ms", "latency-after-median") + "</tr>\n";
    o += "<tr><th>min ms</th>" + ms("before", "min_ms", "latency-before-min") + ms("after", "min_ms", "latency-after-min") +
         "</tr>\n</table>\n</section>\n";
  }
  o += "</main>\n</body>\n</html>\n";
  return o;
}

}  // namespace pare::formats
