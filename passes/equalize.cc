// equalize: cross-layer range equalization (Nagel et al. 2019, "Data-Free
// Quantization Through Weight Equalization and Bias Correction", section 4.1).
//
// Before:  y = Conv2(act(Conv1(x, W1, b1)), W2, b2)
// After:   y = Conv2(act'(Conv1(x, W1 / s, b1 / s)), W2 * s, b2)     s per channel
// where channel c of Conv1's output (W1's row c, b1[c]) is divided by s[c] and
// every weight of Conv2 that reads channel c is multiplied by it. With
//   r1[c] = max|W1[c, ...]|,  r2[c] = max|W2[:, c, ...]|,  s[c] = sqrt(r1[c] / r2[c])
// both ranges become sqrt(r1[c] * r2[c]): a channel BatchNorm folding shrank
// to 1e-7 no longer sits far below its tensor's other channels, where a
// per-tensor fp16 exponent or int8 scale rounds it away. The model computes the
// same function (to float rounding) because act is positively homogeneous:
//   Relu, LeakyRelu:       act(x / s) = act(x) / s for s > 0
//   Clip(min=0, max=M):    Clip(x / s, 0, M / s) = Clip(x, 0, M) / s; the clip
//                          becomes Relu then Min with a per-channel bound M / s
//   Min(x, bound):         the bound is divided by s
//   no activation at all.
// Conv2 must read channel c through one weight slice: group 1, or depthwise
// (group = channels, one input channel per group). Conv1's output and each step
// after it feed only the next step and are not graph outputs. Pairs are visited
// in graph order; kSweeps sweeps let chains settle (Nagel iterates too).
// Channels where either range is 0 are left alone. Biases are not corrected:
// this is the range equalization only (bias correction needs the statistics of
// the BatchNorms that fuse-bn folded away).
#include <cmath>

#include "passes/pass.h"

