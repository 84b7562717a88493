// TensorProto <-> ir::Tensor, including external data. Shared by the model
// loader/saver and the .pb tensor files.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

#include "lib/ir/tensor.h"

namespace pare::formats::onnx {

// Reads typed fields, raw_data or external data (resolved inside `base_dir`;
// "" forbids external data). Throws pare::Error naming the tensor.
ir::Tensor tensor_from_proto(const ::onnx::TensorProto& t, const std::string& base_dir);
// Writes dims, data_type and raw_data (string_data for strings).
void tensor_to_proto(const ir::Tensor& t, const std::string& name, ::onnx::TensorProto* out);

}  // namespace pare::formats::onnx
