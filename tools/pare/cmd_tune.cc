// pare tune MODEL -o OUT --data DIR --min-sqnr 30: the smallest model within an
// accuracy budget, from per-layer sensitivity (jobs/tune.h, docs/tuning.md).
// Writes the model and its report as shrink does, with the search in the
// report: the chosen pipeline (which `pare shrink --passes` rebuilds), the
// Pareto front of verified configurations and each layer's sensitivities.
#include <cstdlib>
#include <thread>

#include "formats/tensors/tensors.h"
#include "jobs/tune.h"
#include "lib/base/atomic_file.h"
#include "lib/base/strings.h"
#include "tools/pare/commands.h"
#include "tools/pare/report_args.h"

namespace pare::cli {
namespace tune_command {

struct Args {
  std::string model, output, calib, objective = "download", cache, choices;
  bool no_cache = false, keep_failed = false;
  int64_t max_evals = 0;
  double max_seconds = 0;
  int threads = 0;
  size_t sensitivity_samples = 8;
  int verifications = 8;
  ReportArgs report;
};

// $XDG_CACHE_HOME/pare/tune, else ~/.cache/pare/tune ("" when neither is set).
std::string default_cache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/pare/tune";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/pare/tune";
  return "";
}

int tune(const Args& a) {
  refuse_overwrite_input(a.model, a.output);
  check_output_path(a.output);
  const ReportFiles& files = a.report.files;
  check_distinct_outputs({{"-o", a.output}, {"--report", files.json}, {"--markdown", files.markdown}, {"--html", files.html},
                          {"--keep-failed", a.keep_failed ? jobs::rejected_path(a.output) : ""}});
  if (a.keep_failed) refuse_overwrite_input(a.model, jobs::rejected_path(a.output));
  Prepared p = prepare(a.report);
  if (!p.eval.enabled()) throw Error("--data: tune measures on samples: give a folder of samples or images");
  jobs::TuneJob job;
  job.shrink.input = job.shrink.shown_input = a.model;
  job.shrink.output = job.shrink.shown_output = a.output;
  job.shrink.eval = p.eval;
  job.calib = job.shown_calib = a.calib;
  job.shrink.budget = p.budget;
  try {
    job.objective = jobs::parse_objective(a.objective);
  } catch (Error& e) {
    e.with_context("--objective");
    throw;
  }
  job.cache_dir = a.no_cache ? "" : a.cache.empty() ? default_cache() : a.cache;
  job.max_evals = a.max_evals;
  job.max_seconds = a.max_seconds;
  job.threads = a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  job.sensitivity_samples = a.sensitivity_samples;
  job.max_verifications = a.verifications;
  if (!a.choices.empty()) job.choices = split(a.choices, ',');
  job.shrink.dims = p.dims;
  job.shrink.latency_runs = a.report.latency;
  job.shrink.load_samples = [images = p.eval.images](const std::string& dir, const std::vector<std::string>& inputs) {
    return formats::read_sample_set(dir, inputs, images).samples;
  };
  job.shrink.other_outputs = files.all();
  job.shrink.keep_failed = a.keep_failed;
#ifdef PARE_VERSION
  job.version = PARE_VERSION;
#endif
  if (!job.shrink.budget.needs_data())
    throw Error("tune needs a fidelity limit: --min-sqnr, --min-cosine, --max-top1-drop or --min-accuracy");
  Progress progress(!a.report.quiet && stderr_is_terminal());
  jobs::TuneResult r = naming_data([&] { return jobs::tune(job, progress); });
  return conclude(r.shrink.report, files, a.output, a.output);
}

// The options of pare tune.
void declare(CLI::App& sub, Args& a) {
  sub.add_option("model", a.model, "ONNX model file")->required();
  sub.add_option("-o,--output", a.output, "where to write the tuned model (never the input)")->required();
  sub.add_option("--calib", a.calib,
                 "samples for static int8 activations and for the weight choices' bias correction, correct= (none: "
                 "no int8-activation choice, no correction)");
  sub.add_option("--objective", a.objective, "what to minimise: download (default), bytes, latency or macs");
  sub.add_option("--choices", a.choices,
                 "comma-separated choices to consider (default all: " + join(jobs::tune_choice_keys(), ",") + ")");
  sub.add_option("--cache", a.cache, "folder for measured sensitivities (default ~/.cache/pare/tune)");
  sub.add_flag("--no-cache", a.no_cache, "measure everything again and keep nothing");
  sub.add_option("--max-evals", a.max_evals, "sensitivity runs to spend at most (0: no bound)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  sub.add_option("--max-seconds", a.max_seconds, "stop measuring sensitivity after this long (0: no bound)")
      ->check(finite_non_negative());
  sub.add_option("--threads", a.threads,
                 "one-layer evaluations in parallel; whole-model runs use them all (default: the CPU count; results "
                 "do not depend on it)")
      ->check(CLI::Range(0, 256));
  sub.add_option("--sensitivity-samples", a.sensitivity_samples,
                 "samples each one-layer variant runs on (default 8): under SQNR and cosine limits drawn by their share "
                 "of an int8 model's error and weighted to stand for all, under top-1 and accuracy limits the first "
                 "N; all samples verify")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  sub.add_option("--verifications", a.verifications,
                 "whole-model checks of the budget search (the uniform candidates and the path repair add at most 2 "
                 "and 6)")
      ->check(CLI::Range(1, 100));
  sub.add_option("--report", a.report.files.json, "write the report as JSON");
  sub.add_flag("--keep-failed", a.keep_failed,
               "when a hard limit does not hold, keep the closest model as OUT's .rejected.onnx (by default nothing is written)");
  add_report_options(sub, a.report);
  sub.footer(
      "Examples:\n"
      "  pare tune cls.onnx -o cls.tuned.onnx --data lines/ --labels lines/labels.txt --max-top1-drop 1\n"
      "  pare tune det.onnx -o det.tuned.onnx --data pages/ --image-size 640x640 --min-sqnr 30\n"
      "  pare tune det.onnx -o det.int8.onnx --data pages/ --calib pages/ --objective latency --min-sqnr 25\n");
}

}  // namespace tune_command

const Command kTuneCommand = {"tune", "find the smallest model within an accuracy budget, layer by layer",
                              with_args(tune_command::declare, tune_command::tune)};

}  // namespace pare::cli
