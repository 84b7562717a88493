// The HTML view of the shrink report: one self-contained page; the rules are in report.h.
#include <fmt/format.h>

#include <algorithm>

#include "formats/report/report.h"
#include "formats/report/view_common.h"
#include "lib/base/strings.h"

namespace pare::formats {

using namespace view;

namespace {

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
}  // namespace

// pare tune's search: the verified configurations (chart and table) and each layer's choice.
static std::string tune_section(const json& t) {
  std::string o = "<section id=\"tune\">\n<h2>Tuning</h2>\n";
  o += fmt::format("<p id=\"tune-summary\">Objective {}: {} sensitivity runs ({} from the cache, {} not measured) on {} "
                   "samples, {} verifications on {} samples, {:.1f} s{}.</p>\n",
                   esc(text(member(t, "objective"))), num(member(t, "evaluations"), Kind::Int),
                   num(member(t, "cached"), Kind::Int), num(member(t, "skipped"), Kind::Int),
                   num(member(t, "sensitivity_samples"), Kind::Int), num(member(t, "verifications"), Kind::Int),
                   num(member(t, "search_samples"), Kind::Int), (member(t, "seconds").is_number() ? member(t, "seconds").get<double>() : 0.0),
                   text(member(t, "stopped")).empty() ? "" : "; stopped by --" + esc(text(member(t, "stopped"))));
  const json& front = array_of(t, "front");
  auto [key, label] = front_metric(front);
  o += pareto_chart(t);
  o += "<table id=\"front-table\">\n" +
       th_row({"", "download bytes", "file bytes", label, "int8 layers", "MACs", "noise budget dB"});
  for (size_t i = 0; i < front.size(); ++i) {
    const json& p = front[i];
    std::string id = fmt::format("front-{}-", i);
    bool chosen = member(p, "chosen").is_boolean() && member(p, "chosen").get<bool>();
    bool ok = member(p, "ok").is_boolean() && member(p, "ok").get<bool>();
    o += "<tr>" + td_text(id + "status", chosen ? "chosen" : ok ? "ok" : "over") + td_size(id + "download", member(p, "download_bytes")) +
         td_size(id + "bytes", member(p, "bytes")) + td_num(id + "metric", member(p, key), Kind::Db) +
         td_num(id + "int8", member(p, "int8_layers"), Kind::Int) + td_num(id + "macs", member(p, "macs"), Kind::Int) +
         td_num(id + "budget", member(p, "noise_budget_db"), Kind::Db) +
         "</tr>\n";
  }
  o += "</table>\n<h3>Choice per layer</h3>\n<table id=\"tune-layers\">\n" +
       th_row({"layer", "op", "parameters", "choice", "SQNR dB of each choice alone"});
  const json& layers = array_of(t, "layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& l = layers[i];
    std::vector<std::string> alone;
    for (const auto& [c, v] : member(l, "sqnr_db").items()) alone.push_back(c + " " + num(v, Kind::Db));
    std::string id = fmt::format("tune-layer-{}-", i);
    o += "<tr>" + td_code(id + "layer", text(member(l, "layer"))) + td_code(id + "op", text(member(l, "op"))) +
         td_num(id + "parameters", member(l, "parameters"), Kind::Int) + td_code(id + "choice", text(member(l, "choice"))) +
         td_text(id + "alone", join(alone, ", ")) + "</tr>\n";
  }
  return o + "</table>\n</section>\n";
}

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
           th_row({"output", "SQNR dB", "over resamples", "loudest sample", "identical", "cosine", "max abs", "mean abs",
                   "top-1 agreement"});
      auto row = [&](const json& f, const std::string& id, const std::string& name_cell) {
        const json& loudest = member(member(f, "spread"), "loudest_sample");
        o += "<tr>" + name_cell + td_num(id + "sqnr", member(f, "sqnr_db"), Kind::Db) +
             td_text(id + "resampled", spread_range(f)) +
             (loudest.is_string() ? td(id + "loudest", null_json(),
                                       "<code>" + esc(text(loudest)) + "</code> " + esc(loudest_share(f)), false)
                                  : td_text(id + "loudest", "n/a")) +
             td_text(id + "identical", yes_no(member(f, "identical"))) +
             td_num(id + "cosine", member(f, "cosine"), Kind::Cosine) +
             td_num(id + "max-abs", member(f, "max_abs"), Kind::Abs) +
             td_num(id + "mean-abs", member(f, "mean_abs"), Kind::Abs) +
             (f.contains("top1_agreement") ? td_num(id + "top1", f["top1_agreement"], Kind::Frac)
                                           : td_text(id + "top1", "n/a")) +
             "</tr>\n";
      };
      bool steps = false;
      for (size_t i = 0; i < fidelity.size(); ++i) {
        const json& f = fidelity[i];
        std::string id = fmt::format("fidelity-{}-", i);
        row(f, id, td_code(id + "name", text(member(f, "name"))));
        const json& before = array_of(f, "before_steps");
        for (size_t k = 0; k < before.size(); ++k) {
          std::string bid = fmt::format("{}before-{}-", id, k);
          row(before[k], bid,
              "<td id=\"" + bid + "name\"><code>" + esc(text(member(before[k], "name"))) + "</code> (before " +
                  esc(joined(f, "steps")) + ")</td>");
          steps = true;
        }
      }
      o += "</table>\n";
      if (any_spread(fidelity)) o += "<p>" + esc(kSpreadNote) + "</p>\n";
      if (steps)
        o += "<p>An output computed through a discontinuous step (peak picking, ArgMax, a cast to integers) is judged "
             "at the tensors before it: its own SQNR counts harmless tie flips.</p>\n";
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
    o += "<table id=\"accuracy-table\">\n" + th_row({"before", "after", "change", "over resamples"}) + "<tr>" +
         td_num("accuracy-before", b, Kind::Frac) + td_num("accuracy-after", a, Kind::Frac) +
         td_text("accuracy-change", change) + td_text("accuracy-resampled", accuracy_change_range(acc)) +
         "</tr>\n</table>\n</section>\n";
  }

  const json& layers = array_of(r, "per_layer");
  const json& budgets = array_of(r, "budgets");
  if (r.contains("per_layer")) {
    size_t shown = std::min<size_t>(layers.size(), 30);
    o += "<section id=\"per-layer\">\n<h2>Per-layer error</h2>\n";
    o += "<p>" + worst_tensors(shown, layers.size()) + "</p>\n";
    if (shown) {
      o += layer_chart(layers, budgets);
      o += "<table id=\"layers-table\">\n" + th_row(layer_columns());
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
    if (r.contains("rejected")) {
      const json& kept = member(r["rejected"], "kept_at");
      o += "<p id=\"rejected\">The model was not written at <code>" + esc(text(r["output"])) + "</code>" +
           (kept.is_string() ? "; it is kept at <code>" + esc(text(kept)) + "</code>" : std::string()) + ".</p>\n";
    }
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
  if (r.contains("tune")) o += tune_section(r["tune"]);
  o += "</main>\n</body>\n</html>\n";
  return o;
}

}  // namespace pare::formats
