#include "lib/ir/dtype.h"

namespace pare::ir {

size_t size_of(DataType t) {
  switch (t) {
    case DataType::kFloat: return 4;
    case DataType::kUint8: return 1;
    case DataType::kInt8: return 1;
    case DataType::kUint16: return 2;
    case DataType::kInt16: return 2;
    case DataType::kInt32: return 4;
    case DataType::kInt64: return 8;
    case DataType::kBool: return 1;
    case DataType::kFloat16: return 2;
    case DataType::kDouble: return 8;
    case DataType::kUint32: return 4;
    case DataType::kUint64: return 8;
    case DataType::kComplex64: return 8;
    case DataType::kComplex128: return 16;
    case DataType::kBfloat16: return 2;
    case DataType::kString:
    case DataType::kUint4:
    case DataType::kInt4:
    case DataType::kUndefined: return 0;
  }
  return 0;
}

std::string_view name(DataType t) {
  switch (t) {
    case DataType::kUndefined: return "undefined";
    case DataType::kFloat: return "float";
    case DataType::kUint8: return "uint8";
    case DataType::kInt8: return "int8";
    case DataType::kUint16: return "uint16";
    case DataType::kInt16: return "int16";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kString: return "string";
    case DataType::kBool: return "bool";
    case DataType::kFloat16: return "float16";
    case DataType::kDouble: return "double";
    case DataType::kUint32: return "uint32";
    case DataType::kUint64: return "uint64";
    case DataType::kComplex64: return "complex64";
    case DataType::kComplex128: return "complex128";
    case DataType::kBfloat16: return "bfloat16";
    case DataType::kUint4: return "uint4";
    case DataType::kInt4: return "int4";
  }
  return "unknown";
}

bool is_valid_dtype(int32_t v) { return (v >= 0 && v <= 16) || v == 21 || v == 22; }

bool is_4bit(DataType t) { return t == DataType::kUint4 || t == DataType::kInt4; }

uint64_t storage_bytes(DataType t, uint64_t numel) { return is_4bit(t) ? (numel + 1) / 2 : numel * size_of(t); }

int8_t load_4bit(DataType t, const uint8_t* bytes, uint64_t i) {
  int v = (bytes[i / 2] >> (4 * (i % 2))) & 0xF;
  return static_cast<int8_t>(t == DataType::kInt4 && v >= 8 ? v - 16 : v);
}

bool is_float(DataType t) {
  return t == DataType::kFloat || t == DataType::kDouble || t == DataType::kFloat16 || t == DataType::kBfloat16;
}

bool is_integer(DataType t) {
  switch (t) {
    case DataType::kUint8: case DataType::kInt8: case DataType::kUint16: case DataType::kInt16:
    case DataType::kInt32: case DataType::kInt64: case DataType::kUint32: case DataType::kUint64:
    case DataType::kUint4: case DataType::kInt4:
      return true;
    default:
      return false;
  }
}

}  // namespace pare::ir
