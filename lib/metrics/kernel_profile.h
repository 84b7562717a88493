// Where a run's time goes: the runner's per-kernel times (Session::set_timing)
// summed by operator and by kernel, as TFLite's benchmark_model does with
// --enable_op_profiling. The figures include the two clock reads per kernel;
// compare them with each other, not with an untimed run's latency.
#pragma once

#include <string>
#include <vector>

#include "lib/runtime/session.h"

namespace pare::metrics {

struct KernelProfile {
  struct Op {
    std::string op;  // "Conv", or "Conv+Relu" for a kernel with an epilogue; "Conv dw" for a depthwise one
    int kernels = 0;
    double ms = 0;  // per run, summed over its kernels
  };
  struct Kernel {
    std::string node, op;
    std::vector<int64_t> output_dims;
    double ms = 0;  // per run
  };
  int runs = 0;
  double total_ms = 0;          // per run, summed over all kernels
  std::vector<Op> ops;          // most time first; ties by name
  std::vector<Kernel> kernels;  // every kernel, most time first; ties in run order
};

// `runs` holds RunStats::kernel_times of each run of one session with the same
// input shapes (so the kernels line up); times are averaged over the runs.
// Throws pare::Error when the runs do not line up.
KernelProfile profile_kernels(const std::vector<std::vector<rt::RunStats::KernelTime>>& runs);

// The label a kernel is counted under.
std::string kernel_label(const rt::RunStats::KernelTime& k);

}  // namespace pare::metrics
