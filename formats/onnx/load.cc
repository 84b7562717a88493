// pare's loader: the one ONNX reader (read.h) with the node signatures of
// libonnx's operator schemas (lib/onnxschema), so `pare` checks every op
// libonnx knows, where the runtime checks the ops it has kernels for.
#include <onnx/defs/schema.h>

#include "formats/onnx/onnx.h"
#include "formats/onnx/read.h"
#include "lib/onnxschema/schema.h"

namespace pare::formats::onnx {
namespace {
namespace pb = ::onnx;

// An OpSchema's formal inputs as the reader checks them.
void add_formal(const pb::OpSchema& s, NodeSignature& out) {
  for (const auto& f : s.inputs()) out.formal.push_back({f.GetName(), f.GetOption() == pb::OpSchema::Single});
}

void add_operands(const pb::OpSchema& s, NodeSignature& out) {
  for (const auto& f : s.inputs()) {
    NodeSignature::Operand o;
    o.type_param = f.GetTypeStr();
    for (const auto& c : s.typeConstraintParams())
      if (c.type_param_str == o.type_param) o.allowed = c.allowed_type_strs;
    if (o.allowed.empty()) o.allowed.push_back(o.type_param);  // a concrete type such as tensor(int64)
    o.binds = f.GetIsHomogeneous() || f.GetOption() != pb::OpSchema::Variadic;
    out.operands.push_back(std::move(o));
  }
}

}  // namespace

bool onnx_signature(const std::string& op, const std::string& domain, int64_t opset, NodeSignature& out) {
  out = NodeSignature{};
  onnxschema::OpSignature sig;
  if (!onnxschema::op_signature(op, domain, opset, sig)) return false;
  static_cast<onnxschema::OpArity&>(out) = sig;
  if (sig.formal) add_formal(*sig.formal, out);
  if (sig.exact) add_operands(*sig.exact, out);
  return true;
}

ir::Model load_model_from_bytes(const std::string& bytes, const std::string& label, const std::string& base_dir) {
  return read_model_bytes(bytes, label, base_dir, onnx_signature);
}

ir::Model load_model(const std::string& path) { return read_model_file(path, onnx_signature); }

}  // namespace pare::formats::onnx
