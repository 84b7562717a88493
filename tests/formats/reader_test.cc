// pare's own ONNX reader (formats/onnx/wire.h, messages.h, read.h) against
// libprotobuf and libonnx: the decoded messages equal protobuf's parse field for
// field on every real model and ONNX conformance case, the runtime's reader
// builds the same IR as pare's loader, and malformed bytes are one error, never
// a crash or a read past the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>

#include <onnx/onnx_pb.h>

#include "formats/onnx/messages.h"
#include "formats/onnx/onnx.h"
#include "formats/onnx/proto_tensor.h"
#include "formats/onnx/read.h"
#include "formats/onnx/tensor_msg.h"
#include "formats/onnx/wire.h"
#include "lib/base/atomic_file.h"
#include "lib/runtime/session.h"
#include "tests/support/errors.h"
#include "tests/support/models.h"

namespace pare::formats::onnx {
namespace {
namespace fs = std::filesystem;
namespace pb = ::onnx;

// ---- field-by-field comparison of a decoded message with protobuf's ----
// Each returns "" when equal, else the path of the first difference.

template <typename A, typename B>
std::string same_list(const A& a, const B& b, const std::string& what) {
  if (static_cast<size_t>(a.size()) != static_cast<size_t>(b.size())) return what + ": count";
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[static_cast<int>(i)])) return what + "[" + std::to_string(i) + "]";
  return "";
}

#define PARE_SAME(expr)               \
  do {                                \
    std::string d_ = (expr);          \
    if (!d_.empty()) return d_;       \
  } while (0)
#define PARE_EQ(a, b, what) \
  if (!((a) == (b))) return what

// Key-value entries (external data locations, metadata) in order.
template <typename A, typename B>
std::string same_entries(const A& a, const B& b, const std::string& what) {
  PARE_EQ(a.size(), static_cast<size_t>(b.size()), what);
  for (size_t i = 0; i < a.size(); ++i) {
    PARE_EQ(a[i].key, b[static_cast<int>(i)].key(), what + " key");
    PARE_EQ(a[i].value, b[static_cast<int>(i)].value(), what + " value");
  }
  return "";
}

// Floats compared by bits (NaN payloads included).
bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }
bool same_bits(double a, double b) { return std::memcmp(&a, &b, 8) == 0; }

std::string same(const msg::Tensor& a, const pb::TensorProto& b) {
  PARE_SAME(same_list(a.dims, b.dims(), "dims"));
  PARE_EQ(a.data_type, b.data_type(), "data_type");
  PARE_EQ(a.has_segment, b.has_segment(), "segment");
  PARE_EQ(a.float_data.size(), static_cast<size_t>(b.float_data_size()), "float_data");
  for (size_t i = 0; i < a.float_data.size(); ++i) PARE_EQ(same_bits(a.float_data[i], b.float_data(i)), true, "float_data");
  PARE_SAME(same_list(a.int32_data, b.int32_data(), "int32_data"));
  PARE_SAME(same_list(a.string_data, b.string_data(), "string_data"));
  PARE_SAME(same_list(a.int64_data, b.int64_data(), "int64_data"));
  PARE_EQ(a.name, b.name(), "name");
  PARE_EQ(a.doc_string, b.doc_string(), "doc_string");
  PARE_EQ(a.has_raw_data, b.has_raw_data(), "has_raw_data");
  PARE_EQ(a.raw_data, b.raw_data(), "raw_data");
  PARE_SAME(same_entries(a.external_data, b.external_data(), "external_data"));
  PARE_EQ(a.data_location, static_cast<int>(b.data_location()), "data_location");
  PARE_EQ(a.double_data.size(), static_cast<size_t>(b.double_data_size()), "double_data");
  for (size_t i = 0; i < a.double_data.size(); ++i) PARE_EQ(same_bits(a.double_data[i], b.double_data(i)), true, "double_data");
  PARE_SAME(same_list(a.uint64_data, b.uint64_data(), "uint64_data"));
  return "";
}

