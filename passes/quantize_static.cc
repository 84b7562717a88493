// quantize(int8, calib=DIR): static int8 in QDQ form.
//
// Every activation read by a quantizable node passes through one
// QuantizeLinear -> DequantizeLinear pair, with the scale and zero point that its
// calibrated range gives:
//   Before:  y = Conv(x, W, b)
//   After:   y = Conv(DQ(Q(x, sx, zx), sx, zx), DQ(Wq, sw, axis=0), b)
// Weights are symmetric int8 (per output channel by default). Biases stay float
// by default: the int32 bias an integer kernel adds to its accumulator is
// round(b / (sx*sw[c])), which a runtime computes at load from scales the file
// already holds (ONNX Runtime 1.30 does, then fuses QLinearConv; TensorRT
// asks for float biases), so storing it would cost 8 bytes per channel (value and
// scale) for nothing. bias=int32 stores DQ(bq, sx*sw) for runtimes that do not
// derive it; that is 9% of the PP-OCR classifier's static int8 file. The graph still
// computes in float: a runtime with int8 kernels (ONNX Runtime, TFLite, Core ML
// after conversion) fuses each DQ -> op -> Q into an integer op, and pare's runner
// executes the QDQ literally, which is the reference for those fused kernels.
//
// Quantizable: Conv, ConvTranspose, Gemm, MatMul (activations, weights, biases);
// Add, Mul, Concat, MaxPool, AveragePool, GlobalAveragePool, HardSwish,
// HardSigmoid, Sigmoid, nearest Resize (activation inputs). A quantized output
// of a nearest Resize shares its input's scale and zero point.
// A tensor gets one Q/DQ pair however many quantized nodes read it; its float
// consumers keep the float tensor. Skipped nodes (skip=, skip-ops=, the keep-float
// list) keep float inputs. Only the main graph's activations are quantized (the
// runner captures main-graph tensors); weights inside subgraphs still are.
// Per-channel QDQ needs opset 13: older models are upgraded first (opset.h).
// smooth=A first evens out the channel ranges of the layers' inputs and of the
// outputs other steps quantize (smooth.h); gptq=DIR rounds the int8 weights
// aiming at the float output from the quantized inputs (gptq.h).
#include <algorithm>
#include <cmath>
#include <set>

#include "lib/base/strings.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/gptq.h"
#include "passes/opset.h"
#include "passes/quantize.h"
#include "passes/smooth.h"

namespace pare::passes {
namespace {

const std::set<std::string> kWeightOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
// HardSwish, HardSigmoid and Sigmoid have no integer kernel in most runtimes, but
// quantizing their input quantizes the output of the Conv before them, which a
// runtime then runs as an integer Conv (ONNX Runtime: QLinearConv); without it
// the Conv stays float (9 of the PP-OCR classifier's 53).
const std::set<std::string> kActivationOps = {
    "Add", "Mul", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "HardSwish", "HardSigmoid", "Sigmoid"};

struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
};

// Scale and zero point for range [lo, hi] (lo <= 0 <= hi) on [qmin, qmax].
QParams qparams(const Range& r, bool uint8, bool symmetric) {
  double qmin = uint8 ? 0 : -128, qmax = uint8 ? 255 : 127;
  QParams p;
  if (symmetric) {
    double t = std::max(std::fabs(r.lo), std::fabs(r.hi));
    if (t <= 0) return {1.0f, uint8 ? 128 : 0};
    p.scale = static_cast<float>(2 * t / (qmax - qmin));
    p.zero_point = uint8 ? 128 : 0;
    return p;
  }
  double span = static_cast<double>(r.hi) - r.lo;
  if (span <= 0) return {1.0f, static_cast<int32_t>(uint8 ? 0 : -128)};
  p.scale = static_cast<float>(span / (qmax - qmin));
  p.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(qmin - r.lo / p.scale), qmin, qmax));
  return p;
}

// A computed tensor that may be float32: exported models often record no type
// for intermediate tensors, so calibration (which sees the real tensors) decides.
bool is_activation(const ir::Value* v) {
  return v && !v->is_constant() && (v->dtype == ir::DataType::kFloat || v->dtype == ir::DataType::kUndefined) &&
         (v->producer() || v->is_graph_input());
}

// A nearest Resize moves values without computing new ones: its output takes
// its input's scale and zero point (as ONNX Runtime's quantizer shares them for
// Resize, MaxPool, Transpose...), so that a runtime runs it on the bytes
// (pare's runner: qdq_groups.h) instead of dequantizing, moving floats and
// quantizing again. PP-OCRv4 det upsamples 96 channels to 160x160 six times.
bool moves_values(const ir::Node& n) {
  if (!n.domain.empty() || (n.op_type != "Resize" && n.op_type != "Upsample")) return false;
  return n.attr_string("mode", "nearest") == "nearest";
}

