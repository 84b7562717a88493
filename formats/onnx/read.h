// The ONNX model reader: bytes -> IR with pare's own wire decoder (messages.h),
// no libonnx or libprotobuf. One reader serves both `pare` (formats/onnx/onnx.h:
// load_model, whose node signatures come from libonnx's schemas) and the
// runtime (read_model below: the signatures of the ops the runner has, a table
// generated from the same schemas, signatures.cc), so both keep the same
// guarantees: bounds on every length, external data only inside the model's
// folder, one error naming the file, and every node checked against its
// signature before passes or kernels index it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lib/ir/graph.h"
#include "lib/onnxschema/arity.h"

namespace pare::formats::onnx {

// What a node is checked against at load (decision 32): arity, attribute
// kinds (numbered as AttributeProto's types), required attributes and inputs,
// and the element types its constant operands may have.
struct NodeSignature : onnxschema::OpArity {
  struct Formal {
    std::string name;
    bool required = false;  // a single (not optional, not variadic) input
  };
  std::vector<Formal> formal;  // the inputs that must not be "" (empty: not known)
  // The type rule of each formal input, when the signature is exactly this
  // opset's (later opsets widened many type lists, so an older one is not used).
  struct Operand {
    std::string type_param;             // "T", or a concrete "tensor(int64)"
    std::vector<std::string> allowed;   // "tensor(float)", ... as the schema lists them
    bool binds = false;                 // inputs of this type parameter must agree
  };
  std::vector<Operand> operands;
};

// The signature of `op` at `opset` of `domain` ("" for ai.onnx); false when
// none is known (the node is then not checked).
using SignatureLookup = std::function<bool(const std::string& op, const std::string& domain, int64_t opset, NodeSignature&)>;

// Decodes and converts; `base_dir` resolves external data ("" = none allowed).
// Every problem is a pare::Error with `label` (the file) as its context.
ir::Model read_model_bytes(std::string_view bytes, const std::string& label, const std::string& base_dir,
                           const SignatureLookup& signatures);
// Reads the file (sized first: over 2 GiB is refused unread) and its external data.
ir::Model read_model_file(const std::string& path, const SignatureLookup& signatures);

// The runtime's loader: read_model_file/bytes with the signatures of the ops
// the runner has kernels for (runtime_signature).
ir::Model read_model(const std::string& path);
ir::Model read_model_from_bytes(std::string_view bytes, const std::string& label, const std::string& base_dir);
bool runtime_signature(const std::string& op, const std::string& domain, int64_t opset, NodeSignature& out);

// The generated table's spelling of a type list (tools/gen-signatures writes
// it, runtime_signature reads it): one letter per element type, after an 'S'
// for each seq( and an 'O' for each optional( around it, so
// {"tensor(float)", "seq(tensor(int64))"} is "aSg". Spelled out, the lists
// were 27 KB of pare-run. Throws pare::Error on a type it has no letter for.
std::string compact_type_list(const std::vector<std::string>& types);
std::vector<std::string> expand_type_list(std::string_view compact);

}  // namespace pare::formats::onnx
