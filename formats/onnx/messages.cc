// Decoding of the ONNX messages pare reads (messages.h), field by field.
// Semantics follow protobuf's for proto2: a scalar given twice keeps the last
// value, an embedded message given twice is merged, a repeated scalar may be
// packed or not, an enum value the schema does not know is ignored, and a field
// whose wire type does not match its declaration is skipped as unknown.
#include "formats/onnx/messages.h"

#include "formats/onnx/wire.h"

namespace pare::formats::onnx::msg {
namespace {
using wire::Field;
using wire::Reader;

using wire::kMaxDepth;

// The ONNX messages pare does not keep but protobuf parses (so a damaged one
// makes protobuf refuse the file): which of their fields are messages, so
// validate() walks them as protobuf would, down to the last level.
enum class Kind { kLeaf, kEntry, kGraph, kNode, kAttribute, kTensor, kSparseTensor, kValueInfo, kType, kTypeTensor,
                  kTypeInner, kTypeMap, kShape, kTraining, kFunction, kOpsetId, kAnnotation };

struct Sub {
  uint32_t field;
  Kind kind;
};

std::vector<Sub> subs(Kind k) {
  switch (k) {
    case Kind::kGraph: return {{1, Kind::kNode}, {5, Kind::kTensor}, {15, Kind::kSparseTensor}, {11, Kind::kValueInfo},
                               {12, Kind::kValueInfo}, {13, Kind::kValueInfo}, {14, Kind::kAnnotation}};
    case Kind::kNode: return {{5, Kind::kAttribute}};
    case Kind::kAttribute: return {{5, Kind::kTensor}, {6, Kind::kGraph}, {22, Kind::kSparseTensor}, {14, Kind::kType},
                                   {10, Kind::kTensor}, {11, Kind::kGraph}, {23, Kind::kSparseTensor}, {15, Kind::kType}};
    case Kind::kTensor: return {{3, Kind::kLeaf}, {13, Kind::kEntry}};
    case Kind::kSparseTensor: return {{1, Kind::kTensor}, {2, Kind::kTensor}};
    case Kind::kValueInfo: return {{2, Kind::kType}};
    // tensor_type, sequence_type, map_type, opaque_type, sparse_tensor_type, optional_type
    case Kind::kType: return {{1, Kind::kTypeTensor}, {4, Kind::kTypeInner}, {5, Kind::kTypeMap}, {7, Kind::kLeaf},
                              {8, Kind::kTypeTensor}, {9, Kind::kTypeInner}};
    case Kind::kTypeTensor: return {{2, Kind::kShape}};
    case Kind::kTypeInner: return {{1, Kind::kType}};
    case Kind::kTypeMap: return {{2, Kind::kType}};
    case Kind::kShape: return {{1, Kind::kLeaf}};
    case Kind::kTraining: return {{1, Kind::kGraph}, {2, Kind::kEntry}, {3, Kind::kGraph}, {4, Kind::kEntry}};
    case Kind::kFunction: return {{7, Kind::kNode}, {9, Kind::kOpsetId}};
    case Kind::kAnnotation: return {{2, Kind::kEntry}};
    default: return {};
  }
}

// Checks that `bytes` parse as a message of kind `k` and every message inside
// it does, `depth` levels down; throws WireError where protobuf would fail.
void validate(std::string_view bytes, Kind k, int depth) {
  if (depth > kMaxDepth) throw wire::WireError("messages nested more than 100 deep");
  std::vector<Sub> inner = subs(k);
  Reader r(bytes);
  while (!r.done()) {
    Field f = r.next(depth);
    if (f.type != wire::kLengthDelimited) continue;
    for (const Sub& s : inner)
      if (s.field == f.number) validate(f.bytes, s.kind, depth + 1);
  }
}

struct Decoder {
  int depth = 0;

  // Runs fn(field) on each field of the message in `bytes`, one level deeper.
  template <typename Fn>
  void fields(std::string_view bytes, Fn&& fn) {
    if (++depth > kMaxDepth) throw wire::WireError("messages nested more than 100 deep");
    Reader r(bytes);
    while (!r.done()) fn(r.next(depth));
    --depth;
  }

  // A field pare does not keep, checked as protobuf parses it.
  void skip(const Field& f, Kind k) {
    if (f.type == wire::kLengthDelimited) validate(f.bytes, k, depth + 1);
  }

  static bool len(const Field& f) { return f.type == wire::kLengthDelimited; }
  static bool var(const Field& f) { return f.type == wire::kVarint; }
  static std::string str(const Field& f) { return std::string(f.bytes); }

