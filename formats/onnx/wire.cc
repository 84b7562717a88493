#include "formats/onnx/wire.h"

#include <cstring>

namespace pare::formats::onnx::wire {

uint64_t Reader::varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) throw WireError("truncated");
    uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  throw WireError("a varint longer than 10 bytes");
}

std::string_view Reader::take(uint64_t n) {
  // Compared without pos_ + n, which could overflow for a huge length.
  if (n > data_.size() - pos_) throw WireError("truncated");
  std::string_view out = data_.substr(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

// Skips the fields of a group up to its end-group key with the same number.
void Reader::skip_group(uint32_t number, int depth) {
  if (depth > kMaxDepth) throw WireError("groups nested too deep");
  while (true) {
    Field f = next_field(depth, true);  // nested groups are skipped inside
    if (f.type == kEndGroup) {
      if (f.number != number) throw WireError("a group ends with another field's number");
      return;
    }
  }
}

Field Reader::next_field(int depth, bool in_group) {
  uint64_t key = varint();
  Field f;
  f.type = static_cast<int>(key & 7);
  if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) throw WireError("a field number out of range");
  f.number = static_cast<uint32_t>(key >> 3);
  switch (f.type) {
    case kVarint: f.varint = varint(); break;
    case kFixed64: {
      std::string_view b = take(8);
      for (int k = 7; k >= 0; --k) f.varint = (f.varint << 8) | static_cast<uint8_t>(b[k]);
      break;
    }
    case kFixed32: {
      std::string_view b = take(4);
      for (int k = 3; k >= 0; --k) f.varint = (f.varint << 8) | static_cast<uint8_t>(b[k]);
      break;
    }
    case kLengthDelimited: f.bytes = take(varint()); break;
    case kStartGroup: skip_group(f.number, depth + 1); break;
    case kEndGroup:
      if (!in_group) throw WireError("an end-group key outside a group");
      break;  // skip_group checks the number
    default: throw WireError("an unknown wire type");
  }
  return f;
}

int64_t as_int64(const Field& f) { return static_cast<int64_t>(f.varint); }
int32_t as_int32(const Field& f) { return static_cast<int32_t>(static_cast<uint32_t>(f.varint)); }

float as_float(const Field& f) {
  uint32_t bits = static_cast<uint32_t>(f.varint);
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

double as_double(const Field& f) {
  double v;
  std::memcpy(&v, &f.varint, 8);
  return v;
}

bool is_scalar(const Field& f, int wire_type) { return f.type == wire_type; }

void Writer::varint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void Writer::key(uint32_t number, int type) { varint((static_cast<uint64_t>(number) << 3) | static_cast<uint64_t>(type)); }

void Writer::varint_field(uint32_t number, uint64_t v) {
  key(number, kVarint);
  varint(v);
}

void Writer::bytes_field(uint32_t number, std::string_view bytes) {
  key(number, kLengthDelimited);
  varint(bytes.size());
  out_.append(bytes);
}

}  // namespace pare::formats::onnx::wire
