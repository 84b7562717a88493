// Tensor files in ONNX's TensorProto encoding (input_0.pb, as ONNX test data).
#include <onnx/onnx_pb.h>

#include "formats/onnx/proto_tensor.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"

namespace pare::formats {

NamedTensor read_tensor_pb(const std::string& path) {
  std::string bytes = read_input_file(path);
  try {
    ::onnx::TensorProto t;
    if (bytes.empty() || !t.ParseFromString(bytes)) fail("not a valid TensorProto file: truncated or not protobuf");
    return {t.name(), onnx::tensor_from_proto(t, "")};
  } catch (Error& e) {
    e.with_context(path);
    throw;
  }
}

void write_tensor_pb(const std::string& path, const ir::Tensor& t, const std::string& name) {
  ::onnx::TensorProto proto;
  onnx::tensor_to_proto(t, name, &proto);
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) throw Error(path + ": cannot serialize the tensor");
  write_file_atomic(path, bytes);
}

}  // namespace pare::formats
