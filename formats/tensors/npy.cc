// NumPy .npy files (format versions 1, 2 and 3): little-endian, C order.
// Fortran order and big-endian data are refused with a clear message rather
// than silently transposed or byte-swapped.
#include <cstring>

#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/ir/shape.h"

namespace pare::formats {
namespace {

struct Descr {
  const char* code;
  ir::DataType dtype;
};
constexpr Descr kDescrs[] = {
    {"f4", ir::DataType::kFloat}, {"f8", ir::DataType::kDouble}, {"f2", ir::DataType::kFloat16},
    {"i1", ir::DataType::kInt8},  {"u1", ir::DataType::kUint8},  {"i2", ir::DataType::kInt16},
    {"u2", ir::DataType::kUint16}, {"i4", ir::DataType::kInt32}, {"u4", ir::DataType::kUint32},
    {"i8", ir::DataType::kInt64}, {"u8", ir::DataType::kUint64}, {"b1", ir::DataType::kBool},
};

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// The value text after 'key': in a Python dict literal header. A tuple without its ')'
// is refused: read on to the end of the header, it would pass for a shape.
std::string header_field(const std::string& header, const std::string& key) {
  auto k = header.find("'" + key + "'");
  if (k == std::string::npos) fail("npy header has no '{}'", key);
  auto colon = header.find(':', k);
  auto start = colon == std::string::npos ? colon : header.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos) fail("npy header has no value for '{}'", key);
  if (header[start] == '(') {
    auto close = header.find(')', start);
    if (close == std::string::npos)
      fail("npy header: '{}' is not a closed tuple such as (2, 3): '{}'", key, trim(header.substr(start)));
    return header.substr(start, close - start + 1);
  }
  auto end = header.find_first_of(",}", start);
  return header.substr(start, end - start);
}

// One dim of 'shape': decimal digits that fit int64_t, with the 'L' that Python 2's
// NumPy wrote after longs. A dim that is anything else is a damaged header to report,
// not a number to guess (std::stoll took "-4" and "2x" and threw on "abc").
int64_t parse_dim(const std::string& shape, const std::string& part) {
  std::string digits = part.size() > 1 && part.back() == 'L' ? part.substr(0, part.size() - 1) : part;
  bool too_large = false;
  std::optional<int64_t> v = decimal_digits(digits, &too_large);
  if (too_large) fail("npy header: 'shape' {}: '{}' is too large", shape, part);
  if (!v) fail("npy header: 'shape' {}: '{}' is not a dimension (an integer >= 0)", shape, part);
  return *v;
}

// 'shape' as NumPy writes it: (), (3,), (2, 3).
std::vector<int64_t> parse_shape(const std::string& shape) {
  if (shape.empty() || shape.front() != '(') fail("npy header: 'shape' is not a tuple such as (2, 3): '{}'", shape);
  std::vector<std::string> parts = split(shape.substr(1, shape.size() - 2), ',');
  std::vector<int64_t> dims;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string part = trim(parts[i]);
    // Empty are the inside of () and what follows the comma of (3,); any other is a typo.
    bool allowed_empty = parts.size() == 1 || (i > 0 && i + 1 == parts.size());
    if (part.empty() && allowed_empty) continue;
    if (part.empty()) fail("npy header: 'shape' {} has an empty dimension", shape);
    dims.push_back(parse_dim(shape, part));
  }
  return dims;
}

}  // namespace

ir::Tensor read_npy(const std::string& path) {
  std::string bytes = read_input_file(path);
  try {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) fail("not a NumPy .npy file");
    int major = static_cast<uint8_t>(bytes[6]);
    size_t header_len, offset;
    if (major == 1) {
      header_len = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
      offset = 10;
    } else if (major == 2 || major == 3) {
      if (bytes.size() < 12) fail("truncated .npy header");
      uint32_t len;
      std::memcpy(&len, bytes.data() + 8, 4);
      header_len = len;
      offset = 12;
    } else {
      fail("unsupported .npy format version {}", major);
    }
    if (offset + header_len > bytes.size()) fail("truncated .npy header");
    std::string header = bytes.substr(offset, header_len);
    std::string descr = header_field(header, "descr");
    std::string fortran = header_field(header, "fortran_order");
    std::string shape = header_field(header, "shape");
    if (fortran.find("True") != std::string::npos) fail("Fortran-order arrays are not supported; save in C order");
    if (descr.size() < 4) fail("unreadable dtype {}", descr);
    char endian = descr[1];
    std::string code = descr.substr(2, descr.size() - 3);
    if (endian == '>' && code != "i1" && code != "u1" && code != "b1") fail("big-endian arrays are not supported");
    ir::DataType dtype = ir::DataType::kUndefined;
    for (const auto& d : kDescrs)
      if (code == d.code) dtype = d.dtype;
    if (dtype == ir::DataType::kUndefined) fail("unsupported dtype {}", descr);
    std::vector<int64_t> dims = parse_shape(shape);
    size_t data_start = offset + header_len;
    int64_t numel = ir::checked_numel(dims);
    size_t want = static_cast<size_t>(numel) * ir::size_of(dtype);
    if (bytes.size() - data_start != want)
      fail("has {} data bytes but shape {} of {} needs {}", bytes.size() - data_start, shape, ir::name(dtype), want);
    return ir::Tensor(dtype, dims, std::vector<uint8_t>(bytes.begin() + data_start, bytes.end()));
  } catch (Error& e) {
    e.with_context(path);
    throw;
  }
}

void write_npy(const std::string& path, const ir::Tensor& t) {
  const char* code = nullptr;
  for (const auto& d : kDescrs)
    if (d.dtype == t.dtype()) code = d.code;
  if (!code) throw Error(fmt::format("{}: cannot write a {} tensor as .npy", path, ir::name(t.dtype())));
  // Python tuple syntax: (), (3,), (2, 3)
  std::vector<std::string> dim_text;
  for (int64_t d : t.dims()) dim_text.push_back(std::to_string(d));
  std::string shape = "(" + join(dim_text, ", ") + (dim_text.size() == 1 ? ",)" : ")");
  char endian = (t.dtype() == ir::DataType::kInt8 || t.dtype() == ir::DataType::kUint8 || t.dtype() == ir::DataType::kBool) ? '|' : '<';
  std::string header = fmt::format("{{'descr': '{}{}', 'fortran_order': False, 'shape': {}, }}", endian, code, shape);
  write_file_atomic(path, npy_file_bytes(header, {reinterpret_cast<const char*>(t.raw()), t.byte_size()}));
}

std::string npy_file_bytes(std::string header, std::string_view data) {
  size_t total = 10 + header.size() + 1;  // magic, version and length; the newline
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out += data;
  return out;
}

}  // namespace pare::formats
