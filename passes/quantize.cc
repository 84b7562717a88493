// quantize: store float weights in fewer bits.
//
// quantize(fp16): every float32 constant of at least min-size elements becomes
// float16 (biases, unless float16-biases, stay float32: see below), read through
// a Cast back to float32:
//   Before:  y = Conv(x, W)                      W float32
//   After:   y = Conv(x, Cast<to=float>(W16))    W16 float16
// The model still computes in float32 (the runner and ONNX Runtime cast the
// weights once, at load), so its inputs, outputs and every op stay as they were:
// only the file halves. Values beyond float16's range are clamped and counted
// (`clamped`); non-zero values too small for it become 0 (`flushed`).
// Biases stay float32: they are about 1% of the weights, and a bias's rounding
// is not averaged over inputs as a weight's is but added to every output of
// its channel. Rounding only the biases to float16 costs PP-OCRv4 det 37.6 dB
// and M-LSD 512 large 37.8 dB of output SQNR (docs/quantization.md).
//
// quantize(int8, weights-only): the weight input of Conv, ConvTranspose, Gemm
// and MatMul becomes symmetric int8, per output channel by default (Conv axis 0,
// ConvTranspose axis 1, Gemm's output axis of B, MatMul's last axis of B):
//   scale[c] = max|W[c]| / 127,  Wq = round_half_even(W / scale) in [-127, 127]
//   After:   y = Conv(x, DequantizeLinear<axis>(Wq, scale))
// Models below opset 13 (no per-axis DequantizeLinear) and below opset 10 (none
// at all) get the same arithmetic as Cast(Wq) * scale.
//
// bits=N (2..7) takes the steps of a narrower signed integer, scale[c] =
// max|W[c]| / (2^(N-1) - 1), and still stores int8: the file and the kernels
// are int8's, but deflate codes the fewer distinct steps in fewer bits, so the
// download shrinks. On a large layer's weights an entropy-coded uniform grid
// is the better trade than a k-means table of the same download (PP-OCRv4
// det's weights, each layer alone: 7 bits keep 30.9 dB in 6.1 deflated bits
// per weight, 6-bit palettes 28.1 dB in 6.0); on whole models with every
// layer alike the palettes win, by their handling of depthwise and first
// kernels (docs/design.md, decision 44), so pare tune offers it per layer.
//
// quantize(int4, weights-only, block=32): symmetric int4 in blocks of `block`
// weights along the input-channel axis (Conv axis 1; ConvTranspose, MatMul and
// Gemm's K axis), one scale per block:
//   scale[b] = max|W[b]| / 7,  Wq = round_half_even(W / scale) in [-8, 7]
//   After:   y = Conv(x, Cast<to=float>(DequantizeLinear<axis=1, block_size=32>(Wq, scale16)))
// Blocked DequantizeLinear and int4 need opset 21: the model is raised first
// (upgrade_opset). Scales are float16 (DequantizeLinear-21 then computes in
// float16, exactly: a 4-bit integer times a float16 fits float16's mantissa, and
// a Cast brings the weight to float32), unless a scale is not a normal float16,
// then the tensor keeps float32 scales (counted int4_float32_scales). Where
// `block` does not divide the input channels the last block is short (ONNX's
// ceil rule). A weight with fewer input channels than a block (depthwise
// kernels, 3-channel first layers) gets per-channel int8 instead (counted
// int8_fallback_block).
//
// Rounding: to the nearest value, but for a few Conv taps per kernel that keep
// the kernel's sum (kernel_sums.h; fp16 and int8). With gptq=DIR, GPTQ chooses
// each weight's value among the same grid (float16 values, int8 or int4 steps
// of the same scales) for the least output error of its layer on the samples
// of DIR (gptq.h); correct=DIR then takes back what mean shift is left.
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
#include <cstring>

#include "lib/base/fp16.h"
#include "lib/base/strings.h"
#include "passes/bias_correct.h"
#include "passes/gptq.h"
#include "passes/kernel_sums.h"
#include "passes/opset.h"
#include "passes/quantize.h"

