// ModelProto (decoded by messages.h) -> IR.
//
// Keeps everything a save needs to write the model back: names, doc strings,
// attribute order, opsets, metadata, value_info, and for each constant whether it
// was an initializer or a Constant node (and which attribute form it used).
// Rejects, with one line naming what, the parts pare does not model: sparse
// tensors, model-local functions, training info and non-tensor value types.
// Also rejects nodes whose inputs, outputs or attributes do not fit their
// signature (read.h), so passes and kernels may index a node's required inputs
// and outputs and read its attributes as the kind the op defines.
#include "formats/onnx/read.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "formats/onnx/messages.h"
#include "formats/onnx/tensor_msg.h"
#include "formats/onnx/wire.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/ir/verify.h"

namespace pare::formats::onnx {
namespace {
using msg::Attribute;

// protobuf parses no message over 2 GiB - 1 (its sizes are int32); pare keeps
// the limit so a model pare-run reads is one any ONNX tool reads.
constexpr int64_t kMaxProtobufBytes = INT32_MAX;

// How many inputs or outputs a node really has: trailing "" mean absent.
int used_count(const std::vector<std::string>& names) {
  int n = static_cast<int>(names.size());
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
    case Attribute::kFloat: return "a float";
    case Attribute::kInt: return "an int";
    case Attribute::kString: return "a string";
    case Attribute::kTensor: return "a tensor";
    case Attribute::kGraph: return "a graph";
    case Attribute::kFloats: return "a list of floats";
    case Attribute::kInts: return "a list of ints";
    case Attribute::kStrings: return "a list of strings";
    case Attribute::kTensors: return "a list of tensors";
    case Attribute::kGraphs: return "a list of graphs";
    default: return fmt::format("of kind {}", kind);
  }
}

// Rejects a node with too few or too many inputs or outputs for its signature,
// with a required input left empty (""), or whose attributes are not of the kind
// the op defines (a Softmax axis given as a string would otherwise run as axis
// 0, Conv strides given as floats as stride 1) or miss a required one.
// `label` is "node 'name' (Op)".
void check_signature(const msg::Node& np, const std::string& label, const NodeSignature& sig) {
  int inputs = used_count(np.input), outputs = used_count(np.output);
  if (inputs < sig.min_inputs || inputs > sig.max_inputs)
    fail("{}: takes {}, has {}", label, arity(sig.min_inputs, sig.max_inputs, "input"), inputs);
  if (outputs < sig.min_outputs || outputs > sig.max_outputs)
    fail("{}: takes {}, has {}", label, arity(sig.min_outputs, sig.max_outputs, "output"), outputs);
  for (int i = 0; i < inputs && i < static_cast<int>(sig.formal.size()); ++i)
    if (np.input[i].empty() && sig.formal[i].required)
      fail("{}: input {} ({}) is required", label, i, sig.formal[i].name);
  for (const auto& a : np.attribute) {
    auto it = sig.attribute_kinds.find(a.name);
    if (it != sig.attribute_kinds.end() && it->second != a.type)
      fail("{}: attribute '{}' is {}; the op takes {}", label, a.name, kind_word(a.type), kind_word(it->second));
  }
  for (const auto& [name, required] : sig.required_attributes) {
    bool present = false;
    for (const auto& a : np.attribute) present = present || a.name == name;
    if (!present) fail("{}: the required attribute '{}' is missing", label, name);
  }
}

// Attribute names are keys: an empty one, or one given twice (which copy would a
// kernel read?), is refused as ONNX's checker does.
void check_attribute_names(const msg::Node& np, const std::string& label) {
  std::unordered_set<std::string> seen;
  for (const auto& a : np.attribute) {
    if (a.name.empty()) fail("{}: an attribute has no name", label);
    if (!seen.insert(a.name).second) fail("{}: attribute '{}' is given twice", label, a.name);
  }
}

// The ONNX type name of a dtype inside "tensor(...)", as schemas list them.
std::string tensor_type_string(ir::DataType t) { return "tensor(" + std::string(ir::name(t)) + ")"; }

// Rejects a constant input whose element type the op's signature does not allow
// (a Gemm bias of int64 would otherwise reach the kernel as the wrong type), or
// constants that share a type parameter but differ. Only constants: their type is
// a fact of the file, where a declared value_info type is only a claim.
void check_operand_types(const ir::Node& n, const std::string& label, const NodeSignature& sig) {
  const auto& formal = sig.operands;
  std::map<std::string, ir::DataType> bound;  // type parameter -> the first constant's type
  for (size_t i = 0; i < n.inputs().size(); ++i) {
    const ir::Value* v = n.inputs()[i];
    if (!v || !v->is_constant() || formal.empty()) continue;
    const auto& f = formal[std::min(i, formal.size() - 1)];  // a variadic last input repeats
    ir::DataType t = v->constant().dtype();
    std::string have = tensor_type_string(t);
    if (std::find(f.allowed.begin(), f.allowed.end(), have) == f.allowed.end())
      fail("{}: input {} ('{}') is {}, which the op does not take (it takes {})", label, i, v->name(), ir::name(t),
           fmt::join(f.allowed, ", "));
    if (f.binds) {
      auto [it, fresh] = bound.emplace(f.type_param, t);
      if (!fresh && it->second != t)
        fail("{}: input {} ('{}') is {} but another input of type {} is {}", label, i, v->name(), ir::name(t),
             f.type_param, ir::name(it->second));
    }
  }
}

struct Loader {
  std::string base_dir;  // external data is resolved here; "" forbids external data
  const ir::Model& model;  // its opsets pick the signature each node is checked against
  const SignatureLookup& signatures;

