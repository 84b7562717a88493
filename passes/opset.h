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
constexpr int64_t kMaxUpgradeOpset = 21;

// The highest opset libonnx 1.12 (Debian's) has schemas for: beyond it, the
// ONNX checker and shape inference know nothing, and pare checks models itself
// (formats/onnx check_model).
constexpr int64_t kLibonnxMaxOpset = 17;

// Rewrites every graph (subgraphs too) so that it means the same under ai.onnx
// `target` and sets the model's import. Returns the number of nodes rewritten.
// Throws pare::Error naming the node when an op cannot be carried over (removed
// ops such as Upsample and Scatter, Resize-10's coordinate rule).
int64_t upgrade_opset(ir::Model& model, int64_t target);

}  // namespace pare::passes
