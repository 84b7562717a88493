// The shrink report rendered as Markdown and HTML: exact figures, escaping,
// determinism, optional sections, and the HTML as a real browser parses it
// (headless Chromium, which scripts/setup.sh installs).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "formats/report/report.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare::formats {
namespace {

using json = nlohmann::json;

// A tensor name that breaks naive HTML and Markdown.
const std::string kNasty = "conv<script>alert(\"x\")</script>&amp;'|`";

// A report with every section, numbers as pare shrink writes them.
json full_report() {
  return json::parse(R"json({
    "input": "models/cls.onnx",
    "output": "out/cls_int8.onnx",
    "pipeline": "fold,fuse-bn,dce,quantize(dtype=int8,weights-only=true)",
    "before": {"file_bytes": 578966, "download_bytes": 504912, "parameters": 133665, "nodes": 221,
               "weight_bytes": {"float": 534656, "int32": 4, "total": 534660}},
    "after": {"file_bytes": 180080, "download_bytes": 150842, "parameters": 130405, "nodes": 293,
              "weight_bytes": {"float": 25328, "int64": 8, "int8": 124072, "total": 149408}, "macs": 8543210},
    "passes": [
      {"step": "fold", "stats": {"constants_removed": 1, "folded": 1},
       "file_bytes": 574466, "download_bytes": 503926, "parameters": 133665},
      {"step": "fuse-bn", "stats": {"fused": 35}, "file_bytes": 535308, "download_bytes": 479759, "parameters": 127257},
      {"step": "dce", "stats": {}, "file_bytes": 535308, "download_bytes": 479759, "parameters": 127257},
      {"step": "quantize(dtype=int8,weights-only=true)", "stats": {"quantized": 54},
       "file_bytes": 180080, "download_bytes": 150842, "parameters": 130405}
    ],
    "data": {"folder": "samples/", "samples": 3},
    "fidelity": [
      {"name": "softmax_0.tmp_0", "sqnr_db": 36.29123456789, "identical": false, "cosine": 0.9995732831569909,
       "max_abs": 0.024803221225738525, "mean_abs": 0.012479027112325033, "top1_agreement": 1.0,
       "spread": {"sqnr_low_db": 33.126, "sqnr_high_db": 39.5, "loudest_sample": "img<2>.png", "loudest_share": 0.5234,
                  "loudest_sqnr_db": 31.0}},
      {"name": "features", "sqnr_db": 200.0, "identical": true, "cosine": 1.0, "max_abs": 0.0, "mean_abs": 0.0}
    ],
    "accuracy": {"labels": "labels.txt", "before": 0.9, "after": 0.875, "change_low": -0.05, "change_high": 0.0},
    "per_layer": [
      {"tensor": "p2o.MatMul.1", "node": "p2o.MatMul.0", "op": "MatMul", "sqnr_db": 19.812452960569537,
       "cosine": 0.9957938800022326, "max_abs": 0.05282185971736908, "identical": false},
      {"tensor": "NASTY", "node": "n<1>", "op": "Conv", "sqnr_db": 24.5, "cosine": 0.998,
       "max_abs": 0.1, "identical": false},
      {"tensor": "relu_1.tmp_0", "node": "p2o.Relu.1", "op": "Relu", "sqnr_db": 200.0, "cosine": 1.0,
       "max_abs": 0.0, "identical": true}
    ],
    "budgets": [
      {"what": "bytes", "value": 180080, "limit": 200000, "ok": true},
      {"what": "SQNR", "value": 29.996, "limit": 30.0, "ok": false},
      {"what": "MACs", "value": null, "limit": 1000000, "ok": false}
    ]
  })json")
      // The nasty name goes in through the API, not through JSON escaping in this file.
      .patch(json::array({{{"op", "replace"}, {"path", "/per_layer/1/tensor"}, {"value", kNasty}}}));
}

json minimal_report() {
  return json::parse(R"({
    "input": "a.onnx", "output": "b.onnx", "pipeline": "",
    "before": {"file_bytes": 1000, "download_bytes": 900, "parameters": 100, "nodes": 5},
    "after": {"file_bytes": 500, "download_bytes": 450, "parameters": 100, "nodes": 4}
  })");
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

