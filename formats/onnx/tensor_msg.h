// TensorProto (as decoded by messages.h) -> ir::Tensor, including external
// data. Shared by the model reader and the .pb tensor files; no libprotobuf.
#pragma once

#include <string>

#include "formats/onnx/messages.h"
#include "lib/ir/tensor.h"

namespace pare::formats::onnx {

// Reads typed fields, raw_data or external data (resolved inside `base_dir`;
// "" forbids external data). Throws pare::Error naming the tensor.
ir::Tensor tensor_from_msg(const msg::Tensor& t, const std::string& base_dir);

// The TensorProto encoding of `t` (dims, data_type, raw_data or string_data,
// and the name when not empty), byte for byte as protobuf serialises it.
std::string encode_tensor(const ir::Tensor& t, const std::string& name);

}  // namespace pare::formats::onnx