std::string same(const msg::Type& a, const pb::TypeProto& b) {
  msg::Type::Kind kind = b.value_case() == pb::TypeProto::VALUE_NOT_SET ? msg::Type::kNone
                         : b.has_tensor_type()                          ? msg::Type::kTensor
                                                                        : msg::Type::kOther;
  PARE_EQ(a.kind, kind, "type kind");
  if (kind != msg::Type::kTensor) return "";
  const auto& t = b.tensor_type();
  PARE_EQ(a.elem_type, t.elem_type(), "elem_type");
  PARE_EQ(a.has_shape, t.has_shape(), "has_shape");
  PARE_EQ(a.dims.size(), static_cast<size_t>(t.shape().dim_size()), "dims");
  for (int i = 0; i < t.shape().dim_size(); ++i) {
    const auto& d = t.shape().dim(i);
    msg::Dim::Kind k = d.has_dim_value() ? msg::Dim::kValue : d.has_dim_param() ? msg::Dim::kParam : msg::Dim::kNone;
    PARE_EQ(a.dims[i].kind, k, "dim kind");
    if (k == msg::Dim::kValue) PARE_EQ(a.dims[i].value, d.dim_value(), "dim_value");
    if (k == msg::Dim::kParam) PARE_EQ(a.dims[i].param, d.dim_param(), "dim_param");
  }
  return "";
}

std::string same(const msg::ValueInfo& a, const pb::ValueInfoProto& b) {
  PARE_EQ(a.name, b.name(), "value_info name");
  PARE_EQ(a.doc_string, b.doc_string(), "value_info doc_string");
  return same(a.type, b.type());
}

std::string same(const msg::Graph& a, const pb::GraphProto& b);

std::string same(const msg::Attribute& a, const pb::AttributeProto& b) {
  std::string at = "attribute '" + b.name() + "' ";
  PARE_EQ(a.name, b.name(), at + "name");
  PARE_EQ(a.ref_attr_name, b.ref_attr_name(), at + "ref_attr_name");
  PARE_EQ(a.doc_string, b.doc_string(), at + "doc_string");
  PARE_EQ(a.type, static_cast<int>(b.type()), at + "type");
  PARE_EQ(same_bits(a.f, b.f()), true, at + "f");
  PARE_EQ(a.i, b.i(), at + "i");
  PARE_EQ(a.s, b.s(), at + "s");
  PARE_SAME(same(a.t, b.t()));
  PARE_EQ(a.g.size(), b.has_g() ? 1u : 0u, at + "g");
  if (b.has_g()) PARE_SAME(same(a.g[0], b.g()));
  PARE_EQ(a.floats.size(), static_cast<size_t>(b.floats_size()), at + "floats");
  for (size_t i = 0; i < a.floats.size(); ++i) PARE_EQ(same_bits(a.floats[i], b.floats(i)), true, at + "floats");
  PARE_SAME(same_list(a.ints, b.ints(), at + "ints"));
  PARE_SAME(same_list(a.strings, b.strings(), at + "strings"));
  PARE_EQ(a.tensors.size(), static_cast<size_t>(b.tensors_size()), at + "tensors");
  for (size_t i = 0; i < a.tensors.size(); ++i) PARE_SAME(same(a.tensors[i], b.tensors(i)));
  PARE_EQ(a.graphs.size(), static_cast<size_t>(b.graphs_size()), at + "graphs");
  for (size_t i = 0; i < a.graphs.size(); ++i) PARE_SAME(same(a.graphs[i], b.graphs(i)));
  return "";
}

std::string same(const msg::Node& a, const pb::NodeProto& b) {
  PARE_SAME(same_list(a.input, b.input(), "node input"));
  PARE_SAME(same_list(a.output, b.output(), "node output"));
  PARE_EQ(a.name, b.name(), "node name");
  PARE_EQ(a.op_type, b.op_type(), "op_type");
  PARE_EQ(a.domain, b.domain(), "node domain");
  PARE_EQ(a.doc_string, b.doc_string(), "node doc_string");
  PARE_EQ(a.attribute.size(), static_cast<size_t>(b.attribute_size()), "attributes");
  for (size_t i = 0; i < a.attribute.size(); ++i) PARE_SAME(same(a.attribute[i], b.attribute(i)));
  return "";
}

