// ModelProto -> IR.
//
// Keeps everything a save needs to write the model back: names, doc strings,
// attribute order, opsets, metadata, value_info, and for each constant whether it
// was an initializer or a Constant node (and which attribute form it used).
// Rejects, with one line naming what, the parts pare does not model: sparse
// tensors, model-local functions, training info and non-tensor value types.
// Also rejects nodes whose inputs or outputs do not fit their ONNX schema, so
// passes and kernels may index a node's required inputs and outputs (only ops at
// opsets libonnx knows are checked).
#include <filesystem>
#include <limits>
#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <google/protobuf/io/coded_stream.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include "formats/onnx/onnx.h"
#include "formats/onnx/proto_tensor.h"
#include "lib/onnxschema/schema.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/ir/verify.h"

namespace pare::formats::onnx {
namespace {
namespace pb = ::onnx;
using onnxschema::known_schema;
using onnxschema::op_signature;
using onnxschema::OpSignature;

// protobuf parses no message over 2 GiB - 1 (its sizes are int32).
constexpr int64_t kMaxProtobufBytes = INT32_MAX;

// How many inputs or outputs a node really has: trailing "" mean absent.
int used_count(const google::protobuf::RepeatedPtrField<std::string>& names) {
  int n = names.size();
  while (n > 0 && names[n - 1].empty()) --n;
  return n;
}

std::string count_of(int n, const std::string& what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); }

// "2 inputs", "2 to 3 inputs", "at least 1 input".
std::string arity(int min, int max, const std::string& what) {
  if (min == max) return count_of(min, what);
  if (max == std::numeric_limits<int>::max()) return "at least " + count_of(min, what);
  return fmt::format("{} to {} {}s", min, max, what);
}

// The name ONNX gives an attribute kind, for messages.
std::string kind_word(int kind) {
  switch (kind) {
    case pb::AttributeProto::FLOAT: return "a float";
    case pb::AttributeProto::INT: return "an int";
    case pb::AttributeProto::STRING: return "a string";
    case pb::AttributeProto::TENSOR: return "a tensor";
    case pb::AttributeProto::GRAPH: return "a graph";
    case pb::AttributeProto::FLOATS: return "a list of floats";
    case pb::AttributeProto::INTS: return "a list of ints";
    case pb::AttributeProto::STRINGS: return "a list of strings";
    case pb::AttributeProto::TENSORS: return "a list of tensors";
    case pb::AttributeProto::GRAPHS: return "a list of graphs";
    default: return fmt::format("of kind {}", kind);
  }
}

// Rejects a node with too few or too many inputs or outputs for its signature,
// with a required input left empty (""), or whose attributes are not of the kind
// the op defines (a Softmax axis given as a string would otherwise run as axis
// 0, Conv strides given as floats as stride 1) or miss a required one.
// `label` is "node 'name' (Op)".
void check_signature(const pb::NodeProto& np, const std::string& label, const OpSignature& sig) {
  int inputs = used_count(np.input()), outputs = used_count(np.output());
  if (inputs < sig.min_inputs || inputs > sig.max_inputs)
    fail("{}: takes {}, has {}", label, arity(sig.min_inputs, sig.max_inputs, "input"), inputs);
  if (outputs < sig.min_outputs || outputs > sig.max_outputs)
    fail("{}: takes {}, has {}", label, arity(sig.min_outputs, sig.max_outputs, "output"), outputs);
  if (sig.formal) {
    const auto& formal = sig.formal->inputs();
    for (int i = 0; i < inputs && i < static_cast<int>(formal.size()); ++i)
      if (np.input(i).empty() && formal[i].GetOption() == pb::OpSchema::Single)
        fail("{}: input {} ({}) is required", label, i, formal[i].GetName());
  }
  for (const auto& a : np.attribute()) {
    auto it = sig.attribute_kinds.find(a.name());
    if (it != sig.attribute_kinds.end() && it->second != static_cast<int>(a.type()))
      fail("{}: attribute '{}' is {}; the op takes {}", label, a.name(), kind_word(a.type()), kind_word(it->second));
  }
  for (const auto& [name, required] : sig.required_attributes) {
    bool present = false;
    for (const auto& a : np.attribute()) present = present || a.name() == name;
    if (!present) fail("{}: the required attribute '{}' is missing", label, name);
  }
}

// Attribute names are keys: an empty one, or one given twice (which copy would a
// kernel read?), is refused as ONNX's checker does.
void check_attribute_names(const pb::NodeProto& np, const std::string& label) {
  std::unordered_set<std::string> seen;
  for (const auto& a : np.attribute()) {
    if (a.name().empty()) fail("{}: an attribute has no name", label);
    if (!seen.insert(a.name()).second) fail("{}: attribute '{}' is given twice", label, a.name());
  }
}

// The ONNX type name of a dtype inside "tensor(...)", as schemas list them.
std::string tensor_type_string(ir::DataType t) { return "tensor(" + std::string(ir::name(t)) + ")"; }

// Rejects a constant input whose element type the op's schema does not allow
// (a Gemm bias of int64 would otherwise reach the kernel as the wrong type), or
// constants that share a type parameter but differ. Only constants: their type is
// a fact of the file, where a declared value_info type is only a claim.
void check_operand_types(const ir::Node& n, const std::string& label, const pb::OpSchema& schema) {
  const auto& formal = schema.inputs();
  std::map<std::string, ir::DataType> bound;  // type parameter -> the first constant's type
  for (size_t i = 0; i < n.inputs().size(); ++i) {
    const ir::Value* v = n.inputs()[i];
    if (!v || !v->is_constant() || formal.empty()) continue;
    const auto& f = formal[std::min(i, formal.size() - 1)];  // a variadic last input repeats
    ir::DataType t = v->constant().dtype();
    const std::string& param = f.GetTypeStr();
    std::vector<std::string> allowed;
    for (const auto& c : schema.typeConstraintParams())
      if (c.type_param_str == param) allowed = c.allowed_type_strs;
    if (allowed.empty()) allowed.push_back(param);  // a concrete type such as tensor(int64)
    std::string have = tensor_type_string(t);
    if (std::find(allowed.begin(), allowed.end(), have) == allowed.end())
      fail("{}: input {} ('{}') is {}, which the op does not take (it takes {})", label, i, v->name(),
           ir::name(t), fmt::join(allowed, ", "));
    if (f.GetIsHomogeneous() || f.GetOption() != pb::OpSchema::Variadic) {
      auto [it, fresh] = bound.emplace(param, t);
      if (!fresh && it->second != t)
        fail("{}: input {} ('{}') is {} but another input of type {} is {}", label, i, v->name(), ir::name(t), param,
             ir::name(it->second));
    }
  }
}

struct Loader {
  std::string base_dir;  // external data is resolved here; "" forbids external data
  const ir::Model& model;  // its opsets pick the schema each node is checked against

