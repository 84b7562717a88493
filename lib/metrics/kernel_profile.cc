#include "lib/metrics/kernel_profile.h"

#include <algorithm>
#include <map>

#include "lib/base/error.h"

namespace pare::metrics {

namespace {

// A Conv whose group equals its output channels (and is more than one) is
// depthwise: it runs a different kernel from the GEMM one and is told apart.
bool is_depthwise_conv(const rt::RunStats::KernelTime& k) {
  if (k.node->op_type != "Conv" || k.output_dims.size() < 2) return false;
  int64_t group = k.node->attr_int("group", 1);
  return group > 1 && group == k.output_dims[1];
}

}  // namespace

std::string kernel_label(const rt::RunStats::KernelTime& k) {
  std::string label = k.node->op_type;
  if (is_depthwise_conv(k)) label += " dw";
  for (const ir::Node* f : k.fused) label += "+" + f->op_type;
  return label;
}

KernelProfile profile_kernels(const std::vector<std::vector<rt::RunStats::KernelTime>>& runs) {
  KernelProfile p;
  if (runs.empty()) return p;
  p.runs = static_cast<int>(runs.size());
  const auto& first = runs.front();
  for (const auto& kernel : first)
    p.kernels.push_back({kernel.node->name, kernel_label(kernel), kernel.output_dims, 0});
  for (const auto& run : runs) {
    if (run.size() != first.size()) fail("the profiled runs ran {} and {} kernels", first.size(), run.size());
    for (size_t i = 0; i < run.size(); ++i) {
      if (run[i].node != first[i].node) fail("the profiled runs ran different kernels at step {}", i);
      p.kernels[i].ms += run[i].ms / p.runs;
    }
  }
  std::map<std::string, KernelProfile::Op> by_op;
  for (const auto& k : p.kernels) {
    auto& op = by_op[k.op];
    op.op = k.op;
    ++op.kernels;
    op.ms += k.ms;
    p.total_ms += k.ms;
  }
  for (auto& [name, op] : by_op) p.ops.push_back(op);
  std::stable_sort(p.ops.begin(), p.ops.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  std::stable_sort(p.kernels.begin(), p.kernels.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  return p;
}

}  // namespace pare::metrics