std::string same(const msg::Graph& a, const pb::GraphProto& b) {
  PARE_EQ(a.name, b.name(), "graph name");
  PARE_EQ(a.doc_string, b.doc_string(), "graph doc_string");
  PARE_EQ(a.sparse_initializers, b.sparse_initializer_size(), "sparse_initializer");
  PARE_EQ(a.node.size(), static_cast<size_t>(b.node_size()), "nodes");
  for (size_t i = 0; i < a.node.size(); ++i) PARE_SAME(same(a.node[i], b.node(i)));
  PARE_EQ(a.initializer.size(), static_cast<size_t>(b.initializer_size()), "initializers");
  for (size_t i = 0; i < a.initializer.size(); ++i) PARE_SAME(same(a.initializer[i], b.initializer(i)));
  PARE_EQ(a.input.size(), static_cast<size_t>(b.input_size()), "inputs");
  for (size_t i = 0; i < a.input.size(); ++i) PARE_SAME(same(a.input[i], b.input(i)));
  PARE_EQ(a.output.size(), static_cast<size_t>(b.output_size()), "outputs");
  for (size_t i = 0; i < a.output.size(); ++i) PARE_SAME(same(a.output[i], b.output(i)));
  PARE_EQ(a.value_info.size(), static_cast<size_t>(b.value_info_size()), "value_info");
  for (size_t i = 0; i < a.value_info.size(); ++i) PARE_SAME(same(a.value_info[i], b.value_info(i)));
  return "";
}

std::string same(const msg::Model& a, const pb::ModelProto& b) {
  PARE_EQ(a.ir_version, b.ir_version(), "ir_version");
  PARE_EQ(a.opset_import.size(), static_cast<size_t>(b.opset_import_size()), "opset_import");
  for (size_t i = 0; i < a.opset_import.size(); ++i) {
    PARE_EQ(a.opset_import[i].domain, b.opset_import(i).domain(), "opset domain");
    PARE_EQ(a.opset_import[i].version, b.opset_import(i).version(), "opset version");
  }
  PARE_EQ(a.producer_name, b.producer_name(), "producer_name");
  PARE_EQ(a.producer_version, b.producer_version(), "producer_version");
  PARE_EQ(a.domain, b.domain(), "domain");
  PARE_EQ(a.model_version, b.model_version(), "model_version");
  PARE_EQ(a.doc_string, b.doc_string(), "doc_string");
  PARE_EQ(a.has_graph, b.has_graph(), "graph");
  PARE_SAME(same_entries(a.metadata_props, b.metadata_props(), "metadata_props"));
  PARE_EQ(a.training_infos, b.training_info_size(), "training_info");
  PARE_EQ(a.functions, b.functions_size(), "functions");
  return same(a.graph, b.graph());
}

// "" when both decoders agree on `bytes`: both reject, or both accept with equal messages.
std::string agree_on_model(const std::string& bytes) {
  pb::ModelProto proto;
  bool pb_ok = proto.ParseFromString(bytes);
  msg::Model m;
  bool ok = true;
  try {
    m = msg::decode_model(bytes);
  } catch (const wire::WireError&) {
    ok = false;
  }
  if (ok != pb_ok) return ok ? "pare accepts what protobuf rejects" : "pare rejects what protobuf accepts";
  return ok ? same(m, proto) : "";
}

