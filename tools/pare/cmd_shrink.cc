// pare shrink MODEL -o OUT [--passes PIPELINE]: the main job. Loads, runs the
// pipeline, writes the model atomically, and prints what it gained.
//
// Budgets (--max-bytes, --max-download-bytes, --max-params, --max-macs,
// --min-sqnr, --min-cosine, --max-top1-drop, --min-accuracy) are checked after
// the model and the report are written (both are correct outputs); each one
// that does not hold is one line "pare: check failed: OUT: WHAT VALUE > budget
// LIMIT" on stderr, and the exit code is 1.
//
// The size waterfall: after each step the IR is serialised (as save_model
// writes it without --external-data) and deflated, so the report shows what
// each pass gained.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/progress.h"
#include "lib/metrics/budget.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/layers.h"
#include "lib/runtime/session.h"
#include "lib/base/strings.h"
#include "lib/ir/verify.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "passes/pipeline.h"
#include "tools/pare/commands.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {
namespace {

struct Args {
  std::string model, output, passes, data, report, labels;
  bool verify_each = false;
  bool external_data = false;
  bool per_layer = false;
  bool quiet = false;
  ImageArgs images;
  // Budgets: the text as given, parsed in shrink() so errors name the flag.
  std::string max_bytes, max_download_bytes, max_params, max_macs, min_sqnr, min_cosine, max_top1_drop, min_accuracy;
  std::vector<std::string> dims;  // --dim NAME=N for the MAC count
  std::map<std::string, CLI::Option*> given;  // flag -> its option, to tell "not given" from ""
  bool has(const std::string& flag) const {
    auto it = given.find(flag);
    return it != given.end() && it->second->count() > 0;
  }
};

// The limits of one run, parsed and validated before any work.
struct Limits {
  metrics::Budget size;
  std::optional<double> min_sqnr, min_cosine, max_top1_drop, min_accuracy;
  std::map<std::string, int64_t> dims;
};

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

Limits parse_limits(const Args& a) {
  Limits l;
  auto size = [&](const std::string& flag, const std::string& text) -> std::optional<int64_t> {
    if (!a.has(flag)) return std::nullopt;
    int64_t v = parse_flag(flag, text, [](const std::string& t) { return parse_size(t); });
    if (v < 0 || std::count(text.begin(), text.end(), '.') > 1) fail("{}: '{}' is not a size (examples: 5MB, 750KiB, 120000)", flag, text);
    return v;
  };
  auto count = [&](const std::string& flag, const std::string& text) -> std::optional<int64_t> {
    if (!a.has(flag)) return std::nullopt;
    return parse_flag(flag, text, [](const std::string& t) { return metrics::parse_count(t); });
  };
  l.size.max_bytes = size("--max-bytes", a.max_bytes);
  l.size.max_download_bytes = size("--max-download-bytes", a.max_download_bytes);
  l.size.max_params = count("--max-params", a.max_params);
  l.size.max_macs = count("--max-macs", a.max_macs);
  if (a.has("--min-sqnr"))
    l.min_sqnr = parse_ranged("--min-sqnr", a.min_sqnr, -1e9, 1e9, "a number of dB (e.g. 30)");
  if (a.has("--min-cosine"))
    l.min_cosine = parse_ranged("--min-cosine", a.min_cosine, -1, 1, "a cosine similarity between -1 and 1 (e.g. 0.999)");
  if (a.has("--max-top1-drop"))
    l.max_top1_drop =
        parse_ranged("--max-top1-drop", a.max_top1_drop, 0, 100, "a number of percentage points between 0 and 100 (e.g. 1)");
  if (a.has("--min-accuracy"))
    l.min_accuracy = parse_ranged("--min-accuracy", a.min_accuracy, 0, 1, "a fraction between 0 and 1 (e.g. 0.9)");
  l.dims = parse_dims(a.dims);
  for (const char* flag : {"--min-sqnr", "--min-cosine", "--max-top1-drop", "--min-accuracy"})
    if (a.has(flag) && a.data.empty()) fail("{} needs --data DIR (the samples to compare on)", flag);
  if (a.has("--min-accuracy") && a.labels.empty()) fail("--min-accuracy needs --labels FILE (a class label per sample)");
  return l;
}

// One budget's outcome, for the report and the failure lines.
struct BudgetResult {
  std::string what;
  nlohmann::json value, limit;  // value: null when unknown
  bool ok = true;
  std::string failure;  // "SQNR 23.3 dB < budget 30 dB"; empty when ok
};

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

std::string sqnr_text(const metrics::OutputDiff& d) {
  return d.identical ? "inf (identical)" : fmt::format("{:.2f}", d.sqnr_db);
}

nlohmann::json size_json(const metrics::FileSize& f, const metrics::WeightStats& w, const metrics::GraphStats& g) {
  nlohmann::json weight_bytes = w.bytes_by_dtype;
  weight_bytes["total"] = w.weight_bytes;
  return {{"file_bytes", f.file_bytes}, {"download_bytes", f.download_bytes}, {"parameters", w.parameters},
          {"weight_bytes", weight_bytes}, {"nodes", g.nodes_total}};
}

std::string change(int64_t before, int64_t after) {
  double pct = before ? 100.0 * static_cast<double>(after - before) / static_cast<double>(before) : 0.0;
  return fmt::format("{:>12} -> {:<12} ({:+.1f}%)", before, after, pct);
}

int shrink(const Args& a) {
  // Check the cheap things first, so a mistake costs nothing.
  refuse_overwrite_input(a.model, a.output);
  Limits limits = parse_limits(a);
  passes::Pipeline pipeline = passes::Pipeline::parse(a.passes);
  ir::Model model = formats::onnx::load_model(a.model);
  // The original, kept for --data: the pipeline edits `model` in place.
  ir::Model original = a.data.empty() ? ir::Model{} : formats::onnx::load_model(a.model);
  if (a.data.empty() && (!a.labels.empty() || a.per_layer))
    fail("{} needs --data DIR (the samples to run)", a.labels.empty() ? "--per-layer" : "--labels");
  formats::ImageOptions images = image_options(a.images);
  Progress progress(!a.quiet && stderr_is_terminal());
  auto size_before = metrics::measure_file(a.model);
  auto weights_before = metrics::count_weights(model);
  auto nodes_before = metrics::count_nodes(model);

  passes::PassContext ctx;
  ctx.load_samples = [&](const std::string& dir, const std::vector<std::string>& inputs) {
    return formats::read_sample_set(dir, inputs, images).samples;
  };
  ctx.progress = [&](const std::string& what, size_t done, size_t total) { progress.update(what, done, total); };
  // The metadata goes on first, so the size after each step is the size of the
  // file that step would have written (the last one: the output's size).
  if (!pipeline.empty()) model.set_metadata("pare.pipeline", pipeline.str());
  std::vector<passes::StepResult> results;
  std::vector<std::pair<metrics::FileSize, int64_t>> waterfall;  // sizes and parameters after each step
  try {
    // One step at a time (as Pipeline::run does), measuring the model after each.
    for (const auto& step : pipeline.steps()) {
      ctx.stats.clear();
      try {
        step.info->create(step.values)->run(model, ctx);
        if (a.verify_each) ir::verify(model);
      } catch (Error& e) {
        e.with_context("in pass '" + step.info->name + "'");
        throw;
      }
      results.push_back({step.str(), ctx.stats});
      std::string bytes = formats::onnx::serialize_model(model);
      waterfall.push_back({{static_cast<int64_t>(bytes.size()), metrics::deflate_size(bytes)},
                           metrics::count_weights(model).parameters});
    }
    progress.finish();
    ir::verify(model);
  } catch (Error& e) {
    e.with_context(a.model);
    throw;
  }
  if (!pipeline.empty()) model.set_metadata("pare.pipeline", pipeline.str());
  // Fidelity before anything is written: bad samples must leave no output behind.
  std::vector<metrics::OutputDiff> diffs;
  std::vector<metrics::LayerDiff> layers;
  std::optional<std::pair<double, double>> accuracy;  // before, after
  size_t samples = 0;
  if (!a.data.empty()) {
    formats::SampleSet set;
    std::vector<int64_t> labels;
    try {
      set = formats::read_sample_set(a.data, rt::Session(original).input_names(), images);
      if (!a.labels.empty()) labels = formats::read_labels(a.labels, set.names);
    } catch (Error& e) {
      e.with_context("--data");
      throw;
    }
    samples = set.samples.size();
    Fidelity f = fidelity(original, model, set.samples, !labels.empty(), progress);
    diffs = f.outputs;
    if (!labels.empty())
      accuracy = {metrics::top1_accuracy(f.first_before, labels), metrics::top1_accuracy(f.first_after, labels)};
    if (a.per_layer) layers = metrics::per_layer_error(original, model, set.samples);
  }
  formats::onnx::SaveOptions options;
  options.external_data = a.external_data;
  formats::onnx::save_model(model, a.output, options);

  auto size_after = metrics::measure_file(a.output);
  auto weights_after = metrics::count_weights(model);
  auto nodes_after = metrics::count_nodes(model);
  fmt::print("{} -> {}\n", a.model, a.output);
  fmt::print("  pipeline    {}\n", pipeline.empty() ? "(none)" : pipeline.str());
  fmt::print("  file        {}\n", change(size_before.file_bytes, size_after.file_bytes));
  fmt::print("  download    {}\n", change(size_before.download_bytes, size_after.download_bytes));
  fmt::print("  parameters  {}\n", change(weights_before.parameters, weights_after.parameters));
  fmt::print("  nodes       {}\n", change(nodes_before.nodes_total, nodes_after.nodes_total));
  nlohmann::json report = {{"input", a.model}, {"output", a.output}, {"pipeline", pipeline.str()},
                           {"before", size_json(size_before, weights_before, nodes_before)},
                           {"after", size_json(size_after, weights_after, nodes_after)}};
  report["passes"] = nlohmann::json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const auto& [size, params] = waterfall[i];
    std::vector<std::string> stats;
    for (const auto& [k, v] : r.stats) stats.push_back(k + "=" + std::to_string(v));
    fmt::print("  {:<11} {}; after: file {} B, download {} B, parameters {}\n", r.step,
               stats.empty() ? "no change" : join(stats, " "), size.file_bytes, size.download_bytes, params);
    report["passes"].push_back({{"step", r.step},
                                {"stats", r.stats},
                                {"file_bytes", size.file_bytes},
                                {"download_bytes", size.download_bytes},
                                {"parameters", params}});
  }
  if (!a.data.empty()) {
    report["data"] = {{"folder", a.data}, {"samples", samples}};
    report["fidelity"] = nlohmann::json::array();
    fmt::print("  fidelity on {} samples of {}:\n", samples, a.data);
    for (const auto& d : diffs) {
      std::string top1 = d.top1_agreement ? fmt::format(", top-1 agreement {:.4f}", *d.top1_agreement) : "";
      fmt::print("    {}: SQNR {} dB, cosine {:.6f}, max abs {:.6g}, mean abs {:.6g}{}\n", d.name, sqnr_text(d),
                 d.cosine, d.max_abs, d.mean_abs, top1);
      nlohmann::json j = {{"name", d.name}, {"sqnr_db", d.sqnr_db}, {"identical", d.identical}, {"cosine", d.cosine},
                          {"max_abs", d.max_abs}, {"mean_abs", d.mean_abs}};
      if (d.top1_agreement) j["top1_agreement"] = *d.top1_agreement;
      report["fidelity"].push_back(j);
    }
    if (accuracy) {
      fmt::print("  accuracy    {:.4f} -> {:.4f} ({:+.2f} points) on {} labeled samples ({})\n", accuracy->first,
                 accuracy->second, 100 * (accuracy->second - accuracy->first), samples, a.labels);
      report["accuracy"] = {{"labels", a.labels}, {"before", accuracy->first}, {"after", accuracy->second}};
    }
    if (a.per_layer) {
      report["per_layer"] = nlohmann::json::array();
      fmt::print("  per-layer error, worst first ({} tensors; all in --report):\n", layers.size());
      for (size_t i = 0; i < layers.size(); ++i) {
        const auto& l = layers[i];
        if (i < 10)
          fmt::print("    {:<40} {:<18} SQNR {} dB, cosine {:.6f}\n", l.tensor, l.op, sqnr_text(l.diff), l.diff.cosine);
        report["per_layer"].push_back({{"tensor", l.tensor}, {"node", l.node}, {"op", l.op},
                                       {"sqnr_db", l.diff.sqnr_db}, {"cosine", l.diff.cosine},
                                       {"max_abs", l.diff.max_abs}, {"identical", l.diff.identical}});
      }
    }
  }

