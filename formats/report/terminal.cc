#include "formats/report/terminal.h"
#include "lib/base/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "lib/base/settings.h"
#include "lib/base/strings.h"

namespace pare::formats {
namespace {

std::string macs_text(const metrics::MacStats& m) { return m.known ? std::to_string(m.total) : "unknown"; }

// "file", "download", "parameters", "nodes" and "MACs" lines; `build` says
// unknown MACs as "A -> B (reason)", shrink and compare as "unknown (reason)".
void facts(std::string& o, const metrics::ModelFacts& before, const metrics::ModelFacts& after, bool build) {
  o += fmt::format("  file        {}\n", change_text(before.size.file_bytes, after.size.file_bytes));
  o += fmt::format("  download    {}\n", change_text(before.size.download_bytes, after.size.download_bytes));
  o += fmt::format("  parameters  {}\n", change_text(before.weights.parameters, after.weights.parameters));
  o += fmt::format("  nodes       {}\n", change_text(before.nodes.nodes_total, after.nodes.nodes_total));
  const std::string& reason = before.macs.known ? after.macs.reason : before.macs.reason;
  if (before.macs.known && after.macs.known)
    o += fmt::format("  MACs        {}\n", change_text(before.macs.total, after.macs.total));
  else if (build)
    o += fmt::format("  MACs        {} -> {} ({})\n", macs_text(before.macs), macs_text(after.macs), reason);
  else
    o += fmt::format("  MACs        unknown ({})\n", reason);
}

void steps(std::string& o, const std::vector<metrics::StepReport>& steps) {
  for (const auto& r : steps) {
    std::vector<std::string> stats;
    // Per-item figures ("underflow.<tensor>") are for the JSON: dozens on a real model.
    for (const auto& [k, v] : r.stats)
      if (k.find('.') == std::string::npos) stats.push_back(k + "=" + std::to_string(v));
    o += fmt::format("  {:<11} {}; after: file {} B, download {} B, parameters {}\n", r.step,
                     stats.empty() ? "no change" : join(stats, " "), r.size.file_bytes, r.size.download_bytes,
                     r.parameters);
  }
}

// Where an output's SQNR could lie with other samples, and the sample whose error weighs most.
void spread_line(std::string& o, const metrics::OutputDiff& d, const char* indent) {
  if (!d.spread) return;
  const metrics::SampleSpread& s = *d.spread;
  std::string loudest = s.loudest_name.empty() ? fmt::format("sample {}", s.loudest + 1) : s.loudest_name;
  o += fmt::format("{}over samples: {:.2f} to {:.2f} dB in 90% of resamples; {} carries {:.0f}% of the error "
                   "({:.2f} dB alone)\n",
                   indent, s.sqnr_db.low, s.sqnr_db.high, loudest, 100 * s.loudest_share, s.loudest_sqnr_db);
}

void evaluation(std::string& o, const metrics::Evaluation& e) {
  o += fmt::format("  fidelity on {} samples of {}:\n", e.samples, e.folder);
  for (const auto& d : e.diffs) {
    std::string top1 = d.top1_agreement ? fmt::format(", top-1 agreement {:.4f}", *d.top1_agreement) : "";
    o += fmt::format("    {}: SQNR {} dB, cosine {:.6f}, max abs {:.6g}, mean abs {:.6g}{}\n", d.name, sqnr_text(d),
                     d.cosine, d.max_abs, d.mean_abs, top1);
    spread_line(o, d, "      ");
    if (!d.before_steps.empty())
      o += fmt::format("      through {}: judged before, at\n", join(d.steps, ", "));
    for (const auto& t : d.before_steps) {
      o += fmt::format("      {}: SQNR {} dB, cosine {:.6f}, max abs {:.6g}, mean abs {:.6g}\n", t.name, sqnr_text(t),
                       t.cosine, t.max_abs, t.mean_abs);
      spread_line(o, t, "        ");
    }
  }
  if (e.accuracy) {
    std::string range = e.accuracy_change ? fmt::format("; {:+.2f} to {:+.2f} over resamples", 100 * e.accuracy_change->low,
                                                        100 * e.accuracy_change->high)
                                          : "";
    o += fmt::format("  accuracy    {:.4f} -> {:.4f} ({:+.2f} points{}) on {} labeled samples ({})\n", e.accuracy->first,
                     e.accuracy->second, 100 * (e.accuracy->second - e.accuracy->first), range, e.samples, e.labels);
  }
  if (e.per_layer) {
    o += fmt::format("  per-layer error, worst first ({} tensors; all in {}):\n", e.layers.size(), spell(Setting::kReportFile));
    for (size_t i = 0; i < e.layers.size() && i < 10; ++i) {
      const auto& l = e.layers[i];
      o += fmt::format("    {:<40} {:<18} SQNR {} dB, cosine {:.6f}\n", l.tensor, l.op, sqnr_text(l.diff), l.diff.cosine);
    }
  }
}

void latency(std::string& o, const metrics::Latency& before, const metrics::Latency& after) {
  o += fmt::format(
      "  latency     median {:.3f} ms -> {:.3f} ms (x{:.2f}), pare's runner, 1 thread, {} runs; not reproducible\n",
      before.median_ms, after.median_ms, before.median_ms > 0 ? after.median_ms / before.median_ms : 0.0, after.runs);
}

void budgets(std::string& o, const std::vector<metrics::BudgetResult>& results) {
  if (results.empty()) return;
  size_t over = 0;
  for (const auto& b : results) over += b.ok ? 0 : 1;
  o += fmt::format("  budgets     {}\n", over ? fmt::format("{} of {} not held", over, results.size())
                                              : fmt::format("all {} held", results.size()));
}

}  // namespace

std::string sqnr_text(const metrics::OutputDiff& d) {
  return d.identical ? "inf (identical)" : fmt::format("{:.2f}", d.sqnr_db);
}

std::string change_text(int64_t before, int64_t after) {
  double pct = before ? 100.0 * static_cast<double>(after - before) / static_cast<double>(before) : 0.0;
  return fmt::format("{:>12} -> {:<12} ({:+.1f}%)", before, after, pct);
}

// pare tune's search: what it spent, the verified configurations, the choices.
static void tune_lines(std::string& o, const metrics::TuneSummary& s) {
  o += fmt::format("  tune        objective {}; {} layers; {} sensitivity runs ({} cached, {} not measured) on {} samples; "
                   "{} verifications{} on {} samples; {:.1f} s{}\n",
                   s.objective, s.layers.size(), s.evaluations, s.cached, s.skipped, s.sensitivity_samples,
                   s.verifications, s.unbuilt ? fmt::format(" ({} could not be built)", s.unbuilt) : "",
                   s.search_samples, s.seconds, s.stopped.empty() ? "" : "; stopped by --" + s.stopped);
  for (const auto& p : s.front) {
    std::string fid = p.sqnr ? fmt::format("SQNR {:.1f} dB", *p.sqnr) : "SQNR n/a";
    if (p.top1_drop) fid += fmt::format(", top-1 drop {:.2f}", *p.top1_drop);
    if (p.accuracy) fid += fmt::format(", accuracy {:.2f}%", 100 * *p.accuracy);
    std::string macs = p.macs ? fmt::format("  MACs {}", *p.macs) : "";
    o += fmt::format("  {}  download {:>10}  bytes {:>10}  {}  int8 layers {}{}  (noise budget {:.1f} dB){}\n",
                     p.chosen ? "chosen" : (p.ok ? "  ok  " : "  over"), human_bytes(p.download_bytes),
                     human_bytes(p.bytes), fid, p.int8_layers, macs, p.noise_budget_db, p.chosen ? " <-" : "");
  }
  std::map<std::string, int> counts;
  for (const auto& l : s.layers) ++counts[l.choice];
  std::vector<std::string> parts;
  for (const auto& [c, n] : counts) parts.push_back(fmt::format("{} {}", c, n));
  o += fmt::format("  choices     {}\n", join(parts, ", "));
}

std::string terminal_text(const metrics::Report& r, const std::string& output) {
  std::string o;
  bool build = !r.name.empty();
  if (build) {
    o += fmt::format("{}: {} -> {}\n", r.name, r.input, output);
    if (r.cut)
      o += fmt::format("  cut         inputs {}; outputs {}\n",
                       r.cut->inputs.empty() ? "(the model's)" : join(r.cut->inputs, ", "),
                       r.cut->outputs.empty() ? "(the model's)" : join(r.cut->outputs, ", "));
    o += fmt::format("  pipeline    {}\n", r.pipeline.empty() ? "(none)" : r.pipeline);
    facts(o, r.before, r.after, true);
  } else {
    o += fmt::format("{} -> {}\n", r.input, output);
    facts(o, r.before, r.after, false);
    if (r.steps) o += fmt::format("  pipeline    {}\n", r.pipeline.empty() ? "(none)" : r.pipeline);
  }
  if (r.steps) steps(o, *r.steps);
  for (const auto& [key, value] : r.trimmed) o += fmt::format("  trimmed     {}: {}\n", key, value);
  if (r.evaluation) evaluation(o, *r.evaluation);
  if (r.latency) latency(o, r.latency->first, r.latency->second);
  if (r.tune) tune_lines(o, *r.tune);
  budgets(o, r.budgets);
  if (r.rejected_kept_at)
    o += fmt::format("  not written {} (a budget does not hold){}\n", output,
                     r.rejected_kept_at->empty() ? "" : "; the model is kept at " + *r.rejected_kept_at);
  return o;
}

std::string failure_lines(const std::string& file, const std::vector<metrics::BudgetResult>& results) {
  std::string o;
  for (const auto& b : results)  // one line each, whatever the names
    if (!b.ok && !metrics::repeats_a_failure(results, b))
      o += (b.level == metrics::Level::warn ? "pare: check warning: " : "pare: check failed: ") +
           printable(file + ": " + b.failure) + "\n";
  return o;
}

}  // namespace pare::formats