// The ONNX backend test cases Debian ships (libonnx-testdata), when installed.
std::vector<fs::path> conformance_cases() {
  std::vector<fs::path> out;
  const fs::path root = "/usr/share/libonnx-testdata/data";
  std::error_code ec;
  for (const auto& kind : {"node", "simple", "pytorch-converted", "pytorch-operator", "real"}) {
    if (!fs::is_directory(root / kind, ec)) continue;
    for (const auto& e : fs::directory_iterator(root / kind))
      if (fs::exists(e.path() / "model.onnx")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> every_model() {
  std::vector<std::string> out = testing::real_models();
  for (const auto& m : testing::coverage_models()) out.push_back(m);
  for (const auto& c : conformance_cases()) out.push_back((c / "model.onnx").string());
  return out;
}

TEST(Reader, DecodesEveryModelAsProtobufDoes) {
  int checked = 0;
  for (const auto& path : every_model()) {
    std::string bytes = read_input_file(path);
    EXPECT_EQ(agree_on_model(bytes), "") << path;
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(Reader, DecodesEveryConformanceTensorAsProtobufDoes) {
  int checked = 0;
  for (const auto& c : conformance_cases()) {
    for (const auto& set : fs::directory_iterator(c)) {
      if (!set.is_directory()) continue;
      for (const auto& f : fs::directory_iterator(set.path())) {
        if (f.path().extension() != ".pb") continue;
        std::string bytes = read_input_file(f.path().string());
        pb::TensorProto proto;
        if (!proto.ParseFromString(bytes)) continue;  // a sequence or optional, not a TensorProto
        msg::Tensor t;
        try {
          t = msg::decode_tensor(bytes);
        } catch (const wire::WireError& e) {
          ADD_FAILURE() << f.path() << ": " << e.what();
          continue;
        }
        EXPECT_EQ(same(t, proto), "") << f.path();
        ++checked;
      }
    }
  }
  if (conformance_cases().empty()) GTEST_SKIP() << "libonnx-testdata is not installed";
  EXPECT_GT(checked, 1000);
}

// The runtime's reader (signatures of the ops the runner has) and pare's
// loader (libonnx's schemas) build the same IR wherever pare's loads; where
// only the runtime's loads, the model has an op the runner cannot build, so
// pare-run still refuses it, when the session is built.
TEST(Reader, RuntimeAndPareLoadersBuildTheSameModel) {
  int same_ir = 0;
  for (const auto& path : every_model()) {
    std::string pare_error, runtime_error;
    ir::Model a, b;
    try {
      a = load_model(path);
    } catch (const Error& e) {
      pare_error = e.what();
    }
    try {
      b = read_model(path);
    } catch (const Error& e) {
      runtime_error = e.what();
    }
    if (pare_error.empty()) {
      ASSERT_EQ(runtime_error, "") << path;
      EXPECT_EQ(serialize_model(a), serialize_model(b)) << path;
      ++same_ir;
    } else if (runtime_error.empty()) {
      EXPECT_FALSE(rt::unsupported_nodes(b).empty()) << path << ": only pare refuses it: " << pare_error;
    }  // both refuse it: the runtime may name another of its faults first
  }
  EXPECT_GE(same_ir, 5);
}

// Every prefix cut at a spread of points and every byte flipped at random in
// the smaller models: both decoders reject or accept alike (and agree on what
// they accept); the reader never throws anything but pare::Error.
TEST(Reader, DamagedBytesAreRejectedAsProtobufRejectsThem) {
  std::mt19937 rng(14);
  std::vector<std::string> models = {testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx")};
  for (const auto& c : conformance_cases())
    if (models.size() < 40 && c.filename().string().find("test_") == 0) models.push_back((c / "model.onnx").string());
  int cases = 0;
  for (const auto& path : models) {
    std::string bytes = read_input_file(path);
    std::vector<std::string> damaged;
    for (size_t cut = 0; cut < bytes.size(); cut += std::max<size_t>(1, bytes.size() / 97))
      damaged.push_back(bytes.substr(0, cut));
    for (int k = 0; k < 100; ++k) {
      std::string d = bytes;
      d[rng() % d.size()] = static_cast<char>(rng());
      damaged.push_back(d);
    }
    for (const auto& d : damaged) {
      ASSERT_EQ(agree_on_model(d), "") << path << " damaged, " << d.size() << " bytes";
      try {
        read_model_from_bytes(d, "m.onnx", "");
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        EXPECT_EQ(std::string(e.what()).rfind("m.onnx: ", 0), 0u) << e.what();
      }
      ++cases;
    }
  }
  EXPECT_GT(cases, 1000);
}

std::string error_of(const std::string& bytes) {
  return testing::error_of([&] { read_model_from_bytes(bytes, "m.onnx", ""); });
}

std::string key(uint32_t field, int type) {
  std::string out;
  uint64_t v = (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(type);
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// A length-delimited field: key, length, body.
std::string delimited(uint32_t field, const std::string& body) {
  std::string len;
  uint64_t n = body.size();
  while (n >= 0x80) {
    len.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  len.push_back(static_cast<char>(n));
  return key(field, 2) + len + body;
}

TEST(Reader, LengthsThatRunPastTheEndAndBadKeysAreOneError) {
  const std::string invalid = "m.onnx: not a valid ONNX model: truncated or not protobuf";
  // graph (7) with a length of 2^62, and of 2^64 - 1 (a ten-byte varint).
  EXPECT_EQ(error_of(key(7, 2) + std::string("\x80\x80\x80\x80\x80\x80\x80\x80\x40", 9)), invalid);
  EXPECT_EQ(error_of(key(7, 2) + std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10)), invalid);
  // A varint of eleven bytes, field number 0, broken groups, wire type 6.
  EXPECT_EQ(error_of(key(1, 0) + std::string(10, '\x80') + "\x01"), invalid);
  EXPECT_EQ(error_of(std::string("\x00\x01", 2)), invalid);
  EXPECT_EQ(error_of(key(30, 4)), invalid);                // an end-group without its start
  EXPECT_EQ(error_of(key(30, 3) + key(31, 4)), invalid);   // a group ended by another number
  EXPECT_EQ(error_of(key(30, 6)), invalid);
  // A whole group is an unknown field protobuf keeps, so it is skipped: no graph.
  EXPECT_EQ(error_of(key(30, 3) + key(1, 0) + "\x05" + key(30, 4)), "m.onnx: not a valid ONNX model: it has no graph");
  for (const std::string& bytes : {key(30, 4), key(30, 3) + key(31, 4), key(30, 3) + key(30, 4), key(30, 3)})
    EXPECT_EQ(agree_on_model(bytes), "");
  // A graph given with the wire type of an int is an unknown field, as for protobuf: no graph.
  EXPECT_EQ(error_of(key(7, 0) + "\x01"), "m.onnx: not a valid ONNX model: it has no graph");
  EXPECT_EQ(error_of(""), "m.onnx: empty file");
  // Graphs nested 101 deep (a node's graph attribute in each) are refused, as protobuf refuses them.
  std::string g;
  for (int depth = 0; depth < 101; ++depth) g = delimited(1, delimited(5, delimited(6, g)));  // Graph{node{attribute{g}}}
  std::string model = delimited(7, g);
  EXPECT_EQ(agree_on_model(model), "");
  EXPECT_EQ(error_of(model), invalid);
}

TEST(Reader, PackedAndUnpackedRepeatedFieldsReadAlike) {
  pb::TensorProto p;
  p.set_data_type(pb::TensorProto::FLOAT);
  p.add_dims(3);
  for (float v : {1.5f, -2.0f, 0.25f}) p.add_float_data(v);  // packed, as onnx.proto declares
  std::string packed = p.SerializeAsString();
  // The same values one field each (unpacked), as an old writer may store them.
  std::string unpacked = key(1, 0) + "\x03" + key(2, 0) + "\x01";
  for (float v : {1.5f, -2.0f, 0.25f}) {
    unpacked += key(4, 5);
    unpacked.append(reinterpret_cast<const char*>(&v), 4);
  }
  ir::Tensor a = tensor_from_msg(msg::decode_tensor(packed), "");
  ir::Tensor b = tensor_from_msg(msg::decode_tensor(unpacked), "");
  EXPECT_TRUE(a.same_content(b));
  EXPECT_EQ(a.as_double(), (std::vector<double>{1.5, -2.0, 0.25}));
  pb::TensorProto q;
  ASSERT_TRUE(q.ParseFromString(unpacked));
  EXPECT_EQ(same(msg::decode_tensor(unpacked), q), "");
}

TEST(Reader, WritesTensorsByteForByteAsProtobuf) {
  std::vector<std::pair<ir::Tensor, std::string>> cases = {
      {ir::Tensor::from<float>({2, 2}, {1, 2, 3, 4}), "x"},
      {ir::Tensor::from<int64_t>({3}, {-1, 0, 1}), ""},
      {ir::Tensor::scalar<float>(0.5f), "scalar"},
      {ir::Tensor::from<float>({0, 3}, {}), "empty"},
      {ir::Tensor::strings({2}, {"a", ""}), "s"},
      {ir::Tensor::from<int64_t>({2}, {1, 2}), std::string(300, 'n')},
  };
  for (const auto& [t, name] : cases) {
    pb::TensorProto p;
    tensor_to_proto(t, name, &p);
    EXPECT_EQ(encode_tensor(t, name), p.SerializeAsString()) << name;
    EXPECT_TRUE(tensor_from_msg(msg::decode_tensor(encode_tensor(t, name)), "").same_content(t)) << name;
  }
}

}  // namespace
}  // namespace pare::formats::onnx