std::string html_unescape(std::string s) {
  const std::pair<const char*, const char*> entities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
  std::string o;
  for (size_t i = 0; i < s.size();) {
    bool matched = false;
    for (const auto& [e, c] : entities)
      if (s.compare(i, std::strlen(e), e) == 0) {
        o += c;
        i += std::strlen(e);
        matched = true;
        break;
      }
    if (!matched) o += s[i++];
  }
  return o;
}

// The element with id="ID" in `html`: its data-value attribute and its text up
// to the first tag inside it ("" when there is no such element).
struct Cell {
  bool found = false;
  std::string value, text;
};
Cell cell(const std::string& html, const std::string& id) {
  std::smatch m;
  std::regex re("id=\"" + id + "\"([^>]*)>([^<]*)<");
  if (!std::regex_search(html, m, re)) return {};
  Cell c{true, "", html_unescape(m[2].str())};
  std::smatch v;
  std::string attrs = m[1].str();
  if (std::regex_search(attrs, v, std::regex("data-value=\"([^\"]*)\""))) c.value = v[1].str();
  return c;
}

// The figures a reader checks, by id, with the JSON value each must show exactly.
std::vector<std::pair<std::string, std::string>> integer_figures(const json& r) {
  std::vector<std::pair<std::string, std::string>> f;
  for (const char* side : {"before", "after"})
    for (const auto& [key, id] : std::vector<std::pair<std::string, std::string>>{
             {"file_bytes", "file-bytes"}, {"download_bytes", "download-bytes"}, {"parameters", "parameters"},
             {"nodes", "nodes"}})
      f.push_back({std::string(side) + "-" + id, r[side][key].dump()});
  for (const auto& [dtype, v] : r["after"]["weight_bytes"].items()) f.push_back({"weights-after-" + dtype, v.dump()});
  for (size_t i = 0; i < r["passes"].size(); ++i) {
    f.push_back({"waterfall-" + std::to_string(i) + "-file-bytes", r["passes"][i]["file_bytes"].dump()});
    f.push_back({"waterfall-" + std::to_string(i) + "-download-bytes", r["passes"][i]["download_bytes"].dump()});
  }
  f.push_back({"after-macs", r["after"]["macs"].dump()});
  f.push_back({"data-samples", "3"});
  f.push_back({"budget-0-value", "180080"});
  return f;
}

