// opset(version=7..21): raise the ai.onnx opset import, rewriting the nodes whose
// signature changed on the way so the model computes exactly what it did.
//
//   Slice (10), TopK (10)            attributes starts/ends/axes, k -> int64 inputs
//   Clip (11)                        attributes min/max -> scalar inputs
//   Pad (11)                         attributes pads/value -> inputs
//   Dropout (12)                     ratio attribute dropped (inference is identity)
//   Split, Squeeze, Unsqueeze,
//   ReduceSum (13)                   attributes split/axes -> int64 inputs
//   Softmax, LogSoftmax, Hardmax (13) before 13 they flatten to 2-D at `axis`
//                                    (default 1); from 13 they act on one axis
//                                    (default -1). Same result when the axis is the
//                                    last one: the axis is then written explicitly;
//                                    otherwise Flatten -> op(axis=1) -> Reshape.
//   BatchNormalization (9)           `spatial` dropped when 1 (the only form later
//                                    versions keep)
//   BatchNormalization (14)          refused with training outputs (mean, var...):
//                                    from 14 only training_mode=1 has them
//   HardSwish (14)                   new; the other ops of 14 gained types only or
//                                    attributes whose default is the old behaviour
//                                    (Reshape's allowzero, the RNNs' layout)
//   RoiAlign (16)                    the default coordinate_transformation_mode
//                                    became half_pixel: the old output_half_pixel
//                                    is written explicitly
//   ReduceMax, ReduceMin, ReduceMean,
//   ReduceProd, ReduceL1, ReduceL2,
//   ReduceLogSum, ReduceLogSumExp,
//   ReduceSumSquare (18)             attribute axes -> int64 input
//   Split (18)                       without a split input, num_outputs is written
//                                    (13's equal parts; 18 asks for one of the two)
//   GridSample (20)                  modes bilinear/bicubic renamed linear/cubic
//   GroupNormalization (21), DFT (20) refused: their inputs changed meaning
// Opsets 15 to 21 otherwise added types (int4 and uint4 at 21, for blocked
// DequantizeLinear), new ops and attributes whose default is the old behaviour.
// Ops with no later form (Upsample, Scatter) and Resize-10, whose coordinate rule
// has no exact Resize-11 spelling for every mode, are refused with the node named.
// Every other op kept its meaning for these versions (new attributes default to
// the old behaviour). Constants the rewrite adds get short names.
#include "passes/opset.h"

#include <limits>

#include "lib/base/error.h"
#include "passes/pass.h"