  // Budgets, in the order the flags are declared.
  std::vector<BudgetResult> budgets;
  {
    metrics::Measured measured{size_after.file_bytes, size_after.download_bytes, weights_after.parameters, std::nullopt};
    std::string macs_reason;
    if (limits.size.max_macs) {
      auto macs = metrics::count_macs(model, limits.dims);
      if (macs.known) {
        measured.macs = macs.total;
        report["after"]["macs"] = macs.total;
      } else {
        macs_reason = macs.reason;
        report["after"]["macs_unknown_reason"] = macs.reason;
      }
    }
    auto failures = metrics::check_budget(measured, limits.size);
    auto size_budget = [&](const std::string& what, int64_t value, const std::optional<int64_t>& limit, bool known) {
      if (!limit) return;
      BudgetResult r{what, known ? nlohmann::json(value) : nlohmann::json(nullptr), *limit, true, ""};
      for (const auto& f : failures)
        if (f.what == what) {
          r.ok = false;
          r.failure = f.unknown ? fmt::format("{} unknown ({}), budget {} cannot be checked", f.what, macs_reason,
                                              metrics::format_amount(f.what, f.limit))
                                : metrics::describe(f);
        }
      budgets.push_back(r);
    };
    size_budget("bytes", measured.bytes, limits.size.max_bytes, true);
    size_budget("download bytes", measured.download_bytes, limits.size.max_download_bytes, true);
    size_budget("parameters", measured.params, limits.size.max_params, true);
    size_budget("MACs", measured.macs.value_or(-1), limits.size.max_macs, measured.macs.has_value());
  }
  auto worst = [&](auto get, bool lowest) -> std::optional<double> {
    std::optional<double> w;
    for (const auto& d : diffs)
      if (auto v = get(d); v && (!w || (lowest ? *v < *w : *v > *w))) w = v;
    return w;
  };
  if (limits.min_sqnr)
    budgets.push_back(fidelity_budget("SQNR", worst([](const metrics::OutputDiff& d) { return std::optional(d.sqnr_db); }, true),
                                      *limits.min_sqnr, true, "dB", 1, "no outputs"));
  if (limits.min_cosine)
    budgets.push_back(fidelity_budget("cosine", worst([](const metrics::OutputDiff& d) { return std::optional(d.cosine); }, true),
                                      *limits.min_cosine, true, "", 4, "no outputs"));
  if (limits.max_top1_drop)
    budgets.push_back(fidelity_budget("top-1 drop",
                                      worst(
                                          [](const metrics::OutputDiff& d) -> std::optional<double> {
                                            if (!d.top1_agreement) return std::nullopt;
                                            return 100.0 * (1.0 - *d.top1_agreement);
                                          },
                                          false),
                                      *limits.max_top1_drop, false, "points", 1, "no output holds class scores"));
  if (limits.min_accuracy)
    budgets.push_back(fidelity_budget("accuracy", accuracy ? std::optional(accuracy->second) : std::nullopt,
                                      *limits.min_accuracy, true, "", 4, "no labels"));
  if (!budgets.empty()) {
    report["budgets"] = nlohmann::json::array();
    size_t over = 0;
    for (const auto& b : budgets) {
      report["budgets"].push_back({{"what", b.what}, {"value", b.value}, {"limit", b.limit}, {"ok", b.ok}});
      over += b.ok ? 0 : 1;
    }
    fmt::print("  budgets     {}\n", over ? fmt::format("{} of {} not held", over, budgets.size())
                                          : fmt::format("all {} held", budgets.size()));
  }