namespace pare::passes {
namespace {

const std::vector<std::string> kKeepFloatOps = {"Resize", "Upsample", "Range", "Pad", "ConstantOfShape"};

}  // namespace

// Weights that lose their value to the storage type, per tensor
// ("underflow.<tensor>", the report's waterfall shows them) and in all.
static void count_underflow(PassContext& ctx, const std::string& tensor, int64_t n) {
  if (n == 0) return;
  ctx.stats["underflow." + tensor] += n;
  ctx.stats["underflowed"] += n;
}

// The float16 next to `h` on the side of `target` (h itself when h is exact or
// the next one would be infinite).
static uint16_t half_toward(uint16_t h, float target) {
  float now = half_to_float(h);
  if (now == target || std::isnan(target)) return h;
  bool up = target > now, negative = (h & 0x8000) != 0;
  uint16_t next = (h & 0x7fff) == 0 ? (up ? 0x0001 : 0x8001) : up != negative ? h + 1 : h - 1;
  return (next & 0x7c00) == 0x7c00 ? h : next;
}

ir::Node* add_cast(ir::Graph& g, ir::Value* v, ir::DataType to, const std::string& name) {
  ir::Node* cast = g.add_node("Cast", {v}, {name});
  cast->set_attr(ir::Attribute::of_int("to", static_cast<int64_t>(to)));
  return cast;
}

ir::Tensor float16_tensor(const std::vector<int64_t>& dims, const std::vector<uint16_t>& halves) {
  std::vector<uint8_t> bytes(halves.size() * 2);
  std::memcpy(bytes.data(), halves.data(), bytes.size());
  return ir::Tensor(ir::DataType::kFloat16, dims, std::move(bytes));
}

void to_fp16(ir::Graph& g, ir::Value* v, PassContext& ctx, const InputMoments* moments) {
  const ir::Tensor& t = v->constant();
  std::vector<uint16_t> half(static_cast<size_t>(t.numel()));
  auto values = t.span<float>();
  int64_t below_normal = 0;  // float16's smallest normal is 2^-14: below it precision drops to zero bits
  for (size_t i = 0; i < half.size(); ++i) {
    float f = values[i];
    if (f != 0.0f && std::fabs(f) < 6.103515625e-05f) ++below_normal;
    if (std::fabs(f) > 65504.0f && std::isfinite(f)) {
      f = std::copysign(65504.0f, f);
      ++ctx.stats["clamped"];
    }
    half[i] = float_to_half(f);
    if (f != 0.0f && half_to_float(half[i]) == 0.0f) ++ctx.stats["flushed"];
  }
  bool rounded = false;
  if (moments) {
    rounded = moments->round(*v, [&](size_t i, double value) {
      half[i] = float_to_half(std::clamp(static_cast<float>(value), -65504.0f, 65504.0f));
      return static_cast<double>(half_to_float(half[i]));
    });
    if (rounded) ++ctx.stats["gptq_rounded"];  // (biases and other constants have no layer moments)
  }
  if (int64_t taps = rounded ? 0 : conv_kernel_taps(v)) {
    std::vector<double> exact(half.size()), nearest(half.size()), other(half.size());
    std::vector<uint16_t> alternative(half.size());
    for (size_t i = 0; i < half.size(); ++i) {
      float f = std::clamp(values[i], -65504.0f, 65504.0f);
      alternative[i] = half_toward(half[i], f);
      exact[i] = f;
      nearest[i] = half_to_float(half[i]);
      other[i] = half_to_float(alternative[i]);
    }
    std::vector<bool> flip = sum_keeping_flips(exact, nearest, other, taps);
    for (size_t i = 0; i < half.size(); ++i)
      if (flip[i]) half[i] = alternative[i], ++ctx.stats["kernel_sum_flips"];
  }
  count_underflow(ctx, v->name(), below_normal);
  ir::Value* w16 = g.add_constant(g.unique_name("h16"), float16_tensor(t.dims(), half), v->constant_origin);
  replace_constant(g, v, [&](const std::string& name) { return add_cast(g, w16, ir::DataType::kFloat, name); });
  ++ctx.stats["converted"];
}

namespace {

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
                                        PassContext& ctx, const InputMoments* moments, int64_t bits) {
  const float qmax = static_cast<float>((int64_t{1} << (bits - 1)) - 1);
  const ir::Tensor& t = v->constant();
  auto w = t.span<float>();
  int64_t channels = per_channel ? t.dims()[axis] : 1, inner = 1;
  for (size_t i = axis + 1; i < t.rank(); ++i) inner *= t.dims()[i];
  auto channel_of = [&](size_t i) { return per_channel ? (static_cast<int64_t>(i) / inner) % channels : 0; };
  std::vector<float> scale(channels, 0.0f);
  for (size_t i = 0; i < w.size(); ++i) scale[channel_of(i)] = std::max(scale[channel_of(i)], std::fabs(w[i]));
  for (float& s : scale) s = s > 0 ? s / qmax : 1.0f;
  auto step = [&](size_t i, float value) {
    return static_cast<int8_t>(std::clamp(std::nearbyint(value / scale[channel_of(i)]), -qmax, qmax));
  };
  std::vector<int8_t> q(w.size());
  for (size_t i = 0; i < w.size(); ++i) q[i] = step(i, w[i]);
  bool rounded = false;
  if (moments) {
    rounded = moments->round(*v, [&](size_t i, double value) {
      q[i] = step(i, static_cast<float>(value));
      return static_cast<double>(static_cast<float>(q[i]) * scale[channel_of(i)]);
    });
    ++ctx.stats[rounded ? "gptq_rounded" : "gptq_unmeasured"];
  }
  if (int64_t taps = per_channel && !rounded ? conv_kernel_taps(v) : 0) {
    std::vector<double> exact(w.size()), nearest(w.size()), other(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      exact[i] = static_cast<double>(w[i]) / scale[channel_of(i)];
      nearest[i] = q[i];
      double step = exact[i] > nearest[i] ? 1 : exact[i] < nearest[i] ? -1 : 0;
      other[i] = std::fabs(nearest[i] + step) <= qmax ? nearest[i] + step : nearest[i];
    }
    std::vector<bool> flip = sum_keeping_flips(exact, nearest, other, taps);
    for (size_t i = 0; i < w.size(); ++i)
      if (flip[i]) q[i] = static_cast<int8_t>(other[i]), ++ctx.stats["kernel_sum_flips"];
  }
  int64_t to_zero = 0;
  for (size_t i = 0; i < w.size(); ++i) to_zero += q[i] == 0 && w[i] != 0.0f;
  count_underflow(ctx, v->name(), to_zero);
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
    ir::Node* cast = add_cast(g, wq, ir::DataType::kFloat, g.unique_name("q8f"));
    return g.add_node("Mul", {cast->output(0), s}, {name});
  });
  ++ctx.stats["quantized"];
  return scale;
}

