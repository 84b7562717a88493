// Tensor files in ONNX's TensorProto encoding (input_0.pb, as ONNX test data),
// read and written with pare's own wire format code (no libprotobuf), so
// pare-run reads and writes them too.
#include "formats/onnx/tensor_msg.h"
#include "formats/onnx/wire.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"

namespace pare::formats {

NamedTensor read_tensor_pb(const std::string& path) {
  std::string bytes = read_input_file(path);
  try {
    onnx::msg::Tensor t;
    try {
      if (bytes.empty()) throw onnx::wire::WireError("empty");
      t = onnx::msg::decode_tensor(bytes);
    } catch (const onnx::wire::WireError&) {
      fail("not a valid TensorProto file: truncated or not protobuf");
    }
    return {t.name, onnx::tensor_from_msg(t, "")};
  } catch (Error& e) {
    e.with_context(path);
    throw;
  }
}

void write_tensor_pb(const std::string& path, const ir::Tensor& t, const std::string& name) {
  write_file_atomic(path, onnx::encode_tensor(t, name));
}

}  // namespace pare::formats
