// Multiply-accumulates of a model, from static shapes or from one run of pare's runner.
//
// The runner computes every shape (PP-OCR and M-LSD compute shapes that ONNX's
// static inference cannot follow), and each kernel family states its own MAC
// formula (KernelDef::macs), so the op knowledge lives in one place. The run
// uses seeded synthetic inputs; symbolic dims must be fixed (--dim NAME=N).
// When the model cannot run (an unsupported op, a dim without a size), the MACs
// are reported unknown with the reason, never undercounted.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::rt {
class Session;
}

namespace pare::metrics {

struct MacStats {
  bool known = false;
  std::string reason;  // why not known
  int64_t total = 0;
  std::map<std::string, int64_t> by_op;  // ops with a non-zero count
  std::map<std::string, int64_t> by_node;  // nodes with a non-zero count, by ir::node_label (not in reports)
};

MacStats count_macs(const ir::Model& model, const std::map<std::string, int64_t>& dims);
// The same from static shapes (by value name, as static shape inference gives
// them) without a run: known only when every node has a kernel, every one with a MAC formula has the
// shapes of all its inputs and outputs (constants' from their tensors), and the
// model has no subgraphs (how often a Loop body runs is not static).
MacStats count_macs_static(const ir::Model& model, const std::map<std::string, std::vector<int64_t>>& shapes);
// The same on `session`, compiled from `model` by the caller (one session per model and job).
MacStats count_macs(rt::Session& session, const ir::Model& model, const std::map<std::string, int64_t>& dims);

}  // namespace pare::metrics
