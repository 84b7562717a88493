// Tensor files: ONNX TensorProto (.pb, as in ONNX test data) and NumPy .npy.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "formats/images/images.h"
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
// The bytes of a version 1.0 .npy file: the magic, `header` (a Python dict
// literal, padded with spaces and ended with a newline so that the data starts
// on a 64-byte boundary, as NumPy does) and `data`.
std::string npy_file_bytes(std::string header, std::string_view data);

// One sample: tensors by graph-input name. A sample folder holds either
// input_0.pb, input_1.pb... (matched to `input_names` in order, or by the
// TensorProto's name when it has one) or NAME.npy files.
using Sample = std::map<std::string, ir::Tensor>;
Sample read_sample_dir(const std::string& dir, const std::vector<std::string>& input_names);
// A folder of samples: either a single sample folder, or sub-folders each holding one
// (sorted by name, so the order is deterministic).
std::vector<Sample> read_samples(const std::string& dir, const std::vector<std::string>& input_names);

// Samples with their names (sub-folder or image file name, for --labels). Besides
// the tensor layouts above, `dir` may be a folder of PNG/JPEG images for a model
// with one input: each image is one sample, decoded and normalised by `images`.
// A folder that mixes images with tensor samples is refused.
struct SampleSet {
  std::vector<std::string> names;
  std::vector<Sample> samples;
};
// Labels for a sample set, one integer class per sample: each line of `path` is
// either "NAME LABEL" (NAME a sample's name: image file or sub-folder) or just
// "LABEL" (then lines follow the samples' sorted order). Blank lines and lines
// starting with # are ignored. Throws pare::Error naming the file and line.
std::vector<int64_t> read_labels(const std::string& path, const std::vector<std::string>& sample_names);

SampleSet read_sample_set(const std::string& dir, const std::vector<std::string>& input_names,
                          const ImageOptions& images = {});

// The samples of a folder without reading them, for work over more samples than
// fit in memory (a photo gallery): the same folder layouts and checks as
// read_sample_set, sorted by name. `image` entries are one image file each.
struct SampleEntry {
  std::string name;  // image file name or sample folder name (keys --labels)
  std::string path;
  bool image = false;
};
std::vector<SampleEntry> list_sample_entries(const std::string& dir);
Sample read_sample_entry(const SampleEntry& entry, const std::vector<std::string>& input_names,
                         const ImageOptions& images = {});

}  // namespace pare::formats
