// quantize: what the weight-storage modes (quantize.cc) and static int8
// (quantize_static.cc) share: the options and the int8 weight rewrite.
#pragma once

#include <string>
#include <vector>

#include "passes/calibrate.h"
#include "passes/pass.h"
#include "passes/select.h"

namespace pare::passes {

struct QuantizeOptions {
  bool fp16 = false;
  bool int4 = false;          // block-wise int4 weights (weights-only)
  int64_t block = 32;         // int4: weights per scale, along the input-channel axis
  int64_t bits = 8;           // int8 weights-only: steps in [-(2^(bits-1)-1), 2^(bits-1)-1], stored as int8
  bool fp16_scales = true;    // int4: scales stored as float16 (else float32)
  bool weights_only = false;
  bool per_channel = true;
  bool keep_io = true;  // fp16: graph inputs and outputs stay float32
  int64_t min_size = 16;
  NodeGlobs globs;  // skip= and only=
  std::vector<std::string> skip_ops;
  // static int8
  std::string calib;  // folder of samples
  CalibrationOptions calibration;
  bool uint8_activations = true;
  bool int32_bias = false;  // else biases stay float (runtimes derive the int32 bias)
  double smooth = 0;        // static int8: activation smoothing strength (smooth.h); 0: none
  bool float16_bias = false;  // fp16: biases too (else they stay float32)
  bool if_any = false;      // no weight qualifies: leave the model as it is instead of failing (the presets)
  std::string correct;      // fp16 and weights-only: samples for empirical bias correction (bias_correct.h)
  std::string gptq;         // samples for error-compensating rounding (gptq.h)
  bool sequential = true;   // gptq= in graph order, aiming at the float output (gptq.h)

  explicit QuantizeOptions(const OptionValues& v);
  // Nodes whose inputs stay float: the keep-float list, skip-ops, skip globs and, with only=, the nodes it does not match.
  // `keep_float_list`: whether the default keep-float ops (Resize, Pad...) count;
  // static int8 quantizes a nearest Resize's data input, never its coordinates.
  bool node_skipped(const ir::Node& n, bool keep_float_list = true) const;
};

// Replaces constant `v` by the output of the node `build(name)` makes; that
// output takes v's own name, so consumers read the same name as before and the
// file carries no second copy of (often long) exporter names. The new constants
// get short generated names (h16, q8, s8, p4 ...). Shared by quantize and palettize.
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

// A Cast of `v` to `to`, its output named `name`: the decoding step every
// stored form ends or begins with. Shared by quantize and palettize.
ir::Node* add_cast(ir::Graph& g, ir::Value* v, ir::DataType to, const std::string& name);

// float16 bit patterns (lib/base/fp16.h) as a tensor of shape `dims`.
ir::Tensor float16_tensor(const std::vector<int64_t>& dims, const std::vector<uint16_t>& halves);

// Stores float32 constant `v` as float16 behind a Cast to float32 (quantize(fp16)'s
// rewrite; values beyond float16 are clamped, counted as `clamped`). Each
// float16 is the nearest, but for a few Conv taps that keep a kernel's sum
// (kernel_sums.h); with `moments` (gptq=) and a measured layer, GPTQ chooses
// among the neighbouring float16 values instead.
void to_fp16(ir::Graph& g, ir::Value* v, PassContext& ctx, const InputMoments* moments = nullptr);

// A float32 constant this pass may rewrite: big enough, used, not a graph
// input or output, and not read by a skipped node.
bool eligible_weight(const ir::Value* v, const QuantizeOptions& o);

// The output-channel axis shared by every use of `v` as the weight input of Conv,
// ConvTranspose, Gemm or MatMul, or -1 when a use is anything else.
int64_t weight_axis_of_all_uses(const ir::Value* v);

// Replaces weight `v` by symmetric int8 (per channel along `axis`, or one scale)
// behind DequantizeLinear (Cast*Mul below opset 13 for per-channel, below 10 for
// any); consumers keep reading the same name. Returns the scales. With
// `moments` (gptq=) and a measured layer, GPTQ chooses the int8 steps (the
// kernel-sum rounding is then not applied). `bits` < 8 uses the steps of a
// narrower signed integer, still stored as int8 (quantize.cc says why).
std::vector<float> quantize_weight_int8(ir::Graph& g, ir::Value* v, int64_t axis, int64_t opset, bool per_channel,
                                        PassContext& ctx, const InputMoments* moments = nullptr, int64_t bits = 8);

// The input-channel axis of a weight whose output-channel axis is `axis` (the
// other of the first two: Conv 1, ConvTranspose 0, MatMul 0, Gemm 0 or 1).
inline int64_t input_axis_of(int64_t output_axis) { return output_axis == 0 ? 1 : 0; }

// Replaces weight `v` by symmetric int4 in blocks of `block` along `in_axis`
// behind DequantizeLinear(block_size) (opset 21), scales float16 when every
// scale is a normal float16 and `fp16_scales`, else float32 (quantize.cc).
// With `moments` (gptq=), the int4 steps are chosen by GPTQ instead of rounding
// each weight to its nearest.
void quantize_weight_int4(ir::Graph& g, ir::Value* v, int64_t in_axis, int64_t block, bool fp16_scales,
                          const InputMoments* moments, PassContext& ctx);

// Every activation tensor static int8 could quantize (whatever skip= and only=
// say), so a caller can calibrate them all once and pass the ranges in
// PassContext::known_ranges.
std::vector<std::string> static_activation_names(const ir::Model& model);

// Static int8: calibrates activations on o.calib and inserts QuantizeLinear /
// DequantizeLinear pairs; weights per channel, biases float or int32 (quantize_static.cc).
void quantize_static(ir::Model& model, const QuantizeOptions& o, PassContext& ctx);

}  // namespace pare::passes