// The inputs of `n` that get a Q/DQ pair.
std::vector<size_t> activation_slots(const ir::Node& n) {
  std::vector<size_t> out;
  if (!n.domain.empty()) return out;
  if (moves_values(n)) {
    if (is_activation(n.input(0))) out.push_back(0);
  } else if (kWeightOps.count(n.op_type)) {
    for (size_t i = 0; i < std::min<size_t>(n.inputs().size(), 2); ++i)
      if (is_activation(n.input(i))) out.push_back(i);
  } else if (kActivationOps.count(n.op_type)) {
    for (size_t i = 0; i < n.inputs().size(); ++i)
      if (is_activation(n.input(i))) out.push_back(i);
  }
  return out;
}

// Bias of a Conv/ConvTranspose (input 2) or Gemm (input C) as int32 with scale
// sx*sw[c]: exactly what an integer kernel adds to its int32 accumulator.
void quantize_bias(ir::Graph& g, ir::Node* n, float input_scale, const std::vector<float>& weight_scales,
                   PassContext& ctx) {
  ir::Value* b = n->input(2);
  if (!b || !b->is_constant() || b->uses().size() != 1 || b->is_graph_output()) return;
  const ir::Tensor& t = b->constant();
  if (t.dtype() != ir::DataType::kFloat || t.rank() != 1) return;
  int64_t c = t.dims()[0];
  if (weight_scales.size() != 1 && static_cast<int64_t>(weight_scales.size()) != c) return;
  auto bias = t.span<float>();
  std::vector<float> scale(c);
  std::vector<int32_t> q(c);
  for (int64_t i = 0; i < c; ++i) {
    scale[i] = input_scale * weight_scales[weight_scales.size() == 1 ? 0 : i];
    if (scale[i] <= 0) return;
    double v = std::nearbyint(bias[i] / scale[i]);
    if (std::fabs(v) > 2147483647.0) return;  // would overflow int32: keep float
    q[i] = static_cast<int32_t>(v);
  }
  ir::Value* bq = g.add_constant(g.unique_name("q32"), ir::Tensor::from<int32_t>({c}, q), b->constant_origin);
  ir::Value* s = g.add_constant(g.unique_name("s32"), ir::Tensor::from<float>({c}, scale));
  std::string name = b->name();
  g.rename(b, g.unique_name("bf"));
  ir::Node* deq = g.add_node("DequantizeLinear", {bq, s}, {name});
  deq->set_attr(ir::Attribute::of_int("axis", 0));
  deq->output(0)->dtype = ir::DataType::kFloat;
  deq->output(0)->shape = b->shape;
  g.replace_all_uses(b, deq->output(0));
  g.erase_value(b);
  ++ctx.stats["biases_quantized"];
}

// The caller's ranges for `names`, or none unless it has every one of them.
std::map<std::string, Range> known_ranges_for(const std::vector<std::string>& names, const PassContext& ctx) {
  if (!ctx.known_ranges) return {};
  auto known = ctx.known_ranges();
  std::map<std::string, Range> out;
  for (const auto& n : names) {
    auto it = known.find(n);
    if (it == known.end()) return {};
    out[n] = Range{it->second.first, it->second.second};
  }
  return out;
}

// Raises the model to opset 13. Where a rewrite needs a tensor's rank and the
// file does not record it (PP-OCRv4 rec's Softmax with a negative axis), the
// rank comes from one run of the runner on a calibration sample; the shapes so
// lent are taken back afterwards, so the file records no more than before.
void upgrade_with_run_ranks(ir::Model& model, const Sample& sample) {
  std::vector<ir::Value*> lent;
  try {
    rt::Session session(model);
    session.run(sample);
    const rt::RunStats& stats = session.last_stats();
    for (size_t i = 0; i < stats.nodes.size(); ++i)
      for (size_t k = 0; k < stats.nodes[i]->outputs().size() && k < stats.shapes[i].outputs.size(); ++k) {
        ir::Value* v = stats.nodes[i]->output(k);
        if (v && !v->shape) {
          v->shape = ir::Shape(std::vector<ir::Dim>(stats.shapes[i].outputs[k].size()));
          lent.push_back(v);
        }
      }
  } catch (const InternalError&) {
    throw;
  } catch (const Error&) {
    // The model does not run as it is: the upgrade says what it cannot carry over.
  }
  std::set<std::string> names;
  for (ir::Value* v : lent) names.insert(v->name());
  upgrade_opset(model, 13);
  ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
    for (const auto& n : g.nodes())
      for (ir::Value* v : n->outputs())
        if (v && names.count(v->name()) && v->shape) {
          bool all_unknown = std::all_of(v->shape->dims.begin(), v->shape->dims.end(),
                                         [](const ir::Dim& d) { return !d.is_known() && d.symbol.empty(); });
          if (all_unknown) v->shape.reset();
        }
  });
}

}  // namespace

