// IR -> ModelProto, written deterministically and atomically.
//
// Order comes from the IR only: initializers in constants() order, nodes in
// graph order after the Constant-node constants, which are written back as
// Constant nodes in file order with the attribute form they were read with. The same model and
// options therefore always give the same bytes.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <filesystem>
#include <functional>
#include <unordered_map>

#include "formats/onnx/onnx.h"
#include "formats/onnx/proto_tensor.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/sha256.h"
#include "lib/ir/verify.h"
#include "lib/runtime/session.h"

namespace pare::formats::onnx {
namespace {
namespace pb = ::onnx;

// Where large tensors go when saving with external data.
struct ExternalSink {
  bool enabled = false;
  int64_t threshold = 1024;
  std::string file_name;  // relative to the model's folder
  std::string data;       // bytes of the .data file
  SharedWeights* shared = nullptr;  // a file several models reference, for the tensors it names
};

void add_external_ref(pb::TensorProto* out, const std::string& location, int64_t offset, int64_t length) {
  out->clear_raw_data();
  out->set_data_location(pb::TensorProto::EXTERNAL);
  auto add = [&](const char* k, const std::string& v) {
    auto* e = out->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  add("offset", std::to_string(offset));
  add("length", std::to_string(length));
}

// Stores `t` in the shared weights file when its bytes are among those it takes
// (once, however many tensors hold them); false when `t` stays where it is.
bool write_shared(const ir::Tensor& t, pb::TensorProto* out, SharedWeights& shared) {
  if (t.dtype() == ir::DataType::kString || t.byte_size() == 0 || t.byte_size() < shared.min_bytes) return false;
  std::string_view bytes(reinterpret_cast<const char*>(t.raw()), t.byte_size());
  std::string key = sha256_hex(bytes);
  if (!shared.contents.count(key)) return false;
  auto [at, added] = shared.offsets.emplace(key, static_cast<int64_t>(shared.data.size()));
  if (added) shared.data.append(bytes);
  add_external_ref(out, shared.file_name, at->second, static_cast<int64_t>(bytes.size()));
  return true;
}

void write_type(const ir::Value& v, pb::ValueInfoProto* vi) {
  vi->set_name(v.name());
  if (!v.doc_string.empty()) vi->set_doc_string(v.doc_string);
  if (v.dtype == ir::DataType::kUndefined) return;
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype));
  if (!v.shape) return;
  auto* shape = tt->mutable_shape();
  for (const auto& d : v.shape->dims) {
    auto* dim = shape->add_dim();
    if (d.is_known()) dim->set_dim_value(d.value);
    else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
  }
}

void write_tensor(const ir::Tensor& t, const std::string& name, pb::TensorProto* out, ExternalSink& sink) {
  tensor_to_proto(t, name, out);
  if (sink.shared && write_shared(t, out, *sink.shared)) return;
  if (!sink.enabled || t.dtype() == ir::DataType::kString || static_cast<int64_t>(t.byte_size()) < sink.threshold) return;
  add_external_ref(out, sink.file_name, static_cast<int64_t>(sink.data.size()), static_cast<int64_t>(t.byte_size()));
  sink.data.append(reinterpret_cast<const char*>(t.raw()), t.byte_size());
}

// The attribute form a Constant node was read with, if the tensor still fits it.
std::string constant_form(const ir::Value& v) {
  const ir::Tensor& t = v.constant();
  const std::string& a = v.constant_attr;
  bool ok = (a == "value_float" && t.dtype() == ir::DataType::kFloat && t.rank() == 0) ||
            (a == "value_floats" && t.dtype() == ir::DataType::kFloat && t.rank() == 1) ||
            (a == "value_int" && t.dtype() == ir::DataType::kInt64 && t.rank() == 0) ||
            (a == "value_ints" && t.dtype() == ir::DataType::kInt64 && t.rank() == 1) ||
            (a == "value_string" && t.dtype() == ir::DataType::kString && t.rank() == 0) ||
            (a == "value_strings" && t.dtype() == ir::DataType::kString && t.rank() == 1);
  return ok ? a : "value";
}

void write_constant_node(const ir::Value& v, pb::NodeProto* np, ExternalSink& sink) {
  np->set_op_type("Constant");
  np->add_output(v.name());
  if (!v.constant_node_name.empty()) np->set_name(v.constant_node_name);
  if (!v.constant_node_doc.empty()) np->set_doc_string(v.constant_node_doc);
  auto* a = np->add_attribute();
  std::string form = constant_form(v);
  a->set_name(form);
  const ir::Tensor& t = v.constant();
  if (form == "value") {
    a->set_type(pb::AttributeProto::TENSOR);
    write_tensor(t, "", a->mutable_t(), sink);
    if (!v.doc_string.empty()) a->mutable_t()->set_doc_string(v.doc_string);
  } else if (form == "value_float") {
    a->set_type(pb::AttributeProto::FLOAT);
    a->set_f(t.span<float>()[0]);
  } else if (form == "value_floats") {
    a->set_type(pb::AttributeProto::FLOATS);
    for (float f : t.span<float>()) a->add_floats(f);
  } else if (form == "value_int") {
    a->set_type(pb::AttributeProto::INT);
    a->set_i(t.span<int64_t>()[0]);
  } else if (form == "value_ints") {
    a->set_type(pb::AttributeProto::INTS);
    for (int64_t i : t.span<int64_t>()) a->add_ints(i);
  } else if (form == "value_string") {
    a->set_type(pb::AttributeProto::STRING);
    a->set_s(t.string_values()[0]);
  } else {
    a->set_type(pb::AttributeProto::STRINGS);
    for (const auto& s : t.string_values()) a->add_strings(s);
  }
}

void write_graph(const ir::Graph& g, pb::GraphProto* gp, ExternalSink& sink);

void write_attr(const ir::Attribute& a, pb::AttributeProto* out, ExternalSink& sink) {
  out->set_name(a.name);
  if (!a.doc_string.empty()) out->set_doc_string(a.doc_string);
  using K = ir::Attribute::Kind;
  out->set_type(static_cast<pb::AttributeProto::AttributeType>(a.kind));
  switch (a.kind) {
    case K::kFloat: out->set_f(a.f); break;
    case K::kInt: out->set_i(a.i); break;
    case K::kString: out->set_s(a.s); break;
    case K::kTensor: write_tensor(a.t, a.t_name, out->mutable_t(), sink); break;
    case K::kGraph: write_graph(*a.g, out->mutable_g(), sink); break;
    case K::kFloats: for (float f : a.floats) out->add_floats(f); break;
    case K::kInts: for (int64_t i : a.ints) out->add_ints(i); break;
    case K::kStrings: for (const auto& s : a.strings) out->add_strings(s); break;
    case K::kTensors: for (const auto& t : a.tensors) write_tensor(t, "", out->add_tensors(), sink); break;
    case K::kGraphs: for (const auto& sg : a.graphs) write_graph(*sg, out->add_graphs(), sink); break;
    default: throw InternalError("attribute '" + a.name + "' has no kind");
  }
}

void write_graph(const ir::Graph& g, pb::GraphProto* gp, ExternalSink& sink) {
  if (!g.name.empty()) gp->set_name(g.name);
  if (!g.doc_string.empty()) gp->set_doc_string(g.doc_string);
  for (const ir::Value* v : g.inputs) write_type(*v, gp->add_input());
  for (const ir::Value* v : g.constants()) {
    if (v->constant_origin == ir::ConstantOrigin::kConstantNode) continue;
    auto* t = gp->add_initializer();
    write_tensor(v->constant(), v->name(), t, sink);
    if (!v->doc_string.empty() && !v->is_graph_input()) t->set_doc_string(v->doc_string);
  }
  // Constant nodes first, in their file order: this keeps their relative order
  // through any number of round trips and puts them ahead of every use,
  // captures inside subgraphs included.
  for (const ir::Value* v : g.constants())
    if (v->constant_origin == ir::ConstantOrigin::kConstantNode) write_constant_node(*v, gp->add_node(), sink);
  for (const auto& n : g.nodes()) {
    auto* np = gp->add_node();
    for (const ir::Value* v : n->inputs()) np->add_input(v ? v->name() : "");
    for (const ir::Value* v : n->outputs()) np->add_output(v ? v->name() : "");
    if (!n->name.empty()) np->set_name(n->name);
    np->set_op_type(n->op_type);
    if (!n->domain.empty()) np->set_domain(n->domain);
    if (!n->doc_string.empty()) np->set_doc_string(n->doc_string);
    for (const auto& a : n->attrs) write_attr(a, np->add_attribute(), sink);
  }
  for (const ir::Value* v : g.values())
    if (v->has_value_info && !v->is_graph_input() && !v->is_graph_output() && !v->is_constant())
      write_type(*v, gp->add_value_info());
  for (const ir::Value* v : g.outputs) write_type(*v, gp->add_output());
}

pb::ModelProto to_proto(const ir::Model& m, ExternalSink& sink) {
  pb::ModelProto mp;
  mp.set_ir_version(m.ir_version);
  for (const auto& o : m.opsets) {
    auto* op = mp.add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!m.producer_name.empty()) mp.set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) mp.set_producer_version(m.producer_version);
  if (!m.domain.empty()) mp.set_domain(m.domain);
  if (m.model_version) mp.set_model_version(m.model_version);
  if (!m.doc_string.empty()) mp.set_doc_string(m.doc_string);
  for (const auto& [k, v] : m.metadata) {
    auto* p = mp.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  write_graph(*m.graph, mp.mutable_graph(), sink);
  return mp;
}

std::string serialize(const pb::ModelProto& mp) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    if (!mp.SerializeToCodedStream(&cos)) throw Error("cannot serialize the model (is it over 2 GiB?)");
  }
  return out;
}

