#include "passes/smooth.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "passes/bias_correct.h"

namespace pare::passes {
namespace {

constexpr double kMaxScale = 1e4;  // the largest s (and 1/s) relative to their geometric mean

// The channel axis of a layer's data input and output: 1 for Conv, the last (-1) for MatMul and Gemm.
int64_t channel_axis(const ir::Node& layer) { return layer.op_type == "Conv" ? 1 : -1; }

// Whether `layer` can be smoothed: its weight a float32 constant of its own.
bool smoothable(const ir::Node& layer) {
  if (!layer.domain.empty() || layer.inputs().size() < 2 || !layer.input(0) || layer.input(0)->is_constant())
    return false;
  const ir::Value* w = layer.input(1);
  if (!w || !w->is_constant() || w->uses().size() != 1 || w->is_graph_output() ||
      w->constant().dtype() != ir::DataType::kFloat)
    return false;
  size_t rank = w->constant().rank();
  if (layer.op_type == "Conv") return rank >= 3 && layer.attr_int("group", 1) >= 1;
  if (layer.op_type == "MatMul") return rank == 2;
  if (layer.op_type == "Gemm") return rank == 2 && !layer.attr_int("transA", 0);
  return false;
}

// The input channels the weight of `layer` reads, and for channel c every flat
// index of the weight that multiplies it.
struct Columns {
  int64_t channels = 0;
  std::function<void(int64_t c, const std::function<void(size_t)>&)> each;
};

Columns columns_of(const ir::Node& layer, const std::vector<int64_t>& d) {
  Columns out;
  if (layer.op_type == "Conv") {
    int64_t groups = layer.attr_int("group", 1), per_group = d[1], taps = 1;
    for (size_t i = 2; i < d.size(); ++i) taps *= d[i];
    if (d[0] % groups != 0) return out;
    int64_t outs = d[0] / groups;
    out.channels = per_group * groups;
    out.each = [=](int64_t c, const std::function<void(size_t)>& f) {
      int64_t g = c / per_group, j = c % per_group;
      for (int64_t o = g * outs; o < (g + 1) * outs; ++o)
        for (int64_t k = 0; k < taps; ++k) f(static_cast<size_t>((o * per_group + j) * taps + k));
    };
    return out;
  }
  bool rows = !(layer.op_type == "Gemm" && layer.attr_int("transB", 0));  // [K, N]: channel k is row k
  int64_t k_dim = rows ? d[0] : d[1], n_dim = rows ? d[1] : d[0];
  out.channels = k_dim;
  out.each = [=](int64_t c, const std::function<void(size_t)>& f) {
    for (int64_t n = 0; n < n_dim; ++n) f(static_cast<size_t>(rows ? c * n_dim + n : n * k_dim + c));
  };
  return out;
}

// The weight elements of each output channel of `layer` (as Columns does for inputs).
Columns rows_of(const ir::Node& layer, const std::vector<int64_t>& d) {
  Columns out;
  int64_t numel = 1;
  for (int64_t x : d) numel *= x;
  if (layer.op_type == "Conv") {
    int64_t per_output = numel / d[0];
    out.channels = d[0];
    out.each = [=](int64_t o, const std::function<void(size_t)>& f) {
      for (int64_t k = 0; k < per_output; ++k) f(static_cast<size_t>(o * per_output + k));
    };
    return out;
  }
  bool columns = !(layer.op_type == "Gemm" && layer.attr_int("transB", 0));  // [K, N]: channel n is column n
  int64_t k_dim = columns ? d[0] : d[1], n_dim = columns ? d[1] : d[0];
  out.channels = n_dim;
  out.each = [=](int64_t n, const std::function<void(size_t)>& f) {
    for (int64_t k = 0; k < k_dim; ++k) f(static_cast<size_t>(columns ? k * n_dim + n : n * k_dim + k));
  };
  return out;
}

// The bias `layer` adds per output channel, to be scaled with its weight's rows:
// Conv's B and Gemm's C (a constant of its own with one value per channel). False
// when it has another kind of bias; `bias` is nullptr when it has none.
bool own_bias(const ir::Node& layer, int64_t channels, ir::Value*& bias) {
  bias = layer.op_type == "MatMul" || layer.inputs().size() < 3 ? nullptr : layer.input(2);
  if (!bias) return true;
  return bias->is_constant() && bias->uses().size() == 1 && !bias->is_graph_output() &&
         bias->constant().dtype() == ir::DataType::kFloat && bias->constant().numel() == channels &&
         (bias->constant().rank() == 1 || layer.op_type == "Gemm");
}

// Per channel: the range max(hi, 0) - min(lo, 0) of each named tensor over the samples.
std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> channel_ranges(
    const ir::Model& model, const std::vector<Sample>& samples, const std::map<std::string, int64_t>& axes) {
  std::map<std::string, std::vector<double>> lo, hi;
  std::vector<std::string> names;
  for (const auto& [name, axis] : axes) names.push_back(name);
  for_each_capture(model, samples, names, "smooth", [&](const std::map<std::string, ir::Tensor>& captured) {
    for (const auto& [name, a] : axes) {
      const ir::Tensor& t = captured.at(name);
      int64_t axis = a < 0 ? static_cast<int64_t>(t.rank()) + a : a;
      if (t.dtype() != ir::DataType::kFloat || axis < 0 || axis >= static_cast<int64_t>(t.rank())) continue;
      int64_t channels = t.dims()[static_cast<size_t>(axis)], inner = 1;
      for (size_t i = static_cast<size_t>(axis) + 1; i < t.rank(); ++i) inner *= t.dims()[i];
      auto& l = lo[name];
      auto& h = hi[name];
      if (l.empty()) l.assign(static_cast<size_t>(channels), 0.0), h.assign(static_cast<size_t>(channels), 0.0);
      if (static_cast<int64_t>(l.size()) != channels) continue;
      auto x = t.span<float>();
      for (size_t i = 0; i < x.size(); ++i) {
        size_t c = static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
        if (std::isfinite(x[i])) l[c] = std::min<double>(l[c], x[i]), h[c] = std::max<double>(h[c], x[i]);
      }
    }
  });
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> out;
  for (auto& [name, l] : lo) out[name] = {std::move(l), std::move(hi[name])};
  return out;
}

// Replaces `layer`'s weight with each element of channel c (as `channels` walks
// them) mapped through scaled(value, c).
void scale_weight(ir::Node& layer, const Columns& channels, const std::function<double(double, int64_t)>& scaled) {
  const ir::Tensor& wt = layer.input(1)->constant();
  std::vector<float> w(wt.span<float>().begin(), wt.span<float>().end());
  for (int64_t c = 0; c < channels.channels; ++c)
    channels.each(c, [&](size_t i) { w[i] = static_cast<float>(scaled(w[i], c)); });
  std::vector<int64_t> dims = wt.dims();
  layer.input(1)->set_constant(ir::Tensor::from<float>(dims, w));
}

// The shape of a per-channel constant broadcast along the channel axis of
// `layer`'s data input or output: [1, C, 1, ...] for Conv, [C] for MatMul and Gemm.
std::vector<int64_t> channel_dims(const ir::Node& layer, int64_t channels) {
  if (layer.op_type != "Conv") return {channels};
  std::vector<int64_t> dims(layer.input(1)->constant().rank(), 1);
  dims[1] = channels;
  return dims;
}

// Rewrites `layer` to read Mul(x, 1/s) with its weight's columns times s.
void insert_smoothing(ir::Graph& g, ir::Node& layer, const Columns& cols, const std::vector<double>& s) {
  ir::Value* x = layer.input(0);
  scale_weight(layer, cols, [&](double w, int64_t c) { return w * s[static_cast<size_t>(c)]; });
  std::vector<float> inverse(s.size());
  for (size_t c = 0; c < s.size(); ++c) inverse[c] = static_cast<float>(1.0 / s[c]);
  ir::Value* k = g.add_constant(g.unique_name("smooth_s"), ir::Tensor::from<float>(channel_dims(layer, cols.channels), inverse));
  ir::Node* mul = g.add_node("Mul", {x, k}, {g.unique_name("smooth")});
  mul->output(0)->dtype = ir::DataType::kFloat;
  mul->output(0)->shape = x->shape;
  g.set_input(&layer, 0, mul->output(0));
}

// Rewrites `layer` so that its output y becomes Mul(y', t), y' computed with its
// weight's rows and bias divided by t; returns the Mul.
ir::Node* insert_output_smoothing(ir::Graph& g, ir::Node& layer, const Columns& rows, ir::Value* bias,
                                  const std::vector<double>& t) {
  scale_weight(layer, rows, [&](double w, int64_t o) { return w / t[static_cast<size_t>(o)]; });
  if (bias) {
    std::vector<float> b = bias->constant().as_float();
    for (size_t o = 0; o < b.size(); ++o) b[o] = static_cast<float>(b[o] / t[o]);
    bias->set_constant(ir::Tensor::from<float>(bias->constant().dims(), b));
  }
  std::vector<float> scale(t.begin(), t.end());
  ir::Value* k = g.add_constant(g.unique_name("smooth_t"), ir::Tensor::from<float>(channel_dims(layer, rows.channels), scale));
  // y keeps its name (a graph output stays one) on the Mul's output; the layer's own output is renamed.
  ir::Value* y = layer.output(0);
  std::string name = y->name();
  g.rename(y, g.unique_name(name + "_smoothed"));
  ir::Node* mul = g.add_node("Mul", {y, k}, {name});
  mul->output(0)->dtype = ir::DataType::kFloat;
  mul->output(0)->shape = y->shape;
  g.replace_all_uses(y, mul->output(0), /*allow_output_rename=*/true);
  g.set_input(mul, 0, y);
  return mul;
}

// s (smooth.h) per channel for strength `alpha`, or empty when no channel is live.
std::vector<double> scales_for(const std::vector<double>& range, const std::vector<double>& column_max, double alpha) {
  std::vector<double> s(range.size(), 1.0);
  double log_sum = 0;
  int64_t live = 0;
  for (size_t c = 0; c < range.size(); ++c) {
    if (!(range[c] > 0) || !(column_max[c] > 0)) continue;
    s[c] = std::pow(range[c], alpha) / std::pow(column_max[c], 1 - alpha);
    log_sum += std::log(s[c]);
    ++live;
  }
  if (live == 0) return {};
  // Clamped, so that a channel all but dead (BatchNorm folding leaves some at
  // 1e-7) does not scale its weights towards float's limits.
  double mean = std::exp(log_sum / static_cast<double>(live));
  for (size_t c = 0; c < range.size(); ++c)
    if (range[c] > 0 && column_max[c] > 0) s[c] = std::clamp(s[c] / mean, 1.0 / kMaxScale, kMaxScale);
  return s;
}

}  // namespace

Smoothed smooth_activations(ir::Model& model, const std::vector<ir::Node*>& layers,
                            const std::vector<ir::Node*>& outputs_of, const std::vector<Sample>& samples,
                            double alpha, PassContext& ctx) {
  Smoothed out;
  ir::Graph& g = *model.graph;
  std::map<std::string, int64_t> axes;  // the tensors whose channel ranges are measured
  std::vector<std::pair<ir::Node*, Columns>> inputs;
  for (ir::Node* n : layers) {
    if (!smoothable(*n)) continue;
    Columns cols = columns_of(*n, n->input(1)->constant().dims());
    if (cols.channels <= 0) continue;
    inputs.emplace_back(n, cols);
    axes.emplace(n->input(0)->name(), channel_axis(*n));
  }
  struct Output {
    ir::Node* node;
    Columns rows;
    ir::Value* bias;
  };
  std::vector<Output> outputs;
  for (ir::Node* n : outputs_of) {
    ir::Value* bias = nullptr;
    if (!smoothable(*n) || n->outputs().size() != 1 || !n->output(0)) continue;
    Columns rows = rows_of(*n, n->input(1)->constant().dims());
    if (rows.channels <= 0 || !own_bias(*n, rows.channels, bias)) continue;
    outputs.push_back({n, rows, bias});
    axes.emplace(n->output(0)->name(), channel_axis(*n));
  }
  if (inputs.empty() && outputs.empty()) return out;
  auto ranges = channel_ranges(model, samples, axes);
  auto range_of = [&](const ir::Value* v, int64_t channels) {
    std::vector<double> r;
    auto it = ranges.find(v->name());
    if (it == ranges.end() || static_cast<int64_t>(it->second.first.size()) != channels) return r;
    for (size_t c = 0; c < it->second.first.size(); ++c) r.push_back(it->second.second[c] - it->second.first[c]);
    return r;
  };
  // Outputs first, with the whole range moved (a row scale is free for per-channel
  // int8 weights): the inputs' strengths then see the weights as they will be stored.
  for (const Output& o : outputs) {
    std::vector<double> range = range_of(o.node->output(0), o.rows.channels);
    std::vector<double> t = scales_for(range, std::vector<double>(range.size(), 1.0), 1.0);
    if (t.empty()) continue;
    ir::Node* mul = insert_output_smoothing(g, *o.node, o.rows, o.bias, t);
    out.muls.insert(mul);
    out.restored.emplace(mul->output(0), mul);
    ++ctx.stats["outputs_smoothed"];
  }
  for (auto& [n, cols] : inputs) {
    std::vector<double> range = range_of(n->input(0), cols.channels);
    if (range.empty()) continue;
    auto w = n->input(1)->constant().span<float>();
    std::vector<double> column_max(static_cast<size_t>(cols.channels), 0.0);
    for (int64_t c = 0; c < cols.channels; ++c)
      cols.each(c, [&](size_t i) {
        column_max[static_cast<size_t>(c)] = std::max<double>(column_max[static_cast<size_t>(c)], std::fabs(w[i]));
      });
    // A depthwise kernel's per-channel int8 scales take s whole (smooth.h).
    const auto& d = n->input(1)->constant().dims();
    bool depthwise = n->op_type == "Conv" && d[1] == 1 && n->attr_int("group", 1) == cols.channels;
    std::vector<double> s = scales_for(range, column_max, depthwise ? 1.0 : alpha);
    if (s.empty()) continue;
    insert_smoothing(g, *n, cols, s);
    out.muls.insert(n->input(0)->producer());
    ++ctx.stats["activations_smoothed"];
  }
  g.compact();  // the Muls were appended: the runner needs graph order
  return out;
}

}  // namespace pare::passes
