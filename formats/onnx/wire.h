// Protocol Buffers' wire format, read and written by pare itself, so the
// runtime (libpare_runtime, pare-run) needs neither libprotobuf nor libonnx.
//
// A message is a sequence of fields: a varint key (field number << 3 | wire
// type) then a varint, a fixed 4 or 8 bytes, or a varint length and that many
// bytes (strings, bytes, embedded messages and packed repeated scalars). Every
// read is checked against the end of its buffer; a key, length or varint that
// does not fit is a WireError, never a read past the end.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pare::formats::onnx::wire {

// A malformed buffer. The caller words it ("not a valid ONNX model: ...") and
// names the file.
struct WireError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

// Nesting deeper than this (messages and groups) is refused, as protobuf's
// default recursion limit refuses it.
inline constexpr int kMaxDepth = 100;

struct Field {
  uint32_t number = 0;
  int type = 0;
  uint64_t varint = 0;     // kVarint, and kFixed32/kFixed64 bits
  std::string_view bytes;  // kLengthDelimited
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ == data_.size(); }
  // The next field; throws WireError on a bad key (field 0, wire types 6 and 7,
  // an end-group without its start) or a value that runs past the end. A group
  // (no ONNX field is one, but protobuf keeps them as unknown fields) is skipped
  // whole and returned as a field of type kStartGroup. `depth` is the nesting
  // of the message being read, so groups count toward kMaxDepth.
  Field next(int depth = 0) { return next_field(depth, false); }

 private:
  Field next_field(int depth, bool in_group);
  uint64_t varint();
  void skip_group(uint32_t number, int depth);
  std::string_view take(uint64_t n);
  std::string_view data_;
  size_t pos_ = 0;
};

// Decoders of a field's value, for the scalar kinds ONNX uses. A repeated
// scalar may come packed (one length-delimited field) or one field per value;
// for_each_* accept both.
int64_t as_int64(const Field& f);   // int64, and the enum/int32 fields (truncated as protobuf does)
int32_t as_int32(const Field& f);
float as_float(const Field& f);
double as_double(const Field& f);
bool is_scalar(const Field& f, int wire_type);  // the field has the wire type its declaration expects

// Calls fn(uint64_t) for each varint of a packed or unpacked repeated field.
template <typename Fn>
void for_each_varint(const Field& f, Fn&& fn);
template <typename Fn>
void for_each_fixed32(const Field& f, Fn&& fn);
template <typename Fn>
void for_each_fixed64(const Field& f, Fn&& fn);

// Builds a message: fields in the order written.
class Writer {
 public:
  void varint_field(uint32_t number, uint64_t v);
  void bytes_field(uint32_t number, std::string_view bytes);
  const std::string& bytes() const { return out_; }

 private:
  void key(uint32_t number, int type);
  void varint(uint64_t v);
  std::string out_;
};

// ---- implementation of the templates ----

template <typename Fn>
void for_each_varint(const Field& f, Fn&& fn) {
  if (f.type == kVarint) return fn(f.varint);
  if (f.type != kLengthDelimited) return;  // wrong wire type: an unknown field, as protobuf treats it
  // A packed run is a message of bare varints: read them with a Reader over a
  // synthetic key-less stream.
  std::string_view d = f.bytes;
  size_t pos = 0;
  while (pos < d.size()) {
    uint64_t v = 0;
    int shift = 0;
    while (true) {
      if (pos >= d.size() || shift >= 64) throw WireError("a packed varint runs past its field");
      uint8_t b = static_cast<uint8_t>(d[pos++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    fn(v);
  }
}

// fn(v) for each little-endian unsigned T of a packed field, or for the one
// value of an unpacked field of wire type `single`.
template <typename T, typename Fn>
void for_each_fixed(const Field& f, WireType single, Fn&& fn) {
  if (f.type == single) return fn(static_cast<T>(f.varint));
  if (f.type != kLengthDelimited) return;
  constexpr size_t kBytes = sizeof(T);
  if (f.bytes.size() % kBytes)
    throw WireError("a packed fixed" + std::to_string(kBytes * 8) + " field is not a multiple of " +
                    std::to_string(kBytes) + " bytes");
  for (size_t i = 0; i < f.bytes.size(); i += kBytes) {
    T v = 0;
    for (size_t k = kBytes; k-- > 0;) v = static_cast<T>((v << 8) | static_cast<uint8_t>(f.bytes[i + k]));
    fn(v);
  }
}

template <typename Fn>
void for_each_fixed32(const Field& f, Fn&& fn) {
  for_each_fixed<uint32_t>(f, kFixed32, fn);
}

template <typename Fn>
void for_each_fixed64(const Field& f, Fn&& fn) {
  for_each_fixed<uint64_t>(f, kFixed64, fn);
}

}  // namespace pare::formats::onnx::wire