// Checks the figures of full_report() in an HTML page (ours, or a browser's DOM of it).
void check_figures(const std::string& html, const json& r, const std::string& where) {
  for (const auto& [id, want] : integer_figures(r)) {
    Cell c = cell(html, id);
    ASSERT_TRUE(c.found) << where << ": no element with id " << id;
    EXPECT_EQ(c.text, want) << where << ": " << id;
    EXPECT_EQ(c.value, want) << where << ": " << id;
  }
  // Floats: shown by the documented rules, exact in data-value.
  struct Float {
    std::string id;
    const json& v;
    std::string shown;
  };
  const json &f0 = r["fidelity"][0], &l0 = r["per_layer"][0];
  for (const auto& f : std::vector<Float>{{"fidelity-0-sqnr", f0["sqnr_db"], "36.29"},
                                          {"fidelity-0-cosine", f0["cosine"], "0.999573"},
                                          {"fidelity-0-max-abs", f0["max_abs"], "0.0248032"},
                                          {"fidelity-0-mean-abs", f0["mean_abs"], "0.012479"},
                                          {"fidelity-0-top1", f0["top1_agreement"], "1.0000"},
                                          {"fidelity-1-sqnr", r["fidelity"][1]["sqnr_db"], "200.00"},
                                          {"layer-0-sqnr", l0["sqnr_db"], "19.81"},
                                          {"layer-0-cosine", l0["cosine"], "0.995794"},
                                          {"accuracy-before", r["accuracy"]["before"], "0.9000"},
                                          {"accuracy-after", r["accuracy"]["after"], "0.8750"}}) {
    Cell c = cell(html, f.id);
    ASSERT_TRUE(c.found) << where << ": no element with id " << f.id;
    EXPECT_EQ(c.text, f.shown) << where << ": " << f.id;
    EXPECT_EQ(std::stod(c.value), f.v.get<double>()) << where << ": " << f.id << " data-value " << c.value;
  }
  EXPECT_EQ(cell(html, "fidelity-1-identical").text, "yes") << where;
  EXPECT_EQ(cell(html, "fidelity-1-top1").text, "n/a") << where;
  EXPECT_EQ(cell(html, "accuracy-change").text, "-2.50 points") << where;
  EXPECT_EQ(cell(html, "accuracy-resampled").text, "-5.00 to +0.00 points") << where;
  EXPECT_EQ(cell(html, "fidelity-0-resampled").text, "33.13 to 39.50") << where;
  EXPECT_NE(html.find("id=\"fidelity-0-loudest\"><code>img&lt;2&gt;.png</code> 52% (31.00 dB alone)</td>"),
            std::string::npos)
      << where;  // the name escaped
  EXPECT_EQ(cell(html, "fidelity-1-resampled").text, "n/a") << where;
  EXPECT_EQ(cell(html, "change-file-bytes").text, "-68.9%") << where;
  EXPECT_EQ(cell(html, "pass-0-stat-folded").text, "folded=1") << where;
  EXPECT_EQ(cell(html, "pass-2-stats").text, "no change") << where;
  // An over budget gets decimals until value and limit differ; an unknown value says so.
  EXPECT_EQ(cell(html, "budget-1-value").text, "29.996") << where;
  EXPECT_EQ(cell(html, "budget-1-limit").text, "30.000") << where;
  EXPECT_EQ(cell(html, "budget-1-status").text, "over") << where;
  EXPECT_EQ(cell(html, "budget-2-value").text, "unknown") << where;
  EXPECT_EQ(cell(html, "budget-0-status").text, "ok") << where;
  // The nasty name is text: the same name comes back, and no script element exists.
  EXPECT_EQ(cell(html, "layer-1-tensor").text, "") << where << ": the name is inside <code>";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(html, m, std::regex("id=\"layer-1-tensor\"[^>]*><code>([^<]*)</code>"))) << where;
  EXPECT_EQ(html_unescape(m[1].str()), kNasty) << where;
  EXPECT_FALSE(has(html, "<script")) << where;
  EXPECT_EQ(cell(html, "layer-1-node").text, "") << where;
}

TEST(Report, MarkdownHasEveryFigureAndSection) {
  json r = full_report();
  std::string md = render_markdown(r);
  for (const char* header :
       {"# pare shrink report: `models/cls.onnx` -> `out/cls_int8.onnx`", "## Size\n", "### Weight bytes by dtype",
        "## Size after each step", "## Passes", "## Fidelity", "## Accuracy", "## Per-layer error", "## Budgets"})
    EXPECT_TRUE(has(md, header)) << header << "\n" << md;
  EXPECT_TRUE(has(md, "Pipeline: `fold,fuse-bn,dce,quantize(dtype=int8,weights-only=true)`"));
  // Sizes: exact and human; changes in percent.
  EXPECT_TRUE(has(md, "| file bytes | 578966 (578.97 kB) | 180080 (180.08 kB) | -68.9% |")) << md;
  EXPECT_TRUE(has(md, "| download bytes | 504912 (504.91 kB) | 150842 (150.84 kB) | -70.1% |")) << md;
  EXPECT_TRUE(has(md, "| parameters | 133665 | 130405 | -2.4% |")) << md;
  EXPECT_TRUE(has(md, "| nodes | 221 | 293 | +32.6% |")) << md;
  EXPECT_TRUE(has(md, "| MACs | unknown | 8543210 | n/a |")) << md;  // "before" has no MAC count
  EXPECT_TRUE(has(md, "| `int8` | 0 (0 B) | 124072 (124.07 kB) |")) << md;
  // The waterfall: each step with its bytes and what it gained.
  EXPECT_TRUE(has(md, "| 0 | original | 578966 (578.97 kB) |  | 504912 (504.91 kB) |  | 133665 |")) << md;
  EXPECT_TRUE(has(md, "| 1 | `fold` | 574466 (574.47 kB) | -4500 | 503926 (503.93 kB) | -986 | 133665 |")) << md;
  EXPECT_TRUE(has(md, "| 3 | `dce` | 535308 (535.31 kB) | +0 |")) << md;
  EXPECT_TRUE(has(md, "| 1 | `fold` | `constants_removed=1, folded=1` |")) << md;
  EXPECT_TRUE(has(md, "| 3 | `dce` | `no change` |")) << md;
  EXPECT_TRUE(has(md, "On 3 samples of `samples/`.")) << md;
  EXPECT_TRUE(has(md, "| `softmax_0.tmp_0` | 36.29 | 33.13 to 39.50 | `img<2>.png` 52% (31.00 dB alone) | no | 0.999573 | "
                      "0.0248032 | 0.012479 | 1.0000 |")) << md;
  EXPECT_TRUE(has(md, "| `features` | 200.00 | n/a | n/a | yes | 1.000000 | 0 | 0 | n/a |")) << md;
  EXPECT_TRUE(has(md, "Over resamples: the SQNR of 90% of 1000 draws")) << md;
  EXPECT_TRUE(has(md, "| 0.9000 | 0.8750 | -2.50 points | -5.00 to +0.00 points |")) << md;
  EXPECT_TRUE(has(md, "The worst 3 of 3 tensors")) << md;
  EXPECT_TRUE(has(md, "| 1 | `p2o.MatMul.1` | `p2o.MatMul.0` | `MatMul` | 19.81 | 0.995794 | 0.0528219 | no |")) << md;
  // The nasty name: a code span with a longer fence (it holds a backtick), | escaped.
  EXPECT_TRUE(has(md, "| 2 | `` conv<script>alert(\"x\")</script>&amp;'\\|` `` | `n<1>` | `Conv` | 24.50 |")) << md;
  EXPECT_TRUE(has(md, "2 of 3 not held.")) << md;
  EXPECT_TRUE(has(md, "| `bytes` | 180080 | 200000 | ok |")) << md;
  EXPECT_TRUE(has(md, "| `SQNR` | 29.996 | 30.000 | over |")) << md;
  EXPECT_TRUE(has(md, "| `MACs` | unknown | 1000000 | over |")) << md;
}