  void read_type(const msg::Type& type, ir::Value* v) {
    if (type.kind == msg::Type::kNone) return;
    if (type.kind != msg::Type::kTensor)
      fail("value '{}' has a non-tensor type (sequence, map or optional), which pare does not support", v->name());
    if (!ir::is_valid_dtype(type.elem_type)) fail("value '{}' has an unknown element type {}", v->name(), type.elem_type);
    v->dtype = static_cast<ir::DataType>(type.elem_type);
    if (!type.has_shape) return;
    ir::Shape s;
    for (const auto& d : type.dims) {
      if (d.kind == msg::Dim::kValue) {
        if (d.value < 0) fail("value '{}' has a negative dimension {}", v->name(), d.value);
        s.dims.push_back(ir::Dim::known(d.value));
      } else if (d.kind == msg::Dim::kParam) {
        s.dims.push_back(ir::Dim::named(d.param));
      } else {
        s.dims.emplace_back();
      }
    }
    v->shape = std::move(s);
  }

  ir::Attribute read_attr(const Attribute& a, ir::Graph& g, ir::Node* node) {
    ir::Attribute out;
    out.name = a.name;
    out.doc_string = a.doc_string;
    if (!a.ref_attr_name.empty()) fail("attribute '{}' refers to a function attribute; functions are not supported", a.name);
    switch (a.type) {
      case Attribute::kFloat: out.kind = ir::Attribute::Kind::kFloat; out.f = a.f; break;
      case Attribute::kInt: out.kind = ir::Attribute::Kind::kInt; out.i = a.i; break;
      case Attribute::kString: out.kind = ir::Attribute::Kind::kString; out.s = a.s; break;
      case Attribute::kTensor:
        out.kind = ir::Attribute::Kind::kTensor;
        out.t = tensor_from_msg(a.t, base_dir);
        out.t_name = a.t.name;
        break;
      case Attribute::kGraph:
        out.kind = ir::Attribute::Kind::kGraph;
        out.g = read_subgraph(a.g.empty() ? msg::Graph{} : a.g[0], g, node);
        break;
      case Attribute::kFloats: out.kind = ir::Attribute::Kind::kFloats; out.floats = a.floats; break;
      case Attribute::kInts: out.kind = ir::Attribute::Kind::kInts; out.ints = a.ints; break;
      case Attribute::kStrings: out.kind = ir::Attribute::Kind::kStrings; out.strings = a.strings; break;
      case Attribute::kTensors:
        out.kind = ir::Attribute::Kind::kTensors;
        for (const auto& t : a.tensors) out.tensors.push_back(tensor_from_msg(t, base_dir));
        break;
      case Attribute::kGraphs:
        out.kind = ir::Attribute::Kind::kGraphs;
        for (const auto& sg : a.graphs) out.graphs.push_back(read_subgraph(sg, g, node));
        break;
      default:
        fail("attribute '{}' has a type pare does not support (sparse tensors, type protos)", a.name);
    }
    return out;
  }

  std::shared_ptr<ir::Graph> read_subgraph(const msg::Graph& gp, ir::Graph& parent, ir::Node* owner) {
    auto sub = std::make_shared<ir::Graph>(&parent, owner);
    read_graph(gp, *sub);
    return sub;
  }

