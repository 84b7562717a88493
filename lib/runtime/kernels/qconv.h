// The integer Conv: what the session runs for a QDQ group of an int8 model,
//   x_q -> DequantizeLinear -> Conv(W = DequantizeLinear(W_q)) [-> Relu | Clip] -> QuantizeLinear -> y_q
// reading x_q (uint8 or int8) and writing y_q, in integer arithmetic: int8
// weights, exact int32 sums, one requantization per output (qgemm.h), the
// Relu or Clip folded into its clamp. Dense and grouped convolutions go through
// the packed integer GEMM over an im2col of (x_q - zero point) in int16, or of
// x_q's bytes where the CPU has AVX-512 VNNI (qgemm.h), where dense ones read
// x_q in place instead (QConv::direct, design.md decision 39). Depthwise ones
// (group == C == M): with VNNI and VBMI, kernels up to 8 wide by byte quads
// gathered per kernel row (depthwise_row_vnni); with AVX2, 3x3 by int16 pairs
// from the bytes; otherwise 3x3 and 5x5 through the float depthwise kernel
// (depthwise.h) on x_q - zero point, whose sums of integers are exact, and
// other kernels through a direct row loop.
//
// The literal nodes, run one by one in float (SessionOptions::fuse = false or
// integer = false), are the oracle: every output is within one quantization
// step of theirs (tests/runtime/qconv_test.cc): the float sums of the literal
// Conv carry rounding the exact integer sums do not, and a value that lands
// near a .5 boundary may round the other way.
//
// A Pad (constant 0, spatial axes only) between the activation and the
// QuantizeLinear is folded too: Q(0) is the zero point, so the kernel writes
// its output inside a border of zero points (M-LSD pads before each stride-2
// depthwise Conv).
#pragma once

#include <limits>
#include <memory>
#include <vector>

#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

struct QConvSpec {
  DataType x_type = DataType::kUint8;
  float x_scale = 1;
  int32_t x_zero_point = 0;
  ir::Tensor weight;            // int8 [M, C/group, kh, kw]
  std::vector<float> w_scale;   // one per output channel, or one for all
  std::vector<float> bias;      // one per output channel, or empty
  DataType y_type = DataType::kUint8;
  float y_scale = 1;
  int32_t y_zero_point = 0;
  // A Relu (0, +inf) or Clip (its bounds) between the Conv and the QuantizeLinear.
  float act_lo = -std::numeric_limits<float>::infinity(), act_hi = std::numeric_limits<float>::infinity();
  // A folded Pad: rows above and below, columns left and right of the output.
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};

// Why the integer Conv cannot compute `spec` (a sum that could overflow int32,
// a 1-D or 3-D convolution, a scale that is not positive), or "" when it can.
std::string qconv_refusal(const QConvSpec& spec);

// The kernel for the Conv node of `init` computing `spec`; its one input is
// x_q, its one output y_q. Attributes are checked as the float Conv checks them.
std::unique_ptr<Kernel> make_qconv(const KernelInit& init, const QConvSpec& spec);

}  // namespace pare::rt::kernels
