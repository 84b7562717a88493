// share: factor what several models compute identically into one trunk model,
// leaving each model a head that reads the trunk's outputs.
//
// Two values are the same computation when their content hashes are equal: a
// constant hashes its type, dims and bytes; a graph input its name, type and
// shape; a node output its op, domain, opset, attributes (canonical, in name
// order), the hashes of its inputs and its output index. A node whose outputs
// hash alike in at least two models goes into the trunk (once); because a hash
// covers everything upstream, the trunk is closed under its nodes' inputs. Nodes
// with subgraphs are never shared (their bodies may capture outer values).
//
//   models A, B:  x -> [conv stack] -> f -> headA -> scores
//                                      f -> headB -> boxes
//   trunk:        x -> [conv stack] -> f
//   A (head):     f -> headA -> scores      B (head):  f -> headB -> boxes
//
// A head keeps its model's output names; a model output that the trunk computes
// becomes an Identity in the head. Trunk outputs are named after the first model
// that has them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::passes {

struct SharePlan {
  std::vector<std::string> trunk_outputs;  // names in the trunk
  // Per model: which trunk outputs its head reads (trunk name -> the model's own name).
  std::vector<std::map<std::string, std::string>> head_inputs;
  size_t shared_nodes = 0;  // nodes in the trunk
  bool empty() const { return trunk_outputs.empty(); }
};

// Finds what `models` compute alike. Throws pare::Error when fewer than two
// models are given or when they import different opset versions of a domain
// the trunk would need.
SharePlan plan_sharing(const std::vector<const ir::Model*>& models);

// The trunk: every shared node once, the graph inputs they read, and
// `plan.trunk_outputs` as outputs (types from the models; run the models to know
// more). The trunk's opset imports are the models'.
ir::Model build_trunk(const std::vector<const ir::Model*>& models, const SharePlan& plan);

// Turns `model` (a copy of models[index], edited in place) into its head: it
// takes the trunk outputs it reads (renamed to their trunk names) and whichever
// original inputs its own nodes still read, and computes the model's outputs.
void make_head(ir::Model& model, const SharePlan& plan, size_t index);

}  // namespace pare::passes