  // Converts a Constant node into a constant Value, remembering how it was written.
  void read_constant_node(const msg::Node& np, ir::Graph& g) {
    if (np.output.size() != 1 || np.output[0].empty())
      fail("Constant node '{}' must have exactly one output", np.name);
    if (np.attribute.size() != 1) fail("Constant node '{}' must have exactly one value attribute", np.name);
    const auto& a = np.attribute[0];
    ir::Tensor t;
    const std::string& an = a.name;
    int64_t nf = static_cast<int64_t>(a.floats.size()), ni = static_cast<int64_t>(a.ints.size());
    if (an == "value") {
      t = tensor_from_msg(a.t, base_dir);
    } else if (an == "value_float") {
      t = ir::Tensor::scalar<float>(a.f);
    } else if (an == "value_floats") {
      t = ir::Tensor::from<float>({nf}, a.floats);
    } else if (an == "value_int") {
      t = ir::Tensor::scalar<int64_t>(a.i);
    } else if (an == "value_ints") {
      t = ir::Tensor::from<int64_t>({ni}, a.ints);
    } else if (an == "value_string") {
      t = ir::Tensor::strings({}, {a.s});
    } else if (an == "value_strings") {
      t = ir::Tensor::strings({static_cast<int64_t>(a.strings.size())}, a.strings);
    } else if (an == "sparse_value") {
      fail("Constant node '{}' holds a sparse tensor, which pare does not support", np.name);
    } else {
      fail("Constant node '{}' has an unknown attribute '{}'", np.name, an);
    }
    if (g.find_value(np.output[0]) && g.find_value(np.output[0])->owner() == &g)
      fail("value '{}' is defined twice", np.output[0]);
    ir::Value* v = g.add_constant(np.output[0], std::move(t), ir::ConstantOrigin::kConstantNode);
    v->constant_node_name = np.name;
    v->constant_node_doc = np.doc_string;
    v->constant_attr = an;
    if (an == "value") v->doc_string = a.t.doc_string;
  }

  // "node 'name' (Op)"; unnamed nodes are named by their place in the file's
  // node list, as "#3".
  static std::string node_label(const msg::Node& np, int index) {
    std::string who = np.name.empty() ? fmt::format("#{}", index) : "'" + np.name + "'";
    return fmt::format("node {} ({})", who, np.op_type);
  }

  static std::string domain_of(const msg::Node& np) { return np.domain == "ai.onnx" ? "" : np.domain; }

  // The node's signature check, when its op is known. Returns the signature
  // (for the operand types, checked once the inputs are wired).
  bool check_node(const msg::Node& np, int index, NodeSignature& sig) const {
    std::string label = node_label(np, index);
    if (np.op_type.empty()) fail("node {} has no op_type", np.name.empty() ? fmt::format("#{}", index) : "'" + np.name + "'");
    check_attribute_names(np, label);
    std::string domain = domain_of(np);
    if (!signatures(np.op_type, domain, model.opset(domain), sig)) return false;
    check_signature(np, label, sig);
    return true;
  }

  void read_graph(const msg::Graph& gp, ir::Graph& g) {
    g.name = gp.name;
    g.doc_string = gp.doc_string;
    if (gp.sparse_initializers > 0) fail("graph '{}' has sparse initializers, which pare does not support", gp.name);

    std::unordered_map<std::string, ir::Value*> defined;  // names defined in this graph
    auto define = [&](ir::Value* v) {
      if (!defined.emplace(v->name(), v).second) fail("value '{}' is defined twice", v->name());
    };
    std::unordered_map<std::string, const msg::Tensor*> inits;
    for (const auto& t : gp.initializer) inits[t.name] = &t;

    for (const auto& vi : gp.input) {
      ir::Value* v = nullptr;
      if (auto it = inits.find(vi.name); it != inits.end()) {
        v = g.add_constant(vi.name, tensor_from_msg(*it->second, base_dir));
        v->doc_string = it->second->doc_string;
        inits.erase(it);
      } else {
        v = g.add_value(vi.name);
      }
      read_type(vi.type, v);
      v->has_value_info = true;
      if (!vi.doc_string.empty()) v->doc_string = vi.doc_string;
      define(v);
      g.inputs.push_back(v);
    }
    for (const auto& t : gp.initializer) {
      if (!inits.count(t.name)) continue;  // already added as a graph input
      if (t.name.empty()) fail("an initializer has no name");
      ir::Value* v = g.add_constant(t.name, tensor_from_msg(t, base_dir));
      v->doc_string = t.doc_string;
      define(v);
    }

    // First create every node output (files may list nodes out of order), then wire inputs.
    struct Pending {
      const msg::Node* np;
      ir::Node* n;
      int index;
      bool checked;
      NodeSignature sig;
    };
    std::vector<Pending> nodes;
    for (int k = 0; k < static_cast<int>(gp.node.size()); ++k) {
      const msg::Node& np = gp.node[k];
      NodeSignature sig;
      bool checked = check_node(np, k, sig);
      if (np.op_type == "Constant" && (np.domain.empty() || np.domain == "ai.onnx")) {
        read_constant_node(np, g);
        define(g.find_value(np.output[0]));
        continue;
      }
      std::vector<ir::Value*> outs;
      for (const auto& o : np.output) {
        if (o.empty()) {
          outs.push_back(nullptr);
          continue;
        }
        ir::Value* v = g.add_value(o);
        define(v);
        outs.push_back(v);
      }
      ir::Node* n = g.add_node_with_outputs(np.op_type, {}, outs, np.domain);
      n->name = np.name;
      n->doc_string = np.doc_string;
      nodes.push_back({&np, n, k, checked, std::move(sig)});
    }
    for (auto& p : nodes) {
      for (const auto& in : p.np->input) {
        if (in.empty()) {
          g.append_input(p.n, nullptr);
          continue;
        }
        auto it = defined.find(in);
        ir::Value* v = it != defined.end() ? it->second : (g.parent() ? g.parent()->find_value(in) : nullptr);
        if (!v) fail("node {} uses '{}' which is not defined", p.n->describe(), in);
        g.append_input(p.n, v);
      }
      for (const auto& a : p.np->attribute) p.n->attrs.push_back(read_attr(a, g, p.n));
      if (p.checked) check_operand_types(*p.n, node_label(*p.np, p.index), p.sig);
    }
    for (const auto& vi : gp.value_info) {
      auto it = defined.find(vi.name);
      if (it == defined.end()) continue;  // value_info for a value that does not exist: dropped
      read_type(vi.type, it->second);
      it->second->has_value_info = true;
      if (!vi.doc_string.empty()) it->second->doc_string = vi.doc_string;
    }
    for (const auto& vi : gp.output) {
      auto it = defined.find(vi.name);
      ir::Value* v = it != defined.end() ? it->second : (g.parent() ? g.parent()->find_value(vi.name) : nullptr);
      if (!v) fail("graph output '{}' is not defined", vi.name);
      if (v->owner() == &g) {
        read_type(vi.type, v);
        v->has_value_info = true;
        if (!vi.doc_string.empty()) v->doc_string = vi.doc_string;
      }
      g.outputs.push_back(v);
    }
    g.compact();  // sorts topologically; throws on a cycle
  }
};

std::string folder_of(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? "." : dir.string();
}

}  // namespace

