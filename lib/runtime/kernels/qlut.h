// The quantized activation: what the session runs for a QDQ group
//   x_q -> DequantizeLinear -> activation -> QuantizeLinear -> y_q
// (HardSwish, HardSigmoid, Sigmoid, LeakyRelu, Relu, Clip between two quantized
// tensors, as in PP-OCR's and MobileNetV3's blocks). Every output depends on
// one 8-bit input, so the kernel computes the 256 possible results once, at
// compile time, with the literal nodes' scalar formulas (epilogue.h), and a run
// is one table lookup per byte: bit-identical to the nodes. With AVX-512 VBMI
// (cpu_has_avx512vbmi) the lookups go 64 bytes at a time; tests/runtime/qlut_test.cc
// runs every Isa, so both forms meet the nodes there.
#pragma once

#include <memory>

#include "lib/runtime/epilogue.h"
#include "lib/runtime/kernel.h"
#include "lib/runtime/kernels/qadd.h"

namespace pare::rt::kernels {

struct QLutSpec {
  QTensorParams x, y;
  Epilogue activation;  // its activation only (no round trip)
  // The table itself, when the group computed it (a chain of nodes,
  // qdq_groups.cc); otherwise qlut_table computes it from the fields above.
  std::vector<uint8_t> table;
  // The group's op is a MaxPool (no activation), computed on the bytes before
  // the table: make_qmax_pool (kernels/pool.cc).
  bool max_pool = false;
};

std::unique_ptr<Kernel> make_qlut(const KernelInit& init, const QLutSpec& spec);
std::unique_ptr<Kernel> make_qmax_pool(const KernelInit& init, const QLutSpec& spec);

// dst[i] = table[src[i]] for n bytes (dst may be src), 64 at a time with VBMI.
void lookup_bytes(const uint8_t* table, const uint8_t* src, uint8_t* dst, int64_t n, Isa isa);

// The table: entry b is y_q's byte for the input byte b.
std::vector<uint8_t> qlut_table(const QLutSpec& spec);

}  // namespace pare::rt::kernels