std::vector<std::string> static_activation_names(const ir::Model& model) {
  const ir::Graph& g = *model.graph;
  std::set<const ir::Value*> constant_derived = ir::constant_derived_values(g);
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& n : g.nodes())
    for (size_t i : activation_slots(*n))
      if (!constant_derived.count(n->input(i)) && seen.insert(n->input(i)->name()).second)
        names.push_back(n->input(i)->name());
  return names;
}

void quantize_static(ir::Model& model, const QuantizeOptions& o, PassContext& ctx) {
  if (!ctx.load_samples) fail("calib={}: this caller cannot read sample folders", o.calib);
  std::vector<Sample> samples;
  try {
    samples = ctx.load_samples(o.calib, rt::input_names(model));
  } catch (Error& e) {
    e.with_context("calib");
    throw;
  }
  if (samples.empty()) fail("calib={}: holds no samples", o.calib);
  int64_t from = model.opset("");
  if (from < 13) {
    upgrade_with_run_ranks(model, samples.front());
    ctx.stats["opset_upgraded_from"] = from;
  }
  ir::Graph& g = *model.graph;

  // 0. With smooth=, the weight layers' inputs and the outputs to be quantized
  // are smoothed first (smooth.h).
  Smoothed smoothed;
  if (o.smooth > 0) {
    std::vector<ir::Node*> layers, outputs_of;
    std::set<const ir::Node*> smoothed_inputs;
    for (ir::Node* n : g.nodes_snapshot())
      if (kWeightOps.count(n->op_type) && !o.node_skipped(*n) && eligible_weight(n->input(1), o)) {
        layers.push_back(n);
        smoothed_inputs.insert(n);
      }
    // An output is smoothed where another step quantizes it (HardSwish, Add...):
    // a layer reading it quantizes its own smoothed input.
    std::set<const ir::Value*> read_quantized;
    for (ir::Node* n : g.nodes_snapshot())
      if (!smoothed_inputs.count(n) && !o.node_skipped(*n, !moves_values(*n)))
        for (size_t i : activation_slots(*n)) read_quantized.insert(n->input(i));
    for (ir::Node* n : layers)
      if (n->output(0) && read_quantized.count(n->output(0))) outputs_of.push_back(n);
    smoothed = smooth_activations(model, layers, outputs_of, samples, o.smooth, ctx);
  }

  // 1. Which tensors to quantize, in graph order (names are deterministic).
  // Tensors computed from constants only (BlazeFace's ConstantOfShape zero
  // channels) are constants in disguise: a Q/DQ pair on them would only cost bytes.
  std::set<const ir::Value*> constant_derived = ir::constant_derived_values(g);
  std::vector<std::pair<ir::Node*, size_t>> uses;
  std::vector<std::string> names;
  std::set<const ir::Value*> seen;
  std::set<std::pair<ir::Node*, size_t>> used;
  for (ir::Node* n : g.nodes_snapshot()) {
    if (o.node_skipped(*n, !moves_values(*n)) || smoothed.muls.count(n)) continue;
    for (size_t i : activation_slots(*n)) {
      // A smoothed output: its Mul reads the quantized tensor instead (smooth.h).
      ir::Node* at = n;
      size_t slot = i;
      if (auto r = smoothed.restored.find(n->input(i)); r != smoothed.restored.end()) at = r->second, slot = 0;
      if (constant_derived.count(at->input(slot)) || !used.insert({at, slot}).second) continue;
      uses.emplace_back(at, slot);
      if (seen.insert(at->input(slot)).second) names.push_back(at->input(slot)->name());
    }
  }
  if (names.empty())
    fail("nothing to quantize: no activation feeds a Conv, Gemm, MatMul, Add, Mul, Concat, pool or sigmoid");

  // 2. Calibrate on the float model.
  CalibrationOptions copt = o.calibration;
  if (ctx.progress) copt.progress = ctx.progress;
  copt.threads = ctx.threads;
  std::map<std::string, Range> ranges = known_ranges_for(names, ctx);
  if (ranges.empty()) ranges = calibrate(model, samples, names, copt);
  ctx.stats["samples"] = static_cast<int64_t>(samples.size());

  // With gptq=, the layers' float inputs are taken now, on the float model:
  // their weights then aim at the float output from the quantized inputs (gptq.h).
  std::vector<const ir::Value*> weights;
  for (ir::Node* n : g.nodes_snapshot())
    if (kWeightOps.count(n->op_type) && n->domain.empty() && !o.node_skipped(*n) && eligible_weight(n->input(1), o) &&
        weight_axis_of_all_uses(n->input(1)) >= 0)
      weights.push_back(n->input(1));
  std::optional<InputMoments> moments;
  if (!o.gptq.empty()) moments.emplace(model, weights, o.gptq, true, ctx);

  // 3. One Q/DQ pair per tensor.
  std::map<const ir::Value*, ir::Value*> dequantized;
  std::map<const ir::Value*, float> scale_of;  // of each DequantizeLinear output: a bias needs its input's scale
  ir::DataType qtype = o.uint8_activations ? ir::DataType::kUint8 : ir::DataType::kInt8;
  for (auto [n, i] : uses) {
    ir::Value* x = n->input(i);
    if (!ranges.count(x->name())) continue;  // not float32 after all
    auto it = dequantized.find(x);
    if (it == dequantized.end()) {
      QParams p = qparams(ranges.at(x->name()), o.uint8_activations, o.calibration.symmetric);
      ir::Value *s = nullptr, *z = nullptr;
      if (ir::Node* mover = x->producer(); mover && moves_values(*mover) && scale_of.count(mover->input(0))) {
        // The mover's input's own constants (moves_values): its dequantized input is ours.
        ir::Node* dq = mover->input(0)->producer();
        s = dq->input(1);
        z = dq->input(2);
        p.scale = scale_of.at(mover->input(0));
        ++ctx.stats["activations_sharing_input_params"];
      } else {
        // Short generated names: exporters' tensor names can be 100 characters, and
        // a derived name would be stored ~10 times per tensor.
        s = g.add_constant(g.unique_name("qs"), ir::Tensor::scalar<float>(p.scale));
        z = g.add_constant(g.unique_name("qz"),
                           o.uint8_activations ? ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(p.zero_point))
                                               : ir::Tensor::scalar<int8_t>(static_cast<int8_t>(p.zero_point)));
      }
      ir::Node* q = g.add_node("QuantizeLinear", {x, s, z}, {g.unique_name("q")});
      q->output(0)->dtype = qtype;
      q->output(0)->shape = x->shape;
      ir::Node* dq = g.add_node("DequantizeLinear", {q->output(0), s, z}, {g.unique_name("dq")});
      dq->output(0)->dtype = ir::DataType::kFloat;
      dq->output(0)->shape = x->shape;
      it = dequantized.emplace(x, dq->output(0)).first;
      scale_of[dq->output(0)] = p.scale;
      ++ctx.stats["activations_quantized"];
    }
    g.set_input(n, i, it->second);
  }

  if (moments) moments->aim_every_layer();
  // 4. Weights (per channel) and the biases that go with them; quantize_weight_int8
  // counts each weight in stats["quantized"].
  for (ir::Node* n : g.nodes_snapshot()) {
    if (n->is_dead() || !kWeightOps.count(n->op_type) || !n->domain.empty() || o.node_skipped(*n)) continue;
    ir::Value* w = n->input(1);
    if (!eligible_weight(w, o)) continue;
    int64_t axis = weight_axis_of_all_uses(w);
    if (axis < 0) continue;
    std::vector<float> wscales = quantize_weight_int8(g, w, axis, 13, o.per_channel, ctx, moments ? &*moments : nullptr);
    auto input_scale = scale_of.find(n->input(0));
    // Gemm's C is per output column, like a Conv bias; MatMul has none.
    if (o.int32_bias && n->op_type != "MatMul" && input_scale != scale_of.end())
      quantize_bias(g, n, input_scale->second, wscales, ctx);
  }
  // Weights inside subgraphs (If/Loop bodies): stored as int8 too.
  for_each_graph(g, [&](ir::Graph& sub) {
    if (&sub == &g) return;
    for (ir::Value* v : sub.constants()) {
      int64_t axis = eligible_weight(v, o) ? weight_axis_of_all_uses(v) : -1;
      if (axis >= 0) quantize_weight_int8(sub, v, axis, 13, o.per_channel, ctx);
    }
    sub.compact();
  });
  ctx.stats["weights_quantized"] = ctx.stats["quantized"];
  ctx.stats.erase("quantized");
  g.compact();
}

}  // namespace pare::passes
