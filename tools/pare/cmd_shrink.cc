// pare shrink MODEL -o OUT [--passes PIPELINE]: the main job. Loads, runs the
// pipeline, writes the model atomically, and prints what it gained.
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/progress.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/layers.h"
#include "lib/runtime/session.h"
#include "lib/base/strings.h"
#include "lib/ir/verify.h"
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
};

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
  std::vector<passes::StepResult> results;
  try {
    results = pipeline.run(model, ctx, a.verify_each);
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
  for (const auto& r : results) {
    std::vector<std::string> stats;
    for (const auto& [k, v] : r.stats) stats.push_back(k + "=" + std::to_string(v));
    fmt::print("  {:<11} {}\n", r.step, stats.empty() ? "no change" : join(stats, " "));
    report["passes"].push_back({{"step", r.step}, {"stats", r.stats}});
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
  if (!a.report.empty()) write_file_atomic(a.report, report.dump(2) + "\n");
  return 0;
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
      return [a] { return shrink(*a); };
    }};

}  // namespace pare::cli
