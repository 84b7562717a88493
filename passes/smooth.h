// Activation smoothing for static int8 (quantize(int8, calib=DIR, smooth=A)):
// per-channel scales that move the range of a layer's input channels into its
// weights (SmoothQuant: Xiao et al. 2023, "SmoothQuant: Accurate and
// Efficient Post-Training Quantization for Large Language Models"; the same
// migration AIMET and NNCF apply to convolutions).
//
// A per-tensor int8 activation has one step for all its channels. Where the
// channels' ranges differ by orders of magnitude, the small channels fall
// within a step and are lost. PP-OCRv4 det's second depthwise convolution
// reads channels whose ranges run from 0.8 to 58 (a step of 0.23); quantizing
// its input alone takes the model to 5.7 dB, with the channels smoothed to
// 29.3 dB (docs/quantization.md).
//
// Before:  y = Conv(x, W, b)
// After:   y = Conv(Mul(x, 1/s), W * s, b)     s per input channel of W
// with r[c] the range of channel c of x on the samples (max(hi, 0) - min(lo, 0))
// and w[c] the largest |W| reading channel c:
//   s[c] = r[c]^a / w[c]^(1-a), divided by their geometric mean,
// so that the input's channel ranges r/s and the weights' column ranges w*s
// meet at r^a w^(1-a) (a = 0.5: SmoothQuant's default). A depthwise kernel
// (one input channel per group) takes s whole (a = 1): its per-channel int8
// weights see a scale per channel anyway. The Mul's input stays float: it
// costs one elementwise step in float before the QuantizeLinear, which an
// integer runtime runs between its integer layers with the activations
// (HardSwish, Sigmoid) it runs in float anyway. The model computes the same
// function to float rounding.
//
// Layers smoothed: Conv (any group), MatMul and Gemm (not transA) whose
// weight is a float32 constant read by that layer alone; channels where r or w
// is 0 keep s = 1.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "passes/pass.h"

namespace pare::passes {

struct Smoothed {
  std::set<const ir::Node*> muls;  // every Mul inserted: none of their inputs is quantized as it stands
  // A smoothed layer output y (now the Mul's output, under its old name) -> the
  // Mul: where y was to be quantized, the Mul's input y' is, and the Mul reads it dequantized.
  std::map<const ir::Value*, ir::Node*> restored;
};

// Smooths the data input of each of `layers` (main-graph nodes of `model`)
// with migration strength `alpha` in (0, 1], and the output of each of
// `outputs_of` whole (t = its channels' ranges, divided by their geometric
// mean), measured on `samples`.
Smoothed smooth_activations(ir::Model& model, const std::vector<ir::Node*>& layers,
                            const std::vector<ir::Node*>& outputs_of, const std::vector<Sample>& samples,
                            double alpha, PassContext& ctx);

}  // namespace pare::passes