void quantize_weight_int4(ir::Graph& g, ir::Value* v, int64_t in_axis, int64_t block, bool fp16_scales,
                          const InputMoments* moments, PassContext& ctx) {
  const ir::Tensor& t = v->constant();
  auto w = t.span<float>();
  int64_t len = t.dims()[in_axis], inner = 1;
  for (size_t i = in_axis + 1; i < t.rank(); ++i) inner *= t.dims()[i];
  // ONNX (opset 21) lets the last block along the axis be short: the scale has
  // ceil(len / block) entries there, so 48 input channels at block=32 are a
  // block of 32 and one of 16.
  int64_t blocks = (len + block - 1) / block;
  // Element i = (o * len + a) * inner + r lies in block (o * blocks + a / block) * inner + r.
  auto block_of = [&](size_t i) {
    int64_t r = static_cast<int64_t>(i) % inner, a = static_cast<int64_t>(i) / inner % len;
    return (static_cast<int64_t>(i) / inner / len * blocks + a / block) * inner + r;
  };
  std::vector<float> scale(static_cast<size_t>(t.numel() / len * blocks), 0.0f);
  for (size_t i = 0; i < w.size(); ++i) scale[block_of(i)] = std::max(scale[block_of(i)], std::fabs(w[i]));
  for (float& s : scale) s = s > 0 ? s / 7.0f : 1.0f;
  // float16 scales only when every one is a normal float16: a subnormal or
  // flushed scale would change the weights far more than rounding does.
  bool half = fp16_scales;
  for (float s : scale)
    if (std::fabs(half_to_float(float_to_half(s))) < 6.104e-5f || s > 65504.0f) half = false;
  std::vector<uint16_t> scale16(scale.size());
  if (half)
    for (size_t k = 0; k < scale.size(); ++k) {
      scale16[k] = float_to_half(scale[k]);
      scale[k] = half_to_float(scale16[k]);  // quantize against the scale the file holds
    }
  auto step = [&](size_t i, double value) {
    return static_cast<int>(std::clamp(std::nearbyint(static_cast<float>(value) / scale[block_of(i)]), -8.0f, 7.0f));
  };
  std::vector<int> q(w.size());
  for (size_t i = 0; i < w.size(); ++i) q[i] = step(i, w[i]);
  if (moments) {
    // The scales stay those of the weights as they are; GPTQ picks the steps.
    bool measured = moments->round(*v, [&](size_t i, double value) {
      q[i] = step(i, value);
      return static_cast<double>(static_cast<float>(q[i]) * scale[block_of(i)]);
    });
    ++ctx.stats[measured ? "gptq_rounded" : "gptq_unmeasured"];
  }
  std::vector<uint8_t> packed(static_cast<size_t>(ir::storage_bytes(ir::DataType::kInt4, w.size())), 0);
  for (size_t i = 0; i < w.size(); ++i) packed[i / 2] |= static_cast<uint8_t>((q[i] & 0xF) << (4 * (i % 2)));
  ir::Value* wq = g.add_constant(g.unique_name("q4"), ir::Tensor(ir::DataType::kInt4, t.dims(), std::move(packed)),
                                 v->constant_origin);
  std::vector<int64_t> scale_dims = t.dims();
  scale_dims[in_axis] = blocks;
  ir::Value* s = g.add_constant(g.unique_name("s4"), half ? float16_tensor(scale_dims, scale16)
                                                        : ir::Tensor::from<float>(scale_dims, scale));
  replace_constant(g, v, [&](const std::string& name) {
    ir::Node* deq = g.add_node("DequantizeLinear", {wq, s}, {half ? g.unique_name("q4h") : name});
    deq->set_attr(ir::Attribute::of_int("axis", in_axis));
    deq->set_attr(ir::Attribute::of_int("block_size", block));
    if (!half) return deq;
    // DequantizeLinear-21 computes in the scale's type: float16 here, then float32 for the op.
    deq->output(0)->dtype = ir::DataType::kFloat16;
    deq->output(0)->shape = v->shape;
    return add_cast(g, deq->output(0), ir::DataType::kFloat, name);
  });
  ++ctx.stats["quantized_int4"];
  if (!half && fp16_scales) ++ctx.stats["int4_float32_scales"];
}