// A model over budget that was not written: both views say so, and where it was kept.
TEST(Report, ARejectedModelIsNamedInBothViews) {
  json r = minimal_report();
  r["budgets"] = json::array({{{"what", "bytes"}, {"value", 500}, {"limit", 100}, {"ok", false}}});
  r["rejected"] = {{"kept_at", nullptr}};
  EXPECT_TRUE(has(render_markdown(r), "The model was not written at `b.onnx`.\n")) << render_markdown(r);
  EXPECT_TRUE(has(render_html(r), "<p id=\"rejected\">The model was not written at <code>b.onnx</code>.</p>"));
  r["rejected"]["kept_at"] = "b<1>.rejected.onnx";
  EXPECT_TRUE(has(render_markdown(r), "not written at `b.onnx`; it is kept at `b<1>.rejected.onnx`.")) << render_markdown(r);
  EXPECT_TRUE(has(render_html(r), "; it is kept at <code>b&lt;1&gt;.rejected.onnx</code>.</p>")) << render_html(r);
  r.erase("rejected");
  EXPECT_FALSE(has(render_markdown(r), "not written"));
  EXPECT_FALSE(has(render_html(r), "id=\"rejected\""));
}

TEST(Report, MarkdownShowsTheWorstTwentyLayers) {
  json r = minimal_report();
  r["per_layer"] = json::array();
  for (int i = 0; i < 25; ++i)
    r["per_layer"].push_back({{"tensor", "t" + std::to_string(i)}, {"node", "n"}, {"op", "Conv"},
                              {"sqnr_db", 10.0 + i}, {"cosine", 0.99}, {"max_abs", 0.5}, {"identical", false}});
  std::string md = render_markdown(r);
  EXPECT_TRUE(has(md, "The worst 20 of 25 tensors")) << md;
  EXPECT_TRUE(has(md, "`t19`"));
  EXPECT_FALSE(has(md, "`t20`"));
  std::string html = render_html(r);
  EXPECT_TRUE(has(html, "The worst 30 of 25") == false && has(html, "The worst 25 of 25 tensors")) << html;
  EXPECT_EQ(count(html, "class=\"bar layer\""), 25u);
}