  void entry(std::string_view b, Entry& e) {
    fields(b, [&](const Field& f) {
      if (f.number == 1 && len(f)) e.key = str(f);
      else if (f.number == 2 && len(f)) e.value = str(f);
    });
  }

  void tensor(std::string_view b, Tensor& t) {
    fields(b, [&](const Field& f) {
      switch (f.number) {
        case 1: wire::for_each_varint(f, [&](uint64_t v) { t.dims.push_back(static_cast<int64_t>(v)); }); break;
        case 2: if (var(f)) t.data_type = wire::as_int32(f); break;
        case 3: if (len(f)) { t.has_segment = true; skip(f, Kind::kLeaf); } break;
        case 4: wire::for_each_fixed32(f, [&](uint32_t v) { t.float_data.push_back(wire::as_float({0, 0, v, {}})); }); break;
        case 5: wire::for_each_varint(f, [&](uint64_t v) { t.int32_data.push_back(static_cast<int32_t>(static_cast<uint32_t>(v))); }); break;
        case 6: if (len(f)) t.string_data.push_back(str(f)); break;
        case 7: wire::for_each_varint(f, [&](uint64_t v) { t.int64_data.push_back(static_cast<int64_t>(v)); }); break;
        case 8: if (len(f)) t.name = str(f); break;
        case 9: if (len(f)) { t.has_raw_data = true; t.raw_data = f.bytes; } break;
        case 10: wire::for_each_fixed64(f, [&](uint64_t v) { t.double_data.push_back(wire::as_double({0, 0, v, {}})); }); break;
        case 11: wire::for_each_varint(f, [&](uint64_t v) { t.uint64_data.push_back(v); }); break;
        case 12: if (len(f)) t.doc_string = str(f); break;
        case 13: if (len(f)) entry(f.bytes, t.external_data.emplace_back()); break;
        case 14: if (var(f) && f.varint <= 1) t.data_location = static_cast<int>(f.varint); break;
        default: break;
      }
    });
  }

  void dim(std::string_view b, Dim& d) {
    fields(b, [&](const Field& f) {
      if (f.number == 1 && var(f)) {
        d.kind = Dim::kValue;
        d.value = wire::as_int64(f);
        d.param.clear();
      } else if (f.number == 2 && len(f)) {
        d.kind = Dim::kParam;
        d.param = str(f);
      }
    });
  }

  void tensor_type(std::string_view b, Type& t) {
    fields(b, [&](const Field& f) {
      if (f.number == 1 && var(f)) t.elem_type = wire::as_int32(f);
      else if (f.number == 2 && len(f)) {
        t.has_shape = true;
        fields(f.bytes, [&](const Field& s) {
          if (s.number == 1 && len(s)) dim(s.bytes, t.dims.emplace_back());
        });
      }
    });
  }

  void type(std::string_view b, Type& t) {
    fields(b, [&](const Field& f) {
      if (!len(f)) return;
      if (f.number == 1) {
        if (t.kind != Type::kTensor) t = Type{Type::kTensor};
        tensor_type(f.bytes, t);
      } else if (f.number == 4 || f.number == 9) {  // a sequence or optional type: checked, not kept
        skip(f, Kind::kTypeInner);
        t = Type{Type::kOther};
      } else if (f.number == 5 || f.number == 7 || f.number == 8) {  // map, opaque, sparse tensor
        skip(f, f.number == 5 ? Kind::kTypeMap : f.number == 7 ? Kind::kLeaf : Kind::kTypeTensor);
        t = Type{Type::kOther};
      }
    });
  }

  void value_info(std::string_view b, ValueInfo& v) {
    fields(b, [&](const Field& f) {
      if (!len(f)) return;
      if (f.number == 1) v.name = str(f);
      else if (f.number == 2) type(f.bytes, v.type);
      else if (f.number == 3) v.doc_string = str(f);
    });
  }

