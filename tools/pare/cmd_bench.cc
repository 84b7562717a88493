// pare bench MODEL: compile time, first run, latency (median, p90 and min over
// timed runs after warm-up), the runner's peak arena bytes, and the process's
// peak resident memory.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "tools/pare/commands.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {
namespace bench_command {

struct Args : RunnerArgs {
  int warmup = 3, runs = 20;
  bool json = false;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int bench(const Args& a) {
  ir::Model model = formats::onnx::load_model(a.model);
  auto t0 = std::chrono::steady_clock::now();
  auto compiled = open_session(model, a);
  double compile_ms = ms_since(t0);
  rt::Session& session = *compiled;
  auto feed = inputs_for(model, session, a, 1);
  t0 = std::chrono::steady_clock::now();
  run_once(session, feed, a);  // fails here, with the model named, rather than mid-measurement
  double first_ms = ms_since(t0);
  for (int i = 1; i < a.warmup; ++i) session.run(feed);
  // One run per sample, so that the p90 can be read off the sorted samples.
  std::vector<double> ms;
  for (int i = 0; i < a.runs; ++i) ms.push_back(time_runs(session, feed, 1).median_ms);
  std::sort(ms.begin(), ms.end());
  size_t mid = ms.size() / 2;
  struct {
    double median_ms, min_ms, p90_ms;
  } t = {ms.size() % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2, ms.front(),
         ms[std::min(ms.size() - 1, static_cast<size_t>(0.9 * static_cast<double>(ms.size())))]};
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  int64_t rss = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  int64_t peak = session.last_stats().peak_bytes;
  if (a.json) {
    nlohmann::json j = {{"compile_ms", compile_ms}, {"first_run_ms", first_ms}, {"median_ms", t.median_ms},
                        {"p90_ms", t.p90_ms},       {"min_ms", t.min_ms},       {"peak_bytes", peak},
                        {"peak_rss_bytes", rss},    {"runs", a.runs},           {"warmup", a.warmup},
                        {"threads", a.threads},     {"macs", session.last_stats().macs}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print(
        "{}: compile {:.3f} ms, first run {:.3f} ms; median {:.3f} ms, p90 {:.3f} ms, min {:.3f} ms over {} runs ({} "
        "threads); peak arena {} bytes, peak RSS {} bytes\n",
        a.model, compile_ms, first_ms, t.median_ms, t.p90_ms, t.min_ms, a.runs, a.threads, peak, rss);
  }
  return 0;
}

// The options of pare bench.
void declare(CLI::App& sub, Args& a) {
  add_runner_options(sub, a);
  sub.add_option("--warmup", a.warmup, "untimed runs first")->check(CLI::Range(0, 100000));
  sub.add_option("--runs", a.runs, "timed runs")->check(CLI::Range(1, 100000));
  sub.add_flag("--json", a.json, "print JSON: compile_ms, first_run_ms, median_ms, p90_ms, min_ms, peak_bytes, peak_rss_bytes");
}

}  // namespace bench_command

const Command kBenchCommand = {"bench", "time a model in pare's runner (latency, peak memory)",
                               with_args(bench_command::declare, bench_command::bench)};

}  // namespace pare::cli
