// fuse-act: activations that exporters spell out in elementary ops become the one
// op ONNX has for them.
//
// MobileNetV3 and PP-LCNet use hard-swish, x * relu6(x + 3) / 6, and exporters
// without a HardSwish op (paddle2onnx at opset < 14, tf2onnx) write it as four
// nodes and two constants:
//   Before:  y = Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)     (or * 1/6, or the
//            division before the product)
//   After:   y = HardSwish(x)                              (opset >= 14)
//            y = Mul(x, HardSigmoid<alpha=1/6, beta=0.5>(x))  (earlier opsets)
// and its gate alone, relu6(x + 3) / 6, becomes HardSigmoid<alpha=1/6, beta=0.5>(x).
// HardSigmoid is max(0, min(1, alpha*x + beta)): the same function, rounded
// once where the long form rounds four times.
//
// Each of those nodes is one more pass over the tensor in a runner, and in static
// int8 one more quantization step (PP-OCR's classifier: 18 hard-swishes, 72 nodes
// that become 36 or 18). The intermediate tensors must feed nothing else and not
// be graph outputs; the constants must be scalars (3 and 6, or 1/6 for a Mul).
// The last node's output keeps its name, so graph outputs never change.
#include <cmath>

#include "passes/pass.h"

namespace pare::passes {
namespace {

// The float value of a one-element float32 constant, if `v` is one.
std::optional<float> scalar_constant(const ir::Value* v) {
  if (!v || !v->is_constant()) return std::nullopt;
  const ir::Tensor& t = v->constant();
  if (t.dtype() != ir::DataType::kFloat || t.numel() != 1) return std::nullopt;
  return t.span<float>()[0];
}

// A one-element constant combined with `x` leaves x's shape alone when its rank
// is at most 1 (x is an activation, rank >= 1) or at most x's known rank;
// otherwise broadcasting would add dims that the fused op would not.
bool keeps_shape(const ir::Value* c, const ir::Value* x) {
  size_t rank = c->constant().rank();
  return rank <= 1 || (x->shape && x->shape->rank() >= rank);
}

bool near(std::optional<float> v, double want) {
  return v && std::fabs(*v - want) <= 1e-6 * std::max(1.0, std::fabs(want));
}

// The one node that reads `v`, when `v` is an intermediate tensor read once.
ir::Node* sole_reader(const ir::Value* v) {
  if (!v || v->uses().size() != 1 || v->is_graph_output()) return nullptr;
  ir::Node* n = v->uses()[0].node;
  return n->domain.empty() ? n : nullptr;
}

// For a binary node with `v` as one operand: the other operand.
ir::Value* other_operand(const ir::Node& n, const ir::Value* v) {
  if (n.inputs().size() != 2) return nullptr;
  if (n.input(0) == v) return n.input(1);
  if (n.input(1) == v) return n.input(0);
  return nullptr;
}

// Clip to [0, 6]: bounds as attributes (opset < 11) or constant inputs.
bool is_relu6(const ir::Node& n, int64_t opset) {
  if (n.op_type != "Clip" || !n.domain.empty()) return false;
  if (opset < 11) return n.attr_float("min", -INFINITY) == 0.0f && n.attr_float("max", INFINITY) == 6.0f;
  return n.inputs().size() == 3 && near(scalar_constant(n.input(1)), 0.0) && near(scalar_constant(n.input(2)), 6.0);
}

// Dividing by 6 or multiplying by 1/6, with `v` the other operand.
bool is_sixth_of(const ir::Node& n, const ir::Value* v) {
  if (n.op_type == "Div")
    return n.inputs().size() == 2 && n.input(0) == v && near(scalar_constant(n.input(1)), 6.0) &&
           keeps_shape(n.input(1), v);
  if (n.op_type == "Mul") {
    const ir::Value* c = other_operand(n, v);
    return near(scalar_constant(c), 1.0 / 6.0) && keeps_shape(c, v);
  }
  return false;
}

struct Match {
  ir::Value* x = nullptr;
  std::vector<ir::Node*> nodes;  // to erase, the last one's output is the result
  bool swish = false;            // x * gate, else the gate alone
};

// From a Clip(Add(x, 3), 0, 6): the longest form that ends in a hard-sigmoid or
// hard-swish.
std::optional<Match> match_from_clip(ir::Node& clip, int64_t opset) {
  if (!is_relu6(clip, opset)) return std::nullopt;
  ir::Value* a = clip.input(0);
  ir::Node* add = a ? a->producer() : nullptr;
  if (!add || add->op_type != "Add" || !add->domain.empty() || sole_reader(a) != &clip) return std::nullopt;
  Match m;
  for (size_t i = 0; i < 2 && !m.x; ++i)
    if (near(scalar_constant(add->input(1 - i)), 3.0) && !add->input(i)->is_constant() &&
        keeps_shape(add->input(1 - i), add->input(i)))
      m.x = add->input(i);
  if (!m.x) return std::nullopt;
  m.nodes = {add, &clip};
  ir::Node* next = sole_reader(clip.output(0));
  if (!next) return std::nullopt;
  if (is_sixth_of(*next, clip.output(0))) {  // relu6(x + 3) / 6: the gate
    m.nodes.push_back(next);
    ir::Node* mul = sole_reader(next->output(0));
    if (mul && mul->op_type == "Mul" && other_operand(*mul, next->output(0)) == m.x) {
      m.nodes.push_back(mul);
      m.swish = true;
    }
    return m;
  }
  if (next->op_type == "Mul" && other_operand(*next, clip.output(0)) == m.x) {  // x * relu6(x + 3), then / 6
    ir::Node* sixth = sole_reader(next->output(0));
    if (!sixth || !is_sixth_of(*sixth, next->output(0))) return std::nullopt;
    m.nodes.push_back(next);
    m.nodes.push_back(sixth);
    m.swish = true;
    return m;
  }
  return std::nullopt;
}

ir::Node* hard_sigmoid(ir::Graph& g, ir::Value* x, const std::string& out) {
  ir::Node* n = g.add_node("HardSigmoid", {x}, {out});
  n->set_attr(ir::Attribute::of_float("alpha", 1.0f / 6.0f));
  n->set_attr(ir::Attribute::of_float("beta", 0.5f));
  return n;
}

class FuseAct : public Pass {
 public:
  void run(ir::Model& model, PassContext& ctx) override {
    int64_t opset = model.opset("");
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      for (ir::Node* n : g.nodes_snapshot()) {
        if (n->is_dead()) continue;
        auto m = match_from_clip(*n, opset);
        if (!m) continue;
        replace(g, *m, opset);
        ++ctx.stats[m->swish ? "hard_swish" : "hard_sigmoid"];
        ctx.stats["nodes_removed"] += static_cast<int64_t>(m->nodes.size()) - (m->swish && opset < 14 ? 2 : 1);
      }
      g.compact();
    });
  }

