// The ONNX operator schemas libonnx holds, for what needs an op's signature or
// attribute defaults: the loader's node check (formats/onnx) and strip(defaults)
// (passes/strip.cc). It sits in lib/ so that passes need not include formats/;
// it is built into pare_lib, which links libonnx.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "lib/onnxschema/arity.h"

namespace onnx {
class OpSchema;
}

namespace pare::onnxschema {

// The schema of `op` at `opset` of `domain` ("" for ai.onnx), or nullptr for
// unknown ops and domains, deprecated schemas, and opsets newer than libonnx
// knows: an op may have changed since (ReduceMean's axes became an input at 18),
// so a newer model is judged by no schema rather than an older one.
const ::onnx::OpSchema* known_schema(const std::string& op, const std::string& domain, int64_t opset);

// What the loader checks a node against: how many inputs and outputs it takes,
// the kind of each attribute it knows (numbered as AttributeProto's types) and
// which are required. For opsets libonnx knows this is its schema. For newer
// ai.onnx opsets (libonnx 1.12 stops at 17) it is pare's own table of the ops
// whose signature changed after that (kChangedAfterLibonnx in schema.cc), and
// for every other op the newest schema libonnx has, which is still current.
struct OpSignature : OpArity {
  // The schema the signature came from, when it is exactly this opset's
  // (operand types are checked only then: later opsets widened many type lists).
  const ::onnx::OpSchema* exact = nullptr;
  // The schema whose formal inputs name the required ones (exact, or the
  // unchanged older one); nullptr for ops from pare's own table.
  const ::onnx::OpSchema* formal = nullptr;
};

// False when no signature is known (an unknown op or domain): the node is then
// not checked.
bool op_signature(const std::string& op, const std::string& domain, int64_t opset, OpSignature& out);

}  // namespace pare::onnxschema
