// Helpers the pass suites share: running a textual pipeline, and how far one
// set of outputs is from another.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::testing {

// Runs `pipeline` on `m` in place, verifying the IR after each pass; the last pass's stats.
std::map<std::string, int64_t> run_pipeline(ir::Model& m, const std::string& pipeline);

// The model of `text` (ONNX's textual syntax) before and after `pipeline`, with
// the last pass's stats: what a pass test compares.
struct Rewrite {
  ir::Model original, model;
  std::map<std::string, int64_t> stats;
};
Rewrite rewrite(const std::string& text, const std::string& pipeline);

// The op types of g's nodes, in order.
std::vector<std::string> op_types(const ir::Graph& g);

// The lowest SQNR (dB) over the outputs of `got` against `ref`, output by output.
double worst_sqnr(const std::vector<ir::Tensor>& ref, const std::vector<ir::Tensor>& got);

}  // namespace pare::testing