TEST(Report, HtmlIsSelfContainedEscapedAndHasTheFigures) {
  json r = full_report();
  std::string html = render_html(r);
  EXPECT_TRUE(starts_with(html, "<!DOCTYPE html>\n<html lang=\"en\">"));
  EXPECT_TRUE(has(html, "<meta charset=\"utf-8\">"));
  // Balanced structure.
  for (const auto& [open, close] : std::vector<std::pair<std::string, std::string>>{
           {"<table", "</table>"}, {"<svg", "</svg>"}, {"<tr>", "</tr>"}, {"<td", "</td>"}, {"<th>", "</th>"},
           {"<section", "</section>"}, {"<code", "</code>"}, {"<text", "</text>"}, {"<rect", "</rect>"},
           {"<title", "</title>"}, {"<span", "</span>"}})
    EXPECT_EQ(count(html, open), count(html, close)) << open;
  EXPECT_EQ(count(html, "<table"), 8u);  // size, dtype, waterfall, passes, fidelity, accuracy, layers, budgets
  EXPECT_EQ(count(html, "<svg"), 3u);
  for (const char* chart : {"id=\"chart-waterfall\"", "id=\"chart-dtypes\"", "id=\"chart-layers\""})
    EXPECT_TRUE(has(html, chart)) << chart;
  // Self-contained: no URLs, no fetches of any kind.
  for (const char* ref : {"http://", "https://", "src=", "href=", "@import", "url(", "<link", "<script"})
    EXPECT_FALSE(has(html, ref)) << ref;
  // The waterfall chart: the original and each step, file and download bytes.
  EXPECT_EQ(count(html, "class=\"bar file\""), 5u);
  EXPECT_EQ(count(html, "class=\"bar download\""), 5u);
  EXPECT_TRUE(has(html, "class=\"bar file\" x=\"230.0\" y=\"31.0\" width=\"410.0\""));  // the largest is full width
  EXPECT_TRUE(has(html, "data-value=\"180080\" data-step=\"quantize(dtype=int8,weights-only=true)\""));
  // The dtype chart: float and int32 before, float, int64 and int8 after.
  EXPECT_EQ(count(html, "class=\"bar dtype\""), 5u);
  EXPECT_TRUE(has(html, "data-value=\"124072\" data-side=\"after\" data-dtype=\"int8\""));
  // The layer chart: one bar per layer, the budget line at 30 dB.
  EXPECT_EQ(count(html, "class=\"bar layer\""), 3u);
  EXPECT_TRUE(has(html, "<line class=\"limit\""));
  // The nasty name is escaped everywhere it appears (table, chart label, tooltip, data attribute).
  EXPECT_FALSE(has(html, kNasty));
  EXPECT_FALSE(has(html, "<script>"));
  EXPECT_TRUE(has(html, "conv&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;&#39;|`"));
  EXPECT_TRUE(has(html, "data-tensor=\"conv&lt;script&gt;"));
  check_figures(html, r, "render_html");
}

TEST(Report, RendersAreDeterministic) {
  json r = full_report();
  EXPECT_EQ(render_markdown(r), render_markdown(r));
  EXPECT_EQ(render_html(r), render_html(r));
  // The same report parsed again from its text renders the same bytes.
  json again = json::parse(r.dump());
  EXPECT_EQ(render_html(again), render_html(r));
  EXPECT_EQ(render_markdown(again), render_markdown(r));
}

TEST(Report, MinimalReportHasNoOptionalSections) {
  json r = minimal_report();
  std::string md = render_markdown(r), html = render_html(r);
  EXPECT_TRUE(has(md, "## Size\n"));
  EXPECT_TRUE(has(md, "Pipeline: (none)"));
  EXPECT_TRUE(has(md, "| file bytes | 1000 (1.00 kB) | 500 (500 B) | -50.0% |")) << md;
  for (const char* absent : {"Weight bytes", "## Size after each step", "## Passes", "## Fidelity", "## Accuracy",
                             "## Per-layer", "## Budgets", "MACs"}) {
    EXPECT_FALSE(has(md, absent)) << absent;
    EXPECT_FALSE(has(html, absent)) << absent;
  }
  // The waterfall chart still shows the original and the output; no other chart.
  EXPECT_EQ(count(html, "<svg"), 1u);
  EXPECT_EQ(count(html, "class=\"bar file\""), 2u);
  EXPECT_EQ(count(html, "<table"), 1u);
  EXPECT_EQ(cell(html, "after-file-bytes").text, "500");
  EXPECT_EQ(cell(html, "change-nodes").text, "-20.0%");
  // Passes without sizes (older reports): stats only, no waterfall table.
  r["passes"] = json::array({{{"step", "dce"}, {"stats", {{"removed", 2}}}}});
  md = render_markdown(r);
  EXPECT_TRUE(has(md, "## Passes"));
  EXPECT_TRUE(has(md, "`removed=2`"));
  EXPECT_FALSE(has(md, "## Size after each step"));
}

