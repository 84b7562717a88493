#include "lib/ir/attr.h"

#include <type_traits>

namespace pare::ir {

namespace {

// An attribute named `n` of kind `k` whose value is `v`, in the one field the kind names.
template <typename T>
Attribute attribute(std::string n, Attribute::Kind k, T Attribute::*field, std::type_identity_t<T> v) {
  Attribute a;
  a.name = std::move(n);
  a.kind = k;
  a.*field = std::move(v);
  return a;
}

}  // namespace

Attribute Attribute::of_int(std::string n, int64_t v) { return attribute(std::move(n), Kind::kInt, &Attribute::i, v); }
Attribute Attribute::of_float(std::string n, float v) { return attribute(std::move(n), Kind::kFloat, &Attribute::f, v); }
Attribute Attribute::of_string(std::string n, std::string v) {
  return attribute(std::move(n), Kind::kString, &Attribute::s, std::move(v));
}
Attribute Attribute::of_ints(std::string n, std::vector<int64_t> v) {
  return attribute(std::move(n), Kind::kInts, &Attribute::ints, std::move(v));
}
Attribute Attribute::of_floats(std::string n, std::vector<float> v) {
  return attribute(std::move(n), Kind::kFloats, &Attribute::floats, std::move(v));
}
Attribute Attribute::of_tensor(std::string n, Tensor v) {
  return attribute(std::move(n), Kind::kTensor, &Attribute::t, std::move(v));
}

std::string_view kind_name(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kGraph: return "graph";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kStrings: return "strings";
    case Attribute::Kind::kTensors: return "tensors";
    case Attribute::Kind::kGraphs: return "graphs";
    default: return "undefined";
  }
}

}  // namespace pare::ir
