// What a schema says of a node's arity and attributes. Plain data, apart from
// libonnx: both libonnx's schemas (schema.h) and the runtime's generated table
// (formats/onnx/signatures.cc) describe a node with it.
#pragma once

#include <map>
#include <string>

namespace pare::onnxschema {

struct OpArity {
  int min_inputs = 0, max_inputs = 0, min_outputs = 0, max_outputs = 0;
  std::map<std::string, int> attribute_kinds;        // numbered as AttributeProto's types
  std::map<std::string, bool> required_attributes;  // name -> true
};

}  // namespace pare::onnxschema