  if (!a.report.empty()) write_file_atomic(a.report, report.dump(2) + "\n");
  // The model and the report are right as they are; a budget that does not hold is exit 1.
  bool failed = false;
  for (const auto& b : budgets)
    if (!b.ok) {
      std::fprintf(stderr, "pare: check failed: %s: %s\n", a.output.c_str(), b.failure.c_str());
      failed = true;
    }
  return failed ? 1 : 0;
}

}  // namespace

const Command kShrinkCommand = {
    "shrink", "apply a pipeline of passes and write the smaller model", [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      sub.add_option("model", a->model, "ONNX model file")->required();
      sub.add_option("-o,--output", a->output, "where to write the result (never the input)")->required();
      sub.add_option("--passes", a->passes, "pipeline, e.g. 'dce' (see pare passes); none writes an equivalent model");
      sub.add_flag("--verify-each", a->verify_each, "check the IR's invariants after every pass");
      sub.add_flag("--external-data", a->external_data, "store large tensors in OUT.data beside the model");
      sub.add_option("--data", a->data, "samples (input_K.pb or NAME.npy, sub-folders of them, or images): compare outputs before and after");
      sub.add_option("--report", a->report, "write the report as JSON (sorted keys, byte-identical across runs)");
      sub.add_option("--labels", a->labels, "with --data: a class label per sample ('NAME LABEL' lines): true top-1 accuracy before and after");
      sub.add_flag("--per-layer", a->per_layer, "with --data: SQNR of every intermediate tensor against the original, worst first");
      sub.add_flag("-q,--quiet", a->quiet, "no progress bar");
      add_image_options(sub, a->images);
      auto budget = [&](const std::string& flag, std::string& target, const std::string& help) {
        a->given[flag] = sub.add_option(flag, target, help);
      };
      budget("--max-bytes", a->max_bytes, "budget: the output file's size at most SIZE (5MB, 750KiB, 120000); else exit 1");
      budget("--max-download-bytes", a->max_download_bytes, "budget: its compressed (download) size at most SIZE");
      budget("--max-params", a->max_params, "budget: at most N parameters (200000, 1.5M)");
      budget("--max-macs", a->max_macs, "budget: at most N multiply-accumulates (50M, 2G; counted by one run, see --dim)");
      budget("--min-sqnr", a->min_sqnr, "budget, with --data: every output's SQNR at least DB");
      budget("--min-cosine", a->min_cosine, "budget, with --data: every output's cosine similarity at least X");
      budget("--max-top1-drop", a->max_top1_drop,
             "budget, with --data: top-1 disagreement of any class-score output at most POINTS (percentage points)");
      budget("--min-accuracy", a->min_accuracy, "budget, with --data and --labels: top-1 accuracy after at least X (0..1)");
      sub.add_option("--dim", a->dims, "fix a symbolic dim for --max-macs, e.g. --dim batch=1 (repeatable)");
      return [a] { return shrink(*a); };
    }};

}  // namespace pare::cli
