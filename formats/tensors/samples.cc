// Sample folders: the inputs of one run, as ONNX test data (input_K.pb) or
// NumPy files (NAME.npy). Shared by `pare run`, calibration and evaluation.
#include <algorithm>
#include <filesystem>

#include "formats/tensors/tensors.h"
#include "lib/base/error.h"
#include "lib/base/settings.h"
#include "lib/base/strings.h"

namespace pare::formats {
namespace fs = std::filesystem;

namespace {

bool is_sample_file(const fs::path& p) {
  std::string n = p.filename().string();
  return p.extension() == ".npy" || (starts_with(n, "input_") && p.extension() == ".pb");
}

// Checks that `dir` is a folder; `not_one` says what it should have been. A path
// that cannot even be examined (a symlink loop, no permission) says why instead.
void require_folder(const std::string& dir, const char* not_one) {
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::none) throw Error(fmt::format("{}: {}", dir, ec.message()));
  if (!fs::is_directory(st)) throw Error(fmt::format("{}: {}", dir, not_one));
}

struct Entry {
  fs::path path;
  fs::file_status status;  // of the symlink's target, as is_regular_file() looks at it
};

// The entries of a folder, through the std::error_code calls: the throwing ones would
// turn a symlink loop or an unreadable entry into a filesystem_error, which the CLI can
// only report as a bug. A dangling symlink stays what it was: neither file nor folder.
std::vector<Entry> list_folder(const std::string& dir) {
  std::vector<Entry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    Entry e{it->path(), it->status(ec)};
    // file_type::none is how std::filesystem tells a failure from "not found".
    if (e.status.type() == fs::file_type::none) throw Error(fmt::format("{}: {}", e.path.string(), ec.message()));
    ec.clear();
    out.push_back(std::move(e));
  }
  if (ec) throw Error(fmt::format("{}: {}", dir, ec.message()));
  return out;
}

// K of input_K.pb, or SIZE_MAX when K is not a number or is too large to be any input.
size_t input_index(const std::string& k) {
  std::optional<int64_t> index = decimal_digits(k);
  return index ? static_cast<size_t>(*index) : SIZE_MAX;
}

}  // namespace

Sample read_sample_dir(const std::string& dir, const std::vector<std::string>& input_names) {
  require_folder(dir, "not a folder of input tensors");
  std::vector<fs::path> files;
  for (const auto& e : list_folder(dir))
    if (fs::is_regular_file(e.status) && is_sample_file(e.path)) files.push_back(e.path);
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
        size_t index = input_index(k);
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

std::vector<SampleEntry> list_sample_entries(const std::string& dir) {
  require_folder(dir, "not a folder of samples");
  bool has_files = false;
  std::vector<fs::path> subdirs, image_files;
  for (const auto& e : list_folder(dir)) {
    if (fs::is_regular_file(e.status) && is_sample_file(e.path)) has_files = true;
    if (fs::is_regular_file(e.status) && is_image_file(e.path.string())) image_files.push_back(e.path);
    if (fs::is_directory(e.status)) subdirs.push_back(e.path);
  }
  std::sort(subdirs.begin(), subdirs.end());
  std::sort(image_files.begin(), image_files.end());
  if (!image_files.empty() && (has_files || !subdirs.empty()))
    throw Error(fmt::format("{}: mixes image files with tensor samples; keep one kind per folder", dir));
  std::vector<SampleEntry> entries;
  for (const auto& f : image_files) entries.push_back({f.filename().string(), f.string(), true});
  if (has_files) entries.push_back({fs::path(dir).filename().string(), dir, false});
  else
    for (const auto& d : subdirs) entries.push_back({d.filename().string(), d.string(), false});
  if (entries.empty())
    throw Error(fmt::format("{}: holds no samples (sub-folders of input_K.pb or NAME.npy files, or images)", dir));
  return entries;
}

Sample read_sample_entry(const SampleEntry& entry, const std::vector<std::string>& input_names,
                         const ImageOptions& images) {
  if (!entry.image) return read_sample_dir(entry.path, input_names);
  if (input_names.size() != 1)
    throw Error(fmt::format("{}: an image feeds a model with one input; this one has {} ({})", entry.path,
                            input_names.size(), join(input_names, ", ")));
  return {{input_names[0], read_image(entry.path, images)}};
}

SampleSet read_sample_set(const std::string& dir, const std::vector<std::string>& input_names,
                          const ImageOptions& images) {
  std::vector<SampleEntry> entries = list_sample_entries(dir);
  bool image_folder = entries.front().image;
  if (image_folder && input_names.size() != 1)
    throw Error(fmt::format("{}: a folder of images feeds a model with one input; this one has {} ({})", dir,
                            input_names.size(), join(input_names, ", ")));
  if (!image_folder && images.configured())
    throw Error(fmt::format("{}: image options were given but the folder holds no .png, .jpg or .jpeg files", dir));
  SampleSet set;
  for (const auto& e : entries) {
    Sample s = read_sample_entry(e, input_names, images);
    if (image_folder && !set.samples.empty() && s.begin()->second.dims() != set.samples.front().begin()->second.dims())
      throw Error(fmt::format("{}: its size differs from the first image's; give {} to resize all", e.path,
                              spell(Setting::kImageSize, "WxH")));
    set.names.push_back(e.name);
    set.samples.push_back(std::move(s));
  }
  return set;
}

std::vector<Sample> read_samples(const std::string& dir, const std::vector<std::string>& input_names) {
  return read_sample_set(dir, input_names).samples;
}

}  // namespace pare::formats
