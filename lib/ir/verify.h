// Checks the IR's invariants; throws pare::Error naming the graph, node and
// broken rule. Run after loading, after every pass in tests and under --verify-each.
//
// Invariants: each value has at most one definer (node output, graph input or
// constant); use lists match node inputs exactly; nodes are in topological
// order (so the graph is acyclic); every input is defined before use, here or in
// an outer graph; graph outputs are defined; value names are unique in the model.
#pragma once

#include "lib/ir/graph.h"

namespace pare::ir {

void verify(const Model& model);
void verify(const Graph& graph);

}  // namespace pare::ir
