// quantize: store float weights in fewer bits.
//
// quantize(fp16): every float32 constant of at least min-size elements becomes
// float16, read through a Cast back to float32:
//   Before:  y = Conv(x, W)                      W float32
//   After:   y = Conv(x, Cast<to=float>(W16))    W16 float16
// The model still computes in float32 (the runner and ONNX Runtime cast the
// weights once, at load), so its inputs, outputs and every op stay as they were:
// only the file halves. Values beyond float16's range are clamped and counted
// (`clamped`); non-zero values too small for it become 0 (`flushed`).
//
// quantize(int8, weights-only): the weight input of Conv, ConvTranspose, Gemm
// and MatMul becomes symmetric int8, per output channel by default (Conv axis 0,
// ConvTranspose axis 1, Gemm's output axis of B, MatMul's last axis of B):
//   scale[c] = max|W[c]| / 127,  Wq = round_half_even(W / scale) in [-127, 127]
//   After:   y = Conv(x, DequantizeLinear<axis>(Wq, scale))
// Models below opset 13 (no per-axis DequantizeLinear) and below opset 10 (none
// at all) get the same arithmetic as Cast(Wq) * scale.
//
// quantize(int8) without weights-only is static int8 (quantize_static.cc):
// activations too, calibrated on calib=DIR.
//
// keep-io=false (fp16): the graph's float32 inputs and outputs become float16,
// with Casts at the edges, so the app hands the model half the bytes.
//
// Both leave alone: constants smaller than min-size (biases, shapes, scalars),
// constants feeding an op of skip-ops or of the default keep-float list (Resize,
// Upsample, Range, Pad, ConstantOfShape: their floats steer shapes and
// coordinates), nodes whose name matches a skip glob, and graph outputs.
#include <cmath>

#include "lib/base/fp16.h"
#include "lib/base/strings.h"
#include "passes/quantize.h"

