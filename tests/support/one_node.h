// Runs one node through the reference runner: the runtime suites test a kernel
// by building the smallest model around it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::testing {

struct OneNode {
  std::vector<ir::Tensor> constants;  // constant inputs, after the graph inputs
  int outputs = 1;
  int threads = 1;
  int64_t opset = 17;  // of the default domain
  std::string domain;  // the node's domain (at version 1) when not the default one
};

// A model of one node `op` whose graph inputs x0, x1, ... are fed `inputs`,
// followed by `node.constants` (c0, c1, ...); returns its outputs y0, y1, ...
std::vector<ir::Tensor> run_one_node(const std::string& op, const std::vector<ir::Tensor>& inputs,
                                     std::vector<ir::Attribute> attrs, const OneNode& node);

}  // namespace pare::testing
