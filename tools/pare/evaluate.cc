#include "tools/pare/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "formats/onnx/onnx.h"
#include "formats/report/report.h"
#include "lib/base/atomic_file.h"
#include "formats/tensors/tensors.h"
#include "lib/ir/verify.h"
#include "lib/base/strings.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "tools/pare/commands.h"

namespace pare::cli {
namespace {

// A strict decimal number ("30", "0.999", "-5.5"); nullopt on anything else.
std::optional<double> parse_number(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Runs `parse` on the text of `flag`; any error becomes one line naming the flag.
template <typename F>
auto parse_flag(const std::string& flag, const std::string& text, F parse) -> decltype(parse(text)) {
  try {
    return parse(text);
  } catch (Error& e) {
    e.with_context(flag);
    throw;
  } catch (const std::exception&) {
    throw Error(fmt::format("{}: '{}' is not a valid value", flag, text));
  }
}

double parse_ranged(const std::string& flag, const std::string& text, double lo, double hi, const char* what) {
  auto v = parse_number(text);
  if (!v || *v < lo || *v > hi) fail("{}: '{}' is not {}", flag, text, what);
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

// A fidelity budget: `value` nullopt when it could not be measured (`why`).
BudgetResult fidelity_budget(const std::string& what, std::optional<double> value, double limit, bool is_min,
                             const std::string& unit, int decimals, const std::string& why) {
  BudgetResult r{what, value ? nlohmann::json(*value) : nlohmann::json(nullptr), limit, true, ""};
  std::string suffix = unit.empty() ? "" : " " + unit;
  if (!value) {
    r.ok = false;
    r.failure = fmt::format("{} unknown ({}), budget {}{} cannot be checked", what, why, limit, suffix);
  } else if (is_min ? *value < limit : *value > limit) {
    r.ok = false;
    r.failure = fmt::format("{} {}{} {} budget {}{}", what, figure(*value, limit, is_min, decimals), suffix,
                            is_min ? "<" : ">", limit, suffix);
  }
  return r;
}

struct Fidelity {
  std::vector<metrics::OutputDiff> outputs;
  std::vector<ir::Tensor> first_before, first_after;  // the first output per sample, for --labels
};

// Runs both models on every sample and compares each output of `after` with `before`.
Fidelity fidelity(const ir::Model& before, const ir::Model& after, const std::vector<formats::Sample>& all,
                  bool keep_first, Progress& progress) {
  rt::Session a(before), b(after);
  if (a.output_names().size() != b.output_names().size())
    fail("the models have {} and {} outputs, so their outputs cannot be compared", a.output_names().size(),
         b.output_names().size());
  std::vector<metrics::OutputDiffAccumulator> acc;
  for (const auto& n : a.output_names()) acc.emplace_back(n);
  Fidelity f;
  for (size_t i = 0; i < all.size(); ++i) {
    auto ya = a.run(all[i]), yb = b.run(all[i]);
    for (size_t k = 0; k < ya.size(); ++k) acc[k].add(ya[k], yb[k]);
    if (keep_first) {
      f.first_before.push_back(ya[0]);
      f.first_after.push_back(yb[0]);
    }
    progress.update("evaluating", i + 1, all.size());
  }
  progress.finish();
  for (const auto& x : acc) f.outputs.push_back(x.result());
  return f;
}

// Both models on the samples: fidelity, accuracy when labelled, per-layer error when asked.
Evaluation evaluate_samples(const ir::Model& before, const ir::Model& after, const std::vector<formats::Sample>& samples,
                            const std::vector<int64_t>& labels, bool per_layer, Progress& progress) {
  Evaluation e;
  e.samples = samples.size();
  Fidelity f = fidelity(before, after, samples, !labels.empty(), progress);
  e.diffs = f.outputs;
  if (!labels.empty())
    e.accuracy = {metrics::top1_accuracy(f.first_before, labels), metrics::top1_accuracy(f.first_after, labels)};
  if (per_layer) e.layers = metrics::per_layer_error(before, after, samples);
  return e;
}

}  // namespace

const std::vector<std::string>& budget_flags() {
  static const std::vector<std::string> flags = {"max-bytes",  "max-download-bytes", "max-params",    "max-macs",
                                                 "min-sqnr",   "min-cosine",         "max-top1-drop", "min-accuracy"};
  return flags;
}

BudgetTexts BudgetArgs::given() const {
  BudgetTexts out;
  for (const auto& [flag, opt] : options)
    if (opt->count() > 0) out[flag] = values.at(flag);
  return out;
}

void add_budget_options(CLI::App& sub, BudgetArgs& a) {
  const std::map<std::string, std::string> help = {
      {"max-bytes", "budget: the file's size at most SIZE (5MB, 750KiB, 120000); else exit 1"},
      {"max-download-bytes", "budget: its compressed (download) size at most SIZE"},
      {"max-params", "budget: at most N parameters (200000, 1.5M)"},
      {"max-macs", "budget: at most N multiply-accumulates (50M, 2G; counted by one run, see --dim)"},
      {"min-sqnr", "budget, with --data: every output's SQNR at least DB"},
      {"min-cosine", "budget, with --data: every output's cosine similarity at least X"},
      {"max-top1-drop", "budget, with --data: top-1 disagreement of any class-score output at most POINTS"},
      {"min-accuracy", "budget, with --data and --labels: top-1 accuracy at least X (0..1)"},
  };
  for (const auto& flag : budget_flags()) {
    a.values[flag];
    a.options[flag] = sub.add_option("--" + flag, a.values[flag], help.at(flag));
  }
  sub.add_option("--dim", a.dims, "fix a symbolic dim for the MAC count, e.g. --dim batch=1 (repeatable)");
}

Limits parse_limits(const BudgetTexts& texts, const std::string& prefix) {
  Limits l;
  for (const auto& [key, text] : texts)
    if (std::find(budget_flags().begin(), budget_flags().end(), key) == budget_flags().end())
      fail("{}{}: not a budget (budgets: {}){}", prefix, key, join(budget_flags(), ", "), did_you_mean(key, budget_flags()));
  auto has = [&](const std::string& k) { return texts.count(k) > 0; };
  auto size = [&](const std::string& k) -> std::optional<int64_t> {
    if (!has(k)) return std::nullopt;
    const std::string& text = texts.at(k);
    int64_t v = parse_flag(prefix + k, text, [](const std::string& t) { return parse_size(t); });
    if (v < 0 || std::count(text.begin(), text.end(), '.') > 1)
      fail("{}{}: '{}' is not a size (examples: 5MB, 750KiB, 120000)", prefix, k, text);
    return v;
  };
  auto count = [&](const std::string& k) -> std::optional<int64_t> {
    if (!has(k)) return std::nullopt;
    return parse_flag(prefix + k, texts.at(k), [](const std::string& t) { return metrics::parse_count(t); });
  };
  l.size.max_bytes = size("max-bytes");
  l.size.max_download_bytes = size("max-download-bytes");
  l.size.max_params = count("max-params");
  l.size.max_macs = count("max-macs");
  if (has("min-sqnr"))
    l.min_sqnr = parse_ranged(prefix + "min-sqnr", texts.at("min-sqnr"), -1e9, 1e9, "a number of dB (e.g. 30)");
  if (has("min-cosine"))
    l.min_cosine = parse_ranged(prefix + "min-cosine", texts.at("min-cosine"), -1, 1,
                                "a cosine similarity between -1 and 1 (e.g. 0.999)");
  if (has("max-top1-drop"))
    l.max_top1_drop = parse_ranged(prefix + "max-top1-drop", texts.at("max-top1-drop"), 0, 100,
                                   "a number of percentage points between 0 and 100 (e.g. 1)");
  if (has("min-accuracy"))
    l.min_accuracy =
        parse_ranged(prefix + "min-accuracy", texts.at("min-accuracy"), 0, 1, "a fraction between 0 and 1 (e.g. 0.9)");
  return l;
}

ModelFacts measure_model(const ir::Model& model, const std::string& path, const std::map<std::string, int64_t>& dims) {
  return {metrics::measure_file(path), metrics::count_weights(model), metrics::count_nodes(model),
          metrics::count_macs(model, dims), metrics::weights_by_layer(model)};
}

nlohmann::json facts_json(const ModelFacts& f) {
  nlohmann::json weight_bytes = f.weights.bytes_by_dtype;
  weight_bytes["total"] = f.weights.weight_bytes;
  nlohmann::json j = {{"file_bytes", f.size.file_bytes},       {"download_bytes", f.size.download_bytes},
                      {"parameters", f.weights.parameters},    {"weight_bytes", weight_bytes},
                      {"nodes", f.nodes.nodes_total}};
  if (f.macs.known) j["macs"] = f.macs.total;
  else j["macs_unknown_reason"] = f.macs.reason;
  j["parameters_by_dtype"] = f.weights.parameters_by_dtype;
  j["layers"] = nlohmann::json::array();
  for (const auto& l : f.layers)
    j["layers"].push_back({{"node", l.node}, {"op", l.op}, {"bytes", l.bytes}, {"parameters", l.parameters}});
  return j;
}

Evaluation evaluate(const ir::Model& before, const ir::Model& after, const EvalOptions& o, Progress& progress) {
  // Labels and --per-layer without data are refused earlier (prepare, plan and budget loading).
  if (!o.enabled()) return {};
  formats::SampleSet set;
  std::vector<int64_t> labels;
  try {
    set = formats::read_sample_set(o.data, rt::input_names(before), o.images);
    if (!o.labels.empty()) labels = formats::read_labels(o.labels, set.names);
  } catch (Error& err) {
    err.with_context("--data");
    throw;
  }
  return evaluate_samples(before, after, set.samples, labels, o.per_layer, progress);
}

Evaluation evaluate(const ir::Model& before, const ir::Model& after, const std::vector<formats::Sample>& samples,
                    const std::vector<std::string>& names, const EvalOptions& o, Progress& progress) {
  std::vector<int64_t> labels;
  if (!o.labels.empty()) labels = formats::read_labels(o.labels, names);
  return evaluate_samples(before, after, samples, labels, o.per_layer, progress);
}

std::vector<StepReport> run_steps(ir::Model& model, const passes::Pipeline& pipeline, passes::PassContext& ctx,
                                  bool verify_each) {
  std::vector<StepReport> out;
  pipeline.run(model, ctx, verify_each, [&](const ir::Model& m, const passes::StepResult& r) {
    std::string bytes = formats::onnx::serialize_model(m);
    out.push_back({r.step, r.stats, {static_cast<int64_t>(bytes.size()), metrics::deflate_size(bytes)},
                   metrics::count_weights(m).parameters});
  });
  return out;
}

void report_steps(nlohmann::json& report, const std::vector<StepReport>& steps) {
  report["passes"] = nlohmann::json::array();
  for (const auto& r : steps) {
    std::vector<std::string> stats;
    for (const auto& [k, v] : r.stats) stats.push_back(k + "=" + std::to_string(v));
    fmt::print("  {:<11} {}; after: file {} B, download {} B, parameters {}\n", r.step,
               stats.empty() ? "no change" : join(stats, " "), r.size.file_bytes, r.size.download_bytes, r.parameters);
    report["passes"].push_back({{"step", r.step},
                                {"stats", r.stats},
                                {"file_bytes", r.size.file_bytes},
                                {"download_bytes", r.size.download_bytes},
                                {"parameters", r.parameters}});
  }
}

Latency measure_latency(const ir::Model& model, const std::map<std::string, int64_t>& dims, int runs) {
  rt::Session session(model);
  auto feed = rt::random_feed(model, dims);
  for (int i = 0; i < 2; ++i) session.run(feed);
  return time_runs(session, feed, runs);
}

void report_latency(nlohmann::json& report, const Latency& before, const Latency& after) {
  auto j = [](const Latency& l) { return nlohmann::json{{"median_ms", l.median_ms}, {"min_ms", l.min_ms}}; };
  report["latency"] = {{"before", j(before)}, {"after", j(after)}, {"runs", after.runs}, {"threads", 1},
                       {"runner", "pare"}};
  fmt::print("  latency     median {:.3f} ms -> {:.3f} ms (x{:.2f}), pare's runner, 1 thread, {} runs; not reproducible\n",
             before.median_ms, after.median_ms, before.median_ms > 0 ? after.median_ms / before.median_ms : 0.0, after.runs);
}

void print_facts(const std::string& a, const std::string& b, const ModelFacts& before, const ModelFacts& after) {
  fmt::print("{} -> {}\n", a, b);
  fmt::print("  file        {}\n", change(before.size.file_bytes, after.size.file_bytes));
  fmt::print("  download    {}\n", change(before.size.download_bytes, after.size.download_bytes));
  fmt::print("  parameters  {}\n", change(before.weights.parameters, after.weights.parameters));
  fmt::print("  nodes       {}\n", change(before.nodes.nodes_total, after.nodes.nodes_total));
  if (before.macs.known && after.macs.known) fmt::print("  MACs        {}\n", change(before.macs.total, after.macs.total));
  else fmt::print("  MACs        unknown ({})\n", before.macs.known ? after.macs.reason : before.macs.reason);
}

std::string sqnr_text(const metrics::OutputDiff& d) {
  return d.identical ? "inf (identical)" : fmt::format("{:.2f}", d.sqnr_db);
}

std::string change(int64_t before, int64_t after) {
  double pct = before ? 100.0 * static_cast<double>(after - before) / static_cast<double>(before) : 0.0;
  return fmt::format("{:>12} -> {:<12} ({:+.1f}%)", before, after, pct);
}

void report_evaluation(nlohmann::json& report, const Evaluation& e, const EvalOptions& o) {
  if (!o.enabled()) return;
  report["data"] = {{"folder", o.data}, {"samples", e.samples}};
  report["fidelity"] = nlohmann::json::array();
  fmt::print("  fidelity on {} samples of {}:\n", e.samples, o.data);
  for (const auto& d : e.diffs) {
    std::string top1 = d.top1_agreement ? fmt::format(", top-1 agreement {:.4f}", *d.top1_agreement) : "";
    fmt::print("    {}: SQNR {} dB, cosine {:.6f}, max abs {:.6g}, mean abs {:.6g}{}\n", d.name, sqnr_text(d),
               d.cosine, d.max_abs, d.mean_abs, top1);
    nlohmann::json j = {{"name", d.name}, {"sqnr_db", d.sqnr_db}, {"identical", d.identical}, {"cosine", d.cosine},
                        {"max_abs", d.max_abs}, {"mean_abs", d.mean_abs}};
    if (d.top1_agreement) j["top1_agreement"] = *d.top1_agreement;
    report["fidelity"].push_back(j);
  }
  if (e.accuracy) {
    fmt::print("  accuracy    {:.4f} -> {:.4f} ({:+.2f} points) on {} labeled samples ({})\n", e.accuracy->first,
               e.accuracy->second, 100 * (e.accuracy->second - e.accuracy->first), e.samples, o.labels);
    report["accuracy"] = {{"labels", o.labels}, {"before", e.accuracy->first}, {"after", e.accuracy->second}};
  }
  if (o.per_layer) {
    report["per_layer"] = nlohmann::json::array();
    fmt::print("  per-layer error, worst first ({} tensors; all in --report):\n", e.layers.size());
    for (size_t i = 0; i < e.layers.size(); ++i) {
      const auto& l = e.layers[i];
      if (i < 10)
        fmt::print("    {:<40} {:<18} SQNR {} dB, cosine {:.6f}\n", l.tensor, l.op, sqnr_text(l.diff), l.diff.cosine);
      report["per_layer"].push_back({{"tensor", l.tensor}, {"node", l.node}, {"op", l.op},
                                     {"sqnr_db", l.diff.sqnr_db}, {"cosine", l.diff.cosine},
                                     {"max_abs", l.diff.max_abs}, {"identical", l.diff.identical}});
    }
  }
}

std::vector<BudgetResult> check_limits(const Limits& limits, const ModelFacts& after, const Evaluation* e) {
  std::vector<BudgetResult> out;
  metrics::Measured measured{after.size.file_bytes, after.size.download_bytes, after.weights.parameters, std::nullopt};
  if (after.macs.known) measured.macs = after.macs.total;
  auto failures = metrics::check_budget(measured, limits.size);
  auto size_budget = [&](const std::string& what, int64_t value, const std::optional<int64_t>& limit, bool known) {
    if (!limit) return;
    BudgetResult r{what, known ? nlohmann::json(value) : nlohmann::json(nullptr), *limit, true, ""};
    for (const auto& f : failures)
      if (f.what == what) {
        r.ok = false;
        r.failure = f.unknown ? fmt::format("{} unknown ({}), budget {} cannot be checked", f.what, after.macs.reason,
                                            metrics::format_amount(f.what, f.limit))
                              : metrics::describe(f);
      }
    out.push_back(r);
  };
  size_budget("bytes", measured.bytes, limits.size.max_bytes, true);
  size_budget("download bytes", measured.download_bytes, limits.size.max_download_bytes, true);
  size_budget("parameters", measured.params, limits.size.max_params, true);
  size_budget("MACs", measured.macs.value_or(-1), limits.size.max_macs, measured.macs.has_value());
  std::vector<metrics::OutputDiff> none;
  const auto& diffs = e ? e->diffs : none;
  auto worst = [&](auto get, bool lowest) -> std::optional<double> {
    std::optional<double> w;
    for (const auto& d : diffs)
      if (auto v = get(d); v && (!w || (lowest ? *v < *w : *v > *w))) w = v;
    return w;
  };
  if (limits.min_sqnr)
    out.push_back(fidelity_budget("SQNR", worst([](const metrics::OutputDiff& d) { return std::optional(d.sqnr_db); }, true),
                                  *limits.min_sqnr, true, "dB", 1, "no outputs compared"));
  if (limits.min_cosine)
    out.push_back(fidelity_budget("cosine", worst([](const metrics::OutputDiff& d) { return std::optional(d.cosine); }, true),
                                  *limits.min_cosine, true, "", 4, "no outputs compared"));
  if (limits.max_top1_drop)
    out.push_back(fidelity_budget("top-1 drop",
                                  worst(
                                      [](const metrics::OutputDiff& d) -> std::optional<double> {
                                        if (!d.top1_agreement) return std::nullopt;
                                        return 100.0 * (1.0 - *d.top1_agreement);
                                      },
                                      false),
                                  *limits.max_top1_drop, false, "points", 1, "no output holds class scores"));
  if (limits.min_accuracy)
    out.push_back(fidelity_budget("accuracy", e && e->accuracy ? std::optional(e->accuracy->second) : std::nullopt,
                                  *limits.min_accuracy, true, "", 4, "no labels"));
  return out;
}

void report_budgets(nlohmann::json& report, const std::vector<BudgetResult>& results) {
  if (results.empty()) return;
  report["budgets"] = nlohmann::json::array();
  size_t over = 0;
  for (const auto& b : results) {
    report["budgets"].push_back({{"what", b.what}, {"value", b.value}, {"limit", b.limit}, {"ok", b.ok}});
    over += b.ok ? 0 : 1;
  }
  fmt::print("  budgets     {}\n", over ? fmt::format("{} of {} not held", over, results.size())
                                        : fmt::format("all {} held", results.size()));
}

int conclude(nlohmann::json& report, const Evaluation& e, const EvalOptions& o,
             const std::optional<std::pair<Latency, Latency>>& latency, const Limits& limits, const ModelFacts& after,
             const ReportFiles& files, const std::string& checked_file) {
  report_evaluation(report, e, o);
  if (latency) report_latency(report, latency->first, latency->second);
  std::vector<BudgetResult> budgets = check_limits(limits, after, &e);
  report_budgets(report, budgets);
  // Again, now that every input has been read (samples, labels): all or nothing.
  check_report_files(files);
  if (!files.json.empty()) write_file_atomic(files.json, report.dump(2) + "\n");
  if (!files.markdown.empty()) write_file_atomic(files.markdown, formats::render_markdown(report));
  if (!files.html.empty()) write_file_atomic(files.html, formats::render_html(report));
  // The outputs are right as they are; a budget that does not hold is exit 1.
  return print_budget_failures(checked_file, budgets) ? 1 : 0;
}

void check_report_files(const ReportFiles& files) {
  for (const std::string* f : {&files.json, &files.markdown, &files.html}) check_output_path(*f);
}

bool print_budget_failures(const std::string& file, const std::vector<BudgetResult>& results) {
  bool failed = false;
  for (const auto& b : results)
    if (!b.ok) {
      std::fprintf(stderr, "pare: check failed: %s\n", printable(file + ": " + b.failure).c_str());
      failed = true;
    }
  return failed;
}

void add_report_options(CLI::App& sub, ReportArgs& a) {
  sub.add_option("--data", a.eval.data,
                 "samples (input_K.pb or NAME.npy, sub-folders of them, or images): compare the outputs");
  sub.add_option("--labels", a.eval.labels,
                 "with --data: a class label per sample ('NAME LABEL' lines): true top-1 accuracy of both");
  sub.add_flag("--per-layer", a.eval.per_layer,
               "with --data: SQNR of every intermediate tensor the two share by name, worst first");
  sub.add_option("--markdown", a.files.markdown, "write the report as Markdown");
  sub.add_option("--html", a.files.html, "write the report as one self-contained HTML page with SVG charts");
  sub.add_option("--latency", a.latency,
                 "time N runs of each model with pare's runner (own report section; the one part that varies)")
      ->check(CLI::Range(1, 100000));
  sub.add_flag("-q,--quiet", a.quiet, "no progress bar");
  add_image_options(sub, a.images);
  add_budget_options(sub, a.budgets);
}

Prepared prepare(const ReportArgs& a) {
  // Every output is checked first, so a bad report path costs no work and leaves no model behind.
  check_report_files(a.files);
  check_distinct_outputs({{"the JSON report", a.files.json}, {"--markdown", a.files.markdown}, {"--html", a.files.html}});
  Prepared p{parse_limits(a.budgets.given()), parse_dims(a.budgets.dims), a.eval};
  p.eval.images = image_options(a.images);
  if (p.limits.needs_data() && !p.eval.enabled())
    fail("--min-sqnr, --min-cosine, --max-top1-drop and --min-accuracy need --data DIR (the samples to compare on)");
  if (p.limits.min_accuracy && p.eval.labels.empty())
    fail("--min-accuracy needs --labels FILE (a class label per sample)");
  if (!p.eval.enabled() && (!p.eval.labels.empty() || p.eval.per_layer))
    fail("{} needs --data DIR (the samples to run)", p.eval.labels.empty() ? "--per-layer" : "--labels");
  return p;
}

}  // namespace pare::cli