namespace {

// Why a weight cannot be block-quantized (it then gets per-channel int8), or "".
std::string int4_refusal(const ir::Value* v, int64_t out_axis, int64_t block) {
  const ir::Tensor& t = v->constant();
  int64_t in = t.dims()[input_axis_of(out_axis)];
  // Fewer input channels than a block (depthwise kernels, a first layer over 3
  // channels): a block would hold a handful of weights, one scale for each few.
  if (in < block) return "int8_fallback_block";
  return "";
}

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
    ir::Node* cast = add_cast(g, v, ir::DataType::kFloat16, name);
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
    if (o_.int4) raise_for_int4(model, ctx);
    int64_t opset = model.opset("");
    int64_t changed = 0, blocked = 0;
    std::optional<BiasCorrector> corrector;
    std::optional<InputMoments> own_moments;
    const InputMoments* moments = nullptr;
    std::vector<const ir::Value*> eligible = eligible_in(*model.graph);
    measure_weight_pass(model, eligible, eligible, o_.correct, o_.gptq, o_.sequential, ctx, corrector, own_moments,
                        moments);
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      bool main = &g == model.graph.get();
      store_constants(model, g, main && corrector ? &*corrector : nullptr, main && moments && o_.sequential, ctx,
                      [&](ir::Value* v) {
        if (!eligible_weight(v, o_) || !store(g, v, opset, main ? moments : nullptr, blocked, ctx))
          return false;
        ++changed;
        return true;
      });
      g.compact();
    });
    if (changed == 0 && o_.if_any) return;  // a preset on a model without weights to store otherwise
    if (changed == 0) fail("nothing to quantize: no float32 weight of at least {} elements", o_.min_size);
    if (o_.int4 && blocked == 0)
      fail("block={} is larger than the input channels of every weight: every weight would fall back to int8",
           o_.block);
    if (o_.fp16 && !o_.keep_io) {
      halve_io(*model.graph, ctx);
      model.graph->compact();
    }
  }

 private:
  std::vector<const ir::Value*> eligible_in(const ir::Graph& g) const {
    std::vector<const ir::Value*> out;
    for (const ir::Value* v : g.constants())
      if (eligible_weight(v, o_)) out.push_back(v);
    return out;
  }

  // Stores one eligible constant in the pass's type (int4 blocks that do not
  // fit fall back to int8); false when int8 does not apply to it.
  bool store(ir::Graph& g, ir::Value* v, int64_t opset, const InputMoments* moments, int64_t& blocked,
             PassContext& ctx) const {
    if (o_.fp16) {
      // (One-dimensional: an Add after a MatMul may also add a whole tensor, a
      // position embedding, which is a weight.)
      if (!o_.float16_bias && v->constant().rank() <= 1 && read_as_bias(v)) {
        ++ctx.stats["biases_float32"];
        return false;
      }
      to_fp16(g, v, ctx, moments);
      return true;
    }
    // int8: only a weight input whose every use has the same output-channel axis.
    int64_t axis = weight_axis_of_all_uses(v);
    if (axis < 0) return false;
    if (o_.int4) {
      std::string refusal = int4_refusal(v, axis, o_.block);
      if (refusal.empty()) {
        quantize_weight_int4(g, v, input_axis_of(axis), o_.block, o_.fp16_scales, moments, ctx);
        ++blocked;
        return true;
      }
      ++ctx.stats[refusal];
    }
    quantize_weight_int8(g, v, axis, opset, o_.per_channel, ctx, moments, o_.bits);  // 8 with int4 (the options refuse others)
    return true;
  }

  // Blocked DequantizeLinear and int4 need opset 21 (and IR version 10).
  static void raise_for_int4(ir::Model& model, PassContext& ctx) {
    int64_t from = model.opset("");
    if (from >= 21) return;
    ctx.stats["opset_raised_from"] = from;
    ctx.stats["opset_nodes_rewritten"] = upgrade_opset(model, 21);
  }

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
      int4(v.str("dtype") == "int4"),
      block(v.integer("block")),
      bits(v.integer("bits")),
      fp16_scales(v.str("scales") == "float16"),
      weights_only(v.flag("weights-only")),
      per_channel(v.flag("per-channel")),
      keep_io(v.flag("keep-io")),
      min_size(v.integer("min-size")),
      globs{v.list("skip"), v.list("only")},
      skip_ops(v.list("skip-ops")),
      calib(v.str("calib")),
      uint8_activations(!v.flag("int8-activations")),
      int32_bias(v.str("bias") == "int32"),
      smooth(v.number("smooth")),
      float16_bias(v.flag("float16-biases")),
      if_any(v.flag("if-any")),
      correct(v.str("correct")),
      gptq(v.str("gptq")),
      sequential(v.flag("sequential")) {
  calibration.method = method_of(v.str("method"));
  calibration.percentile = v.number("percentile");
  calibration.symmetric = v.flag("symmetric");
  if (int4 && !weights_only) fail("int4 is weights-only: write quantize(int4, weights-only, block=32)");
  if (int4 && !per_channel) fail("int4 has one scale per block; per-channel=false does not apply");
  if (int4 && block % 2 != 0) fail("block={} must be even (two int4 values per byte)", block);
  bool is_static = !fp16 && !weights_only;
  if (bits != 8 && (fp16 || int4 || is_static))
    fail("bits={} is for quantize(int8, weights-only): the steps of a narrower integer stored as int8", bits);
  if (!is_static && !calib.empty())
    fail("calib= is for static int8 (quantize(int8) without weights-only); {} needs no data",
         fp16 ? "fp16" : "weights-only");
  if (is_static && calib.empty())
    fail("static int8 needs calibration samples: add calib=DIR (a folder of samples or images), "
         "or use quantize(int8, weights-only), which needs none");
  if (!is_static && int32_bias) fail("bias=int32 is for static int8; weights-only keeps biases float");
  // (Measured on static int8, correct= took back little: the shift of the
  // activations' rounding and clipping is not the weights' (W' - W) E[x].)
  if (is_static && !correct.empty())
    fail("correct= is for fp16 and weights-only storage; static int8 calibrates its activations on calib=");
  if (is_static && !gptq.empty() && !sequential)
    fail("static int8 rounds with gptq= layer after layer (every layer's input is quantized); drop sequential=false");
  if (!is_static && smooth > 0) fail("smooth= is for static int8: it moves activation ranges into the weights");
  if (!fp16 && float16_bias) fail("float16-biases is for fp16; int8 and int4 keep biases float32");
  if (!fp16 && !keep_io) fail("keep-io=false is for fp16; int8 models keep float32 inputs and outputs");
}