namespace pare::passes {
namespace {

ir::Value* int64_input(ir::Graph& g, const std::string& base, const std::vector<int64_t>& v) {
  return g.add_constant(g.unique_name(base), ir::Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v));
}

// Moves an ints attribute to input `index` (omitted inputs in between stay empty).
void attr_to_input(ir::Graph& g, ir::Node* n, const std::string& attr, size_t index, const std::string& base) {
  if (!n->has_attr(attr)) return;
  ir::Value* v = int64_input(g, base, n->attr_ints(attr));
  n->remove_attr(attr);
  while (n->inputs().size() < index) g.append_input(n, nullptr);
  if (n->inputs().size() == index) g.append_input(n, v);
  else g.set_input(n, index, v);
}

std::optional<size_t> rank_of(const ir::Node& n) {
  for (ir::Value* v : {n.input(0), n.output(0)})
    if (v && v->shape) return v->shape->rank();
  return std::nullopt;
}

// Softmax-like ops: from opset 13 they act on one axis instead of the flattened tail.
bool upgrade_softmax(ir::Graph& g, ir::Node* n) {
  int64_t axis = n->attr_int("axis", 1);
  auto rank = rank_of(*n);
  // Without a known rank, a non-negative axis still has the flattening form below.
  if (!rank && axis < 0)
    fail("{}: the rank of its input is unknown, so its negative axis cannot be carried over", n->describe());
  int64_t r = rank ? static_cast<int64_t>(*rank) : -1;
  if (axis < 0) axis += r;
  if (rank && axis == r - 1) {
    n->set_attr(ir::Attribute::of_int("axis", axis));
    return true;
  }
  // Flatten to [outer, inner] at `axis`, apply on axis 1, restore the shape.
  ir::Value* x = n->input(0);
  ir::Node* shape = g.add_node("Shape", {x}, {g.unique_name(x->name() + "_shape")});
  ir::Node* flat = g.add_node("Flatten", {x}, {g.unique_name(x->name() + "_2d")});
  flat->set_attr(ir::Attribute::of_int("axis", axis));
  ir::Value* y = n->output(0);
  ir::Node* inner = g.add_node(n->op_type, {flat->output(0)}, {g.unique_name(y->name() + "_2d")});
  inner->name = n->name;
  inner->set_attr(ir::Attribute::of_int("axis", 1));
  ir::Node* back = g.add_node("Reshape", {inner->output(0), shape->output(0)}, {g.unique_name(y->name() + "_nd")});
  back->output(0)->dtype = y->dtype;
  back->output(0)->shape = y->shape;
  g.replace_all_uses(y, back->output(0), /*allow_output_rename=*/true);
  g.erase(n);
  return true;
}

bool upgrade_clip(ir::Graph& g, ir::Node* n) {
  auto bound = [&](const char* name) -> ir::Value* {
    const ir::Attribute* a = n->attr(name);
    if (!a) return nullptr;
    return g.add_constant(g.unique_name(std::string("clip_") + name), ir::Tensor::scalar<float>(a->f));
  };
  ir::Value* lo = bound("min");
  ir::Value* hi = bound("max");
  n->remove_attr("min");
  n->remove_attr("max");
  if (lo || hi) g.append_input(n, lo);
  if (hi) g.append_input(n, hi);
  return true;
}

bool upgrade_pad(ir::Graph& g, ir::Node* n) {
  ir::Value* pads = int64_input(g, "pads", n->attr_ints("pads"));
  float value = n->has_attr("value") ? n->attr(std::string_view("value"))->f : 0.0f;
  n->remove_attr("pads");
  n->remove_attr("value");
  g.append_input(n, pads);
  if (value != 0.0f) {
    ir::DataType dt = n->input(0)->dtype;
    if (dt != ir::DataType::kFloat) fail("{}: a non-zero pad value on a non-float32 input cannot be carried over", n->describe());
    g.append_input(n, g.add_constant(g.unique_name("pad_value"), ir::Tensor::scalar<float>(value)));
  }
  return true;
}

bool upgrade_node(ir::Graph& g, ir::Node* n, int64_t from, int64_t to) {
  const std::string& op = n->op_type;
  auto crosses = [&](int64_t v) { return from < v && to >= v; };
  if (op == "Upsample" && to >= 10)
    fail("{}: Upsample was removed in opset 10 and pare does not rewrite it to Resize; export the model at opset 11 or later",
         n->describe());
  if (op == "Scatter" && to >= 11) fail("{}: Scatter was replaced by ScatterElements in opset 11; re-export the model", n->describe());
  if (op == "Resize" && crosses(11))
    fail("{}: Resize-10 has no exact Resize-11 form for every mode; export the model at opset 11 or later", n->describe());
  if (op == "BatchNormalization" && crosses(9)) {
    if (n->attr_int("spatial", 1) != 1) fail("{}: BatchNormalization with spatial=0 has no opset-9 form", n->describe());
    n->remove_attr("spatial");
    return true;
  }
  if (op == "Slice" && crosses(10)) {
    std::vector<int64_t> starts = n->attr_ints("starts"), ends = n->attr_ints("ends");
    std::vector<int64_t> axes = n->attr_ints("axes");
    for (const char* a : {"starts", "ends", "axes"}) n->remove_attr(a);
    g.append_input(n, int64_input(g, "starts", starts));
    g.append_input(n, int64_input(g, "ends", ends));
    if (!axes.empty()) g.append_input(n, int64_input(g, "axes", axes));
    return true;
  }
  if (op == "TopK" && crosses(10)) {
    ir::Value* k = int64_input(g, "k", {n->attr_int("k", 0)});
    n->remove_attr("k");
    g.append_input(n, k);
    return true;
  }
  if (op == "Clip" && crosses(11)) return upgrade_clip(g, n);
  if (op == "Pad" && crosses(11)) return upgrade_pad(g, n);
  if (op == "Dropout" && crosses(12)) {
    bool had = n->has_attr("ratio");
    n->remove_attr("ratio");
    return had;
  }
  if ((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && crosses(13)) {
    if (!n->has_attr("axes")) return false;
    attr_to_input(g, n, "axes", 1, "axes");
    return true;
  }
  if (op == "Split" && (crosses(13) || crosses(18))) {
    bool changed = false;
    if (crosses(13) && n->has_attr("split")) {
      attr_to_input(g, n, "split", 1, "split");
      changed = true;
    }
    if (crosses(18) && !n->input(1) && !n->has_attr("num_outputs")) {
      n->set_attr(ir::Attribute::of_int("num_outputs", static_cast<int64_t>(n->outputs().size())));
      changed = true;
    }
    return changed;
  }
  if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && crosses(13)) return upgrade_softmax(g, n);
  if (op == "RoiAlign" && crosses(16)) {
    if (n->has_attr("coordinate_transformation_mode")) return false;
    n->set_attr(ir::Attribute::of_string("coordinate_transformation_mode", "output_half_pixel"));
    return true;
  }
  if (op.rfind("Reduce", 0) == 0 && op != "ReduceSum" && crosses(18)) {
    if (!n->has_attr("axes")) return false;
    attr_to_input(g, n, "axes", 1, "axes");
    return true;
  }
  if (op == "GridSample" && crosses(20)) {
    std::string mode = n->attr_string("mode", "bilinear");
    if (mode == "bilinear" || mode == "bicubic") {
      n->set_attr(ir::Attribute::of_string("mode", mode == "bilinear" ? "linear" : "cubic"));
      return true;
    }
    return false;
  }
  if (op == "GroupNormalization" && crosses(21))
    fail("{}: GroupNormalization's scale and bias changed from per group to per channel in opset 21; pare does not "
         "rewrite it", n->describe());
  if (op == "DFT" && crosses(20)) fail("{}: DFT's axis became an input in opset 20; pare does not rewrite it", n->describe());
  if (op == "BatchNormalization" && crosses(14)) {
    for (size_t i = 1; i < n->outputs().size(); ++i)
      if (n->output(i)) fail("{}: its training outputs have no opset-14 form", n->describe());
  }
  return false;
}

class Opset : public Pass {
 public:
  explicit Opset(int64_t version) : version_(version) {}
  void run(ir::Model& model, PassContext& ctx) override {
    int64_t from = model.opset("");
    ctx.stats["from"] = from;
    ctx.stats["nodes_rewritten"] = upgrade_opset(model, version_);
  }