namespace pare::passes {
namespace {

const std::vector<std::string> kKeepFloatOps = {"Resize", "Upsample", "Range", "Pad", "ConstantOfShape"};

// Replaces constant `v` by the output of the node `build` makes; that output
// takes v's own name, so consumers read the same name as before and the file
// carries no second copy of (often long) exporter names. The new constants get
// short generated names (h16, q8, s8 ...).
template <typename Build>
void replace_constant(ir::Graph& g, ir::Value* v, Build build) {
  std::string name = v->name();
  g.rename(v, g.unique_name(name + "_replaced"));
  ir::Node* n = build(name);
  n->output(0)->dtype = ir::DataType::kFloat;
  n->output(0)->shape = v->shape;
  g.replace_all_uses(v, n->output(0));
  g.erase_value(v);
}

void to_fp16(ir::Graph& g, ir::Value* v, PassContext& ctx) {
  const ir::Tensor& t = v->constant();
  std::vector<uint16_t> half(static_cast<size_t>(t.numel()));
  auto values = t.span<float>();
  for (size_t i = 0; i < half.size(); ++i) {
    float f = values[i];
    if (std::fabs(f) > 65504.0f && std::isfinite(f)) {
      f = std::copysign(65504.0f, f);
      ++ctx.stats["clamped"];
    }
    half[i] = float_to_half(f);
    if (f != 0.0f && half_to_float(half[i]) == 0.0f) ++ctx.stats["flushed"];
  }
  std::vector<uint8_t> bytes(half.size() * 2);
  std::memcpy(bytes.data(), half.data(), bytes.size());
  ir::Value* w16 = g.add_constant(g.unique_name("h16"), ir::Tensor(ir::DataType::kFloat16, t.dims(), bytes),
                                  v->constant_origin);
  replace_constant(g, v, [&](const std::string& name) {
    ir::Node* cast = g.add_node("Cast", {w16}, {name});
    cast->set_attr(ir::Attribute::of_int("to", static_cast<int64_t>(ir::DataType::kFloat)));
    return cast;
  });
  ++ctx.stats["converted"];
}

// The output-channel axis of a node's weight input, or -1 if the node has none.
int64_t weight_axis(const ir::Node& n, const ir::Tensor& w) {
  if (n.op_type == "Conv" && w.rank() >= 3) return 0;
  if (n.op_type == "ConvTranspose" && w.rank() >= 3) return 1;
  if (n.op_type == "Gemm" && w.rank() == 2) return n.attr_int("transB", 0) ? 0 : 1;
  if (n.op_type == "MatMul" && w.rank() == 2) return 1;
  return -1;
}

}  // namespace

int64_t weight_axis_of_all_uses(const ir::Value* v) {
  int64_t axis = -1;
  for (const ir::Use& u : v->uses()) {
    int64_t a = u.index == 1 && u.node->domain.empty() ? weight_axis(*u.node, v->constant()) : -1;
    if (a < 0 || (axis >= 0 && a != axis)) return -1;
    axis = a;
  }
  return axis;
}

std::vector<float> quantize_weight_int8(ir::Graph& g, ir::Value* v, int64_t axis, int64_t opset, bool per_channel,
                                        PassContext& ctx) {
  const ir::Tensor& t = v->constant();
  auto w = t.span<float>();
  int64_t channels = per_channel ? t.dims()[axis] : 1, inner = 1;
  for (size_t i = axis + 1; i < t.rank(); ++i) inner *= t.dims()[i];
  auto channel_of = [&](size_t i) { return per_channel ? (static_cast<int64_t>(i) / inner) % channels : 0; };
  std::vector<float> scale(channels, 0.0f);
  for (size_t i = 0; i < w.size(); ++i) scale[channel_of(i)] = std::max(scale[channel_of(i)], std::fabs(w[i]));
  for (float& s : scale) s = s > 0 ? s / 127.0f : 1.0f;
  std::vector<int8_t> q(w.size());
  for (size_t i = 0; i < w.size(); ++i)
    q[i] = static_cast<int8_t>(std::clamp(std::nearbyint(w[i] / scale[channel_of(i)]), -127.0f, 127.0f));
  ir::Value* wq = g.add_constant(g.unique_name("q8"), ir::Tensor::from<int8_t>(t.dims(), q), v->constant_origin);
  replace_constant(g, v, [&](const std::string& name) {
    if (opset >= 13 || (opset >= 10 && !per_channel)) {
      std::vector<int64_t> scale_dims = per_channel ? std::vector<int64_t>{channels} : std::vector<int64_t>{};
      ir::Value* s = g.add_constant(g.unique_name("s8"), ir::Tensor::from<float>(scale_dims, scale));
      ir::Node* deq = g.add_node("DequantizeLinear", {wq, s}, {name});
      if (per_channel) deq->set_attr(ir::Attribute::of_int("axis", axis));
      return deq;
    }
    // No per-axis DequantizeLinear at this opset: the same arithmetic, spelled out.
    std::vector<int64_t> scale_dims(t.rank(), 1);
    if (per_channel) scale_dims[axis] = channels;
    ir::Value* s = g.add_constant(g.unique_name("s8"), ir::Tensor::from<float>(scale_dims, scale));
    ir::Node* cast = g.add_node("Cast", {wq}, {g.unique_name("q8f")});
    cast->set_attr(ir::Attribute::of_int("to", static_cast<int64_t>(ir::DataType::kFloat)));
    return g.add_node("Mul", {cast->output(0), s}, {name});
  });
  ++ctx.stats["quantized"];
  return scale;
}

namespace {

// keep-io=false: float32 graph inputs and outputs become float16 at the edges.
void halve_io(ir::Graph& g, PassContext& ctx) {
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    ir::Value* v = g.inputs[i];
    if (v->is_constant() || v->dtype != ir::DataType::kFloat) continue;
    std::string name = v->name();
    g.rename(v, g.unique_name(name + "_f32"));
    ir::Value* half = g.add_value(name);
    half->dtype = ir::DataType::kFloat16;
    half->shape = v->shape;
    g.inputs[i] = half;
    ir::Node* cast = g.add_node_with_outputs("Cast", {half}, {v});
    cast->set_attr(ir::Attribute::of_int("to", static_cast<int64_t>(ir::DataType::kFloat)));
    ++ctx.stats["io_halved"];
  }
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    ir::Value* v = g.outputs[k];
    if (v->dtype != ir::DataType::kFloat) continue;
    std::string name = v->name();
    g.rename(v, g.unique_name(name + "_f32"));
    ir::Node* cast = g.add_node("Cast", {v}, {name});
    cast->set_attr(ir::Attribute::of_int("to", static_cast<int64_t>(ir::DataType::kFloat16)));
    cast->output(0)->dtype = ir::DataType::kFloat16;
    cast->output(0)->shape = v->shape;
    g.outputs[k] = cast->output(0);
    ++ctx.stats["io_halved"];
  }
}

class Quantize : public Pass {
 public:
  explicit Quantize(QuantizeOptions o) : o_(std::move(o)) {}

  void run(ir::Model& model, PassContext& ctx) override {
    if (!o_.fp16 && !o_.weights_only) return quantize_static(model, o_, ctx);
    int64_t opset = model.opset("");
    int64_t changed = 0;
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      for (ir::Value* v : g.constants()) {
        if (!eligible_weight(v, o_)) continue;
        if (o_.fp16) {
          to_fp16(g, v, ctx);
          ++changed;
          continue;
        }
        // int8: only a weight input whose every use has the same output-channel axis.
        int64_t axis = weight_axis_of_all_uses(v);
        if (axis < 0) continue;
        quantize_weight_int8(g, v, axis, opset, o_.per_channel, ctx);
        ++changed;
      }
      g.compact();
    });
    if (changed == 0) fail("nothing to quantize: no float32 weight of at least {} elements", o_.min_size);
    if (o_.fp16 && !o_.keep_io) {
      halve_io(*model.graph, ctx);
      model.graph->compact();
    }
  }

 private:
  QuantizeOptions o_;
};

