// A constant tensor: element type, dims and shared, immutable bytes.
//
// Copies are cheap (the bytes are shared). A pass that changes a weight builds
// a new Tensor. Bytes are little-endian, densely packed, in row-major order:
// exactly ONNX's raw_data layout. Strings are held apart.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "lib/base/error.h"
#include "lib/ir/dtype.h"

namespace pare::ir {

class Tensor {
 public:
  Tensor() = default;
  // Throws pare::Error when bytes.size() does not match dims and dtype.
  Tensor(DataType dtype, std::vector<int64_t> dims, std::vector<uint8_t> bytes);
  static Tensor strings(std::vector<int64_t> dims, std::vector<std::string> values);
  static Tensor zeros(DataType dtype, std::vector<int64_t> dims);

  template <typename T>
  static Tensor from(std::vector<int64_t> dims, const std::vector<T>& values) {
    std::vector<uint8_t> bytes(values.size() * sizeof(T));
    if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> is bit-packed: copy one by one
      for (size_t i = 0; i < values.size(); ++i) bytes[i] = values[i] ? 1 : 0;
    } else if (!values.empty()) {
      std::memcpy(bytes.data(), values.data(), bytes.size());
    }
    return Tensor(dtype_of<T>(), std::move(dims), std::move(bytes));
  }
  template <typename T>
  static Tensor scalar(T v) { return from<T>({}, {v}); }

  DataType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  size_t rank() const { return dims_.size(); }
  int64_t numel() const { return numel_; }
  size_t byte_size() const { return bytes_ ? bytes_->size() : 0; }
  const uint8_t* raw() const { return bytes_ ? bytes_->data() : nullptr; }
  const std::vector<std::string>& string_values() const;

  template <typename T>
  std::span<const T> span() const {
    PARE_CHECK(dtype_of<T>() == dtype_ || (sizeof(T) == 2 && size_of(dtype_) == 2),
               "tensor of {} read as another type", name(dtype_));
    return {reinterpret_cast<const T*>(raw()), static_cast<size_t>(numel_)};
  }

  // Any integer or bool tensor as int64 values (shapes, axes, indices).
  std::vector<int64_t> as_int64() const;
  // Any numeric tensor as double values (for stats and small scalars).
  std::vector<double> as_double() const;
  // Any float type (float, float16, double, bfloat16) as float values.
  std::vector<float> as_float() const;

  bool same_content(const Tensor& other) const;

 private:
  DataType dtype_ = DataType::kUndefined;
  std::vector<int64_t> dims_;
  int64_t numel_ = 0;
  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  std::shared_ptr<const std::vector<std::string>> strings_;
};

}  // namespace pare::ir
