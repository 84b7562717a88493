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
// and the residual Adds (and the quantized Mul, broadcasting, and the quantized
// GlobalAveragePool: qadd.h):
//
//   a_q -> DequantizeLinear, b_q -> DequantizeLinear (constant scalars, one shape)
//       -> Add [-> Relu | Clip] -> QuantizeLinear -> y_q
//
// and the activations between two quantized tensors (a 256-entry table):
//
//   x_q -> DequantizeLinear -> HardSwish | HardSigmoid | Sigmoid | LeakyRelu | Relu | Clip
//       -> QuantizeLinear -> y_q
//
// and the Concat of quantized tensors into one (a table per input, qconcat.h),
// where an input may also be a float tensor the kernel quantizes itself (a
// ConstantOfShape of zero channels):
//
//   x1_q -> DequantizeLinear, ..., xn_q -> DequantizeLinear -> Concat -> QuantizeLinear -> y_q
//
// and the MaxPool between two quantized tensors (the max on the bytes, then a
// table if their parameters differ: make_qmax_pool, qlut.h):
//
//   x_q -> DequantizeLinear -> MaxPool (dilation 1, pads below the kernel) -> QuantizeLinear -> y_q
//
// and the data movement between two tensors of one scale and zero point:
//
//   x_q -> DequantizeLinear -> Resize (nearest) -> QuantizeLinear (the same constants) -> y_q
//
// which the Resize kernel computes on the bytes (quantize(int8, calib=...)
// gives a nearest Resize's output its input's parameters).
//
// The group's kernel reads the quantized inputs and writes y_q; the float
// values in between are never computed. The DequantizeLinear of x_q stays a node
// (other readers may need the float tensor); the session drops it when nothing
// reads its output any more. Internal to lib/runtime.
#pragma once

#include <functional>
#include <optional>

#include "lib/ir/graph.h"
#include <memory>
#include <variant>

#include "lib/runtime/kernels/qadd.h"
#include "lib/runtime/kernels/qconcat.h"
#include "lib/runtime/kernels/qconv.h"
#include "lib/runtime/kernels/qlut.h"

namespace pare::rt {

// A data-movement group: the op's own kernel on the bytes, its other inputs
// (Resize's scales or sizes) read as they are.
struct Movement {};

struct QdqGroup {
  const ir::Node* op = nullptr;                  // the Conv, Add, activation or data movement
  std::vector<const ir::Value*> inputs;          // the quantized values its kernel reads
  std::vector<const ir::Node*> fused;            // activation, Pad, QuantizeLinear: computed by its kernel
  const ir::Value* output = nullptr;             // y_q, written by it
  std::variant<kernels::QConvSpec, kernels::QAddSpec, kernels::QLutSpec, kernels::QConcatSpec, Movement> spec;
};

// The group that `node` starts, or nullopt. `sole_reader(v)` is the one node
// reading v, or nullptr when several do, or a graph output or subgraph does.
std::optional<QdqGroup> match_qdq_group(const ir::Node& node, int64_t opset,
                                        const std::function<const ir::Node*(const ir::Value*)>& sole_reader);

// The group's kernel, built from `init` (the KernelInit of its Conv or Add);
// a Movement group's is the op's own kernel (the session's create_kernel).
std::unique_ptr<Kernel> make_group_kernel(const QdqGroup& group, const KernelInit& init);

}  // namespace pare::rt
