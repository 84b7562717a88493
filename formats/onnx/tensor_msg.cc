// TensorProto decoding. ONNX allows several encodings of the same data: raw_data
// (little-endian bytes), typed repeated fields (int32_data also carries int8,
// uint8, int16, uint16, bool, float16 and bfloat16 values, one per entry), and
// external data in a file beside the model. All become the same raw layout.
//
// External data must stay inside the model's folder: an absolute location, a
// ".." escape, a symlink pointing outside, a hard link (which may be a file
// outside) and a NUL in the location are all refused, so a model file cannot
// make pare read arbitrary files.
#include "formats/onnx/tensor_msg.h"

#include <algorithm>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/ir/shape.h"

namespace pare::formats::onnx {
namespace fs = std::filesystem;
using ir::DataType;

namespace {

std::string label(const msg::Tensor& t) { return t.name.empty() ? "(unnamed)" : "'" + t.name + "'"; }

// An external data offset or length: decimal digits that fit int64_t. Anything else
// (a sign, spaces, "abc", 1e20) comes from a damaged or hand-edited model and must be
// a pare::Error naming the tensor, not a std::stoll exception the CLI can only call a
// bug; a negative length must not pass for "the rest of the file".
int64_t external_number(const msg::Tensor& t, const std::string& key, const std::string& text) {
  bool too_large = false;
  std::optional<int64_t> v = decimal_digits(text, &too_large);
  if (too_large) fail("tensor {}: external data {} '{}' is too large", label(t), key, text);
  if (!v) fail("tensor {}: external data {} '{}' is not a non-negative integer", label(t), key, text);
  return *v;
}

std::vector<uint8_t> read_external(const msg::Tensor& t, const std::string& base_dir, size_t want) {
  std::string location;
  int64_t offset = 0;
  std::optional<int64_t> length;  // absent: the rest of the file
  for (const auto& kv : t.external_data) {
    if (kv.key == "location") location = kv.value;
    else if (kv.key == "offset") offset = external_number(t, kv.key, kv.value);
    else if (kv.key == "length") length = external_number(t, kv.key, kv.value);
  }
  if (base_dir.empty()) fail("tensor {} uses external data, which is not allowed here", label(t));
  if (location.empty()) fail("tensor {} has external data without a location", label(t));
  // A NUL would end the path the kernel sees early: "w.bin\0../x" must not
  // be judged by one spelling and opened as another.
  if (location.find('\0') != std::string::npos)
    fail("tensor {}: external data location '{}' contains a NUL byte", label(t), location);
  fs::path loc(location);
  if (loc.is_absolute()) fail("tensor {}: external data location '{}' is absolute; it must be relative to the model's folder", label(t), location);
  std::error_code ec;
  fs::path dir = fs::canonical(base_dir, ec);
  if (ec) fail("tensor {}: cannot resolve the model's folder '{}'", label(t), base_dir);
  fs::path target = fs::weakly_canonical(dir / loc, ec);
  auto rel = target.lexically_relative(dir);
  if (ec || rel.empty() || *rel.begin() == "..")
    fail("tensor {}: external data location '{}' escapes the model's folder", label(t), location);
  if (!fs::is_regular_file(target, ec)) fail("tensor {}: external data file '{}' does not exist", label(t), location);
  // A hard link in the folder may be the same file as one outside it (a key, a
  // password file): there is no telling which name is the real one, so a data
  // file with more than one link is refused, as ONNX's checker does.
  if (auto links = fs::hard_link_count(target, ec); !ec && links > 1)
    fail("tensor {}: external data file '{}' has {} hard links; pare reads external data only from files with one "
         "link (copy it instead of linking)", label(t), location, links);
  auto file_size = static_cast<int64_t>(fs::file_size(target, ec));
  int64_t size = length.value_or(file_size - offset);
  // Compared without offset + size, which could overflow: both may be near INT64_MAX.
  if (offset > file_size || size < 0 || size > file_size - offset)
    fail("tensor {}: external data range (offset {}, length {}) lies outside '{}' ({} bytes)", label(t), offset, size,
         location, file_size);
  if (static_cast<size_t>(size) != want)
    fail("tensor {} has {} bytes of external data but its dims need {}", label(t), size, want);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  std::ifstream in(target, std::ios::binary);
  in.seekg(offset);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (!in) fail("tensor {}: cannot read external data from '{}'", label(t), location);
  note_input(target.string());  // an output must never replace the model's data file
  return bytes;
}

template <typename Field, typename T>
std::vector<uint8_t> pack(const Field& values, size_t want_count, const msg::Tensor& t) {
  if (static_cast<size_t>(values.size()) != want_count)
    fail("tensor {} has {} values but its dims need {}", label(t), values.size(), want_count);
  std::vector<uint8_t> bytes(want_count * sizeof(T));
  for (size_t i = 0; i < want_count; ++i) {
    T v = static_cast<T>(values[i]);
    std::memcpy(bytes.data() + i * sizeof(T), &v, sizeof(T));
  }
  return bytes;
}

}  // namespace

ir::Tensor tensor_from_msg(const msg::Tensor& t, const std::string& base_dir) {
  if (t.has_segment) fail("tensor {} is segmented, which pare does not support", label(t));
  if (!ir::is_valid_dtype(t.data_type) || t.data_type == 0)
    fail("tensor {} has an unknown data type {}", label(t), t.data_type);
  auto dtype = static_cast<DataType>(t.data_type);
  std::vector<int64_t> dims = t.dims;
  int64_t numel;
  try {
    numel = ir::checked_numel(dims);
  } catch (Error& e) {
    e.with_context("tensor " + label(t));
    throw;
  }
  if (dtype == DataType::kString) {
    if (static_cast<int64_t>(t.string_data.size()) != numel)
      fail("tensor {} has {} strings but its dims need {}", label(t), static_cast<int64_t>(t.string_data.size()), numel);
    return ir::Tensor::strings(dims, t.string_data);
  }
  size_t es = std::max<size_t>(ir::size_of(dtype), 1);
  if (static_cast<uint64_t>(numel) > (uint64_t{1} << 40) / es) fail("tensor {} is too large ({} elements)", label(t), numel);
  size_t want = static_cast<size_t>(ir::storage_bytes(dtype, static_cast<uint64_t>(numel)));
  size_t n = static_cast<size_t>(numel);

  std::vector<uint8_t> bytes;
  if (t.data_location == 1) {
    bytes = read_external(t, base_dir, want);
  } else if (t.has_raw_data) {
    if (t.raw_data.size() != want)
      fail("tensor {} has {} bytes of data but dims [{}] of {} need {}", label(t), t.raw_data.size(),
           fmt::join(dims, ","), ir::name(dtype), want);
    // memcpy, not assign(): built with -Os (cmake/size.cmake), a char to uint8_t
    // assign is a byte loop over every weight of the model.
    bytes.resize(want);
    if (want) std::memcpy(bytes.data(), t.raw_data.data(), want);
  } else {
    switch (dtype) {
      case DataType::kFloat: bytes = pack<decltype(t.float_data), float>(t.float_data, n, t); break;
      case DataType::kDouble: bytes = pack<decltype(t.double_data), double>(t.double_data, n, t); break;
      case DataType::kInt64: bytes = pack<decltype(t.int64_data), int64_t>(t.int64_data, n, t); break;
      case DataType::kUint64: bytes = pack<decltype(t.uint64_data), uint64_t>(t.uint64_data, n, t); break;
      case DataType::kUint32: bytes = pack<decltype(t.uint64_data), uint32_t>(t.uint64_data, n, t); break;
      case DataType::kInt32: bytes = pack<decltype(t.int32_data), int32_t>(t.int32_data, n, t); break;
      case DataType::kInt8: bytes = pack<decltype(t.int32_data), int8_t>(t.int32_data, n, t); break;
      case DataType::kUint8:
      case DataType::kBool: bytes = pack<decltype(t.int32_data), uint8_t>(t.int32_data, n, t); break;
      case DataType::kInt16: bytes = pack<decltype(t.int32_data), int16_t>(t.int32_data, n, t); break;
      case DataType::kUint16:
      case DataType::kFloat16:
      case DataType::kBfloat16: bytes = pack<decltype(t.int32_data), uint16_t>(t.int32_data, n, t); break;
      case DataType::kComplex64: bytes = pack<decltype(t.float_data), float>(t.float_data, n * 2, t); break;
      case DataType::kComplex128: bytes = pack<decltype(t.double_data), double>(t.double_data, n * 2, t); break;
      // int32_data holds one byte (two packed 4-bit values) per entry.
      case DataType::kUint4:
      case DataType::kInt4: bytes = pack<decltype(t.int32_data), uint8_t>(t.int32_data, want, t); break;
      default: fail("tensor {} has an unsupported data type {}", label(t), ir::name(dtype));
    }
  }
  return ir::Tensor(dtype, std::move(dims), std::move(bytes));
}

std::string encode_tensor(const ir::Tensor& t, const std::string& name) {
  if (t.dtype() == DataType::kString)
    return msg::encode_tensor(t.dims(), static_cast<int32_t>(t.dtype()), name, {}, &t.string_values());
  return msg::encode_tensor(t.dims(), static_cast<int32_t>(t.dtype()), name,
                            std::string_view(reinterpret_cast<const char*>(t.raw()), t.byte_size()), nullptr);
}

}  // namespace pare::formats::onnx
