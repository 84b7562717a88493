// Element types. The numeric values equal onnx.TensorProto.DataType, so the
// format layer converts with a cast and nothing else needs a table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pare::ir {

enum class DataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBfloat16 = 16,
  // 4-bit integers (opset 21): two per byte, the first element in the low nibble;
  // an odd count leaves the last high nibble 0. size_of() is 0 for them: byte
  // counts come from storage_bytes(), and kernels that copy elements by size
  // refuse them (only Cast and DequantizeLinear read them).
  kUint4 = 21,
  kInt4 = 22,
};

// Bytes per element; 0 for kUndefined and kString (strings are stored apart).
size_t size_of(DataType t);
// True for kInt4 and kUint4.
bool is_4bit(DataType t);
// Bytes that `numel` elements take in memory and in ONNX raw_data (packed for 4-bit types).
uint64_t storage_bytes(DataType t, uint64_t numel);
// Element i of a packed 4-bit buffer, sign-extended for kInt4.
int8_t load_4bit(DataType t, const uint8_t* bytes, uint64_t i);
// Lower-case ONNX spelling: "float", "float16", "int64", "bool".
std::string_view name(DataType t);
// True for a value of 0..16, 21 or 22: a known element type.
bool is_valid_dtype(int32_t v);
bool is_float(DataType t);    // float, double, float16, bfloat16
bool is_integer(DataType t);  // signed or unsigned integer types

template <typename T> constexpr DataType dtype_of();
template <> constexpr DataType dtype_of<float>() { return DataType::kFloat; }
template <> constexpr DataType dtype_of<double>() { return DataType::kDouble; }
template <> constexpr DataType dtype_of<int8_t>() { return DataType::kInt8; }
template <> constexpr DataType dtype_of<uint8_t>() { return DataType::kUint8; }
template <> constexpr DataType dtype_of<int16_t>() { return DataType::kInt16; }
template <> constexpr DataType dtype_of<uint16_t>() { return DataType::kUint16; }
template <> constexpr DataType dtype_of<int32_t>() { return DataType::kInt32; }
template <> constexpr DataType dtype_of<uint32_t>() { return DataType::kUint32; }
template <> constexpr DataType dtype_of<int64_t>() { return DataType::kInt64; }
template <> constexpr DataType dtype_of<uint64_t>() { return DataType::kUint64; }
template <> constexpr DataType dtype_of<bool>() { return DataType::kBool; }

}  // namespace pare::ir