  void read_type(const pb::TypeProto& type, ir::Value* v) {
    if (type.value_case() == pb::TypeProto::VALUE_NOT_SET) return;
    if (!type.has_tensor_type())
      fail("value '{}' has a non-tensor type (sequence, map or optional), which pare does not support", v->name());
    const auto& tt = type.tensor_type();
    if (!ir::is_valid_dtype(tt.elem_type())) fail("value '{}' has an unknown element type {}", v->name(), tt.elem_type());
    v->dtype = static_cast<ir::DataType>(tt.elem_type());
    if (!tt.has_shape()) return;
    ir::Shape s;
    for (const auto& d : tt.shape().dim()) {
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) fail("value '{}' has a negative dimension {}", v->name(), d.dim_value());
        s.dims.push_back(ir::Dim::known(d.dim_value()));
      } else if (d.has_dim_param()) {
        s.dims.push_back(ir::Dim::named(d.dim_param()));
      } else {
        s.dims.emplace_back();
      }
    }
    v->shape = std::move(s);
  }

  ir::Attribute read_attr(const pb::AttributeProto& a, ir::Graph& g, ir::Node* node) {
    ir::Attribute out;
    out.name = a.name();
    out.doc_string = a.doc_string();
    if (!a.ref_attr_name().empty()) fail("attribute '{}' refers to a function attribute; functions are not supported", a.name());
    switch (a.type()) {
      case pb::AttributeProto::FLOAT: out.kind = ir::Attribute::Kind::kFloat; out.f = a.f(); break;
      case pb::AttributeProto::INT: out.kind = ir::Attribute::Kind::kInt; out.i = a.i(); break;
      case pb::AttributeProto::STRING: out.kind = ir::Attribute::Kind::kString; out.s = a.s(); break;
      case pb::AttributeProto::TENSOR:
        out.kind = ir::Attribute::Kind::kTensor;
        out.t = tensor_from_proto(a.t(), base_dir);
        out.t_name = a.t().name();
        break;
      case pb::AttributeProto::GRAPH:
        out.kind = ir::Attribute::Kind::kGraph;
        out.g = read_subgraph(a.g(), g, node);
        break;
      case pb::AttributeProto::FLOATS:
        out.kind = ir::Attribute::Kind::kFloats;
        out.floats.assign(a.floats().begin(), a.floats().end());
        break;
      case pb::AttributeProto::INTS:
        out.kind = ir::Attribute::Kind::kInts;
        out.ints.assign(a.ints().begin(), a.ints().end());
        break;
      case pb::AttributeProto::STRINGS:
        out.kind = ir::Attribute::Kind::kStrings;
        out.strings.assign(a.strings().begin(), a.strings().end());
        break;
      case pb::AttributeProto::TENSORS:
        out.kind = ir::Attribute::Kind::kTensors;
        for (const auto& t : a.tensors()) out.tensors.push_back(tensor_from_proto(t, base_dir));
        break;
      case pb::AttributeProto::GRAPHS:
        out.kind = ir::Attribute::Kind::kGraphs;
        for (const auto& sg : a.graphs()) out.graphs.push_back(read_subgraph(sg, g, node));
        break;
      default:
        fail("attribute '{}' has a type pare does not support (sparse tensors, type protos)", a.name());
    }
    return out;
  }

  std::shared_ptr<ir::Graph> read_subgraph(const pb::GraphProto& gp, ir::Graph& parent, ir::Node* owner) {
    auto sub = std::make_shared<ir::Graph>(&parent, owner);
    read_graph(gp, *sub);
    return sub;
  }

  // Converts a Constant node into a constant Value, remembering how it was written.
  void read_constant_node(const pb::NodeProto& np, ir::Graph& g) {
    if (np.output_size() != 1 || np.output(0).empty())
      fail("Constant node '{}' must have exactly one output", np.name());
    if (np.attribute_size() != 1) fail("Constant node '{}' must have exactly one value attribute", np.name());
    const auto& a = np.attribute(0);
    ir::Tensor t;
    const std::string& an = a.name();
    if (an == "value") {
      t = tensor_from_proto(a.t(), base_dir);
    } else if (an == "value_float") {
      t = ir::Tensor::scalar<float>(a.f());
    } else if (an == "value_floats") {
      t = ir::Tensor::from<float>({a.floats_size()}, std::vector<float>(a.floats().begin(), a.floats().end()));
    } else if (an == "value_int") {
      t = ir::Tensor::scalar<int64_t>(a.i());
    } else if (an == "value_ints") {
      t = ir::Tensor::from<int64_t>({a.ints_size()}, std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    } else if (an == "value_string") {
      t = ir::Tensor::strings({}, {a.s()});
    } else if (an == "value_strings") {
      t = ir::Tensor::strings({a.strings_size()}, std::vector<std::string>(a.strings().begin(), a.strings().end()));
    } else if (an == "sparse_value") {
      fail("Constant node '{}' holds a sparse tensor, which pare does not support", np.name());
    } else {
      fail("Constant node '{}' has an unknown attribute '{}'", np.name(), an);
    }
    if (g.find_value(np.output(0)) && g.find_value(np.output(0))->owner() == &g)
      fail("value '{}' is defined twice", np.output(0));
    ir::Value* v = g.add_constant(np.output(0), std::move(t), ir::ConstantOrigin::kConstantNode);
    v->constant_node_name = np.name();
    v->constant_node_doc = np.doc_string();
    v->constant_attr = an;
    if (an == "value") v->doc_string = a.t().doc_string();
  }

  // "node 'name' (Op)"; unnamed nodes are named by their place in the file's
  // node list, as "#3".
  static std::string node_label(const pb::NodeProto& np, int index) {
    std::string who = np.name().empty() ? fmt::format("#{}", index) : "'" + np.name() + "'";
    return fmt::format("node {} ({})", who, np.op_type());
  }

  std::string domain_of(const pb::NodeProto& np) const { return np.domain() == "ai.onnx" ? "" : np.domain(); }

  // The node's signature check, when its op is known (libonnx's schema, or
  // pare's table for opsets newer than libonnx).
  void check_node(const pb::NodeProto& np, int index) const {
    std::string label = node_label(np, index);
    if (np.op_type().empty()) fail("node {} has no op_type", np.name().empty() ? fmt::format("#{}", index) : "'" + np.name() + "'");
    check_attribute_names(np, label);
    std::string domain = domain_of(np);
    OpSignature sig;
    if (op_signature(np.op_type(), domain, model.opset(domain), sig)) check_signature(np, label, sig);
  }

  // Operand types, once the node's inputs are wired to their Values.
  void check_types(const pb::NodeProto& np, int index, const ir::Node& n) const {
    std::string domain = domain_of(np);
    const pb::OpSchema* exact = known_schema(np.op_type(), domain, model.opset(domain));
    if (exact) check_operand_types(n, node_label(np, index), *exact);
  }

  void read_graph(const pb::GraphProto& gp, ir::Graph& g) {
    g.name = gp.name();
    g.doc_string = gp.doc_string();
    if (gp.sparse_initializer_size() > 0) fail("graph '{}' has sparse initializers, which pare does not support", gp.name());

    std::unordered_map<std::string, ir::Value*> defined;  // names defined in this graph
    auto define = [&](ir::Value* v) {
      if (!defined.emplace(v->name(), v).second) fail("value '{}' is defined twice", v->name());
    };
    std::unordered_map<std::string, const pb::TensorProto*> inits;
    for (const auto& t : gp.initializer()) inits[t.name()] = &t;

    for (const auto& vi : gp.input()) {
      ir::Value* v = nullptr;
      if (auto it = inits.find(vi.name()); it != inits.end()) {
        v = g.add_constant(vi.name(), tensor_from_proto(*it->second, base_dir));
        v->doc_string = it->second->doc_string();
        inits.erase(it);
      } else {
        v = g.add_value(vi.name());
      }
      read_type(vi.type(), v);
      v->has_value_info = true;
      if (!vi.doc_string().empty()) v->doc_string = vi.doc_string();
      define(v);
      g.inputs.push_back(v);
    }
    for (const auto& t : gp.initializer()) {
      if (!inits.count(t.name())) continue;  // already added as a graph input
      if (t.name().empty()) fail("an initializer has no name");
      ir::Value* v = g.add_constant(t.name(), tensor_from_proto(t, base_dir));
      v->doc_string = t.doc_string();
      define(v);
    }

    // First create every node output (files may list nodes out of order), then wire inputs.
    std::vector<std::tuple<const pb::NodeProto*, ir::Node*, int>> nodes;
    for (int k = 0; k < gp.node_size(); ++k) {
      const pb::NodeProto& np = gp.node(k);
      check_node(np, k);
      if (np.op_type() == "Constant" && (np.domain().empty() || np.domain() == "ai.onnx")) {
        read_constant_node(np, g);
        define(g.find_value(np.output(0)));
        continue;
      }
      std::vector<ir::Value*> outs;
      for (const auto& o : np.output()) {
        if (o.empty()) {
          outs.push_back(nullptr);
          continue;
        }
        ir::Value* v = g.add_value(o);
        define(v);
        outs.push_back(v);
      }
      ir::Node* n = g.add_node_with_outputs(np.op_type(), {}, outs, np.domain());
      n->name = np.name();
      n->doc_string = np.doc_string();
      nodes.emplace_back(&np, n, k);
    }
    for (auto& [np, n, index] : nodes) {
      for (const auto& in : np->input()) {
        if (in.empty()) {
          g.append_input(n, nullptr);
          continue;
        }
        auto it = defined.find(in);
        ir::Value* v = it != defined.end() ? it->second : (g.parent() ? g.parent()->find_value(in) : nullptr);
        if (!v) fail("node {} uses '{}' which is not defined", n->describe(), in);
        g.append_input(n, v);
      }
      for (const auto& a : np->attribute()) n->attrs.push_back(read_attr(a, g, n));
      check_types(*np, index, *n);
    }
    for (const auto& vi : gp.value_info()) {
      auto it = defined.find(vi.name());
      if (it == defined.end()) continue;  // value_info for a value that does not exist: dropped
      read_type(vi.type(), it->second);
      it->second->has_value_info = true;
      if (!vi.doc_string().empty()) it->second->doc_string = vi.doc_string();
    }
    for (const auto& vi : gp.output()) {
      auto it = defined.find(vi.name());
      ir::Value* v = it != defined.end() ? it->second : (g.parent() ? g.parent()->find_value(vi.name()) : nullptr);
      if (!v) fail("graph output '{}' is not defined", vi.name());
      if (v->owner() == &g) {
        read_type(vi.type(), v);
        v->has_value_info = true;
        if (!vi.doc_string().empty()) v->doc_string = vi.doc_string();
      }
      g.outputs.push_back(v);
    }
    g.compact();  // sorts topologically; throws on a cycle
  }
};

}  // namespace

