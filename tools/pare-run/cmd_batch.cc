// pare-run batch: several models over a folder of inputs, resumable and
// throttled (jobs/batch.h). Options are parsed by hand: pare-run stays small.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "jobs/batch.h"
#include "lib/base/error.h"
#include "lib/base/progress.h"
#include "lib/base/strings.h"
#include "tools/pare-run/commands.h"

namespace pare::run_tool {
namespace {

const char* const kBatchUsage =
    "usage: pare-run batch MODEL... --inputs DIR -o OUT [options]\n"
    "MODEL may be a pare build manifest (OUT/manifest.json): its models, checked against its sha256.\n"
    "Runs every model over every input of DIR (images, or sample folders of input_K.pb / NAME.npy)\n"
    "in batches, models in priority order; writes OUT/MODEL/INPUT/output_K.pb, OUT/MODEL.jsonl (one\n"
    "line per input; the top classes of outputs that look like scores) and OUT/journal.json after\n"
    "each batch. Killed and started again with the same arguments, it resumes where it stopped.\n"
    "  --batch N           inputs per batch (default 16)\n"
    "  --priority A,B      model names (file stems) in the order to run them (default: as given)\n"
    "  --threads N         threads per model (default 1)\n"
    "  --max-duty F        busy at most this fraction of the time, e.g. 0.5 (default 1)\n"
    "  --max-rate N        at most N inputs per second (default: no limit)\n"
    "  --top K             classes per scores output in the JSON lines (default 5)\n"
    "  --image-size WxH    resize images (default: each model's own input size)\n"
    "  --mean M[,M,M] --std S[,S,S] --layout NCHW|NHWC --channels rgb|bgr   image normalisation\n"
    "  --dim NAME=N        size of a symbolic input dim (for the image size)\n"
    "  --quiet             no progress bar\n"
    "Example:\n"
    "  pare-run batch faces.onnx tags.onnx --inputs photos/ -o results/ --max-duty 0.5\n";

class Args {
 public:
  explicit Args(std::vector<std::string> a) : a_(std::move(a)) {}
  bool done() const { return i_ >= a_.size(); }
  const std::string& next() { return a_[i_++]; }
  std::string value(const std::string& flag) {
    if (done()) throw Error(fmt::format("{} needs a value", flag));
    return next();
  }

