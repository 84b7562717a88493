// dce: removes what cannot affect a graph output.
//
//   - nodes none of whose outputs is used or is a graph output (transitively:
//     nodes are visited last to first, so a chain dies in one sweep);
//   - Identity nodes that do not produce a graph output: consumers read the
//     Identity's input directly;
//   - constants (initializers and Constant-node values) nothing uses;
//   - values left with no producer, no use and no role.
// Subgraphs (If/Loop/Scan bodies) are cleaned first, so that their captures of
// outer values are gone before the outer graph is swept. Graph inputs are never
// removed: they are the model's interface.
#include <algorithm>
#include <unordered_set>

#include "passes/pass.h"

namespace pare::passes {
namespace {

class Dce : public Pass {
 public:
  void run(ir::Model& model, PassContext& ctx) override {
    // Any value that is an output of some graph (a subgraph may output an outer value).
    std::unordered_set<const ir::Value*> outputs;
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) { outputs.insert(g.outputs.begin(), g.outputs.end()); });
    std::vector<ir::Graph*> graphs;
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) { graphs.push_back(&g); });
    // Children come after their parents in `graphs`: clean in reverse.
    for (auto it = graphs.rbegin(); it != graphs.rend(); ++it) clean(**it, outputs, ctx);
  }

 private:
  static void clean(ir::Graph& g, const std::unordered_set<const ir::Value*>& outputs, PassContext& ctx) {
    for (ir::Node* n : g.nodes_snapshot()) {
      if (n->op_type != "Identity" || !n->domain.empty() || !n->input(0) || !n->output(0)) continue;
      if (outputs.count(n->output(0))) continue;
      g.replace_all_uses(n->output(0), n->input(0));
      g.erase(n);
      ++ctx.stats["identities_removed"];
    }
    auto nodes = g.nodes_snapshot();
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      ir::Node* n = *it;
      if (n->is_dead()) continue;
      bool live = std::any_of(n->outputs().begin(), n->outputs().end(), [&](const ir::Value* v) {
        return v && (!v->uses().empty() || outputs.count(v));
      });
      if (live) continue;
      g.erase(n);
      ++ctx.stats["nodes_removed"];
    }
    for (ir::Value* v : g.values()) {
      if (v->producer() || !v->uses().empty() || outputs.count(v) || v->is_graph_input()) continue;
      if (v->is_constant()) ++ctx.stats["constants_removed"];
      g.erase_value(v);
    }
    g.compact();
  }
};

}  // namespace

extern const PassInfo kDcePass = option_free_pass<Dce>(
    "dce",
    "remove nodes, constants and Identity chains that no graph output depends on");

}  // namespace pare::passes
