// pare bench MODEL: latency (median and min over timed runs after warm-up),
// the runner's peak arena bytes, and the process's peak resident memory.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
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
  std::vector<double> ms;
  for (int i = 0; i < a.runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    session.run(feed);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double median = ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  int64_t rss = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  int64_t peak = session.last_stats().peak_bytes;
  if (a.json) {
    nlohmann::json j = {{"median_ms", median}, {"min_ms", ms.front()}, {"peak_bytes", peak}, {"peak_rss_bytes", rss},
                        {"runs", a.runs},      {"warmup", a.warmup},   {"threads", a.threads}, {"macs", session.last_stats().macs}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}: median {:.3f} ms, min {:.3f} ms over {} runs ({} threads); peak arena {} bytes, peak RSS {} bytes\n",
               a.model, median, ms.front(), a.runs, a.threads, peak, rss);
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
