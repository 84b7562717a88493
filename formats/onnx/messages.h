// The parts of ONNX's protobuf messages (onnx.proto, proto2) that pare reads,
// as plain structs decoded by pare's own wire reader (wire.h): no libprotobuf.
// Field numbers are ONNX's; fields pare does not read are skipped as unknown
// fields, as protobuf skips fields it does not know. Strings are copies; a
// tensor's raw_data is a view into the model's bytes, which outlive the decode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pare::formats::onnx::msg {

struct Entry {  // StringStringEntryProto
  std::string key, value;
};

struct Tensor {  // TensorProto
  std::vector<int64_t> dims;
  int32_t data_type = 0;
  bool has_segment = false;
  std::vector<float> float_data;
  std::vector<int32_t> int32_data;
  std::vector<std::string> string_data;
  std::vector<int64_t> int64_data;
  std::string name, doc_string;
  bool has_raw_data = false;
  std::string_view raw_data;
  std::vector<Entry> external_data;
  int data_location = 0;  // 1: EXTERNAL
  std::vector<double> double_data;
  std::vector<uint64_t> uint64_data;
};

struct Dim {  // TensorShapeProto.Dimension: a oneof
  enum Kind { kNone, kValue, kParam } kind = kNone;
  int64_t value = 0;
  std::string param;
};

struct Type {  // TypeProto: which member of its oneof is set, and the tensor type
  enum Kind { kNone, kTensor, kOther } kind = kNone;
  int32_t elem_type = 0;
  bool has_shape = false;
  std::vector<Dim> dims;
};

struct ValueInfo {  // ValueInfoProto
  std::string name, doc_string;
  Type type;
};

struct Graph;

// AttributeProto. `type` is 0 (UNDEFINED) unless the file names a known kind.
struct Attribute {
  enum Kind { kUndefined = 0, kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kTensors, kGraphs,
              kSparseTensor, kSparseTensors, kTypeProto, kTypeProtos };
  std::string name, ref_attr_name, doc_string;
  int type = kUndefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<Graph> g;  // zero or one: the field is optional
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<Graph> graphs;
};

struct Node {  // NodeProto
  std::vector<std::string> input, output;
  std::string name, op_type, domain, doc_string;
  std::vector<Attribute> attribute;
};

struct Graph {  // GraphProto
  std::vector<Node> node;
  std::string name, doc_string;
  std::vector<Tensor> initializer;
  int sparse_initializers = 0;
  std::vector<ValueInfo> input, output, value_info;
};

struct OpsetId {
  std::string domain;
  int64_t version = 0;
};

struct Model {  // ModelProto
  int64_t ir_version = 0;
  std::vector<OpsetId> opset_import;
  std::string producer_name, producer_version, domain, doc_string;
  int64_t model_version = 0;
  bool has_graph = false;
  Graph graph;
  std::vector<Entry> metadata_props;
  int training_infos = 0, functions = 0;
};

// Decode `bytes` (which must outlive the result: raw_data views into it).
// Throw wire::WireError on a malformed buffer; nesting deeper than 100
// messages is refused, as protobuf's default recursion limit does.
Model decode_model(std::string_view bytes);
Tensor decode_tensor(std::string_view bytes);

// A TensorProto with dims, data_type, string_data, name and raw_data, fields in
// number order as protobuf writes them.
std::string encode_tensor(const std::vector<int64_t>& dims, int32_t data_type, const std::string& name,
                          std::string_view raw_data, const std::vector<std::string>* string_data);

}  // namespace pare::formats::onnx::msg
