// Small models for tests, written in ONNX's textual syntax (onnx/defs/parser.h):
//   <ir_version: 8, opset_import: ["" : 13]>
//   agraph (float[2] x) => (float[2] y) { y = Relu(x) }
#pragma once

#include <string>

#include "lib/ir/graph.h"

namespace pare::testing {

// Parses the text, then loads it through pare's ONNX loader (so the IR is exactly
// what a file would give). Throws pare::Error on a parse error.
ir::Model model_from_text(const std::string& text);

// A chain of `length` Relu nodes from input x to output y, both float[`dims`]
// (e.g. "256, 1024"), at opset 13: the inner values v0, v1, ... each live one step.
ir::Model relu_chain(int length, const std::string& dims);

}  // namespace pare::testing
