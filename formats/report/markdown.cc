// The Markdown view of the shrink report; the rules are in report.h.
#include <fmt/format.h>

#include <algorithm>

#include "formats/report/report.h"
#include "formats/report/view_common.h"
#include "lib/base/strings.h"

namespace pare::formats {

using namespace view;

namespace {

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

// pare tune's search: the verified configurations and each layer's choice.
static std::string tune_markdown(const json& t) {
  std::string o = "## Tuning\n\n";
  o += fmt::format("Objective {}: {} sensitivity runs ({} from the cache, {} not measured) on {} samples, {} "
                   "verifications on {} samples.\n\n",
                   text(member(t, "objective")), num(member(t, "evaluations"), Kind::Int),
                   num(member(t, "cached"), Kind::Int), num(member(t, "skipped"), Kind::Int),
                   num(member(t, "sensitivity_samples"), Kind::Int), num(member(t, "verifications"), Kind::Int),
                   num(member(t, "search_samples"), Kind::Int));
  const json& front = array_of(t, "front");
  auto [key, label] = front_metric(front);
  md_head(o, {"", "download bytes", "file bytes", label, "int8 layers", "MACs"}, {false, true, true, true, true, true});
  for (const auto& p : front) {
    bool chosen = member(p, "chosen").is_boolean() && member(p, "chosen").get<bool>();
    bool ok = member(p, "ok").is_boolean() && member(p, "ok").get<bool>();
    md_row(o, {chosen ? "**chosen**" : ok ? "ok" : "over", md_size(member(p, "download_bytes")), md_size(member(p, "bytes")),
               num(member(p, key), Kind::Db), num(member(p, "int8_layers"), Kind::Int), num(member(p, "macs"), Kind::Int)});
  }
  o += "\n";
  md_head(o, {"layer", "op", "choice", "SQNR dB of each choice alone"}, {false, false, false, false});
  for (const auto& l : array_of(t, "layers")) {
    std::vector<std::string> alone;
    for (const auto& [c, v] : member(l, "sqnr_db").items()) alone.push_back(c + " " + num(v, Kind::Db));
    md_row(o, {md_code(text(member(l, "layer")), true), md_code(text(member(l, "op")), true),
               md_code(text(member(l, "choice")), true), join(alone, ", ")});
  }
  return o + "\n";
}

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
      md_head(o, {"output", "SQNR dB", "over resamples", "loudest sample", "identical", "cosine", "max abs", "mean abs",
                  "top-1 agreement"},
              {false, true, true, false, false, true, true, true, true});
      auto row = [&](const json& f, const std::string& name) {
        const json& top1 = member(f, "top1_agreement");
        const json& loudest = member(member(f, "spread"), "loudest_sample");
        md_row(o, {name, num(member(f, "sqnr_db"), Kind::Db), spread_range(f),
                   loudest.is_string() ? md_code(text(loudest), true) + " " + loudest_share(f) : "n/a",
                   yes_no(member(f, "identical")), num(member(f, "cosine"), Kind::Cosine), num(member(f, "max_abs"), Kind::Abs),
                   num(member(f, "mean_abs"), Kind::Abs), f.contains("top1_agreement") ? num(top1, Kind::Frac) : "n/a"});
      };
      bool steps = false;
      for (const auto& f : fidelity) {
        row(f, md_code(text(member(f, "name")), true));
        for (const auto& t : array_of(f, "before_steps")) {
          row(t, md_code(text(member(t, "name")), true) + " (before " + joined(f, "steps") + ")");
          steps = true;
        }
      }
      o += "\n";
      if (any_spread(fidelity)) o += std::string(kSpreadNote) + "\n\n";
      if (steps)
        o += "An output computed through a discontinuous step (peak picking, ArgMax, a cast to integers) is judged "
             "at the tensors before it: its own SQNR counts harmless tie flips.\n\n";
    }
  }

  const json& acc = member(r, "accuracy");
  if (acc.is_object()) {
    o += "## Accuracy\n\n";
    o += fmt::format("Top-1 accuracy against the labels in {}.\n\n", md_code(text(member(acc, "labels")), false));
    const json &b = member(acc, "before"), &a = member(acc, "after");
    md_head(o, {"before", "after", "change", "over resamples"}, {true, true, true, true});
    std::string change = b.is_number() && a.is_number()
                             ? fmt::format("{:+.2f} points", 100 * (a.get<double>() - b.get<double>()))
                             : "n/a";
    md_row(o, {num(b, Kind::Frac), num(a, Kind::Frac), change, accuracy_change_range(acc)});
    o += "\n";
  }

  const json& layers = array_of(r, "per_layer");
  if (r.contains("per_layer")) {
    size_t shown = std::min<size_t>(layers.size(), 20);
    o += "## Per-layer error\n\n";
    o += worst_tensors(shown, layers.size()) + "\n\n";
    if (shown) {
      md_head(o, layer_columns(), {true, false, false, false, true, true, true, false});
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
    if (r.contains("rejected")) {
      const json& kept = member(r["rejected"], "kept_at");
      o += fmt::format("The model was not written at {}{}.\n\n", md_code(text(r["output"]), false),
                       kept.is_string() ? "; it is kept at " + md_code(text(kept), false) : "");
    }
    if (!budgets.empty()) {
      md_head(o, {"budget", "value", "limit", "status"}, {false, true, true, false});
      for (const auto& b : budgets) {
        auto [v, l] = budget_numbers(b);
        md_row(o, {md_code(text(member(b, "what")), true), v, l, budget_status(b)});
      }
      o += "\n";
    }
  }
  if (r.contains("tune")) o += tune_markdown(r["tune"]);
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

}  // namespace pare::formats
