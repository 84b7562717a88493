#include "lib/ir/attr.h"

namespace pare::ir {

Attribute Attribute::of_int(std::string n, int64_t v) {
  Attribute a;
  a.name = std::move(n);
  a.kind = Kind::kInt;
  a.i = v;
  return a;
}
Attribute Attribute::of_float(std::string n, float v) {
  Attribute a;
  a.name = std::move(n);
  a.kind = Kind::kFloat;
  a.f = v;
  return a;
}
Attribute Attribute::of_string(std::string n, std::string v) {
  Attribute a;
  a.name = std::move(n);
  a.kind = Kind::kString;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::of_ints(std::string n, std::vector<int64_t> v) {
  Attribute a;
  a.name = std::move(n);
  a.kind = Kind::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::of_floats(std::string n, std::vector<float> v) {
  Attribute a;
  a.name = std::move(n);
  a.kind = Kind::kFloats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::of_tensor(std::string n, Tensor v) {
  Attribute a;
  a.name = std::move(n);
  a.kind = Kind::kTensor;
  a.t = std::move(v);
  return a;
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
