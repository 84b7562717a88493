// fold: constant folding by executing the runner's own kernels.
//
// Before:  c = Concat(Shape(W), [-1])      (every input constant)
// After:   c = <constant tensor>
// A node folds when every input is a constant (initializer, Constant node or an
// earlier fold), it has no subgraph, and the runner has a kernel for it. The
// result replaces the node's outputs in place (names and uses kept), and input
// constants nothing else uses are dropped.
// Refused, and counted: folds whose outputs are larger than their inputs by more
// than 256 bytes (pare exists to make models smaller: expanding a
// ConstantOfShape, dequantizing int8 weights or casting fp16 weights to float
// would grow the file), and nondeterministic ops (Random*, Multinomial,
// Bernoulli). Sweeps in graph order until nothing changes (bounded).
#include <unordered_set>

#include "lib/runtime/kernel.h"
#include "lib/runtime/session.h"
#include "passes/pass.h"

namespace pare::passes {
namespace {

constexpr int64_t kGrowthAllowance = 256;
constexpr int kMaxSweeps = 16;

bool nondeterministic(const ir::Node& n) {
  return n.op_type.rfind("Random", 0) == 0 || n.op_type == "Multinomial" || n.op_type == "Bernoulli";
}

int64_t bytes_of(const ir::Tensor& t) {
  int64_t b = static_cast<int64_t>(t.byte_size());
  for (const auto& s : t.string_values()) b += static_cast<int64_t>(s.size());
  return b;
}

// Runs one node on constant inputs through the runner: a one-node model.
std::vector<ir::Tensor> evaluate(const ir::Model& model, const ir::Node& n) {
  ir::Model m;
  m.ir_version = model.ir_version;
  m.opsets = model.opsets;
  ir::Graph& g = *m.graph;
  std::vector<ir::Value*> inputs;
  for (const ir::Value* in : n.inputs())
    inputs.push_back(in ? g.add_constant(in->name(), in->constant()) : nullptr);
  std::vector<std::string> outs;
  for (const ir::Value* o : n.outputs()) outs.push_back(o ? o->name() : "");
  ir::Node* copy = g.add_node(n.op_type, inputs, outs, n.domain);
  copy->attrs = n.attrs;
  for (ir::Value* o : copy->outputs())
    if (o) g.outputs.push_back(o);
  return rt::Session(m).run({});
}

class Fold : public Pass {
 public:
  void run(ir::Model& model, PassContext& ctx) override {
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      for (int sweep = 0; sweep < kMaxSweeps && fold_graph(model, g, ctx); ++sweep) {
      }
    });
  }

 private:
  // One sweep; true if anything folded.
  bool fold_graph(const ir::Model& model, ir::Graph& g, PassContext& ctx) {
    bool changed = false;
    std::unordered_set<ir::Value*> touched;
    for (ir::Node* n : g.nodes_snapshot()) {
      if (n->is_dead() || !n->subgraphs().empty() || nondeterministic(*n)) continue;
      bool all_constant = true;
      int64_t in_bytes = 0;
      for (const ir::Value* in : n->inputs()) {
        if (in && !in->is_constant()) all_constant = false;
        if (in && in->is_constant()) in_bytes += bytes_of(in->constant());
      }
      if (!all_constant || n->outputs().empty()) continue;
      if (!rt::find_kernel(*n, model.opset(n->domain))) {
        ++ctx.stats["unsupported_op"];
        continue;
      }
      std::vector<ir::Tensor> results;
      try {
        results = evaluate(model, *n);
      } catch (const Error&) {
        ++ctx.stats["unsupported_op"];  // an attribute or type the runner refuses: leave the node
        continue;
      }
      int64_t out_bytes = 0;
      for (const auto& t : results) out_bytes += bytes_of(t);
      if (out_bytes > in_bytes + kGrowthAllowance) {
        ++ctx.stats["refused_growth"];
        continue;
      }
      size_t k = 0;
      for (ir::Value* o : std::vector<ir::Value*>(n->outputs()))
        if (o) g.make_constant(o, results[k++]);
      for (ir::Value* in : n->inputs())
        if (in) touched.insert(in);
      g.erase(n);
      ++ctx.stats["folded"];
      changed = true;
    }
    // Input constants that only fed folded nodes are gone with them.
    for (ir::Value* v : touched)
      if (v->owner() == &g && v->is_constant() && v->uses().empty() && !v->is_graph_output() && !v->is_graph_input()) {
        g.erase_value(v);
        ++ctx.stats["constants_removed"];
      }
    g.compact();
    return changed;
  }
};

}  // namespace

extern const PassInfo kFoldPass = option_free_pass<Fold>(
    "fold",
    "compute nodes whose inputs are all constant, with the runner's kernels, unless that grows the model");

}  // namespace pare::passes