int64_t constant_bytes(const ir::Model& m) {
  int64_t total = 0;
  ir::for_each_graph(*m.graph, [&](const ir::Graph& g) {
    for (const ir::Value* v : g.constants()) total += static_cast<int64_t>(v->constant().byte_size());
  });
  return total;
}

}  // namespace

std::string serialize_model(const ir::Model& model) {
  ExternalSink none;
  return serialize(to_proto(model, none));
}

std::string serialize_model(const ir::Model& model, SharedWeights& shared) {
  ExternalSink sink;
  sink.shared = &shared;
  return serialize(to_proto(model, sink));
}

void save_model(const ir::Model& model, const std::string& path, const SaveOptions& options) {
  ExternalSink sink;
  // protobuf cannot serialize a message over 2 GiB: move weights out well before that.
  constexpr int64_t kProtobufSafeLimit = int64_t{1800} << 20;
  sink.enabled = options.external_data || constant_bytes(model) > kProtobufSafeLimit;
  sink.threshold = options.external_threshold;
  sink.file_name = std::filesystem::path(path).filename().string() + ".data";
  std::string bytes = serialize(to_proto(model, sink));
  if (!sink.enabled) {
    write_file_atomic(path, bytes);
    return;
  }
  // Both files appear, or neither: the data file first, removed again if the
  // model file cannot be written.
  std::filesystem::path data_path = std::filesystem::path(path).parent_path() / sink.file_name;
  write_file_atomic(data_path.string(), sink.data);
  try {
    write_file_atomic(path, bytes);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(data_path, ec);
    throw;
  }
}

