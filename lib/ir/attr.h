// Node attributes. One plain struct rather than a variant: `kind` says which
// field holds the value, and the ONNX format layer maps it one to one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lib/ir/tensor.h"

namespace pare::ir {

class Graph;

struct Attribute {
  // Same numbers as onnx.AttributeProto.AttributeType.
  enum class Kind : int {
    kUndefined = 0, kFloat = 1, kInt = 2, kString = 3, kTensor = 4, kGraph = 5,
    kFloats = 6, kInts = 7, kStrings = 8, kTensors = 9, kGraphs = 10,
  };

  std::string name;
  Kind kind = Kind::kUndefined;
  std::string doc_string;
  float f = 0;
  int64_t i = 0;
  std::string s;  // bytes, not necessarily UTF-8
  Tensor t;
  std::string t_name;  // a tensor attribute's own name (kept for a lossless round trip)
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;

  static Attribute of_int(std::string n, int64_t v);
  static Attribute of_float(std::string n, float v);
  static Attribute of_string(std::string n, std::string v);
  static Attribute of_ints(std::string n, std::vector<int64_t> v);
  static Attribute of_floats(std::string n, std::vector<float> v);
  static Attribute of_tensor(std::string n, Tensor v);
};

std::string_view kind_name(Attribute::Kind k);

}  // namespace pare::ir
