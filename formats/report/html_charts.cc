// The SVG charts of the HTML view (inline <svg>, every bar a <rect> with data-value).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "formats/report/view_common.h"
#include "lib/base/strings.h"

namespace pare::formats::view {
namespace {

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

}  // namespace

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

std::pair<const char*, const char*> front_metric(const json& front) {
  for (const auto& p : front)
    if (member(p, "sqnr_db").is_number()) return {"sqnr_db", "SQNR dB"};
  return {"top1_drop", "top-1 drop (points)"};
}

// Each verified configuration as a dot: download bytes across, fidelity up;
// green when it met the limits, red when not, the chosen one ringed.
std::string pareto_chart(const json& tune) {
  const json& front = array_of(tune, "front");
  if (front.empty()) return "";
  auto [key, label] = front_metric(front);
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (const auto& p : front) {
    xmin = std::min(xmin, number_or(member(p, "download_bytes"), 0));
    xmax = std::max(xmax, number_or(member(p, "download_bytes"), 0));
    double y = std::min(number_or(member(p, key), 0), 200.0);
    ymin = std::min(ymin, y), ymax = std::max(ymax, y);
  }
  if (ymax - ymin < 1) ymin -= 0.5, ymax += 0.5;
  // The axes span the points (with a margin), so close configurations stay apart.
  double xpad = std::max(1.0, 0.05 * (xmax - xmin));
  xmin = std::max(0.0, xmin - xpad), xmax += xpad;
  const double left = 70, top = 30, w = kWidth - left - 30, h = 220, height = top + h + 40;
  std::string o = svg_open("chart-pareto", fmt::format("Verified configurations: download bytes against {}", label), height);
  o += fmt::format("<text x=\"{}\" y=\"16\">{} (up) against download bytes (across)</text>\n", f1(left), esc(label));
  o += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#888\"></line>"
                   "<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" stroke=\"#888\"></line>\n",
                   f1(left), f1(top), f1(top + h), f1(left + w));
  o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                   f1(left - 4), f1(top + 4), fixed(ymax, 1), f1(left - 4), f1(top + h), fixed(ymin, 1));
  o += fmt::format("<text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", f1(left),
                   f1(top + h + 16), esc(human(json(xmin))), f1(left + w), f1(top + h + 16), esc(human(json(xmax))));
  for (size_t i = 0; i < front.size(); ++i) {
    const json& p = front[i];
    double x = left + w * (number_or(member(p, "download_bytes"), 0) - xmin) / (xmax - xmin);
    double y = top + h * (ymax - std::min(number_or(member(p, key), 0), 200.0)) / (ymax - ymin);
    bool ok = member(p, "ok").is_boolean() && member(p, "ok").get<bool>();
    bool chosen = member(p, "chosen").is_boolean() && member(p, "chosen").get<bool>();
    o += fmt::format("<circle class=\"point{}\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" stroke=\"#1f2328\" stroke-width=\"{}\""
                     " data-download=\"{}\"{}><title>{}: {} download, {} {}</title></circle>\n",
                     chosen ? " chosen" : "", f1(x), f1(y), chosen ? 7 : 5, ok ? "#59a14f" : "#e15759", chosen ? 2 : 0,
                     exact(member(p, "download_bytes")), data_value(member(p, key)), chosen ? "chosen" : ok ? "met the limits" : "over a limit",
                     esc(human(member(p, "download_bytes"))), esc(label), num(member(p, key), Kind::Db));
  }
  return o + "</svg>\n";
}

}  // namespace pare::formats::view