void check_model(const ir::Model& model) {
  // libonnx 1.12 knows opsets up to 17 and IR versions up to 8; it rejects
  // newer models outright. pare checks those itself: the IR's invariants, and
  // every node built by the runner's kernel (its attributes and the types and
  // shapes of its constant inputs). Ops the runner lacks are reported; type
  // constraints of computed inputs go unchecked.
  constexpr int64_t kLibonnxOpset = 17, kLibonnxIrVersion = 8;
  if (model.opset("") > kLibonnxOpset || model.ir_version > kLibonnxIrVersion) {
    ir::verify(model);
    auto problems = rt::unsupported_nodes(model);
    if (!problems.empty())
      fail("pare's check (opset {} is beyond libonnx's {}) rejects the model: {}", model.opset(""), kLibonnxOpset,
           problems.front());
    return;
  }
  ExternalSink none;
  pb::ModelProto mp = to_proto(model, none);
  try {
    ::onnx::checker::check_model(mp);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    fail("the ONNX checker rejects the model: {}", msg);
  }
}

int infer_shapes(ir::Model& model) {
  ExternalSink none;
  pb::ModelProto mp = to_proto(model, none);
  try {
    ::onnx::shape_inference::InferShapes(mp);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    fail("ONNX shape inference failed: {}", msg);
  }
  std::unordered_map<std::string, const pb::TypeProto*> types;
  std::function<void(const pb::GraphProto&)> collect = [&](const pb::GraphProto& gp) {
    for (const auto& vi : gp.value_info()) types[vi.name()] = &vi.type();
    for (const auto& vi : gp.output()) types[vi.name()] = &vi.type();
    for (const auto& n : gp.node())
      for (const auto& a : n.attribute()) {
        if (a.has_g()) collect(a.g());
        for (const auto& sg : a.graphs()) collect(sg);
      }
  };
  collect(mp.graph());
  int gained = 0;
  ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
    for (ir::Value* v : g.values()) {
      auto it = types.find(v->name());
      if (it == types.end() || !it->second->has_tensor_type()) continue;
      const auto& tt = it->second->tensor_type();
      if (v->dtype == ir::DataType::kUndefined && ir::is_valid_dtype(tt.elem_type()))
        v->dtype = static_cast<ir::DataType>(tt.elem_type());
      if (!v->shape && tt.has_shape()) {
        ir::Shape s;
        for (const auto& d : tt.shape().dim()) {
          if (d.has_dim_value()) s.dims.push_back(ir::Dim::known(d.dim_value()));
          else if (d.has_dim_param()) s.dims.push_back(ir::Dim::named(d.dim_param()));
          else s.dims.emplace_back();
        }
        v->shape = std::move(s);
        ++gained;
      }
    }
  });
  return gained;
}

