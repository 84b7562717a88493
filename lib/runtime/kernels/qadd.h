// The quantized Add: what the session runs for a QDQ group
//   a_q -> DequantizeLinear, b_q -> DequantizeLinear -> Add [-> Relu | Clip] -> QuantizeLinear -> y_q
// (the residual connections of int8 CNNs) as one pass over the 8-bit tensors
// instead of five over float ones. Each element is computed with the literal
// nodes' float formulas in their order, (a - za) * sa + (b - zb) * sb, the
// activation, then QuantizeLinear's rounding, so it gives the oracle's bits
// exactly (the file is compiled with -ffp-contract=off; no FMA fuses the two
// products). Inputs of one shape take a vectorised loop; others broadcast
// (numpy's rules) element by element.
//
// The same kernel runs the quantized Mul (`mul`): a squeeze-excite block's
// x * scale[c] (PP-OCRv4 det, MobileNetV3) channel by channel, DQ(x) * DQ(s[c])
// then QuantizeLinear with the literal formulas (vectorised as the Add);
// other shapes element by element.
//
// And the quantized GlobalAveragePool (`kMean`, one input): x_q ->
// DequantizeLinear -> GlobalAveragePool -> QuantizeLinear, each plane's mean
// summed as the float kernel sums it (pool.cc, plane_sum: eight double lanes,
// element i in lane i % 8, added pairwise at the end) over the dequantized
// bytes, then quantized: the literal nodes' bits without their float tensor.
#pragma once

#include <limits>
#include <memory>

#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

struct QTensorParams {
  DataType type = DataType::kUint8;
  float scale = 1;
  int32_t zero_point = 0;
};

struct QAddSpec {
  QTensorParams a, b, y;
  // A Relu (0, +inf) or Clip (its bounds) between the Add and the QuantizeLinear.
  float act_lo = -std::numeric_limits<float>::infinity(), act_hi = std::numeric_limits<float>::infinity();
  enum class Op { kAdd, kMul, kMean } op = Op::kAdd;  // kMean: `a` is the input, `b` unused
};

// Its two inputs are a_q and b_q, its output y_q.
std::unique_ptr<Kernel> make_qadd(const KernelInit& init, const QAddSpec& spec);

}  // namespace pare::rt::kernels