bool QuantizeOptions::node_skipped(const ir::Node& n, bool keep_float_list) const {
  for (const auto& op : kKeepFloatOps)
    if (keep_float_list && n.op_type == op) return true;
  for (const auto& op : skip_ops)
    if (n.op_type == op) return true;
  return !globs.selects(n);
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
        {"dtype", OptionType::kChoice, "int8", "the storage type of the weights", 0, 0, false, {"fp16", "int8", "int4"}},
        {"weights-only", OptionType::kBool, "false", "int8: quantize weights only, no calibration data needed"},
        {"per-channel", OptionType::kBool, "true", "int8: one scale per output channel (else one per tensor)"},
        {"min-size", OptionType::kInteger, "16", "constants with fewer elements stay float32", 0, 1e12},
        {"skip", OptionType::kList, "", "node-name globs that stay float32 (weights and, static, activations)"},
        {"skip-ops", OptionType::kList, "", "op types that stay float32"},
        {"only", OptionType::kList, "", "node-name globs: quantize only the weights (and, static, activations) these nodes read"},
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
        {"smooth", OptionType::kNumber, "0",
         "static int8: per-channel Muls even out the channel ranges of the layers' inputs and outputs, so that small "
         "channels keep their steps; this share (0-1, 0.5 as SmoothQuant; 0: none) of an input's spread moves into "
         "the weights (depthwise kernels and outputs take it all)", 0, 1},
        {"float16-biases", OptionType::kBool, "false",
         "fp16: store biases as float16 too (the smallest file; else they stay float32, as their rounding adds to "
         "every output of the channel)"},
        {"block", OptionType::kInteger, "32", "int4: weights per scale along the input-channel axis", 2, 1e9},
        {"bits", OptionType::kInteger, "8",
         "int8 weights-only: round to the 2^bits - 1 steps of a narrower signed integer, still stored as int8 (the "
         "same file and kernels; a smaller download, as deflate codes the fewer values in fewer bits)", 2, 8},
        {"scales", OptionType::kChoice, "float16", "int4: the type of the block scales (float16 when every scale fits)", 0, 0,
         false, {"float16", "float32"}},
        {"correct", OptionType::kString, "",
         "fp16 and weights-only: folder of samples; each layer's bias takes back the mean shift its rounded weights cause "
         "(empirical bias correction)"},
        {"gptq", OptionType::kString, "",
         "folder of samples; each weight's stored value is chosen so the layer's output "
         "error on them is least (GPTQ error compensation) instead of the nearest; static int8: from its quantized input"},
        {"sequential", OptionType::kBool, "true",
         "with gptq=: layers in graph order, each below a stored one aiming at the float output from its stored "
         "input (slower, more samples' memory); false: every layer on the float model's inputs"},
        {"if-any", OptionType::kBool, "false",
         "fp16 and weights-only: when no weight qualifies, keep the model as it is instead of failing (the presets)"},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> { return std::make_unique<Quantize>(QuantizeOptions(v)); },
};

}  // namespace pare::passes
