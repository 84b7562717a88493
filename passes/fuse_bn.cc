// fuse-bn: folds an inference BatchNormalization, and a Mul, Add, Sub or Div by
// a per-channel (or scalar) constant, into the Conv, ConvTranspose or Gemm that
// feeds it.
//
// Before:  y = BatchNormalization(Conv(x, W, b), scale, bias, mean, var)
//          y = Add(Mul(Conv(x, W, b), s), t)      (PP-LCNetV3's learnable affine blocks)
// After:   y = Conv(x, W', b')
// Each is a per-channel affine map y = x * s + shift; for a BN,
// s = scale / sqrt(var + epsilon) and shift = bias - mean * s. Then:
//   W' = W * s        (Conv: W's axis 0; ConvTranspose: axis 1, group 1 only;
//                      Gemm: B's output axis, 1 or 0 with transB)
//   b' = (b - mean) * s + bias       (b = 0 when absent; Gemm: b = beta * C)
// Applies only when the producer's output feeds nothing but that node and is not a
// graph output, W (and b) and the parameters are float32 constants of the right
// sizes (for Mul/Add/Sub/Div: a scalar, or a constant whose only non-1 dim lines
// up with the output's channel axis once broadcast), and a BN runs in inference
// mode with only its first output used. Folding the elementwise steps also helps
// static int8: each would otherwise be one more quantization step. Anything else
// is left alone (BNs counted as `skipped`). The folded node's output value keeps
// its name, so graph outputs never change.
#include <cctype>
#include <cmath>

#include "passes/pass.h"

namespace pare::passes {
namespace {

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

// The constant operand of an elementwise node as one value per channel of an
// output of rank `rank` whose channel axis is `axis`; nothing if it broadcasts
// any other way (a [C] vector lines up with the last axis, not the channels).
std::optional<std::vector<float>> per_channel(const ir::Tensor& c, int64_t channels, size_t rank, size_t axis) {
  if (c.dtype() != ir::DataType::kFloat || c.rank() > rank) return std::nullopt;
  auto v = c.span<float>();
  if (c.numel() == 1) return std::vector<float>(channels, v[0]);
  size_t offset = rank - c.rank();  // broadcasting aligns dims on the right
  for (size_t i = 0; i < c.rank(); ++i) {
    int64_t d = c.dims()[i];
    bool channel_axis = i + offset == axis;
    if (channel_axis ? d != channels : d != 1) return std::nullopt;
  }
  return std::vector<float>(v.begin(), v.end());
}

// Mul, Add, Sub or Div of the producer's output by a constant, as an affine map.
std::optional<Scales> elementwise_affine(const ir::Node& n, const ir::Value* x, int64_t channels, size_t rank,
                                         size_t axis) {
  if (n.inputs().size() != 2 || n.outputs().size() != 1) return std::nullopt;
  bool x_first = n.input(0) == x;
  const ir::Tensor* c = float_constant(n.input(x_first ? 1 : 0));
  if (!c || (!x_first && (n.op_type == "Sub" || n.op_type == "Div"))) return std::nullopt;
  auto k = per_channel(*c, channels, rank, axis);
  if (!k) return std::nullopt;
  Scales out{std::vector<float>(channels, 1.0f), std::vector<float>(channels, 0.0f)};
  for (int64_t i = 0; i < channels; ++i) {
    float v = (*k)[i];
    if (n.op_type == "Mul") out.s[i] = v;
    else if (n.op_type == "Add") out.shift[i] = v;
    else if (n.op_type == "Sub") out.shift[i] = -v;
    else if (n.op_type == "Div" && v != 0.0f) out.s[i] = 1.0f / v;
    else return std::nullopt;
  }
  return out;
}

bool is_affine_op(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "BatchNormalization" || n.op_type == "Mul" || n.op_type == "Add" ||
                              n.op_type == "Sub" || n.op_type == "Div");
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
      for (ir::Node* n : g.nodes_snapshot()) {
        if (n->is_dead() || !is_affine_op(*n)) continue;
        bool bn = n->op_type == "BatchNormalization";
        if (fuse(g, *n)) {
          ++ctx.stats[bn ? "fused" : "fused_" + lower(n->op_type)];
          changed = true;
        } else if (bn) {
          ++ctx.stats["skipped"];
        }
      }
      if (changed) g.compact();
    });
  }

 private:
  // base + suffix, without piling up suffixes when one Conv absorbs several nodes
  // (w_bn, not w_bn_bn_1): everything from the first `suffix` on is dropped first.
  static std::string fused_name(const std::string& name, const std::string& suffix) {
    size_t at = name.find(suffix);
    return (at == std::string::npos ? name : name.substr(0, at)) + suffix;
  }

  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  // The input of `n` that a Conv/ConvTranspose/Gemm produces (for Mul and Add, either).
  static ir::Value* produced_input(const ir::Node& n) {
    for (size_t i = 0; i < std::min<size_t>(n.inputs().size(), n.op_type == "BatchNormalization" ? 1 : 2); ++i) {
      ir::Value* v = n.input(i);
      if (v && !v->is_constant() && v->producer()) return v;
    }
    return nullptr;
  }

  static bool fuse(ir::Graph& g, ir::Node& bn) {
    ir::Value* x = produced_input(bn);
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
    // The output's rank and channel axis: NC... for convolutions, [N, C] for Gemm.
    size_t out_rank = gemm ? 2 : w->rank(), out_axis = 1;
    auto affine = bn.op_type == "BatchNormalization" ? bn_affine(bn, channels)
                                                     : elementwise_affine(bn, x, channels, out_rank, out_axis);
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
    for (size_t i = 0; i < bn.inputs().size(); ++i)
      if (bn.input(i) != x) replaced.push_back(bn.input(i));
    ir::Value* new_w = g.add_constant(g.unique_name(fused_name(p->input(1)->name(), "_bn")), scale_along(*w, axis, affine->s));
    ir::Value* new_b = g.add_constant(g.unique_name(fused_name(p->input(2) ? p->input(2)->name()
                                                                          : (p->name.empty() ? bn.output(0)->name() : p->name) + "_bias",
                                                               "_bn")),
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
    for (ir::Value* v : replaced) g.erase_if_unused(v);
    return true;
  }
};

}  // namespace

extern const PassInfo kFuseBnPass = option_free_pass<FuseBn>(
    "fuse-bn",
    "fold inference BatchNormalization, and Mul/Add/Sub/Div by per-channel constants, into the Conv, ConvTranspose or Gemm before it");

}  // namespace pare::passes