  void attribute(std::string_view b, Attribute& a) {
    fields(b, [&](const Field& f) {
      switch (f.number) {
        case 1: if (len(f)) a.name = str(f); break;
        case 21: if (len(f)) a.ref_attr_name = str(f); break;
        case 13: if (len(f)) a.doc_string = str(f); break;
        case 20: if (var(f) && f.varint <= Attribute::kTypeProtos) a.type = static_cast<int>(f.varint); break;
        case 2: if (f.type == wire::kFixed32) a.f = wire::as_float(f); break;
        case 3: if (var(f)) a.i = wire::as_int64(f); break;
        case 4: if (len(f)) a.s = str(f); break;
        case 5: if (len(f)) tensor(f.bytes, a.t); break;
        case 6: if (len(f)) { if (a.g.empty()) a.g.emplace_back(); graph(f.bytes, a.g[0]); } break;
        case 7: wire::for_each_fixed32(f, [&](uint32_t v) { a.floats.push_back(wire::as_float({0, 0, v, {}})); }); break;
        case 8: wire::for_each_varint(f, [&](uint64_t v) { a.ints.push_back(static_cast<int64_t>(v)); }); break;
        case 9: if (len(f)) a.strings.push_back(str(f)); break;
        case 10: if (len(f)) tensor(f.bytes, a.tensors.emplace_back()); break;
        case 11: if (len(f)) graph(f.bytes, a.graphs.emplace_back()); break;
        case 14: case 15: skip(f, Kind::kType); break;  // type protos and sparse tensors: checked, not kept
        case 22: case 23: skip(f, Kind::kSparseTensor); break;
        default: break;
      }
    });
  }

  void node(std::string_view b, Node& n) {
    fields(b, [&](const Field& f) {
      if (!len(f)) return;
      switch (f.number) {
        case 1: n.input.push_back(str(f)); break;
        case 2: n.output.push_back(str(f)); break;
        case 3: n.name = str(f); break;
        case 4: n.op_type = str(f); break;
        case 5: attribute(f.bytes, n.attribute.emplace_back()); break;
        case 6: n.doc_string = str(f); break;
        case 7: n.domain = str(f); break;
        default: break;
      }
    });
  }

  void graph(std::string_view b, Graph& g) {
    fields(b, [&](const Field& f) {
      if (!len(f)) return;
      switch (f.number) {
        case 1: node(f.bytes, g.node.emplace_back()); break;
        case 2: g.name = str(f); break;
        case 5: tensor(f.bytes, g.initializer.emplace_back()); break;
        case 10: g.doc_string = str(f); break;
        case 11: value_info(f.bytes, g.input.emplace_back()); break;
        case 12: value_info(f.bytes, g.output.emplace_back()); break;
        case 13: value_info(f.bytes, g.value_info.emplace_back()); break;
        case 14: skip(f, Kind::kAnnotation); break;
        case 15: skip(f, Kind::kSparseTensor); ++g.sparse_initializers; break;
        default: break;
      }
    });
  }

  void model(std::string_view b, Model& m) {
    fields(b, [&](const Field& f) {
      switch (f.number) {
        case 1: if (var(f)) m.ir_version = wire::as_int64(f); break;
        case 2: if (len(f)) m.producer_name = str(f); break;
        case 3: if (len(f)) m.producer_version = str(f); break;
        case 4: if (len(f)) m.domain = str(f); break;
        case 5: if (var(f)) m.model_version = wire::as_int64(f); break;
        case 6: if (len(f)) m.doc_string = str(f); break;
        case 7: if (len(f)) { m.has_graph = true; graph(f.bytes, m.graph); } break;
        case 8:
          if (len(f)) {
            OpsetId& o = m.opset_import.emplace_back();
            fields(f.bytes, [&](const Field& g) {
              if (g.number == 1 && len(g)) o.domain = str(g);
              else if (g.number == 2 && var(g)) o.version = wire::as_int64(g);
            });
          }
          break;
        case 14: if (len(f)) entry(f.bytes, m.metadata_props.emplace_back()); break;
        case 20: if (len(f)) { skip(f, Kind::kTraining); ++m.training_infos; } break;
        case 25: if (len(f)) { skip(f, Kind::kFunction); ++m.functions; } break;
        default: break;
      }
    });
  }
};

}  // namespace

Model decode_model(std::string_view bytes) {
  Model m;
  Decoder d;
  --d.depth;  // the model itself is level 0, as protobuf counts
  d.model(bytes, m);
  return m;
}

Tensor decode_tensor(std::string_view bytes) {
  Tensor t;
  Decoder d;
  --d.depth;
  d.tensor(bytes, t);
  return t;
}

std::string encode_tensor(const std::vector<int64_t>& dims, int32_t data_type, const std::string& name,
                          std::string_view raw_data, const std::vector<std::string>* string_data) {
  wire::Writer w;
  for (int64_t d : dims) w.varint_field(1, static_cast<uint64_t>(d));
  w.varint_field(2, static_cast<uint64_t>(static_cast<int64_t>(data_type)));
  if (string_data)
    for (const auto& s : *string_data) w.bytes_field(6, s);
  if (!name.empty()) w.bytes_field(8, name);
  if (!string_data) w.bytes_field(9, raw_data);
  return w.bytes();
}

}  // namespace pare::formats::onnx::msg
