// quantize: what the weight-storage modes (quantize.cc) and static int8
// (quantize_static.cc) share: the options and the int8 weight rewrite.
#pragma once

#include <string>
#include <vector>

#include "passes/calibrate.h"
#include "passes/pass.h"

namespace pare::passes {

struct QuantizeOptions {
  bool fp16 = false;
  bool weights_only = false;
  bool per_channel = true;
  bool keep_io = true;  // fp16: graph inputs and outputs stay float32
  int64_t min_size = 16;
  std::vector<std::string> skip, skip_ops;
  // static int8
  std::string calib;  // folder of samples
  CalibrationOptions calibration;
  bool uint8_activations = true;
  bool int32_bias = false;  // else biases stay float (runtimes derive the int32 bias)

  explicit QuantizeOptions(const OptionValues& v);
  // Nodes whose inputs stay float: the keep-float list, skip-ops and skip globs.
  bool node_skipped(const ir::Node& n) const;
};

// A float32 constant this pass may rewrite: big enough, used, not a graph
// input or output, and not read by a skipped node.
bool eligible_weight(const ir::Value* v, const QuantizeOptions& o);

// The output-channel axis shared by every use of `v` as the weight input of Conv,
// ConvTranspose, Gemm or MatMul, or -1 when a use is anything else.
int64_t weight_axis_of_all_uses(const ir::Value* v);

// Replaces weight `v` by symmetric int8 (per channel along `axis`, or one scale)
// behind DequantizeLinear (Cast*Mul below opset 13 for per-channel, below 10 for
// any); consumers keep reading the same name. Returns the scales.
std::vector<float> quantize_weight_int8(ir::Graph& g, ir::Value* v, int64_t axis, int64_t opset, bool per_channel,
                                        PassContext& ctx);

// Static int8: calibrates activations on o.calib and inserts QuantizeLinear /
// DequantizeLinear pairs; weights per channel, biases float or int32 (quantize_static.cc).
void quantize_static(ir::Model& model, const QuantizeOptions& o, PassContext& ctx);

}  // namespace pare::passes
