#include "lib/onnxschema/schema.h"

#include <limits>
#include <vector>

#include <onnx/defs/schema.h>

namespace pare::onnxschema {
namespace {

using AT = ::onnx::AttributeProto;
constexpr int kMany = std::numeric_limits<int>::max();

// One op whose inputs, outputs or attributes changed in an ai.onnx opset newer
// than libonnx 1.12's last (17), from the ONNX operator changelog. `attributes`
// lists only what is new since the op's opset-17 schema (whose other attributes
// still hold); ops new after 17 list all of theirs. Ops whose later versions only
// widened their type lists (opsets 19-22 did that to most ops) are absent: their
// opset-17 schema still gives the right signature.
struct ChangedOp {
  const char* op;
  int since;
  int min_inputs, max_inputs, min_outputs, max_outputs;
  std::vector<std::pair<const char*, AT::AttributeType>> attributes;
};

const std::vector<ChangedOp>& changed_after_libonnx() {
  static const std::vector<ChangedOp> table = [] {
    std::vector<ChangedOp> t = {
        // 18: Reduce* take axes as an optional second input.
        {"Pad", 18, 2, 4, 1, 1, {}},
        {"Resize", 18, 1, 4, 1, 1, {{"antialias", AT::INT}, {"axes", AT::INTS}, {"keep_aspect_ratio_policy", AT::STRING}}},
        {"Split", 18, 1, 2, 1, kMany, {{"num_outputs", AT::INT}}},
        {"LpPool", 18, 1, 1, 1, 1, {{"ceil_mode", AT::INT}}},
        {"Mish", 18, 1, 1, 1, 1, {}},
        {"GroupNormalization", 18, 3, 3, 1, 1, {{"epsilon", AT::FLOAT}, {"num_groups", AT::INT}}},
        {"GroupNormalization", 21, 3, 3, 1, 1, {{"epsilon", AT::FLOAT}, {"num_groups", AT::INT}, {"stash_type", AT::INT}}},
        {"BitwiseAnd", 18, 2, 2, 1, 1, {}},
        {"BitwiseOr", 18, 2, 2, 1, 1, {}},
        {"BitwiseXor", 18, 2, 2, 1, 1, {}},
        {"BitwiseNot", 18, 1, 1, 1, 1, {}},
        {"CenterCropPad", 18, 2, 2, 1, 1, {{"axes", AT::INTS}}},
        {"Col2Im", 18, 3, 3, 1, 1, {{"dilations", AT::INTS}, {"pads", AT::INTS}, {"strides", AT::INTS}}},
        // 19
        {"AveragePool", 19, 1, 1, 1, 1, {{"dilations", AT::INTS}}},
        {"Cast", 19, 1, 1, 1, 1, {{"saturate", AT::INT}}},
        {"CastLike", 19, 2, 2, 1, 1, {{"saturate", AT::INT}}},
        {"QuantizeLinear", 19, 2, 3, 1, 1, {{"saturate", AT::INT}}},
        {"DeformConv", 19, 3, 5, 1, 1,
         {{"dilations", AT::INTS}, {"group", AT::INT}, {"kernel_shape", AT::INTS}, {"offset_group", AT::INT},
          {"pads", AT::INTS}, {"strides", AT::INTS}}},
        // 20
        {"Gelu", 20, 1, 1, 1, 1, {{"approximate", AT::STRING}}},
        {"AffineGrid", 20, 2, 2, 1, 1, {{"align_corners", AT::INT}}},
        // 21: block quantization.
        {"QuantizeLinear", 21, 2, 3, 1, 1, {{"saturate", AT::INT}, {"block_size", AT::INT}, {"output_dtype", AT::INT}}},
        {"DequantizeLinear", 21, 2, 3, 1, 1, {{"block_size", AT::INT}}},
        {"DequantizeLinear", 23, 2, 3, 1, 1, {{"block_size", AT::INT}, {"output_dtype", AT::INT}}},
        // 23
        {"RMSNormalization", 23, 2, 2, 1, 1, {{"axis", AT::INT}, {"epsilon", AT::FLOAT}, {"stash_type", AT::INT}}},
        {"RotaryEmbedding", 23, 3, 4, 1, 1,
         {{"interleaved", AT::INT}, {"num_heads", AT::INT}, {"rotary_embedding_dim", AT::INT}}},
        {"Attention", 23, 3, 6, 1, 4,
         {{"is_causal", AT::INT}, {"kv_num_heads", AT::INT}, {"q_num_heads", AT::INT},
          {"qk_matmul_output_mode", AT::INT}, {"scale", AT::FLOAT}, {"softcap", AT::FLOAT},
          {"softmax_precision", AT::INT}}},
        // 24
        {"Swish", 24, 1, 1, 1, 1, {{"alpha", AT::FLOAT}}},
    };
    for (const char* reduce : {"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
                               "ReduceMin", "ReduceProd", "ReduceSumSquare"})
      t.push_back({reduce, 18, 1, 2, 1, 1, {{"noop_with_empty_axes", AT::INT}}});
    return t;
  }();
  return table;
}

// The newest ai.onnx opset libonnx has schemas for.
int64_t newest_known(const std::string& domain) {
  const auto& versions = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = versions.find(domain);
  return it == versions.end() ? -1 : it->second.second;
}

void from_schema(const ::onnx::OpSchema& s, OpSignature& out) {
  out.min_inputs = s.min_input();
  out.max_inputs = s.max_input();
  out.min_outputs = s.min_output();
  out.max_outputs = s.max_output();
  for (const auto& [name, a] : s.attributes()) {
    if (a.type == AT::UNDEFINED) continue;
    out.attribute_kinds[name] = static_cast<int>(a.type);
    if (a.required) out.required_attributes[name] = true;
  }
  out.formal = &s;
}

}  // namespace

const ::onnx::OpSchema* known_schema(const std::string& op, const std::string& domain, int64_t opset) {
  const auto& versions = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = versions.find(domain);
  if (it == versions.end() || opset < it->second.first || opset > it->second.second) return nullptr;
  const ::onnx::OpSchema* schema = ::onnx::OpSchemaRegistry::Schema(op, static_cast<int>(opset), domain);
  return schema && !schema->deprecated() ? schema : nullptr;
}

bool op_signature(const std::string& op, const std::string& domain, int64_t opset, OpSignature& out) {
  out = OpSignature{};
  if (const auto* exact = known_schema(op, domain, opset)) {
    from_schema(*exact, out);
    out.exact = exact;
    return true;
  }
  int64_t newest = newest_known(domain);
  if (!domain.empty() || newest < 0 || opset <= newest) return false;
  const ChangedOp* changed = nullptr;
  for (const ChangedOp& c : changed_after_libonnx())
    if (op == c.op && c.since <= opset && (!changed || c.since > changed->since)) changed = &c;
  const ::onnx::OpSchema* older = known_schema(op, domain, newest);
  if (!changed) {
    if (!older) return false;
    from_schema(*older, out);
    return true;
  }
  if (older) {  // its attributes still hold; its arity and formal inputs may not
    from_schema(*older, out);
    out.formal = nullptr;
    out.required_attributes.clear();
  }
  out.min_inputs = changed->min_inputs;
  out.max_inputs = changed->max_inputs;
  out.min_outputs = changed->min_outputs;
  out.max_outputs = changed->max_outputs;
  for (const auto& [name, kind] : changed->attributes) out.attribute_kinds[name] = static_cast<int>(kind);
  return true;
}

}  // namespace pare::onnxschema