ir::Model load_model_from_bytes(const std::string& bytes, const std::string& label, const std::string& base_dir) {
  try {
    if (bytes.empty()) fail("empty file");
    pb::ModelProto mp;
    google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                  static_cast<int>(std::min<size_t>(bytes.size(), INT32_MAX)));
    stream.SetTotalBytesLimit(INT32_MAX);
    if (bytes.size() > static_cast<size_t>(kMaxProtobufBytes))
      fail("{} bytes, over protobuf's 2 GiB limit for one message; an ONNX model this large must keep its weights as "
           "external data", bytes.size());
    if (!mp.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
      fail("not a valid ONNX model: truncated or not protobuf");
    if (!mp.has_graph()) fail("not a valid ONNX model: it has no graph");
    if (mp.functions_size() > 0) fail("model-local functions are not supported");
    if (mp.training_info_size() > 0) fail("training information is not supported");

    ir::Model m;
    m.ir_version = mp.ir_version();
    for (const auto& o : mp.opset_import()) m.opsets.push_back({o.domain(), o.version()});
    m.producer_name = mp.producer_name();
    m.producer_version = mp.producer_version();
    m.domain = mp.domain();
    m.model_version = mp.model_version();
    m.doc_string = mp.doc_string();
    for (const auto& p : mp.metadata_props()) m.metadata.emplace_back(p.key(), p.value());
    if (mp.graph().node_size() > 0 && m.opset("") == 0)
      fail("not a valid ONNX model: no opset is imported for the default domain");

    Loader loader{base_dir, m};
    loader.read_graph(mp.graph(), *m.graph);
    ir::verify(m);
    return m;
  } catch (Error& e) {
    e.with_context(label);
    throw;
  }
}

ir::Model load_model(const std::string& path) {
  // Refused by its size before a byte is read: reading 4 GB only to fail the
  // parse costs minutes and the memory of the file twice.
  int64_t size = input_file_size(path);  // its errors already name the file
  if (size > kMaxProtobufBytes)
    throw Error(fmt::format("{}: the file is {} bytes, over protobuf's 2 GiB limit for one message; an ONNX model "
                            "this large must keep its weights as external data (a .data file beside the model)",
                            path, size));
  std::string bytes = read_input_file(path);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return load_model_from_bytes(bytes, path, dir.empty() ? "." : dir.string());
}

}  // namespace pare::formats::onnx
