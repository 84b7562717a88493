// cut(inputs=..., outputs=...): extract the subgraph between named tensors.
//
// Before:  x -> A -> t -> B -> u -> C -> y        cut(inputs=t, outputs=u)
// After:   t -> B -> u
// The named inputs become graph inputs (their producers lose them), the named
// outputs become the graph outputs, and a sweep from the outputs keeps only what
// they need. See cut.h for the rules and the errors.
#include "passes/cut.h"

#include <unordered_set>

#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/pass.h"

namespace pare::passes {
namespace {

// dtype and shape of values the model does not declare, from one run of the runner.
void fill_types(const ir::Model& model, const std::vector<ir::Value*>& values, const std::map<std::string, int64_t>& dims) {
  std::vector<std::string> unknown;
  for (ir::Value* v : values)
    if (v->dtype == ir::DataType::kUndefined || !v->shape) unknown.push_back(v->name());
  if (unknown.empty()) return;
  // A model with symbolic input dims runs at the sizes given (else 1), but the
  // sizes seen are then one case among many: only the rank is recorded.
  std::map<std::string, int64_t> run_dims = dims;
  bool all_sized = true;
  for (const ir::Value* in : model.graph->inputs)
    if (in->shape)
      for (const auto& d : in->shape->dims)
        if (!d.is_known()) {
          run_dims.emplace(d.symbol, 1);
          all_sized = false;
        }
  rt::Session session(model);
  auto seen = session.run_capture(rt::random_feed(model, run_dims), unknown);
  for (ir::Value* v : values) {
    auto it = seen.find(v->name());
    if (it == seen.end()) continue;
    if (v->dtype == ir::DataType::kUndefined) v->dtype = it->second.dtype();
    if (!v->shape) {
      v->shape = ir::Shape::of(it->second.dims());
      if (!all_sized)
        for (auto& d : v->shape->dims) d = ir::Dim{};  // sizes came from guessed dims
    }
  }
}

}  // namespace

ir::Value* main_graph_value(ir::Model& model, const std::string& name) {
  ir::Graph& g = *model.graph;
  for (ir::Value* v : g.values())
    if (v->name() == name) return v;
  if (g.find_value_deep(name)) fail("'{}' is inside a subgraph; cut and split work on the main graph", name);
  std::vector<std::string> names;
  for (ir::Value* v : g.values()) names.push_back(v->name());
  fail("there is no tensor named '{}'{}", name, did_you_mean(name, names));
}

void cut(ir::Model& model, const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
         const std::map<std::string, int64_t>& dims) {
  ir::Graph& g = *model.graph;
  std::vector<ir::Value*> ins, outs;
  for (const auto& n : inputs) {
    ir::Value* v = main_graph_value(model, n);
    if (v->is_constant()) fail("'{}' is a constant, not a tensor to cut at", n);
    ins.push_back(v);
  }
  for (const auto& n : outputs) outs.push_back(main_graph_value(model, n));
  if (outs.empty()) outs = g.outputs;
  std::vector<ir::Value*> boundary = ins;
  boundary.insert(boundary.end(), outs.begin(), outs.end());
  fill_types(model, boundary, dims);

  std::vector<ir::Value*> original_inputs = g.inputs;
  for (ir::Value* v : ins) g.make_input(v);
  g.outputs = outs;
  for (ir::Value* v : outs) v->has_value_info = true;
  // Keep what the outputs need: a sweep from the back, then unused constants.
  auto nodes = g.nodes_snapshot();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    ir::Node* n = *it;
    bool live = false;
    for (const ir::Value* o : n->outputs()) live = live || (o && (!o->uses().empty() || o->is_graph_output()));
    if (!live) g.erase(n);
  }
  for (ir::Value* v : g.values()) g.erase_if_unused(v);
  // The interface: exactly the named inputs, or the original ones still in use.
  // (An initializer listed as an input, old style, stays while it is used.)
  std::vector<ir::Value*> kept;
  for (ir::Value* v : g.inputs) {
    bool named = std::find(ins.begin(), ins.end(), v) != ins.end();
    bool used = !v->uses().empty() || v->is_graph_output();
    if (named || (used && (inputs.empty() || v->is_constant()))) kept.push_back(v);
    else if (used) fail("the outputs also need input '{}', which is not among the inputs given to cut", v->name());
  }
  g.inputs = kept;
  for (ir::Value* v : original_inputs)
    if (std::find(kept.begin(), kept.end(), v) == kept.end() && v->uses().empty() && !v->is_graph_output())
      g.erase_value(v);
  g.compact();
}

namespace {

class Cut : public Pass {
 public:
  Cut(std::vector<std::string> inputs, std::vector<std::string> outputs)
      : inputs_(std::move(inputs)), outputs_(std::move(outputs)) {}
  void run(ir::Model& model, PassContext& ctx) override {
    size_t before = 0;
    ir::for_each_graph(*model.graph, [&](const ir::Graph& g) { before += g.nodes().size(); });
    cut(model, inputs_, outputs_);
    size_t after = 0;
    ir::for_each_graph(*model.graph, [&](const ir::Graph& g) { after += g.nodes().size(); });
    ctx.stats["nodes_cut"] = static_cast<int64_t>(before - after);
  }

 private:
  std::vector<std::string> inputs_, outputs_;
};

}  // namespace

extern const PassInfo kCutPass = {
    "cut",
    "keep the subgraph between named tensors (inputs= and outputs=, repeatable)",
    {
        {"inputs", OptionType::kList, "", "tensors that become the graph's inputs"},
        {"outputs", OptionType::kList, "", "tensors that become the graph's outputs (default: the current ones)"},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> { return std::make_unique<Cut>(v.list("inputs"), v.list("outputs")); },
};

}  // namespace pare::passes
