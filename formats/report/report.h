// pare's JSON shrink report (pare shrink --report FILE.json), rendered for
// people (the Markdown and HTML views): Markdown (a pull-request comment, a CI summary) and one
// self-contained HTML page with inline SVG charts.
//
// Input: the JSON that formats/report/json.cc writes (report_json). The views
// are one file each: markdown.cc, html.cc (+ html_charts.cc), sharing
// view_common.h; terminal.h and ci.h render from the typed report.
// "input", "output",
// "pipeline", "before" and "after" are required (pare::Error names the missing
// one); every other section ("passes", the per-step sizes in it, "data",
// "fidelity", "accuracy", "per_layer", "budgets", "after.macs") is rendered
// when present and left out when absent. Arrays are shown in their JSON order
// ("per_layer" is already worst first), so row i of a table is element i.
//
// Number formats (the same in both renderings):
//   bytes, parameters, nodes, MACs, samples, pass stats   the exact integer, no separators;
//                                                         sizes also get lib/base/strings.h
//                                                         human_bytes next to them ("180179 (180.18 kB)")
//   change                                                fmt "{:+.1f}%" of (after - before) / before
//   SQNR (dB)                                             fmt "{:.2f}" (an identical output has 200.00
//                                                         and "yes" in its identical column)
//   cosine                                                fmt "{:.6f}"
//   max abs, mean abs                                     fmt "{:.6g}"
//   top-1 agreement, accuracy                             fmt "{:.4f}"; accuracy change fmt "{:+.2f}" points
//   over resamples (fidelity.spread, accuracy.change_*)   "LOW to HIGH", SQNR "{:.2f}" each, accuracy
//                                                         change "{:+.2f} to {:+.2f} points"; "n/a" when absent
//   loudest sample                                        its name in code, then "{:.0f}%" of the error and
//                                                         "({:.2f} dB alone)"
//   a budget's value and limit                            by what it measures: sizes and counts exact,
//                                                         SQNR and top-1 drop "{:.2f}", cosine "{:.6f}",
//                                                         accuracy "{:.4f}", anything else fmt "{}";
//                                                         a budget that is over gets more decimals
//                                                         (up to 12) until value and limit read differently
//   a number that is null in the JSON (unknown)           "unknown"
//   a dtype in only one of before/after weight_bytes      0 on the other side
//
// HTML specifics:
//   - No external resources: inline CSS, inline <svg> without xmlns, no
//     scripts, no fonts, no links; the output contains no "http".
//   - Every text from the JSON (names, paths, steps) is HTML-escaped (& < > " ').
//   - Key cells have stable ids and carry the exact JSON number in data-value
//     (the JSON's own spelling, nlohmann dump), e.g.
//       <td class="num"><span id="after-file-bytes" data-value="180179">180179</span> <small>(180.18 kB)</small></td>
//       <td id="fidelity-0-sqnr" data-value="30.62217205221696">30.62</td>
//     ids: report-input, report-output, pipeline;
//     {before,after,change}-{file-bytes,download-bytes,parameters,nodes}; after-macs;
//     weights-{before,after}-DTYPE (DTYPE with anything outside [A-Za-z0-9_-]
//     as '_'), weights-{before,after}-total; waterfall-original-{file-bytes,
//     download-bytes,parameters}; waterfall-I-{file-bytes,file-change,
//     download-bytes,download-change,parameters}; pass-I-step, pass-I-stats,
//     pass-I-stat-KEY; data-samples, data-folder; fidelity-I-{name,sqnr,
//     resampled,loudest,identical,cosine,max-abs,mean-abs,top1} (and
//     fidelity-I-before-K-... for the tensors before an output's steps);
//     accuracy-{labels,before,after,change,resampled};
//     layer-I-{tensor,node,op,sqnr,cosine,max-abs,identical};
//     budgets-summary; budget-I-{what,value,limit,status}. I is the index in
//     the JSON array, from 0. The ids of sizes, pass-I-stat-KEY and
//     data-samples are on a <span>, report-input, report-output, pipeline,
//     data-folder and accuracy-labels on a <code>, the others on a <td>
//     (with the name inside a <code> for names and steps).
//   - Charts (each an <svg> with an id, every bar a <rect> with data-value):
//     chart-waterfall: file and download bytes of the original and after each
//       step (only the original and the output when the passes carry no sizes);
//     chart-dtypes: weight bytes by dtype, before and after, as stacked bars;
//     chart-layers: SQNR of the worst 30 layers (when "per_layer" is present);
//       bars under 20 dB are red, under 30 dB amber, others green; a dashed
//       line marks an SQNR budget's limit when there is one.
//   - Tables show the worst 20 layers in Markdown and the worst 30 in HTML.
// Both renderings are deterministic (no dates, no environment): the same JSON
// gives the same bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace pare::formats {

// The report as GitHub-flavoured Markdown. Text from the JSON goes into code
// spans (so < & " print as they are), with | escaped inside tables.
std::string render_markdown(const nlohmann::json& report);

// The report as one self-contained HTML5 page (see above).
std::string render_html(const nlohmann::json& report);

}  // namespace pare::formats