// ---------------------------------------------------------------- pare check

namespace pare::formats {

std::string text_table(const std::vector<std::vector<std::string>>& cells, const std::string& indent) {
  std::vector<size_t> width;
  for (const auto& row : cells)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  std::string out;
  for (const auto& row : cells) {
    std::string line = indent;
    for (size_t c = 0; c < row.size(); ++c) line += row[c] + std::string(width[c] - row[c].size(), ' ') + "  ";
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

namespace {

std::string checked_model_text(const metrics::CheckedModel& r, const Baseline* baseline) {
  std::string o = fmt::format("{}: {}\n", r.name, verdict_of(r));
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header = {"measure", "value", "limit"};
  if (baseline) header.push_back("change");
  header.push_back("status");
  cells.push_back(header);
  const nlohmann::json* base = baseline ? baseline_of(*baseline, r.name) : nullptr;
  for (const auto& m : measures(r)) {
    std::vector<std::string> row = {m.what, value_text(m), limit_text(m)};
    if (baseline) row.push_back(change(m, base));
    row.push_back(status_of(r, m.what));
    cells.push_back(row);
  }
  for (const auto& what : growth_measures(r)) {  // the change is the value here
    std::vector<std::string> row = {what, growth_value(r, what), growth_limit(r, what)};
    if (baseline) row.push_back("");
    row.push_back(status_of(r, what));
    cells.push_back(row);
  }
  for (const auto& m : real_measures())
    if (const metrics::BudgetResult* b = real_result(r, m)) {
      std::vector<std::string> row = {m.what, real_value(m, *b), real_limit(r, m)};
      if (baseline) row.push_back(change(m, *b, base));
      row.push_back(status_of(r, m.what));
      cells.push_back(row);
    }
  o += text_table(cells);
  if (!r.measured.macs_reason.empty()) o += fmt::format("  MACs unknown: {}\n", r.measured.macs_reason);
  if (!r.growth_unchecked.empty()) o += fmt::format("  growth not checked: {}\n", r.growth_unchecked);
  if (r.evaluation)
    o += fmt::format("  compared with {} on {} samples of {}\n", r.reference, r.evaluation->samples, r.data);
  return o;
}

}  // namespace

std::string check_text(const metrics::CheckReport& report, const Baseline* baseline) {
  // The verdict leads, and closes the output again for a log read from its end.
  std::string verdict = check_verdict(report);
  std::string o = verdict + "\n";
  for (const auto& m : report.models) o += "\n" + checked_model_text(m, baseline);
  return o + "\n" + verdict + "\n";
}

}  // namespace pare::formats