 private:
  int64_t version_;
};

}  // namespace

int64_t upgrade_opset(ir::Model& model, int64_t target) {
  int64_t from = model.opset("");
  if (target > kMaxUpgradeOpset) fail("opset {} is beyond what pare can upgrade to (at most {})", target, kMaxUpgradeOpset);
  if (from > target) fail("the model is at opset {}; pare raises opsets, it does not lower them to {}", from, target);
  if (from < 7) fail("the model is at opset {}; pare upgrades from opset 7 on", from);
  if (from == target) return 0;
  int64_t rewritten = 0;
  ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
    for (ir::Node* n : g.nodes_snapshot())
      if (!n->is_dead() && n->domain.empty() && upgrade_node(g, n, from, target)) ++rewritten;
    g.compact();
  });
  for (auto& o : model.opsets)
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = target;
  // The IR version each opset came with: 7 for 13 and 14, 8 for 15 to 18, 9 for 19 and 20, 10 for 21.
  int64_t ir = target >= 21 ? 10 : target >= 19 ? 9 : target >= 15 ? 8 : 7;
  if (model.ir_version < ir) model.ir_version = ir;
  return rewritten;
}

extern const PassInfo kOpsetPass = {
    "opset",
    "raise the ai.onnx opset, rewriting ops whose signature changed (attributes that became inputs, Softmax's axis)",
    {
        {"version", OptionType::kInteger, "13", "the ai.onnx opset to reach", 7, static_cast<double>(kMaxUpgradeOpset)},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> { return std::make_unique<Opset>(v.integer("version")); },
};

}  // namespace pare::passes
