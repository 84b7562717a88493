// Raising a model's ai.onnx opset: the rewrites that keep its meaning when an
// operator's signature changed between versions (attributes that became inputs,
// Softmax's axis semantics). Static int8 needs opset 13 for per-axis
// QuantizeLinear/DequantizeLinear, and many exported models are older.
#pragma once

#include <cstdint>

#include "lib/ir/graph.h"

namespace pare::passes {

// The highest opset upgrade_opset can reach: the rules below cover every change
// of signature up to it.
constexpr int64_t kMaxUpgradeOpset = 14;

// Rewrites every graph (subgraphs too) so that it means the same under ai.onnx
// `target` and sets the model's import. Returns the number of nodes rewritten.
// Throws pare::Error naming the node when an op cannot be carried over (removed
// ops such as Upsample and Scatter, Resize-10's coordinate rule).
int64_t upgrade_opset(ir::Model& model, int64_t target);

}  // namespace pare::passes
