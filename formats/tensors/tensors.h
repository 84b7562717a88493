// Tensor files: ONNX TensorProto (.pb, as in ONNX test data) and NumPy .npy.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lib/ir/tensor.h"

namespace pare::formats {

struct NamedTensor {
  std::string name;  // TensorProto.name or the .npy file stem; may be empty
  ir::Tensor tensor;
};

NamedTensor read_tensor_pb(const std::string& path);
void write_tensor_pb(const std::string& path, const ir::Tensor& t, const std::string& name);
ir::Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const ir::Tensor& t);

// One sample: tensors by graph-input name. A sample folder holds either
// input_0.pb, input_1.pb... (matched to `input_names` in order, or by the
// TensorProto's name when it has one) or NAME.npy files.
using Sample = std::map<std::string, ir::Tensor>;
Sample read_sample_dir(const std::string& dir, const std::vector<std::string>& input_names);
// A folder of samples: either a single sample folder, or sub-folders each holding one
// (sorted by name, so the order is deterministic).
std::vector<Sample> read_samples(const std::string& dir, const std::vector<std::string>& input_names);

}  // namespace pare::formats
