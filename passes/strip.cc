// strip: drop what a phone does not need to run the model: long tensor names,
// doc strings, attributes that only restate their default, and the Constant-node
// wrapping of weights.
//
// Exporters name every tensor after its layer path ("StatefulPartitionedCall/
// model/conv2d_3/BiasAdd:0"), and a name is stored once per producer and once
// per consumer; on small models that is 5-10% of the file (BlazeFace: 40 kB of
// 442 kB). strip(names) renames every tensor except the main graph's inputs and
// outputs (the app's API) to a short base-36 name ("0", "1", ... "a", ... "10")
// and clears node names; strip(docs) clears doc strings. Metadata (pare's
// provenance, trim records) and the graph's I/O are kept.
//
// strip(defaults) removes attributes whose value is the one ONNX gives when the
// attribute is absent: the schema's default (Conv group=1, HardSigmoid alpha=0.2;
// only at opsets libonnx knows, since a later version may change a default)
// and, for the convolution and pooling family, the spec's "absent means 1 along
// each axis" (strides, dilations) and "absent means 0" (pads, output_padding).
// Exporters write them on every node: ~60 bytes per Conv.
// strip(constants) stores weights held in Constant nodes as initializers, which
// is the same tensor without the node around it (~25 bytes each).
//
// Run it last: per-layer error and `cut` address tensors by name.
#include <onnx/defs/schema.h>

#include <set>

#include "lib/onnxschema/schema.h"
#include "passes/pass.h"

namespace pare::passes {
namespace {

std::string base36(int64_t n) {
  static const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  do {
    s.insert(s.begin(), digits[n % 36]);
    n /= 36;
  } while (n > 0);
  return s;
}

// Ops whose spatial list attributes mean "1 along each axis" (strides,
// dilations) or "0" (pads, output_padding) when absent.
const std::set<std::string> kSpatialOps = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv",
                                           "MaxPool", "AveragePool", "LpPool"};

bool all_equal(const std::vector<int64_t>& v, int64_t x) {
  return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
}

// True when `a` on node `n` says what its absence would say.
bool is_default(const ir::Node& n, const ir::Attribute& a, int64_t opset) {
  if (kSpatialOps.count(n.op_type) && n.domain.empty() && a.kind == ir::Attribute::Kind::kInts) {
    if (a.name == "strides" || a.name == "dilations") return all_equal(a.ints, 1);
    if (a.name == "pads" || a.name == "output_padding") return all_equal(a.ints, 0);
  }
  const auto* schema = onnxschema::known_schema(n.op_type, n.domain, opset);
  if (!schema) return false;
  auto it = schema->attributes().find(a.name);
  if (it == schema->attributes().end()) return false;
  const ::onnx::AttributeProto& d = it->second.default_value;
  if (static_cast<int>(d.type()) != static_cast<int>(a.kind)) return false;  // no default (UNDEFINED) or another kind
  switch (a.kind) {
    case ir::Attribute::Kind::kInt: return d.i() == a.i;
    case ir::Attribute::Kind::kFloat: return d.f() == a.f;
    case ir::Attribute::Kind::kString: return d.s() == a.s;
    case ir::Attribute::Kind::kInts: return std::equal(a.ints.begin(), a.ints.end(), d.ints().begin(), d.ints().end());
    case ir::Attribute::Kind::kFloats:
      return std::equal(a.floats.begin(), a.floats.end(), d.floats().begin(), d.floats().end());
    default: return false;
  }
}

int64_t drop_default_attributes(ir::Graph& g, const ir::Model& model) {
  int64_t dropped = 0;
  for (const auto& n : g.nodes()) {
    int64_t opset = model.opset(n->domain);
    if (opset <= 0) continue;
    auto& attrs = n->attrs;
    size_t before = attrs.size();
    attrs.erase(std::remove_if(attrs.begin(), attrs.end(),
                               [&](const ir::Attribute& a) { return is_default(*n, a, opset); }),
                attrs.end());
    dropped += static_cast<int64_t>(before - attrs.size());
  }
  return dropped;
}

class Strip : public Pass {
 public:
  Strip(bool names, bool docs, bool defaults, bool constants)
      : names_(names), docs_(docs), defaults_(defaults), constants_(constants) {}

  void run(ir::Model& model, PassContext& ctx) override {
    ir::Graph& main = *model.graph;
    std::set<std::string> kept;
    for (const ir::Value* v : main.inputs) kept.insert(v->name());
    for (const ir::Value* v : main.outputs) kept.insert(v->name());
    int64_t next = 0, saved = 0;
    auto fresh = [&] {
      std::string n;
      do n = base36(next++);
      while (kept.count(n));
      return n;
    };
    ir::for_each_graph(main, [&](ir::Graph& g) {
      if (names_) {
        for (ir::Value* v : g.values()) {
          if (kept.count(v->name()) && &g == &main) continue;
          std::string n = fresh();
          saved += static_cast<int64_t>(v->name().size()) - static_cast<int64_t>(n.size());
          g.rename(v, n);
          v->constant_node_name.clear();
          ++ctx.stats["tensors_renamed"];
        }
        for (const auto& n : g.nodes()) {
          saved += static_cast<int64_t>(n->name.size());
          if (!n->name.empty()) ++ctx.stats["node_names_cleared"];
          n->name.clear();
        }
      }
      if (defaults_) ctx.stats["default_attributes_dropped"] += drop_default_attributes(g, model);
      // Initializers need IR version 4 to live outside the graph's inputs.
      if (constants_ && model.ir_version >= 4) {
        for (ir::Value* v : g.constants()) {
          if (v->constant_origin != ir::ConstantOrigin::kConstantNode) continue;
          v->constant_origin = ir::ConstantOrigin::kInitializer;
          v->constant_node_name.clear();
          v->constant_node_doc.clear();
          ++ctx.stats["constant_nodes_to_initializers"];
        }
      }
      if (docs_) {
        g.doc_string.clear();
        for (const auto& n : g.nodes()) n->doc_string.clear();
        for (ir::Value* v : g.values()) {
          v->doc_string.clear();
          v->constant_node_doc.clear();
        }
      }
    });
    if (docs_) model.doc_string.clear();
    ctx.stats["name_bytes_saved"] = saved;
  }

 private:
  bool names_, docs_, defaults_, constants_;
};

}  // namespace

extern const PassInfo kStripPass = {
    "strip",
    "shorten tensor names, clear node names and doc strings (graph inputs and outputs keep theirs), drop "
    "attributes that restate their default; run it last",
    {
        {"names", OptionType::kBool, "true", "rename inner tensors to short names and clear node names"},
        {"docs", OptionType::kBool, "true", "clear doc strings"},
        {"defaults", OptionType::kBool, "true", "drop attributes whose value is what their absence means"},
        {"constants", OptionType::kBool, "true", "store Constant-node weights as initializers"},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> {
      return std::make_unique<Strip>(v.flag("names"), v.flag("docs"), v.flag("defaults"), v.flag("constants"));
    },
};

}  // namespace pare::passes
