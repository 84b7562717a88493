// pare bench MODEL: compile time, first run, latency (median, p90 and min over
// timed runs after warm-up), the runner's peak arena bytes, and the process's
// peak resident memory. With --profile, as many runs again with each kernel
// timed, summed by operator and by kernel (lib/metrics/kernel_profile.h).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/metrics/kernel_profile.h"
#include "tools/pare/commands.h"
#include "tools/pare/run_inputs.h"

namespace pare::cli {
namespace bench_command {

struct Args : RunnerArgs {
  int warmup = 3, runs = 20;
  bool json = false;
  int profile = 0;  // kernels to list with --profile; 0: no profile
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Runs `runs` more times with kernel timing on. Separate from the timed runs,
// so that the clock reads do not weigh on the latency figures.
metrics::KernelProfile profile(rt::Session& session, const std::map<std::string, ir::Tensor>& feed, int runs) {
  session.set_timing(true);
  std::vector<std::vector<rt::RunStats::KernelTime>> times;
  for (int i = 0; i < runs; ++i) {
    session.run(feed);
    times.push_back(session.last_stats().kernel_times);
  }
  session.set_timing(false);
  return metrics::profile_kernels(times);
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (int64_t d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

nlohmann::json profile_json(const metrics::KernelProfile& p, int listed) {
  nlohmann::json ops = nlohmann::json::array(), kernels = nlohmann::json::array();
  for (const auto& op : p.ops) ops.push_back({{"op", op.op}, {"kernels", op.kernels}, {"ms", op.ms}});
  for (size_t i = 0; i < p.kernels.size() && static_cast<int>(i) < listed; ++i) {
    const auto& k = p.kernels[i];
    kernels.push_back({{"node", k.node}, {"op", k.op}, {"output_shape", k.output_dims}, {"ms", k.ms}});
  }
  return {{"runs", p.runs}, {"total_ms", p.total_ms}, {"ops", ops}, {"kernels", kernels}};
}

void print_profile(const metrics::KernelProfile& p, int listed) {
  auto share = [&](double ms) { return p.total_ms > 0 ? 100 * ms / p.total_ms : 0.0; };
  fmt::print("profile over {} runs (each kernel timed: {:.3f} ms per run in kernels)\n", p.runs, p.total_ms);
  fmt::print("  {:<28} {:>7} {:>10} {:>6}\n", "op", "kernels", "ms", "%");
  for (const auto& op : p.ops) fmt::print("  {:<28} {:>7} {:>10.3f} {:>5.1f}%\n", op.op, op.kernels, op.ms, share(op.ms));
  fmt::print("  slowest kernels:\n");
  size_t shown = std::min(p.kernels.size(), static_cast<size_t>(listed)), width = 4;
  for (size_t i = 0; i < shown; ++i) width = std::max(width, p.kernels[i].node.size());
  for (size_t i = 0; i < shown; ++i) {
    const auto& k = p.kernels[i];
    fmt::print("  {:<{}} {:<20} {:<16} {:>8.3f} {:>5.1f}%\n", k.node, width, k.op, dims_text(k.output_dims), k.ms,
               share(k.ms));
  }
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
  std::optional<metrics::KernelProfile> prof;
  if (a.profile > 0) prof = profile(session, feed, a.runs);
  if (a.json) {
    nlohmann::json j = {{"compile_ms", compile_ms}, {"first_run_ms", first_ms}, {"median_ms", t.median_ms},
                        {"p90_ms", t.p90_ms},       {"min_ms", t.min_ms},       {"peak_bytes", peak},
                        {"peak_rss_bytes", rss},    {"runs", a.runs},           {"warmup", a.warmup},
                        {"threads", a.threads},     {"macs", session.last_stats().macs}};
    if (prof) j["profile"] = profile_json(*prof, a.profile);
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print(
        "{}: compile {:.3f} ms, first run {:.3f} ms; median {:.3f} ms, p90 {:.3f} ms, min {:.3f} ms over {} runs ({} "
        "threads); peak arena {} bytes, peak RSS {} bytes\n",
        a.model, compile_ms, first_ms, t.median_ms, t.p90_ms, t.min_ms, a.runs, a.threads, peak, rss);
    if (prof) print_profile(*prof, a.profile);
  }
  return 0;
}

// The options of pare bench.
void declare(CLI::App& sub, Args& a) {
  add_runner_options(sub, a);
  sub.add_option("--warmup", a.warmup, "untimed runs first")->check(CLI::Range(0, 100000));
  sub.add_option("--runs", a.runs, "timed runs")->check(CLI::Range(1, 100000));
  sub.add_flag("--json", a.json, "print JSON: compile_ms, first_run_ms, median_ms, p90_ms, min_ms, peak_bytes, peak_rss_bytes");
  sub.add_option("--profile", a.profile,
                 "after the timed runs, as many again with each kernel timed: time by op and the N slowest kernels")
      ->expected(0, 1)
      ->default_str("15")
      ->check(CLI::Range(1, 100000));
}

}  // namespace bench_command

const Command kBenchCommand = {"bench", "time a model in pare's runner (latency, peak memory)",
                               with_args(bench_command::declare, bench_command::bench)};

}  // namespace pare::cli
