// Element access by value for the reference kernels of rarely hot ops (losses,
// scatter/gather, signal ops...): read any numeric element as double or int64,
// write one back in the tensor's own type. Slower than typed loops, but one
// code path per op serves float, double, float16 and every integer type.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "lib/base/fp16.h"
#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

inline bool is_numeric(DataType t) {
  switch (t) {
    case DataType::kFloat: case DataType::kDouble: case DataType::kFloat16: case DataType::kInt8:
    case DataType::kUint8: case DataType::kInt16: case DataType::kUint16: case DataType::kInt32:
    case DataType::kUint32: case DataType::kInt64: case DataType::kUint64: case DataType::kBool:
      return true;
    default:
      return false;
  }
}

inline bool is_real(DataType t) {
  return t == DataType::kFloat || t == DataType::kDouble || t == DataType::kFloat16;
}

// Refuses an input that does not hold real numbers (kernels computed in double).
inline void check_real(const KernelContext& ctx, const TensorView& x) {
  if (!is_real(x.dtype)) compute_error(ctx, fmt::format("{} inputs are not supported (float, double, float16)", ir::name(x.dtype)));
}

// Element i as double (int64 beyond 2^53 loses precision: use get_int for indices).
inline double get(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DataType::kFloat: return static_cast<const float*>(t.data)[i];
    case DataType::kDouble: return static_cast<const double*>(t.data)[i];
    case DataType::kFloat16: return half_to_float(static_cast<const uint16_t*>(t.data)[i]);
    case DataType::kInt8: return static_cast<const int8_t*>(t.data)[i];
    case DataType::kUint8: return static_cast<const uint8_t*>(t.data)[i];
    case DataType::kInt16: return static_cast<const int16_t*>(t.data)[i];
    case DataType::kUint16: return static_cast<const uint16_t*>(t.data)[i];
    case DataType::kInt32: return static_cast<const int32_t*>(t.data)[i];
    case DataType::kUint32: return static_cast<const uint32_t*>(t.data)[i];
    case DataType::kInt64: return static_cast<double>(static_cast<const int64_t*>(t.data)[i]);
    case DataType::kUint64: return static_cast<double>(static_cast<const uint64_t*>(t.data)[i]);
    case DataType::kBool: return static_cast<const bool*>(t.data)[i] ? 1 : 0;
    default: fail("{} elements are not numbers", ir::name(t.dtype));
  }
}

// Element i of an integer (or bool) tensor, exactly.
inline int64_t get_int(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DataType::kInt64: return static_cast<const int64_t*>(t.data)[i];
    case DataType::kUint64: return static_cast<int64_t>(static_cast<const uint64_t*>(t.data)[i]);
    case DataType::kInt32: return static_cast<const int32_t*>(t.data)[i];
    case DataType::kUint32: return static_cast<const uint32_t*>(t.data)[i];
    default: return static_cast<int64_t>(get(t, i));
  }
}

// Writes v (rounded toward zero for integers) as element i in t's type.
inline void put(TensorView& t, int64_t i, double v) {
  switch (t.dtype) {
    case DataType::kFloat: static_cast<float*>(t.data)[i] = static_cast<float>(v); break;
    case DataType::kDouble: static_cast<double*>(t.data)[i] = v; break;
    case DataType::kFloat16: static_cast<uint16_t*>(t.data)[i] = float_to_half(static_cast<float>(v)); break;
    case DataType::kInt8: static_cast<int8_t*>(t.data)[i] = static_cast<int8_t>(v); break;
    case DataType::kUint8: static_cast<uint8_t*>(t.data)[i] = static_cast<uint8_t>(v); break;
    case DataType::kInt16: static_cast<int16_t*>(t.data)[i] = static_cast<int16_t>(v); break;
    case DataType::kUint16: static_cast<uint16_t*>(t.data)[i] = static_cast<uint16_t>(v); break;
    case DataType::kInt32: static_cast<int32_t*>(t.data)[i] = static_cast<int32_t>(v); break;
    case DataType::kUint32: static_cast<uint32_t*>(t.data)[i] = static_cast<uint32_t>(v); break;
    case DataType::kInt64: static_cast<int64_t*>(t.data)[i] = static_cast<int64_t>(v); break;
    case DataType::kUint64: static_cast<uint64_t*>(t.data)[i] = static_cast<uint64_t>(v); break;
    case DataType::kBool: static_cast<bool*>(t.data)[i] = v != 0; break;
    default: fail("{} elements are not numbers", ir::name(t.dtype));
  }
}

// Writes an integer exactly (for int64 outputs: indices, counts).
inline void put_int(TensorView& t, int64_t i, int64_t v) {
  switch (t.dtype) {
    case DataType::kInt64: static_cast<int64_t*>(t.data)[i] = v; break;
    case DataType::kUint64: static_cast<uint64_t*>(t.data)[i] = static_cast<uint64_t>(v); break;
    case DataType::kInt32: static_cast<int32_t*>(t.data)[i] = static_cast<int32_t>(v); break;
    case DataType::kUint32: static_cast<uint32_t*>(t.data)[i] = static_cast<uint32_t>(v); break;
    default: put(t, i, static_cast<double>(v));
  }
}

// Copies element `from` of src to element `to` of dst (same dtype), bytewise.
inline void copy_element(const TensorView& src, int64_t from, TensorView& dst, int64_t to) {
  size_t es = ir::size_of(src.dtype);
  std::memcpy(static_cast<uint8_t*>(dst.data) + to * es, static_cast<const uint8_t*>(src.data) + from * es, es);
}

// Row-major strides of dims.
inline std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

inline int64_t product(const std::vector<int64_t>& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < d.size(); ++i) p *= d[i];
  return p;
}

// The input i, or a compute error naming it when it is absent.
inline const TensorView& required(const KernelContext& ctx, size_t i) {
  const TensorView* t = ctx.input(i);
  if (!t) compute_error(ctx, fmt::format("input {} is required", i));
  return *t;
}

}  // namespace pare::rt::kernels
