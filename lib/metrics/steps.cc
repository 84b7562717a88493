#include "lib/metrics/steps.h"

#include <algorithm>
#include <map>
#include <set>

namespace pare::metrics {
namespace {

const std::set<std::string> kSteps = {"Equal",  "Greater", "GreaterOrEqual",    "Less",  "LessOrEqual",
                                      "ArgMax", "ArgMin",  "TopK",              "Round", "Floor",
                                      "Ceil",   "Sign",    "NonMaxSuppression", "Hardmax"};
// Ops that only move elements: the tensor before them is the one a step reads.
const std::set<std::string> kMoves = {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity"};

// Exporters leave many intermediate types unrecorded; the capture decides later.
bool maybe_float(const ir::Value* v) { return v->dtype == ir::DataType::kUndefined || ir::is_float(v->dtype); }

// Values whose contents depend on the graph inputs (not Shape/Size of them,
// not the decoding of stored weights).
std::set<const ir::Value*> data_dependent(const ir::Graph& g) {
  std::set<const ir::Value*> out;
  for (const ir::Value* v : g.inputs)
    if (!v->is_constant()) out.insert(v);
  for (const auto& n : g.nodes()) {
    if (n->is_dead() || n->op_type == "Shape" || n->op_type == "Size") continue;
    bool reads = std::any_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Value* v) { return v && out.count(v); });
    if (reads)
      for (const ir::Value* v : n->outputs())
        if (v) out.insert(v);
  }
  return out;
}

class Finder {
 public:
  explicit Finder(const ir::Graph& g) : dependent_(data_dependent(g)) {
    size_t i = 0;
    for (const auto& n : g.nodes()) order_[n.get()] = i++;
  }

  OutputSteps find(const ir::Value* output) {
    OutputSteps r;
    r.output = output->name();
    std::set<const ir::Node*> seen, steps;
    std::set<const ir::Value*> found;
    std::vector<const ir::Value*> todo = {output};
    while (!todo.empty()) {
      const ir::Value* v = todo.back();
      todo.pop_back();
      const ir::Node* n = v->producer();
      if (!n || !seen.insert(n).second) continue;
      if (is_discontinuous_step(*n) && !float_data_inputs(*n).empty()) {
        steps.insert(n);
        for (const ir::Value* x : float_data_inputs(*n))
          if (const ir::Value* t = before_moves(x); !t->is_graph_input()) found.insert(t);
        continue;  // the last continuous tensors are wanted, not ones further back
      }
      for (const ir::Value* x : n->inputs())
        if (x && dependent_.count(x)) todo.push_back(x);
    }
    for (const ir::Node* n : by_order(steps))
      if (std::find(r.steps.begin(), r.steps.end(), n->op_type) == r.steps.end()) r.steps.push_back(n->op_type);
    std::vector<const ir::Value*> kept;
    for (const ir::Value* t : found)
      if (!follows_from_others(t, found)) kept.push_back(t);
    std::sort(kept.begin(), kept.end(), [&](const ir::Value* a, const ir::Value* b) { return rank(a) < rank(b); });
    for (const ir::Value* t : kept) r.tensors.push_back(t->name());
    return r;
  }

 private:
  std::vector<const ir::Value*> float_data_inputs(const ir::Node& n) const {
    std::vector<const ir::Value*> out;
    for (const ir::Value* x : n.inputs())
      if (x && dependent_.count(x) && maybe_float(x)) out.push_back(x);
    return out;
  }

  static const ir::Value* before_moves(const ir::Value* v) {
    while (v->producer() && kMoves.count(v->producer()->op_type) && v->producer()->input(0) &&
           !v->producer()->input(0)->is_constant() && !v->producer()->input(0)->is_graph_input())
      v = v->producer()->input(0);
    return v;
  }

  // Whether `t` is computed from the other found tensors alone, through no step
  // (the MaxPool of a heat map that is itself found).
  bool follows_from_others(const ir::Value* t, const std::set<const ir::Value*>& found) const {
    std::set<const ir::Node*> seen;
    std::vector<const ir::Value*> todo = {t};
    while (!todo.empty()) {
      const ir::Value* v = todo.back();
      todo.pop_back();
      if (v != t && found.count(v)) continue;
      const ir::Node* n = v->producer();
      if (!n || (is_discontinuous_step(*n) && !float_data_inputs(*n).empty())) return false;  // an input, or a step
      if (!seen.insert(n).second) continue;
      for (const ir::Value* x : n->inputs())
        if (x && dependent_.count(x)) todo.push_back(x);
    }
    return true;
  }

  size_t rank(const ir::Value* v) const { return v->producer() ? order_.at(v->producer()) : 0; }

  std::vector<const ir::Node*> by_order(const std::set<const ir::Node*>& nodes) const {
    std::vector<const ir::Node*> out(nodes.begin(), nodes.end());
    std::sort(out.begin(), out.end(), [&](const ir::Node* a, const ir::Node* b) { return order_.at(a) < order_.at(b); });
    return out;
  }

  std::set<const ir::Value*> dependent_;
  std::map<const ir::Node*, size_t> order_;
};

}  // namespace

bool is_discontinuous_step(const ir::Node& n) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  if (n.op_type == "Cast") {
    auto to = static_cast<ir::DataType>(n.attr_int("to", 0));
    return n.input(0) && maybe_float(n.input(0)) && (ir::is_integer(to) || to == ir::DataType::kBool);
  }
  return kSteps.count(n.op_type) > 0;
}

std::vector<OutputSteps> output_steps(const ir::Model& model) {
  const ir::Graph& g = *model.graph;
  Finder finder(g);
  std::vector<OutputSteps> out;
  for (const ir::Value* o : g.outputs) out.push_back(finder.find(o));
  return out;
}

}  // namespace pare::metrics
