// pare bench MODEL: latency (median and min over timed runs after warm-up),
// the runner's peak arena bytes, and the process's peak resident memory.
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "tools/pare/commands.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {
namespace {

struct Args : RunnerArgs {
  int warmup = 3, runs = 20;
  bool json = false;
};

int bench(const Args& a) {
  ir::Model model = formats::onnx::load_model(a.model);
  auto compiled = open_session(model, a);
  rt::Session& session = *compiled;
  auto feed = inputs_for(model, session, a, 1);
  run_once(session, feed, a);  // fails here, with the model named, rather than mid-measurement
  for (int i = 1; i < a.warmup; ++i) session.run(feed);
  Latency t = time_runs(session, feed, a.runs);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  int64_t rss = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  int64_t peak = session.last_stats().peak_bytes;
  if (a.json) {
    nlohmann::json j = {{"median_ms", t.median_ms}, {"min_ms", t.min_ms}, {"peak_bytes", peak}, {"peak_rss_bytes", rss},
                        {"runs", a.runs},      {"warmup", a.warmup},   {"threads", a.threads}, {"macs", session.last_stats().macs}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}: median {:.3f} ms, min {:.3f} ms over {} runs ({} threads); peak arena {} bytes, peak RSS {} bytes\n",
               a.model, t.median_ms, t.min_ms, a.runs, a.threads, peak, rss);
  }
  return 0;
}

}  // namespace

const Command kBenchCommand = {
    "bench", "time a model in pare's runner (latency, peak memory)", [](CLI::App& sub) -> std::function<int()> {
      auto a = std::make_shared<Args>();
      add_runner_options(sub, *a);
      sub.add_option("--warmup", a->warmup, "untimed runs first")->check(CLI::Range(0, 100000));
      sub.add_option("--runs", a->runs, "timed runs")->check(CLI::Range(1, 100000));
      sub.add_flag("--json", a->json, "print JSON: median_ms, min_ms, peak_bytes, peak_rss_bytes");
      return [a] { return bench(*a); };
    }};

}  // namespace pare::cli
