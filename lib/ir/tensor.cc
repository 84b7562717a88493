#include "lib/ir/tensor.h"

#include "lib/base/fp16.h"
#include "lib/ir/shape.h"

namespace pare::ir {

Tensor::Tensor(DataType dtype, std::vector<int64_t> dims, std::vector<uint8_t> bytes)
    : dtype_(dtype), dims_(std::move(dims)) {
  numel_ = checked_numel(dims_);
  if (dtype == DataType::kString) fail("string tensors are built with Tensor::strings");
  size_t es = size_of(dtype);
  if (es == 0 && !is_4bit(dtype)) fail("tensor has no element type");
  if ((es > 0 && static_cast<uint64_t>(numel_) > UINT64_MAX / es) ||
      storage_bytes(dtype, static_cast<uint64_t>(numel_)) != bytes.size())
    fail("tensor data has {} bytes but dims {} of {} need {}", bytes.size(), fmt::join(dims_, "x"), name(dtype),
         storage_bytes(dtype, static_cast<uint64_t>(numel_)));
  bytes_ = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
}

Tensor Tensor::strings(std::vector<int64_t> dims, std::vector<std::string> values) {
  Tensor t;
  t.dtype_ = DataType::kString;
  t.dims_ = std::move(dims);
  t.numel_ = checked_numel(t.dims_);
  if (static_cast<size_t>(t.numel_) != values.size())
    fail("string tensor has {} values but dims need {}", values.size(), t.numel_);
  t.strings_ = std::make_shared<const std::vector<std::string>>(std::move(values));
  return t;
}

Tensor Tensor::zeros(DataType dtype, std::vector<int64_t> dims) {
  int64_t n = checked_numel(dims);
  return Tensor(dtype, std::move(dims), std::vector<uint8_t>(storage_bytes(dtype, static_cast<uint64_t>(n)), 0));
}

const std::vector<std::string>& Tensor::string_values() const {
  static const std::vector<std::string> kEmpty;
  return strings_ ? *strings_ : kEmpty;
}

namespace {
template <typename Out, typename F>
std::vector<Out> convert(const Tensor& t, F&& from_float16) {
  std::vector<Out> out(static_cast<size_t>(t.numel()));
  const uint8_t* p = t.raw();
  auto load = [&](auto tag) {
    using T = decltype(tag);
    for (size_t i = 0; i < out.size(); ++i) {
      T v;
      std::memcpy(&v, p + i * sizeof(T), sizeof(T));
      out[i] = static_cast<Out>(v);
    }
  };
  switch (t.dtype()) {
    case DataType::kFloat: load(float{}); break;
    case DataType::kDouble: load(double{}); break;
    case DataType::kInt8: load(int8_t{}); break;
    case DataType::kUint8: load(uint8_t{}); break;
    case DataType::kInt16: load(int16_t{}); break;
    case DataType::kUint16: load(uint16_t{}); break;
    case DataType::kInt32: load(int32_t{}); break;
    case DataType::kUint32: load(uint32_t{}); break;
    case DataType::kInt64: load(int64_t{}); break;
    case DataType::kUint64: load(uint64_t{}); break;
    case DataType::kBool: load(uint8_t{}); break;
    case DataType::kUint4:
    case DataType::kInt4:
      for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<Out>(load_4bit(t.dtype(), p, i));
      break;
    case DataType::kFloat16:
    case DataType::kBfloat16:
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, p + i * 2, 2);
        out[i] = static_cast<Out>(from_float16(h, t.dtype() == DataType::kBfloat16));
      }
      break;
    default:
      fail("cannot read a {} tensor as numbers", name(t.dtype()));
  }
  return out;
}

float half_or_bf16(uint16_t h, bool bf16) {
  if (!bf16) return half_to_float(h);
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

std::vector<int64_t> Tensor::as_int64() const {
  if (!is_integer(dtype_) && dtype_ != DataType::kBool) fail("expected an integer tensor, got {}", name(dtype_));
  return convert<int64_t>(*this, half_or_bf16);
}

std::vector<double> Tensor::as_double() const { return convert<double>(*this, half_or_bf16); }

std::vector<float> Tensor::as_float() const { return convert<float>(*this, half_or_bf16); }

bool Tensor::same_content(const Tensor& o) const {
  if (dtype_ != o.dtype_ || dims_ != o.dims_) return false;
  if (dtype_ == DataType::kString) return string_values() == o.string_values();
  return byte_size() == o.byte_size() && (byte_size() == 0 || std::memcmp(raw(), o.raw(), byte_size()) == 0);
}

}  // namespace pare::ir
