// Sample folders: the inputs of one run, as ONNX test data (input_K.pb) or
// NumPy files (NAME.npy). Shared by `pare run`, calibration and evaluation.
#include <algorithm>
#include <filesystem>

#include "formats/tensors/tensors.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"

namespace pare::formats {
namespace fs = std::filesystem;

namespace {

bool is_sample_file(const fs::path& p) {
  std::string n = p.filename().string();
  return p.extension() == ".npy" || (starts_with(n, "input_") && p.extension() == ".pb");
}

}  // namespace

Sample read_sample_dir(const std::string& dir, const std::vector<std::string>& input_names) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: not a folder of input tensors", dir));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && is_sample_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw Error(fmt::format("{}: holds no input_K.pb or NAME.npy files (expected inputs: {})", dir,
                            join(input_names, ", ")));
  Sample sample;
  for (const auto& f : files) {
    std::string name;
    ir::Tensor t;
    if (f.extension() == ".npy") {
      name = f.stem().string();
      t = read_npy(f.string());
    } else {
      NamedTensor nt = read_tensor_pb(f.string());
      t = nt.tensor;
      if (std::find(input_names.begin(), input_names.end(), nt.name) != input_names.end()) {
        name = nt.name;
      } else {
        // input_K.pb is graph input K.
        std::string k = f.stem().string().substr(6);
        size_t index = k.find_first_not_of("0123456789") == std::string::npos && !k.empty() ? std::stoul(k) : SIZE_MAX;
        if (index >= input_names.size())
          throw Error(fmt::format("{}: the model has {} inputs, so there is no input {}", f.string(),
                                  input_names.size(), k));
        name = input_names[index];
      }
    }
    if (std::find(input_names.begin(), input_names.end(), name) == input_names.end())
      throw Error(fmt::format("{}: '{}' is not an input of the model (its inputs: {}){}", f.string(), name,
                              join(input_names, ", "), did_you_mean(name, input_names)));
    if (sample.count(name)) throw Error(fmt::format("{}: input '{}' is given twice", dir, name));
    sample[name] = std::move(t);
  }
  return sample;
}

namespace {

SampleSet read_image_folder(const std::string& dir, const std::vector<fs::path>& files,
                            const std::vector<std::string>& input_names, const ImageOptions& images) {
  if (input_names.size() != 1)
    throw Error(fmt::format("{}: a folder of images feeds a model with one input; this one has {} ({})", dir,
                            input_names.size(), join(input_names, ", ")));
  SampleSet set;
  for (const auto& f : files) {
    ir::Tensor t = read_image(f.string(), images);
    if (!set.samples.empty() && t.dims() != set.samples.front().begin()->second.dims())
      throw Error(fmt::format("{}: its size differs from the first image's; give --image-size WxH to resize all",
                              f.string()));
    set.names.push_back(f.filename().string());
    set.samples.push_back({{input_names[0], std::move(t)}});
  }
  return set;
}

}  // namespace

SampleSet read_sample_set(const std::string& dir, const std::vector<std::string>& input_names,
                          const ImageOptions& images) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(fmt::format("{}: not a folder of samples", dir));
  bool has_files = false;
  std::vector<fs::path> subdirs, image_files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && is_sample_file(e.path())) has_files = true;
    if (e.is_regular_file() && is_image_file(e.path().string())) image_files.push_back(e.path());
    if (e.is_directory()) subdirs.push_back(e.path());
  }
  std::sort(subdirs.begin(), subdirs.end());
  std::sort(image_files.begin(), image_files.end());
  if (!image_files.empty() && (has_files || !subdirs.empty()))
    throw Error(fmt::format("{}: mixes image files with tensor samples; keep one kind per folder", dir));
  if (!image_files.empty()) return read_image_folder(dir, image_files, input_names, images);
  if (images.configured())
    throw Error(fmt::format("{}: image options were given but the folder holds no .png, .jpg or .jpeg files", dir));
  SampleSet set;
  if (has_files) {
    set.names.push_back(fs::path(dir).filename().string());
    set.samples.push_back(read_sample_dir(dir, input_names));
    return set;
  }
  for (const auto& d : subdirs) {
    set.names.push_back(d.filename().string());
    set.samples.push_back(read_sample_dir(d.string(), input_names));
  }
  if (set.samples.empty())
    throw Error(fmt::format("{}: holds no samples (sub-folders of input_K.pb or NAME.npy files, or images)", dir));
  return set;
}

std::vector<Sample> read_samples(const std::string& dir, const std::vector<std::string>& input_names) {
  return read_sample_set(dir, input_names).samples;
}

}  // namespace pare::formats
