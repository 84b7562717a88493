#include "lib/ir/verify.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "lib/base/error.h"

namespace pare::ir {
namespace {

std::string graph_label(const Graph& g) { return g.name.empty() ? "(unnamed graph)" : "'" + g.name + "'"; }

// `visible` holds the values defined so far in this graph and its enclosing graphs.
// `refs` counts the node inputs that name each value, over every graph; the use
// lists are checked against it at the end (check_use_lists) in time linear in the
// uses, where a search of the use list per input would be quadratic in a value's
// fan-out (a model input feeding 200,000 nodes took minutes).
void verify_graph(const Graph& g, std::unordered_set<const Value*>& visible,
                  std::unordered_set<std::string>& names, std::unordered_map<const Value*, size_t>& refs) {
  auto define = [&](const Value* v, const std::string& how) {
    if (!names.insert(v->name()).second)
      fail("graph {}: value name '{}' is defined twice ({})", graph_label(g), v->name(), how);
    visible.insert(v);
  };
  std::unordered_set<const Value*> inputs(g.inputs.begin(), g.inputs.end());
  for (const Value* v : g.inputs) {
    if (v->producer()) fail("graph {}: input '{}' also has a producer", graph_label(g), v->name());
    if (v->is_constant()) {
      names.insert(v->name());  // an initializer listed among the inputs: defined once, below
      visible.insert(v);
      continue;
    }
    define(v, "graph input");
  }
  for (const Value* v : g.constants()) {
    if (v->producer()) fail("graph {}: constant '{}' also has a producer", graph_label(g), v->name());
    if (inputs.count(v)) continue;
    define(v, "constant");
  }
  for (const auto& owned : g.nodes()) {
    const Node* n = owned.get();
    if (n->is_dead()) fail("graph {}: dead node {} left in the graph", graph_label(g), n->describe());
    if (n->owner() != &g) fail("graph {}: node {} has the wrong owner", graph_label(g), n->describe());
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      const Value* v = n->inputs()[i];
      if (!v) continue;
      if (!visible.count(v)) {
        bool later = v->producer() && v->producer()->owner() == &g;
        fail("graph {}: node {} uses '{}' {}", graph_label(g), n->describe(), v->name(),
             later ? "before it is computed (the nodes are not in topological order, or there is a cycle)"
                   : "which is not defined (an undefined input)");
      }
      ++refs[v];
    }
    for (Graph* sub : n->subgraphs()) {
      if (sub->parent() != &g) fail("graph {}: subgraph of {} has the wrong parent", graph_label(g), n->describe());
      std::unordered_set<const Value*> inner = visible;
      verify_graph(*sub, inner, names, refs);
    }
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      const Value* v = n->outputs()[i];
      if (!v) continue;
      if (v->producer() != n || v->producer_index() != i)
        fail("graph {}: output '{}' of node {} records another producer", graph_label(g), v->name(), n->describe());
      if (v->is_constant()) fail("graph {}: '{}' is both a constant and a node output", graph_label(g), v->name());
      define(v, "output of node " + n->describe());
    }
  }
  for (const Value* v : g.values())
    for (const Use& u : v->uses()) {
      if (u.node->is_dead()) fail("graph {}: '{}' is used by a dead node", graph_label(g), v->name());
      if (u.index >= u.node->inputs().size() || u.node->inputs()[u.index] != v)
        fail("graph {}: use list of '{}' names node {} which does not use it", graph_label(g), v->name(),
             u.node->describe());
    }
  for (const Value* v : g.outputs)
    if (!v || !visible.count(v))
      fail("graph {}: output '{}' is not defined", graph_label(g), v ? v->name() : std::string("(null)"));
}

// Each use names a live node input holding the value (checked in verify_graph);
// with no use listed twice and as many uses as inputs naming the value, the use
// list records every input exactly once.
void check_use_lists(const Graph& root, const std::unordered_map<const Value*, size_t>& refs) {
  for_each_graph(root, [&](const Graph& g) {
    for (const Value* v : g.values()) {
      std::vector<Use> uses = v->uses();
      std::sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) {
        return a.node != b.node ? std::less<const Node*>()(a.node, b.node) : a.index < b.index;
      });
      for (size_t k = 1; k < uses.size(); ++k)
        if (uses[k] == uses[k - 1])
          fail("graph {}: use list of '{}' records input {} of node {} twice", graph_label(g), v->name(),
               uses[k].index, uses[k].node->describe());
      auto it = refs.find(v);
      size_t expected = it == refs.end() ? 0 : it->second;
      if (uses.size() != expected)
        fail("graph {}: use list of '{}' has {} entries but {} node inputs use it", graph_label(g), v->name(),
             uses.size(), expected);
    }
  });
}

}  // namespace

void verify(const Graph& graph) {
  std::unordered_set<const Value*> visible;
  std::unordered_set<std::string> names;
  std::unordered_map<const Value*, size_t> refs;
  verify_graph(graph, visible, names, refs);
  check_use_lists(graph, refs);
}

void verify(const Model& model) {
  if (!model.graph) fail("model has no graph");
  verify(*model.graph);
}

}  // namespace pare::ir
