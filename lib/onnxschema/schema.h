// The ONNX operator schemas libonnx holds, for what needs an op's signature or
// attribute defaults: the loader's node check (formats/onnx) and strip(defaults)
// (passes/strip.cc). It sits in lib/ so that passes need not include formats/;
// it is built into pare_lib, which links libonnx.
#pragma once

#include <cstdint>
#include <string>

namespace onnx {
class OpSchema;
}

namespace pare::onnxschema {

// The schema of `op` at `opset` of `domain` ("" for ai.onnx), or nullptr for
// unknown ops and domains, deprecated schemas, and opsets newer than libonnx
// knows: an op may have changed since (ReduceMean's axes became an input at 18),
// so a newer model is judged by no schema rather than an older one.
const ::onnx::OpSchema* known_schema(const std::string& op, const std::string& domain, int64_t opset);

}  // namespace pare::onnxschema