 private:
  static void replace(ir::Graph& g, const Match& m, int64_t opset) {
    ir::Value* y = m.nodes.back()->output(0);
    ir::Node* last;
    if (!m.swish) {
      last = hard_sigmoid(g, m.x, g.unique_name("hsig"));
    } else if (opset >= 14) {
      last = g.add_node("HardSwish", {m.x}, {g.unique_name("hswish")});
    } else {
      ir::Node* gate = hard_sigmoid(g, m.x, g.unique_name("hsig"));
      gate->output(0)->dtype = ir::DataType::kFloat;
      gate->output(0)->shape = m.x->shape;
      last = g.add_node("Mul", {m.x, gate->output(0)}, {g.unique_name("hswish")});
    }
    ir::Value* out = last->output(0);
    out->dtype = y->dtype;
    out->shape = y->shape;
    std::string name = y->name();
    g.replace_all_uses(y, out, /*allow_output_rename=*/true);
    std::vector<ir::Value*> constants;
    for (auto it = m.nodes.rbegin(); it != m.nodes.rend(); ++it) {
      for (ir::Value* v : (*it)->inputs())
        if (v && v->is_constant()) constants.push_back(v);
      g.erase(*it);
    }
    g.rename(out, name);  // y is dead: its name passes to the fused output
    for (ir::Value* v : constants) g.erase_if_unused(v);  // 3 and 6, unless shared
  }
};

}  // namespace

extern const PassInfo kFuseActPass = option_free_pass<FuseAct>(
    "fuse-act",
    "rewrite hard-swish and hard-sigmoid spelled out as Add, Clip, Mul, Div into HardSwish / HardSigmoid");

}  // namespace pare::passes
