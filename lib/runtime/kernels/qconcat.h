// The quantized Concat: what the session runs for a QDQ group
//   x1_q -> DequantizeLinear, ..., xn_q -> DequantizeLinear -> Concat
//       -> QuantizeLinear -> y_q
// (PP-OCRv4 det concatenates four upsampled maps of 96 channels at 160x160).
// Each byte of y_q is QuantizeLinear(DequantizeLinear(b)) of one input byte b:
// a table of 256 per input, computed once with the literal nodes' formulas
// (qlut_table), and a plain copy where an input shares y's scale and zero point.
// An input may be float (its QTensorParams' type kFloat): its values are
// quantized with y's parameters, as the QuantizeLinear after the Concat would
// (once, when the kernel is built, where the input is a constant). Bit-identical
// to the nodes.
#pragma once

#include <memory>
#include <vector>

#include "lib/runtime/kernel.h"
#include "lib/runtime/kernels/qadd.h"

namespace pare::rt::kernels {

struct QConcatSpec {
  std::vector<QTensorParams> inputs;  // kFloat: a float input, quantized by the kernel
  QTensorParams y;
};

std::unique_ptr<Kernel> make_qconcat(const KernelInit& init, const QConcatSpec& spec);

}  // namespace pare::rt::kernels
