// TensorProto (libprotobuf's) <-> ir::Tensor, for the saver and what still holds
// protobuf messages. Decoding goes through the wire reader (tensor_msg.h), so
// there is one decoder of tensor data with one set of checks.
#include "formats/onnx/proto_tensor.h"

#include "formats/onnx/tensor_msg.h"
#include "formats/onnx/wire.h"
#include "lib/base/error.h"

namespace pare::formats::onnx {
namespace pb = ::onnx;

ir::Tensor tensor_from_proto(const pb::TensorProto& t, const std::string& base_dir) {
  std::string bytes = t.SerializeAsString();
  msg::Tensor m;
  try {
    m = msg::decode_tensor(bytes);
  } catch (const wire::WireError& e) {
    throw InternalError(std::string("a TensorProto protobuf wrote does not decode: ") + e.what());
  }
  return tensor_from_msg(m, base_dir);
}

void tensor_to_proto(const ir::Tensor& t, const std::string& name, pb::TensorProto* out) {
  out->Clear();
  if (!name.empty()) out->set_name(name);
  for (int64_t d : t.dims()) out->add_dims(d);
  out->set_data_type(static_cast<int32_t>(t.dtype()));
  if (t.dtype() == ir::DataType::kString) {
    for (const auto& s : t.string_values()) out->add_string_data(s);
  } else {
    out->set_raw_data(t.raw(), t.byte_size());
  }
}

}  // namespace pare::formats::onnx
