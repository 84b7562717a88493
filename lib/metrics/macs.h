// Multiply-accumulates of a model, from the shapes its values carry.
//
// Shapes come from the model and ONNX shape inference after the user fixes
// symbolic dims (--dim NAME=N). Only ops that do real arithmetic per output
// element count (Conv, ConvTranspose, Gemm, MatMul); elementwise and data
// movement ops are not MACs. When a counted op's shapes are unknown, the total
// is reported unknown with the reason instead of a silent undercount.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "lib/ir/graph.h"

namespace pare::metrics {

struct MacStats {
  bool known = false;
  std::string reason;  // why not known
  int64_t total = 0;
  std::map<std::string, int64_t> by_op;
};

// Works on a copy: fixes the named dims on the graph inputs, infers shapes, counts.
MacStats count_macs(const ir::Model& model, const std::map<std::string, int64_t>& dims);

}  // namespace pare::metrics
