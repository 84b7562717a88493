// The quantized Add: what the session runs for a QDQ group
//   a_q -> DequantizeLinear, b_q -> DequantizeLinear -> Add [-> Relu | Clip] -> QuantizeLinear -> y_q
// (the residual connections of int8 CNNs) as one pass over the 8-bit tensors
// instead of five over float ones. It computes in fixed point, as integer
// runtimes compute QLinearAdd: (a - za) sa / sy + (b - zb) sb / sy + ya with
// 16-bit multipliers, one vpmaddwd per eight outputs, rounded half up and
// clamped to Q(lo) and Q(hi) of the activation. Within one step of the literal
// nodes (float, half to even), and the same bytes on every path (integers);
// a byte differs only where the exact value lies within 1/16 step of a
// rounding boundary. A group whose multipliers could exceed 8 (an output
// scale over 8 times finer than an input's; for the Mul, than the largest
// product of one byte) stays literal nodes (qadd_refusal): they would lose
// that precision. Inputs of one shape take a vectorised loop; others broadcast
// (numpy's rules) element by element.
//
// The same kernel runs the quantized Mul (`mul`): a squeeze-excite block's
// x * scale[c] (PP-OCRv4 det, MobileNetV3) channel by channel, each channel
// the Add's fixed point with kb = 0 and ka = sx DQ(s[c]) / sy; two inputs of
// one shape (x * HardSigmoid(x)) with the literal float formulas, eight at a
// time with AVX2; other shapes element by element with the same formulas
// (their bits, on every path).
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

// Why the kernel cannot run `spec` (the group then stays literal nodes), or nullptr.
const char* qadd_refusal(const QAddSpec& spec);

}  // namespace pare::rt::kernels
