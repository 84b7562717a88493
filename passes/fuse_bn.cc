// fuse-bn: folds an inference BatchNormalization into the Conv, ConvTranspose
// or Gemm that feeds it.
//
// Before:  y = BatchNormalization(Conv(x, W, b), scale, bias, mean, var)
// After:   y = Conv(x, W', b')
// With s = scale / sqrt(var + epsilon), per output channel:
//   W' = W * s        (Conv: W's axis 0; ConvTranspose: axis 1, group 1 only;
//                      Gemm: B's output axis, 1 or 0 with transB)
//   b' = (b - mean) * s + bias       (b = 0 when absent; Gemm: b = beta * C)
// Applies only when the producer's output feeds nothing but the BN and is not a
// graph output, W (and b) and the four BN parameters are float32 constants of the
// right sizes, and the BN runs in inference mode with only its first output used.
// Anything else is left alone and counted as `skipped`. The BN's output value
// keeps its name, so graph outputs never change.
#include <cmath>

#include "passes/pass.h"

namespace pare::passes {
namespace {

const ir::Tensor* float_constant(const ir::Value* v) {
  return v && v->is_constant() && v->constant().dtype() == ir::DataType::kFloat ? &v->constant() : nullptr;
}

struct Scales {
  std::vector<float> s, shift;  // y = x * s + shift, per channel
};

// The BN as a per-channel affine map, or nothing if it cannot be folded.
std::optional<Scales> bn_affine(const ir::Node& bn, int64_t channels) {
  if (bn.attr_int("training_mode", 0) != 0 || bn.attr_int("is_test", 1) == 0) return std::nullopt;
  for (size_t i = 1; i < bn.outputs().size(); ++i)
    if (bn.output(i) && !bn.output(i)->uses().empty()) return std::nullopt;
  const ir::Tensor* p[4];
  for (int i = 0; i < 4; ++i) {
    p[i] = float_constant(bn.input(i + 1));
    if (!p[i] || p[i]->numel() != channels) return std::nullopt;
  }
  float eps = bn.attr_float("epsilon", 1e-5f);
  Scales out;
  auto scale = p[0]->span<float>(), bias = p[1]->span<float>(), mean = p[2]->span<float>(), var = p[3]->span<float>();
  for (int64_t c = 0; c < channels; ++c) {
    float s = scale[c] / std::sqrt(var[c] + eps);
    out.s.push_back(s);
    out.shift.push_back(bias[c] - mean[c] * s);
  }
  return out;
}

// W scaled along `axis` (the output-channel axis) by s.
ir::Tensor scale_along(const ir::Tensor& w, int64_t axis, const std::vector<float>& s) {
  std::vector<float> v(w.span<float>().begin(), w.span<float>().end());
  int64_t inner = 1;
  for (size_t i = axis + 1; i < w.rank(); ++i) inner *= w.dims()[i];
  int64_t channels = w.dims()[axis];
  for (size_t i = 0; i < v.size(); ++i) v[i] *= s[(static_cast<int64_t>(i) / inner) % channels];
  return ir::Tensor::from<float>(w.dims(), v);
}

class FuseBn : public Pass {
 public:
  void run(ir::Model& model, PassContext& ctx) override {
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      bool changed = false;
      for (ir::Node* bn : g.nodes_snapshot()) {
        if (bn->op_type != "BatchNormalization" || !bn->domain.empty() || bn->is_dead()) continue;
        if (fuse(g, *bn)) {
          ++ctx.stats["fused"];
          changed = true;
        } else {
          ++ctx.stats["skipped"];
        }
      }
      if (changed) g.compact();
    });
  }

 private:
  static bool fuse(ir::Graph& g, ir::Node& bn) {
    ir::Value* x = bn.input(0);
    ir::Node* p = x ? x->producer() : nullptr;
    if (!p || !p->domain.empty() || x->uses().size() != 1 || x->is_graph_output()) return false;
    bool gemm = p->op_type == "Gemm", conv = p->op_type == "Conv", convt = p->op_type == "ConvTranspose";
    if (!gemm && !conv && !convt) return false;
    const ir::Tensor* w = float_constant(p->input(1));
    if (!w || w->rank() < 2) return false;
    int64_t axis = conv ? 0 : convt ? 1 : (p->attr_int("transB", 0) ? 0 : 1);
    if (convt && p->attr_int("group", 1) != 1) return false;
    if (gemm && (x->shape ? x->shape->rank() != 2 : false)) return false;
    int64_t channels = w->dims()[axis];
    auto affine = bn_affine(bn, channels);
    if (!affine) return false;
    // The bias: Conv's third input, or Gemm's beta * C broadcast to [channels].
    std::vector<float> b(channels, 0.0f);
    if (ir::Value* bv = p->input(2)) {
      const ir::Tensor* t = float_constant(bv);
      if (!t) return false;
      float beta = gemm ? p->attr_float("beta", 1.0f) : 1.0f;
      if (t->numel() == channels) {
        for (int64_t c = 0; c < channels; ++c) b[c] = beta * t->span<float>()[c];
      } else if (t->numel() == 1) {
        for (int64_t c = 0; c < channels; ++c) b[c] = beta * t->span<float>()[0];
      } else {
        return false;  // a [M, N] C cannot become a per-channel bias
      }
    }
    for (int64_t c = 0; c < channels; ++c) b[c] = b[c] * affine->s[c] + affine->shift[c];
    // The constants this replaces, dropped below if nothing else uses them.
    std::vector<ir::Value*> replaced = {p->input(1), p->input(2)};
    for (size_t i = 1; i < bn.inputs().size(); ++i) replaced.push_back(bn.input(i));
    ir::Value* new_w = g.add_constant(g.unique_name(p->input(1)->name() + "_bn"), scale_along(*w, axis, affine->s));
    ir::Value* new_b = g.add_constant(g.unique_name((p->name.empty() ? bn.output(0)->name() : p->name) + "_bias_bn"),
                                      ir::Tensor::from<float>({channels}, b));
    g.set_input(p, 1, new_w);
    if (p->inputs().size() > 2) g.set_input(p, 2, new_b);
    else g.append_input(p, new_b);
    if (gemm) p->set_attr(ir::Attribute::of_float("beta", 1.0f));
    // The producer now computes the BN's output: move the BN's output value onto it.
    ir::Value* y = bn.output(0);
    g.replace_all_uses(y, x, /*allow_output_rename=*/true);
    g.erase(&bn);
    std::string name = y->name();
    g.rename(x, name);  // y is dead: its name passes to the fused output
    for (ir::Value* v : replaced)
      if (v && v->owner() == &g && v->is_constant() && v->uses().empty() && !v->is_graph_input() && !v->is_graph_output())
        g.erase_value(v);
    return true;
  }
};

}  // namespace

extern const PassInfo kFuseBnPass = {
    "fuse-bn",
    "fold inference BatchNormalization into the Conv, ConvTranspose or Gemm before it",
    {},
    [](const OptionValues&) -> std::unique_ptr<Pass> { return std::make_unique<FuseBn>(); },
};

}  // namespace pare::passes