ir::Model read_model_bytes(std::string_view bytes, const std::string& label, const std::string& base_dir,
                           const SignatureLookup& signatures) {
  try {
    if (bytes.empty()) fail("empty file");
    if (bytes.size() > static_cast<size_t>(kMaxProtobufBytes))
      fail("{} bytes, over protobuf's 2 GiB limit for one message; an ONNX model this large must keep its weights as "
           "external data", bytes.size());
    msg::Model mp;
    try {
      mp = msg::decode_model(bytes);
    } catch (const wire::WireError&) {
      fail("not a valid ONNX model: truncated or not protobuf");
    }
    if (!mp.has_graph) fail("not a valid ONNX model: it has no graph");
    if (mp.functions > 0) fail("model-local functions are not supported");
    if (mp.training_infos > 0) fail("training information is not supported");

    ir::Model m;
    m.ir_version = mp.ir_version;
    for (const auto& o : mp.opset_import) m.opsets.push_back({o.domain, o.version});
    m.producer_name = mp.producer_name;
    m.producer_version = mp.producer_version;
    m.domain = mp.domain;
    m.model_version = mp.model_version;
    m.doc_string = mp.doc_string;
    for (const auto& p : mp.metadata_props) m.metadata.emplace_back(p.key, p.value);
    if (!mp.graph.node.empty() && m.opset("") == 0)
      fail("not a valid ONNX model: no opset is imported for the default domain");

    Loader loader{base_dir, m, signatures};
    loader.read_graph(mp.graph, *m.graph);
    ir::verify(m);
    return m;
  } catch (Error& e) {
    e.with_context(label);
    throw;
  }
}

ir::Model read_model_file(const std::string& path, const SignatureLookup& signatures) {
  // Refused by its size before a byte is read: reading 4 GB only to fail the
  // parse costs minutes and the memory of the file twice.
  int64_t size = input_file_size(path);  // its errors already name the file
  if (size > kMaxProtobufBytes)
    throw Error(fmt::format("{}: the file is {} bytes, over protobuf's 2 GiB limit for one message; an ONNX model "
                            "this large must keep its weights as external data (a .data file beside the model)",
                            path, size));
  std::string bytes = read_input_file(path);
  return read_model_bytes(bytes, path, folder_of(path), signatures);
}

ir::Model read_model(const std::string& path) { return read_model_file(path, runtime_signature); }

ir::Model read_model_from_bytes(std::string_view bytes, const std::string& label, const std::string& base_dir) {
  return read_model_bytes(bytes, label, base_dir, runtime_signature);
}

}  // namespace pare::formats::onnx
