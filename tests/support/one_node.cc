#include "tests/support/one_node.h"

#include <map>

#include "lib/runtime/session.h"

namespace pare::testing {

std::vector<ir::Tensor> run_one_node(const std::string& op, const std::vector<ir::Tensor>& inputs,
                                     std::vector<ir::Attribute> attrs, const OneNode& node) {
  ir::Model m;
  m.opsets = {{"", node.opset}};
  if (!node.domain.empty()) m.opsets.push_back({node.domain, 1});
  ir::Graph& g = *m.graph;
  std::vector<ir::Value*> ins;
  std::map<std::string, ir::Tensor> feed;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ir::Value* v = g.add_value("x" + std::to_string(i));
    v->dtype = inputs[i].dtype();
    g.inputs.push_back(v);
    ins.push_back(v);
    feed[v->name()] = inputs[i];
  }
  for (size_t i = 0; i < node.constants.size(); ++i) ins.push_back(g.add_constant("c" + std::to_string(i), node.constants[i]));
  std::vector<std::string> outs;
  for (int k = 0; k < node.outputs; ++k) outs.push_back("y" + std::to_string(k));
  ir::Node* n = g.add_node(op, ins, outs);
  n->domain = node.domain;
  n->attrs = std::move(attrs);
  for (int k = 0; k < node.outputs; ++k) g.outputs.push_back(n->output(k));
  return rt::Session(m, rt::SessionOptions{node.threads}).run(feed);
}

}  // namespace pare::testing