CalibrationMethod method_of(const std::string& s) {
  if (s == "minmax") return CalibrationMethod::kMinMax;
  if (s == "entropy") return CalibrationMethod::kEntropy;
  return CalibrationMethod::kPercentile;
}

}  // namespace

QuantizeOptions::QuantizeOptions(const OptionValues& v)
    : fp16(v.str("dtype") == "fp16"),
      weights_only(v.flag("weights-only")),
      per_channel(v.flag("per-channel")),
      keep_io(v.flag("keep-io")),
      min_size(v.integer("min-size")),
      skip(v.list("skip")),
      skip_ops(v.list("skip-ops")),
      calib(v.str("calib")),
      uint8_activations(!v.flag("int8-activations")),
      int32_bias(v.str("bias") == "int32") {
  calibration.method = method_of(v.str("method"));
  calibration.percentile = v.number("percentile");
  calibration.symmetric = v.flag("symmetric");
  bool is_static = !fp16 && !weights_only;
  if (!is_static && !calib.empty())
    fail("calib= is for static int8 (quantize(int8) without weights-only); {} needs no data",
         fp16 ? "fp16" : "weights-only");
  if (is_static && calib.empty())
    fail("static int8 needs calibration samples: add calib=DIR (a folder of samples or images), "
         "or use quantize(int8, weights-only), which needs none");
  if (!is_static && v.str("bias") != "float") fail("bias=int32 is for static int8; weights-only keeps biases float");
  if (!fp16 && !keep_io) fail("keep-io=false is for fp16; int8 models keep float32 inputs and outputs");
}

bool QuantizeOptions::node_skipped(const ir::Node& n) const {
  for (const auto& op : kKeepFloatOps)
    if (n.op_type == op) return true;
  for (const auto& op : skip_ops)
    if (n.op_type == op) return true;
  for (const auto& glob : skip)
    if (glob_match(glob, n.name)) return true;
  return false;
}

bool eligible_weight(const ir::Value* v, const QuantizeOptions& o) {
  if (!v || !v->is_constant() || v->is_graph_output() || v->is_graph_input()) return false;
  const ir::Tensor& t = v->constant();
  if (t.dtype() != ir::DataType::kFloat || t.numel() < std::max<int64_t>(o.min_size, 1)) return false;
  for (const ir::Use& u : v->uses())
    if (o.node_skipped(*u.node)) return false;
  return !v->uses().empty();
}

extern const PassInfo kQuantizePass = {
    "quantize",
    "store weights as float16 or per-channel int8 (weights-only), or static int8 with calibrated activations (QDQ)",
    {
        {"dtype", OptionType::kChoice, "int8", "the storage type of the weights", 0, 0, false, {"fp16", "int8"}},
        {"weights-only", OptionType::kBool, "false", "int8: quantize weights only, no calibration data needed"},
        {"per-channel", OptionType::kBool, "true", "int8: one scale per output channel (else one per tensor)"},
        {"min-size", OptionType::kInteger, "16", "constants with fewer elements stay float32", 0, 1e12},
        {"skip", OptionType::kList, "", "node-name globs that stay float32 (weights and, static, activations)"},
        {"skip-ops", OptionType::kList, "", "op types that stay float32"},
        {"keep-io", OptionType::kBool, "true", "fp16: keep float32 graph inputs and outputs (false: float16 at the edges)"},
        {"calib", OptionType::kString, "", "static int8: folder of calibration samples (tensors or images)"},
        {"method", OptionType::kChoice, "percentile", "static int8: how activation ranges are chosen", 0, 0, false,
         {"minmax", "percentile", "entropy"}},
        {"percentile", OptionType::kNumber, "99.999", "static int8, method=percentile: the percentile kept", 50, 100},
        {"int8-activations", OptionType::kBool, "false", "static int8: activations as int8 (default uint8, as most int8 kernels take)"},
        {"symmetric", OptionType::kBool, "false", "static int8: activation ranges symmetric around zero"},
        {"bias", OptionType::kChoice, "float",
         "static int8: biases stay float (runtimes derive the int32 bias) or are stored int32", 0, 0, false,
         {"float", "int32"}},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> { return std::make_unique<Quantize>(QuantizeOptions(v)); },
};

}  // namespace pare::passes
