#include "jobs/shrink.h"

#include <algorithm>
#include <filesystem>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/strings.h"
#include "lib/ir/verify.h"

namespace pare::jobs {
namespace {

// protobuf cannot serialise a message over 2 GiB: save_model moves weights out well before that.
constexpr int64_t kProtobufSafeLimit = int64_t{1800} << 20;

ir::Model parse(const std::string& bytes, const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return formats::onnx::load_model_from_bytes(bytes, path, dir.empty() ? "." : dir.string());
}

// Steps under `context` (the model's file for shrink); the IR is verified after the last.
std::vector<metrics::StepReport> run_verified(ir::Model& model, const ShrinkJob& job, passes::PassContext& ctx,
                                              Progress& progress, std::string& bytes) {
  try {
    auto steps = run_steps(model, job.pipeline, ctx, job.verify_each, &bytes);
    progress.finish();
    ir::verify(model);
    return steps;
  } catch (Error& e) {
    if (!job.error_context.empty()) e.with_context(job.error_context);
    throw;
  }
}

// Removes a model save_model wrote (and its external data) because a budget did not hold.
void remove_saved_model(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::filesystem::remove(path + ".data", ec);
}

}  // namespace

std::string rejected_path(const std::string& output) {
  if (output.ends_with(".onnx")) return output.substr(0, output.size() - 5) + ".rejected.onnx";
  return output + ".rejected";
}

void apply_cut(ir::Model& model, const metrics::Cut& cut) {
  std::vector<std::string> args;
  for (const auto& n : cut.inputs) args.push_back("inputs=" + passes::quote_if_needed(n));
  for (const auto& n : cut.outputs) args.push_back("outputs=" + passes::quote_if_needed(n));
  passes::Pipeline pipeline = passes::Pipeline::parse("cut(" + join(args, ", ") + ")");
  passes::PassContext ctx;
  try {
    for (const auto& step : pipeline.steps()) step.info->create(step.values)->run(model, ctx);
  } catch (const Error& e) {
    throw CutError(e);
  }
}

ShrinkResult shrink(const ShrinkJob& job, Progress& progress) {
  // One read of the file; two models from it: the pipeline edits `model` in
  // place, `original` is the "before" of the facts, the evaluation and the latency.
  std::string read;
  const std::string& input = job.input_bytes ? *job.input_bytes : (read = read_input_file(job.input));
  ShrinkResult out{{}, parse(input, job.input), {}};
  ir::Model& model = out.model;
  ir::Model original = parse(input, job.input);
  metrics::FileSize before_size = metrics::measure_bytes(input, job.input);
  if (job.cut) {
    apply_cut(original, *job.cut);
    apply_cut(model, *job.cut);
    before_size = metrics::measure_bytes(formats::onnx::serialize_model(original), "");
  }
  metrics::Report& r = out.report;
  r.name = job.name;
  r.input = job.shown_input;
  r.output = job.shown_output;
  r.pipeline = job.shown.str();
  r.cut = job.cut;
  Runner before(original, job.threads);
  r.before = measure_model(before, before_size, job.dims);

  passes::PassContext ctx;
  ctx.load_samples = job.load_samples;
  ctx.threads = job.threads;
  std::string prefix = job.name.empty() ? "" : job.name + ": ";
  ctx.progress = [&](const std::string& what, size_t done, size_t total) { progress.update(prefix + what, done, total); };
  // The metadata goes on first, so the size after each step is the size of the
  // file that step would write (the last one: the output's size).
  if (!job.shown.empty()) model.set_metadata("pare.pipeline", job.shown.str());
  for (const auto& [key, value] : job.metadata) model.set_metadata(key, value);
  std::string bytes;
  r.steps = run_verified(model, job, ctx, progress, bytes);
  // Steps are reported as shown (a plan's ${calib} as written).
  for (size_t i = 0; i < r.steps->size(); ++i) (*r.steps)[i].step = job.shown.steps()[i].str();

  // Fidelity before anything is written: bad samples must leave no output behind.
  Runner after(model, job.threads);
  SampleShapes sample_shapes;
  if (job.eval.enabled()) {
    if (job.eval_samples) {
      formats::SampleSet set = job.eval_samples(original);
      if (!set.samples.empty()) sample_shapes = shapes_of(set.samples[0]);
      r.evaluation = evaluate(before, after, set.samples, set.names, job.eval, progress);
    } else {
      r.evaluation = evaluate(before, after, job.eval, progress, &sample_shapes);
    }
  }
  // What --dim leaves open the samples fix (a detector's H and W are the pages'
  // size): the MACs before and after, and the shapes latency is timed at.
  std::map<std::string, int64_t> dims = dims_with_samples(original, job.dims, sample_shapes);
  if (!r.before.macs.known && dims != job.dims) r.before.macs = count_macs(before, dims);
  if (job.latency_runs > 0) {
    // Timed before anything is written: a symbolic dim nothing sizes fails here,
    // leaving no output behind. On one thread each, whatever the evaluation ran
    // on (a Runner compiles on first use: the spare ones cost nothing when unused).
    Runner one_before(original), one_after(model);
    bool one = job.threads == 1;
    r.latency = {measure_latency(one ? before : one_before, dims, job.latency_runs),
                 measure_latency(one ? after : one_after, dims, job.latency_runs)};
  }
  // Every input has been read now (samples, calibration data, labels): no output
  // may be one of them, checked before the first byte is written.
  check_output_path(job.output);
  check_output_path(job.output + ".data");
  for (const auto& f : job.other_outputs) check_output_path(f);
  if (job.keep_failed) check_output_path(rejected_path(job.output));
  // Measured before it is written: a model over budget is not written at the output.
  bool external = job.external_data || metrics::count_weights(model).weight_bytes > kProtobufSafeLimit;
  formats::onnx::SaveOptions options;
  options.external_data = job.external_data;
  metrics::FileSize size;
  if (external) {  // the size of a model with external data is that of the files save_model writes
    formats::onnx::save_model(model, job.output, options);
    size = metrics::measure_file(job.output);
  } else {
    if (job.pipeline.empty()) bytes = formats::onnx::serialize_model(model);
    size = metrics::measure_bytes(bytes, job.output);
  }
  r.after = measure_model(after, size, dims);
  // What trim removed, for the app to do outside the model (also in the model's metadata).
  for (const auto& [key, value] : model.metadata)
    if (starts_with(key, "pare.trim.")) r.trimmed.emplace_back(key.substr(10), value);
  r.budget_failure_lines = job.budget_failure_lines;
  check_budgets(r, job.budget);
  bool held = std::all_of(r.budgets.begin(), r.budgets.end(), [](const auto& b) { return b.ok; });
  if (!held) r.rejected_kept_at = job.keep_failed ? rejected_path(job.shown_output) : "";
  if (external && !held) remove_saved_model(job.output);
  if (held && !external) write_file_atomic(job.output, bytes);
  if (!held && job.keep_failed) {
    std::string kept = rejected_path(job.output);
    if (external) formats::onnx::save_model(model, kept, options);
    else write_file_atomic(kept, bytes);
  }
  if (!external) out.bytes = std::move(bytes);
  return out;
}

}  // namespace pare::jobs
