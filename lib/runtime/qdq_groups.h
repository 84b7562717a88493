// QDQ groups: the parts of an int8 model (QDQ form, as pare's quantize(int8,
// calib=...) writes it, docs/design.md decision 16) that the session runs as
// one integer kernel instead of node by node in float:
//
//   x_q -> DequantizeLinear(scale, zero point: constant scalars)
//       -> Conv(W = DequantizeLinear(int8 constant, per-channel scale, zero point 0, axis 0),
//               bias: float constant, or DequantizeLinear of an int32 constant)
//       [-> Relu | Clip(constant bounds)] [-> Pad(constant 0, spatial)]
//                                         each the only reader of the value before it
//       -> QuantizeLinear(constant scalars) -> y_q
//
// The group's kernel reads x_q and writes y_q; the Conv's float output and the
// activation's are never computed. The DequantizeLinear of x_q stays a node
// (other readers may need the float tensor); the session drops it when nothing
// reads its output any more. Internal to lib/runtime.
#pragma once

#include <functional>
#include <optional>

#include "lib/ir/graph.h"
#include "lib/runtime/kernels/qconv.h"

namespace pare::rt {

struct QConvGroup {
  const ir::Node* conv = nullptr;
  const ir::Node* activation = nullptr;  // Relu or Clip, or nullptr
  const ir::Node* pad = nullptr;         // a constant-0 spatial Pad after it, or nullptr
  const ir::Node* quantize = nullptr;
  const ir::Value* x_q = nullptr;        // read by the group's kernel
  const ir::Value* y_q = nullptr;        // written by it
  kernels::QConvSpec spec;
};

// The group that `conv` starts, or nullopt. `sole_reader(v)` is the one node
// reading v, or nullptr when several do, or a graph output or subgraph does.
std::optional<QConvGroup> match_qconv(const ir::Node& conv, int64_t opset,
                                      const std::function<const ir::Node*(const ir::Value*)>& sole_reader);

}  // namespace pare::rt