TEST(Report, MissingRequiredKeysAreErrors) {
  json r = minimal_report();
  r.erase("before");
  try {
    render_html(r);
    FAIL() << "a report without \"before\" was rendered";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), "\"before\"")) << e.what();
  }
  EXPECT_THROW(render_markdown(json::array()), Error);
}

// The HTML as Chromium parses it: the figures at their ids, the charts in the DOM.
TEST(Report, HtmlInHeadlessChromium) {
  const std::string chromium = "/usr/bin/chromium";
  ASSERT_TRUE(std::filesystem::exists(chromium))
      << chromium << " is missing: run scripts/setup.sh (it installs the chromium package; CI runs it first)";
  json r = full_report();
  std::string dir = testing::temp_dir();
  std::string path = dir + "/report.html";
  write_file_atomic(path, render_html(r));
  auto start = std::chrono::steady_clock::now();
  // timeout(1): a browser that hangs (no display, a stuck D-Bus call) fails the test instead of the suite.
  testing::Command c = testing::run_command({"timeout", "120", chromium, "--headless", "--no-sandbox",
                                             "--disable-gpu", "--user-data-dir=" + dir + "/profile", "--dump-dom",
                                             "file://" + path});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("chromium_seconds", std::to_string(seconds));
  std::printf("chromium --dump-dom took %.2f s%s\n", seconds, seconds > 10 ? " (slow: more than 10 s)" : "");
  ASSERT_NE(c.exit_code, 124) << "chromium did not finish within 120 s";
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const std::string& dom = c.out;
  ASSERT_TRUE(has(dom, "<html")) << "no DOM on stdout; stderr: " << c.err;
  check_figures(dom, r, "chromium DOM");
  // The charts are SVG elements in the DOM, with their bars.
  EXPECT_EQ(count(dom, "<svg"), 3u);
  EXPECT_EQ(count(dom, "<rect class=\"bar file\""), 5u);
  EXPECT_EQ(count(dom, "<rect class=\"bar dtype\""), 5u);
  EXPECT_EQ(count(dom, "<rect class=\"bar layer\""), 3u);
  EXPECT_EQ(count(dom, "<table"), 8u);
}

}  // namespace
}  // namespace pare::formats

namespace pare::formats {
namespace {

TEST(Report, SizeByLayerShowsTheLargestLayersAfterWithTheirBytesBefore) {
  json r = minimal_report();
  r["before"]["layers"] = json::array({{{"node", "conv1"}, {"op", "Conv"}, {"bytes", 4000}, {"parameters", 1000}},
                                       {{"node", "fc"}, {"op", "Gemm"}, {"bytes", 800}, {"parameters", 200}}});
  r["after"]["layers"] = json::array({{{"node", "conv1"}, {"op", "Conv"}, {"bytes", 1040}, {"parameters", 1010}},
                                      {{"node", "new<&>"}, {"op", "MatMul"}, {"bytes", 64}, {"parameters", 64}}});
  std::string md = render_markdown(r), html = render_html(r);
  EXPECT_NE(md.find("### Weight bytes by layer (the 2 largest after)"), std::string::npos) << md;
  EXPECT_NE(md.find("| `conv1` | `Conv` | 4000 (4.00 kB) | 1040 (1.04 kB) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| n/a | 64 (64 B) |"), std::string::npos) << md;
  EXPECT_NE(html.find("id=\"chart-layer-sizes\""), std::string::npos);
  EXPECT_NE(html.find("id=\"layer-size-0-after\""), std::string::npos);
  EXPECT_EQ(count(html, "class=\"bar layer-size\""), 3u);  // conv1 before and after, the new layer after
  EXPECT_NE(html.find("new&lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(html.find("new<&>"), std::string::npos);
}

}  // namespace
}  // namespace pare::formats