 private:
  std::vector<std::string> a_;
  size_t i_ = 0;
};

int64_t whole(const std::string& flag, const std::string& text, int64_t lo, int64_t hi) {
  std::optional<int64_t> v = whole_number(text);
  if (!v || *v < lo || *v > hi) throw Error(fmt::format("{}: '{}' is not a whole number in [{}, {}]", flag, text, lo, hi));
  return *v;
}

double number(const std::string& flag, const std::string& text) {
  std::optional<double> v = finite_number(text);
  if (!v) throw Error(fmt::format("{}: '{}' is not a number", flag, text));
  return *v;
}

// Reorders `models` so that those named in `priority` (file stems) come first, in that order.
std::vector<std::string> by_priority(const std::vector<std::string>& models, const std::string& priority) {
  std::vector<std::string> names, ordered, rest = models;
  for (const auto& m : models) names.push_back(std::filesystem::path(m).stem().string());
  for (const std::string& p : split(priority, ',')) {
    if (p.empty()) continue;
    auto it = std::find_if(rest.begin(), rest.end(),
                           [&](const std::string& m) { return std::filesystem::path(m).stem().string() == p; });
    if (it == rest.end())
      throw Error(fmt::format("--priority: '{}' is not one of the models ({}){}", p, join(names, ", "),
                              did_you_mean(p, names)));
    ordered.push_back(*it);
    rest.erase(it);
  }
  ordered.insert(ordered.end(), rest.begin(), rest.end());
  return ordered;
}

jobs::BatchJob parse_batch(const std::vector<std::string>& argv, bool& quiet) {
  jobs::BatchJob job;
  Args args(argv);
  std::string priority;
  while (!args.done()) {
    const std::string a = args.next();
    if (a == "--inputs") job.inputs = args.value(a);
    else if (a == "-o" || a == "--out") job.out = args.value(a);
    else if (a == "--batch") job.batch_size = whole(a, args.value(a), 1, 1 << 20);
    else if (a == "--priority") priority = args.value(a);
    else if (a == "--threads") job.threads = static_cast<int>(whole(a, args.value(a), 1, 256));
    else if (a == "--max-duty") job.max_duty = number(a, args.value(a));
    else if (a == "--max-rate") job.max_rate = number(a, args.value(a));
    else if (a == "--top") job.top_k = whole(a, args.value(a), 1, 1000);
    else if (a == "--image-size") formats::parse_image_size(a, args.value(a), job.images);
    else if (a == "--mean") job.images.mean = formats::parse_float_list(a, args.value(a));
    else if (a == "--std") job.images.std = formats::parse_float_list(a, args.value(a));
    else if (a == "--layout") {
      std::string v = args.value(a);
      if (v != "NCHW" && v != "NHWC") throw Error(fmt::format("--layout: '{}' is not NCHW or NHWC", v));
      job.images.nhwc = v == "NHWC";
    } else if (a == "--channels") {
      std::string v = args.value(a);
      if (v != "rgb" && v != "bgr") throw Error(fmt::format("--channels: '{}' is not rgb or bgr", v));
      job.images.bgr = v == "bgr";
    } else if (a == "--dim") {
      std::string v = args.value(a);
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0) throw Error(fmt::format("--dim: '{}' is not NAME=N", v));
      job.dims[v.substr(0, eq)] = whole(a, v.substr(eq + 1), 1, int64_t{1} << 31);
    } else if (a == "--quiet" || a == "-q") quiet = true;
    else if (starts_with(a, "-")) throw Error(fmt::format("unknown option '{}'", a));
    else if (std::filesystem::path(a).extension() == ".json") jobs::add_manifest_models(a, job);
    else job.models.push_back(a);
  }
  if (job.models.empty()) throw Error("give at least one MODEL");
  if (job.inputs.empty()) throw Error("--inputs DIR is required");
  if (job.out.empty()) throw Error("-o OUT is required");
  if (!(job.max_duty > 0 && job.max_duty <= 1)) throw Error(fmt::format("--max-duty: {} is not in (0, 1]", job.max_duty));
  if (job.max_rate < 0) throw Error(fmt::format("--max-rate: {} is below 0", job.max_rate));
  job.models = by_priority(job.models, priority);
  return job;
}

}  // namespace

int batch_main(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") {
      std::fputs(kBatchUsage, stdout);
      return 0;
    }
  bool quiet = false;
  jobs::BatchJob job;
  try {
    job = parse_batch(argv, quiet);
  } catch (const Error& e) {
    std::fprintf(stderr, "pare-run: error: batch: %s (see 'pare-run batch --help')\n", e.what());
    return 2;
  }
  Progress progress(!quiet && stderr_is_terminal());
  job.progress = [&](size_t done, size_t total) { progress.update("inputs", done, total); };
  jobs::BatchReport r = jobs::run_batch(job);
  progress.finish();
  std::printf("pare-run batch: %zu inputs x %zu models into %s", r.inputs, r.models, job.out.c_str());
  if (r.resumed_at > 0) std::printf(" (resumed after %zu inputs; %zu results read back)", r.resumed_at, r.read_back);
  std::printf("\n  %zu inputs in %.2f s: %.1f inputs/s, %.1f s per 1,000 inputs; busy %.2f s, %.0f%% of the time\n",
              r.processed(), r.work_seconds, r.inputs_per_second(),
              r.processed() > 0 ? 1000.0 * r.work_seconds / static_cast<double>(r.processed()) : 0.0,
              r.busy_seconds, 100.0 * r.busy_fraction());
  return 0;
}

}  // namespace pare::run_tool