namespace pare::passes {
namespace {

constexpr int kSweeps = 4;

bool single_use(const ir::Value* v) { return v && v->uses().size() == 1 && !v->is_graph_output(); }

bool homogeneous(const ir::Node& n) { return n.op_type == "Relu" || n.op_type == "LeakyRelu"; }

// Clip with min 0 and a constant max (attributes before opset 11, inputs after): its max, else nothing.
std::optional<float> relu6_bound(const ir::Node& n) {
  if (n.op_type != "Clip") return std::nullopt;
  if (n.has_attr("min") || n.has_attr("max")) {
    if (n.attr_float("min", -INFINITY) != 0.0f || !n.has_attr("max")) return std::nullopt;
    return n.attr_float("max", 0);
  }
  const ir::Tensor* lo = float_constant(n.input(1));
  const ir::Tensor* hi = float_constant(n.input(2));
  if (!lo || !hi || lo->numel() != 1 || hi->numel() != 1 || lo->span<float>()[0] != 0.0f) return std::nullopt;
  return hi->span<float>()[0];
}

// A Min whose other operand is a float constant of one value or one per channel.
bool channel_min(const ir::Node& n, const ir::Value* x, int64_t channels) {
  if (n.op_type != "Min" || n.inputs().size() != 2 || n.input(0) != x) return false;
  const ir::Tensor* b = float_constant(n.input(1));
  return b && (b->numel() == 1 || b->numel() == channels);
}

struct Pair {
  ir::Node* conv1;
  std::vector<ir::Node*> between;  // activation steps, in order
  ir::Node* conv2;
};

// Conv1 -> steps -> Conv2 starting at conv1, or nothing.
std::optional<Pair> pair_from(ir::Node* conv1) {
  if (conv1->op_type != "Conv" || !conv1->domain.empty()) return std::nullopt;
  const ir::Tensor* w1 = float_constant(conv1->input(1));
  if (!w1 || w1->rank() < 3 || (conv1->input(2) && !float_constant(conv1->input(2)))) return std::nullopt;
  int64_t channels = w1->dims()[0];
  Pair p{conv1, {}, nullptr};
  ir::Value* at = conv1->output(0);
  for (int steps = 0; steps < 3; ++steps) {
    if (!single_use(at)) return std::nullopt;
    ir::Node* next = at->uses()[0].node;
    if (next->op_type == "Conv" && next->domain.empty() && at->uses()[0].index == 0) {
      p.conv2 = next;
      break;
    }
    if (!next->domain.empty() ||
        !(homogeneous(*next) || relu6_bound(*next) || channel_min(*next, at, channels)))
      return std::nullopt;
    p.between.push_back(next);
    at = next->output(0);
  }
  if (!p.conv2) return std::nullopt;
  const ir::Tensor* w2 = float_constant(p.conv2->input(1));
  if (!w2 || w2->rank() != w1->rank()) return std::nullopt;
  int64_t g2 = p.conv2->attr_int("group", 1);
  bool depthwise = g2 == channels && w2->dims()[1] == 1 && w2->dims()[0] == channels;
  if (!(g2 == 1 && w2->dims()[1] == channels) && !depthwise) return std::nullopt;
  return p;
}

// max|.| of each of `channels` slices of `t` along `axis`.
std::vector<double> ranges(const ir::Tensor& t, int64_t axis, int64_t channels) {
  int64_t inner = 1;
  for (size_t i = axis + 1; i < t.rank(); ++i) inner *= t.dims()[i];
  std::vector<double> r(channels, 0.0);
  auto w = t.span<float>();
  for (size_t i = 0; i < w.size(); ++i) {
    int64_t c = static_cast<int64_t>(i) / inner % t.dims()[axis];
    r[c] = std::max(r[c], static_cast<double>(std::fabs(w[i])));
  }
  return r;
}

// A copy of `t` with each slice along `axis` multiplied by factor[c].
ir::Tensor scaled(const ir::Tensor& t, int64_t axis, const std::vector<double>& factor) {
  int64_t inner = 1;
  for (size_t i = axis + 1; i < t.rank(); ++i) inner *= t.dims()[i];
  auto w = t.span<float>();
  std::vector<float> out(w.size());
  for (size_t i = 0; i < w.size(); ++i)
    out[i] = static_cast<float>(w[i] * factor[static_cast<int64_t>(i) / inner % t.dims()[axis]]);
  return ir::Tensor::from<float>(t.dims(), out);
}

// Points input `index` of `n` at a new constant holding `t` (the old one goes if nothing else reads it).
void replace_input(ir::Graph& g, ir::Node* n, size_t index, ir::Tensor t, const std::string& base) {
  ir::Value* old = n->input(index);
  ir::Value* fresh = g.add_constant(g.unique_name(base), std::move(t), old ? old->constant_origin : ir::ConstantOrigin::kInitializer);
  g.set_input(n, index, fresh);
  if (old) g.erase_if_unused(old);
}

// Rescales one pair; returns the largest |log s| applied (0 when nothing moved).
double equalize_pair(ir::Graph& g, const Pair& p) {
  const ir::Tensor& w1 = p.conv1->input(1)->constant();
  const ir::Tensor& w2 = p.conv2->input(1)->constant();
  int64_t channels = w1.dims()[0];
  bool depthwise = p.conv2->attr_int("group", 1) != 1;
  std::vector<double> r1 = ranges(w1, 0, channels), r2 = ranges(w2, depthwise ? 0 : 1, channels);
  std::vector<double> s(channels, 1.0), inv(channels, 1.0);
  double moved = 0;
  for (int64_t c = 0; c < channels; ++c) {
    if (r1[c] > 0 && r2[c] > 0) s[c] = std::sqrt(r1[c] / r2[c]);
    inv[c] = 1.0 / s[c];
    moved = std::max(moved, std::fabs(std::log(s[c])));
  }
  if (moved < 1e-6) return 0;
  std::string name1 = p.conv1->input(1)->name(), name2 = p.conv2->input(1)->name();
  ir::Tensor w1s = scaled(w1, 0, inv), w2s = scaled(w2, depthwise ? 0 : 1, s);
  replace_input(g, p.conv1, 1, std::move(w1s), name1);
  replace_input(g, p.conv2, 1, std::move(w2s), name2);
  if (p.conv1->input(2)) {
    const ir::Tensor& b1 = p.conv1->input(2)->constant();
    replace_input(g, p.conv1, 2, scaled(b1, 0, inv), p.conv1->input(2)->name());
  }
  size_t rank = w1.rank();  // Conv1's output has W1's rank: [N, C, spatial...]
  std::vector<int64_t> channel_dims(rank - 1, 1);
  channel_dims[0] = channels;
  for (ir::Node* n : p.between) {
    std::vector<float> bound(channels);
    if (auto m = relu6_bound(*n)) {
      // Clip(0, M) -> Relu, Min(M / s): the bound differs per channel now.
      for (int64_t c = 0; c < channels; ++c) bound[c] = static_cast<float>(*m * inv[c]);
      ir::Value* x = n->input(0);
      ir::Node* relu = g.add_node("Relu", {x}, {g.unique_name(x->name() + "_relu")});
      relu->output(0)->dtype = ir::DataType::kFloat;
      relu->output(0)->shape = n->output(0)->shape;
      ir::Value* b = g.add_constant(g.unique_name("eq_max"), ir::Tensor::from<float>(channel_dims, bound));
      ir::Value* y = n->output(0);
      std::string name = y->name();
      g.rename(y, g.unique_name(name + "_clip"));
      ir::Node* min = g.add_node("Min", {relu->output(0), b}, {name});
      min->output(0)->dtype = ir::DataType::kFloat;
      min->output(0)->shape = y->shape;
      g.replace_all_uses(y, min->output(0));
      std::vector<ir::Value*> bounds(n->inputs().begin() + 1, n->inputs().end());
      g.erase(n);
      for (ir::Value* v : bounds)
        if (v) g.erase_if_unused(v);
    } else if (n->op_type == "Min") {
      auto old = n->input(1)->constant().span<float>();
      for (int64_t c = 0; c < channels; ++c) bound[c] = static_cast<float>(old[old.size() == 1 ? 0 : c] * inv[c]);
      replace_input(g, n, 1, ir::Tensor::from<float>(channel_dims, bound), "eq_max");
    }
  }
  return moved;
}

class Equalize : public Pass {
 public:
  void run(ir::Model& model, PassContext& ctx) override {
    int64_t pairs = 0;
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      for (int sweep = 0; sweep < kSweeps; ++sweep) {
        bool moved = false;
        for (ir::Node* n : g.nodes_snapshot()) {
          if (n->is_dead()) continue;
          auto p = pair_from(n);
          if (!p) continue;
          if (sweep == 0) ++pairs;
          if (equalize_pair(g, *p) > 0) moved = true;
        }
        g.compact();  // after the sweep: the snapshot holds the nodes erased during it
        if (!moved) break;
      }
    });
    ctx.stats["pairs"] = pairs;
  }
};

}  // namespace

extern const PassInfo kEqualizePass = option_free_pass<Equalize>(
    "equalize",
    "cross-layer range equalization: rescale Conv pairs through Relu/Relu6 so each channel's weight ranges match");

}  // namespace pare::passes