std::map<std::string, std::vector<int64_t>> static_shapes(
    const ir::Model& model, const std::map<std::string, std::vector<int64_t>>& input_shapes) {
  ExternalSink none;
  pb::ModelProto mp = to_proto(model, none);
  pb::GraphProto& g = *mp.mutable_graph();
  for (auto& in : *g.mutable_input()) {
    auto given = input_shapes.find(in.name());
    if (given == input_shapes.end() || !in.type().has_tensor_type()) continue;
    auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->clear_dim();
    for (int64_t d : given->second) shape->add_dim()->set_dim_value(d);
  }
  g.clear_value_info();
  for (auto& out : *g.mutable_output())
    if (out.type().has_tensor_type()) out.mutable_type()->mutable_tensor_type()->clear_shape();
  try {
    ::onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0, /*data_propagation=*/true);
    ::onnx::shape_inference::InferShapes(mp, ::onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
    fail("ONNX shape inference failed: {}", msg);
  }
  std::map<std::string, std::vector<int64_t>> out;
  auto take = [&](const pb::ValueInfoProto& vi) {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
    std::vector<int64_t> dims;
    for (const auto& d : vi.type().tensor_type().shape().dim()) {
      if (!d.has_dim_value() || d.dim_value() < 0) return;
      dims.push_back(d.dim_value());
    }
    out[vi.name()] = std::move(dims);
  };
  for (const auto& vi : g.input()) take(vi);
  for (const auto& vi : g.value_info()) take(vi);
  for (const auto& vi : g.output()) take(vi);
  return out;
}

}  // namespace pare::formats::onnx
