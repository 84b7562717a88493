// Content hashes of a model's main-graph values and nodes (docs/design.md,
// decision 26): a value's hash covers its whole upstream computation, so equal
// hashes mean the same computation from the same inputs. share finds what
// several models compute alike by them; tune finds what a one-layer variant
// still computes as the model it was made from.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "lib/ir/graph.h"

namespace pare::passes {

// A constant hashes its type, dims and bytes; a graph input its name, type and
// shape; a node output its op, domain, opset (unless `with_opset` is false),
// attributes (canonical, in name order), the hashes of its inputs and its
// output index. Nodes with subgraphs, and nodes outside the main graph, hash
// uniquely to this model (`model_index`) and node: they match nothing.
// Without the opset, a model and its copy whose opset a pass raised still
// match where the pass left nodes alone (the opset pass rewrites a node whose
// meaning changes, and that changes its hash).
class ContentHasher {
 public:
  ContentHasher(const ir::Model& m, size_t model_index, bool with_opset = true)
      : model_(m), index_(model_index), with_opset_(with_opset) {}

  const std::string& of(const ir::Value* v);
  const std::string& of(const ir::Node* n);

 private:
  const ir::Model& model_;
  size_t index_;
  bool with_opset_;
  std::unordered_map<const ir::Value*, std::string> values_;
  std::unordered_map<const ir::Node*, std::string> nodes_;
};

}  // namespace pare::passes
