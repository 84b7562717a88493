// pare shrink MODEL -o OUT [--passes PIPELINE | --preset NAME]: the main job
// (jobs/shrink.h). Loads, runs the pipeline, writes the model atomically, and
// prints what it gained. Without --passes it runs a preset (passes/presets.h),
// the default one unless --preset names another, and says which.
//
// Budgets (--max-bytes, --max-download-bytes, --max-params, --max-macs,
// --min-sqnr, --min-cosine, --max-top1-drop, --min-accuracy) are checked after
// the model is measured and before it is written; each one that does not hold is
// one line "pare: check failed: OUT: WHAT VALUE > budget LIMIT" on stderr, and
// the exit code is 1. The report is written either way; the model is not (so
// Make runs the rule again), unless --keep-failed keeps it beside OUT.
#include "formats/tensors/tensors.h"
#include "jobs/shrink.h"
#include "lib/base/atomic_file.h"
#include "passes/presets.h"
#include "tools/pare/commands.h"
#include "tools/pare/report_args.h"

namespace pare::cli {
namespace shrink_command {

struct Args {
  std::string model, output, passes, preset;
  bool passes_given = false;  // --passes '' runs no pass, which is not the same as no --passes
  bool verify_each = false;
  bool external_data = false;
  bool keep_failed = false;
  int threads = 1;
  ReportArgs report;
};

// The pipeline of --passes; a syntax error names the flag and the column.
passes::Pipeline parse_passes(const std::string& text) {
  try {
    return passes::Pipeline::parse(text);
  } catch (const passes::PipelineSyntaxError& e) {
    throw Error(fmt::format("--passes:{}: {}", e.column, e.message()));
  }
}

// The pipeline text to run: --passes, else the preset's (announced on `out`).
std::string pipeline_text(const Args& a, std::FILE* out) {
  if (a.passes_given) return a.passes;
  const passes::Preset* preset = a.preset.empty() ? &passes::default_preset() : passes::find_preset(a.preset);
  if (!preset) {
    std::vector<std::string> names;
    for (const auto& p : passes::presets()) names.push_back(p.name);
    fail("--preset: no preset '{}' (presets: {}; see pare passes)", a.preset, fmt::join(names, ", "));
  }
  fmt::print(out, "preset {}{}: {}\n", preset->name, a.preset.empty() ? " (the default; --passes or --preset to choose)" : "",
             preset->pipeline);
  return preset->pipeline;
}

int shrink(const Args& a) {
  // Check the cheap things first, so a mistake costs nothing.
  refuse_overwrite_input(a.model, a.output);
  check_output_path(a.output);
  const ReportFiles& files = a.report.files;
  check_distinct_files({{"-o", a.output}, {"-o's external data", a.output + ".data"}, {"--report", files.json},
                          {"--markdown", files.markdown}, {"--html", files.html},
                          {"--keep-failed", a.keep_failed ? jobs::rejected_path(a.output) : ""}});
  if (a.keep_failed) refuse_overwrite_input(a.model, jobs::rejected_path(a.output));
  Prepared p = prepare(a.report);
  jobs::ShrinkJob job;
  job.pipeline = job.shown = parse_passes(pipeline_text(a, text_stream(files.all())));
  job.input = job.shown_input = job.error_context = a.model;
  job.output = job.shown_output = a.output;
  job.verify_each = a.verify_each;
  job.external_data = a.external_data;
  job.keep_failed = a.keep_failed;
  job.eval = p.eval;
  job.load_samples = [images = p.eval.images](const std::string& dir, const std::vector<std::string>& inputs) {
    return formats::read_sample_set(dir, inputs, images).samples;
  };
  job.dims = p.dims;
  job.threads = a.threads;
  job.latency_runs = a.report.latency;
  job.budget = p.budget;
  job.other_outputs = files.all();
  Progress progress(!a.report.quiet && stderr_is_terminal());
  jobs::ShrinkResult r = naming_data([&] { return jobs::shrink(job, progress); });
  return conclude(r.report, files, a.output, a.output);
}

}  // namespace shrink_command

const Command kShrinkCommand = {
    "shrink", "apply a pipeline of passes and write the smaller model", [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<shrink_command::Args>();
      sub.add_option("model", a->model, "ONNX model file")->required();
      sub.add_option("-o,--output", a->output, "where to write the result (never the input)")->required();
      auto* passes = sub.add_option("--passes", a->passes, "pipeline, e.g. 'fold, dce' (see pare passes); '' runs none");
      sub.add_option("--preset", a->preset, "a named pipeline: lossless, balanced (the default) or small (see pare passes)")
          ->excludes(passes);
      sub.add_flag("--verify-each", a->verify_each, "check the IR's invariants after every pass");
      sub.add_flag("--external-data", a->external_data, "store large tensors in OUT.data beside the model");
      sub.add_flag("--keep-failed", a->keep_failed,
                   "keep a model over budget as OUT's .rejected.onnx (by default nothing is written)");
      sub.add_option("--threads", a->threads,
                     "runner threads for the samples: the evaluation, calib=, correct=, gptq= (results do not depend "
                     "on it; --latency times one thread)")
          ->check(CLI::Range(1, 256));
      sub.add_option("--report,--json", a->report.files.json,
                     "write the report as JSON (sorted keys, byte-identical across runs; - for stdout)");
      add_report_options(sub, a->report);
      return [a, passes] {
        a->passes_given = passes->count() > 0;
        return shrink_command::shrink(*a);
      };
    }};

}  // namespace pare::cli
