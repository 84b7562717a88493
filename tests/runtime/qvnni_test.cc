// The integer GEMM on bytes with AVX-512 VNNI (kernels/qgemm.h, Isa::kAvx512Vnni)
// against the triple loop and the AVX2 int16 path, bit for bit: odd shapes,
// uint8 and int8 inputs (int8 read as x ^ 0x80 with zero point + 128, as the
// integer Conv passes them), zero points at both ends of the range, the Relu and
// Clip clamps, panel ranges and sums at the int32 bound. Skipped on a CPU
// without VNNI; qconv_test.cc runs whole convolutions on every runnable Isa and
// tests/models/int8_integer_test.cc whole models on the VNNI and AVX2 paths.
#include <gtest/gtest.h>

#include <cmath>

#include "lib/runtime/kernels/qgemm.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

struct Input {
  bool is_signed;
  int32_t zero_point;
};

// The three clamps of an output type: its range, a Relu (from the zero point up), a Clip.
kernels::Requant requant(int64_t rows, int64_t k, bool is_signed, int clamp) {
  kernels::Requant rq;
  for (int64_t r = 0; r < rows; ++r) {  // outputs spread over the range, some saturated
    rq.scale.push_back(static_cast<float>(40.0 / (std::sqrt(static_cast<double>(k)) * 74 * 128) * (1 + 0.1 * r)));
    rq.offset.push_back(static_cast<float>(r) * 0.37f - 1.5f);
  }
  rq.zero_point = is_signed ? -7 : 120;
  rq.lo = is_signed ? -128 : 0;
  rq.hi = is_signed ? 127 : 255;
  if (clamp == 1) rq.lo = rq.zero_point;
  if (clamp == 2) {
    rq.lo = rq.zero_point - 20;
    rq.hi = rq.zero_point + 60;
  }
  return rq;
}

// C over panels [0, split) and [split, panels) in two calls, as the Conv's tasks split them.
std::vector<uint8_t> vnni(const std::vector<int8_t>& a, int64_t m, int64_t k, const std::vector<uint8_t>& x,
                          const Input& in, int64_t n, const kernels::Requant& rq, int64_t row0, int64_t ldc) {
  uint8_t flip = in.is_signed ? 0x80 : 0;
  int32_t zp = in.zero_point + (in.is_signed ? 128 : 0);
  std::vector<uint8_t> b(x.size());
  for (size_t i = 0; i < x.size(); ++i) b[i] = x[i] ^ flip;
  kernels::PackedQA packed = kernels::pack_qa(a.data(), m, k, k, true);
  std::vector<uint8_t> panels(kernels::qb_panel_elements(packed.kp, n), 0xCD), c(m * ldc, 0xAB);
  kernels::pack_qb_vnni(b.data(), n, k, n, static_cast<uint8_t>(zp), panels.data());
  int64_t split = packed.panels() / 2;
  kernels::qgemm_vnni_panels(packed, 0, split, panels.data(), zp, n, rq, row0, c.data(), ldc);
  kernels::qgemm_vnni_panels(packed, split, packed.panels(), panels.data(), zp, n, rq, row0, c.data(), ldc);
  return c;
}

TEST(QGemmVnni, GivesTheTripleLoopsAndTheAvx2Bits) {
  if (!kernels::qgemm_vnni(cpu_isa())) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  std::vector<Input> inputs = {{false, 0}, {false, 3},  {false, 128}, {false, 255},
                               {true, -128}, {true, 0}, {true, 5},    {true, 127}};
  int64_t row0 = 2;
  for (int64_t m = 1; m <= 13; ++m)
    for (int64_t k : {1, 3, 4, 5, 27, 130, 600})
      for (int64_t n : {1, 15, 16, 17, 33, 48, 49, 100}) {
        auto ar = testing::uniform_floats(m * k, 41, -128, 127.99f), xr = testing::uniform_floats(k * n, 42, 0, 255.99f);
        std::vector<int8_t> a(m * k);
        std::vector<uint8_t> x(k * n);
        for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int8_t>(std::floor(ar[i]));
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint8_t>(std::floor(xr[i]));
        a[0] = -128;  // the extremes of both operands
        x[0] = 255;
        x[x.size() - 1] = 0;
        kernels::PackedQA packed = kernels::pack_qa(a.data(), m, k, k);
        for (const Input& in : inputs) {
          std::vector<int16_t> b(x.size());  // x - zp, the int16 path's B
          for (size_t i = 0; i < x.size(); ++i)
            b[i] = static_cast<int16_t>((in.is_signed ? int32_t{static_cast<int8_t>(x[i])} : int32_t{x[i]}) - in.zero_point);
          std::vector<int16_t> panels(kernels::qb_panel_elements(packed.kp, n));
          kernels::pack_qb(b.data(), n, k, n, panels.data());
          for (int clamp = 0; clamp < 3; ++clamp) {
            SCOPED_TRACE(::testing::Message() << "m=" << m << " k=" << k << " n=" << n << (in.is_signed ? " int8" : " uint8")
                                              << " zp " << in.zero_point << " clamp " << clamp);
            kernels::Requant rq = requant(row0 + m, k, in.is_signed, clamp);
            int64_t ldc = n + 3;
            std::vector<uint8_t> want(m * ldc, 0xAB), avx2(m * ldc, 0xAB);
            kernels::qgemm_reference(a.data(), m, k, b.data(), n, rq, row0, want.data(), ldc);
            kernels::qgemm_panels(packed, 0, packed.panels(), panels.data(), n, rq, row0, avx2.data(), ldc, Isa::kAvx2Fma);
            ASSERT_EQ(avx2, want);
            ASSERT_EQ(vnni(a, m, k, x, in, n, rq, row0, ldc), want);  // the padding between rows untouched too
          }
        }
      }
}

// Sums at the bound qconv_refusal allows (k * 255 * 128 <= 2^30), where the
// accumulator's start (-zp * the weight sum) and the products' sum are each
// near 2^30: the result must still be exact.
TEST(QGemmVnni, ExactAtTheInt32Bound) {
  if (!kernels::qgemm_vnni(cpu_isa())) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  int64_t m = 4, k = 32768, n = 16;  // 32768 * 255 * 128 < 2^30
  std::vector<int8_t> a(m * k);
  for (int64_t i = 0; i < k; ++i) {
    a[i] = -128;                       // row 0: all -128
    a[k + i] = 127;                    // row 1: all 127
    a[2 * k + i] = i % 2 ? 127 : -128; // row 2: alternating
    a[3 * k + i] = -128;
  }
  kernels::Requant rq{std::vector<float>(m, 1e-7f), std::vector<float>(m, 0.0f), 0, -128, 127};
  for (const Input& in : {Input{false, 255}, Input{false, 0}, Input{true, -128}, Input{true, 127}})
    for (uint8_t value : {0, 255}) {
      SCOPED_TRACE(::testing::Message() << "zp " << in.zero_point << " x byte " << int(value));
      std::vector<uint8_t> x(k * n, value);
      std::vector<int16_t> b(x.size());
      for (size_t i = 0; i < x.size(); ++i)
        b[i] = static_cast<int16_t>((in.is_signed ? int32_t{static_cast<int8_t>(x[i])} : int32_t{x[i]}) - in.zero_point);
      std::vector<uint8_t> want(m * n);
      kernels::qgemm_reference(a.data(), m, k, b.data(), n, rq, 0, want.data(), n);
      ASSERT_EQ(vnni(a, m, k, x, in, n, rq, 0, n), want);
    }
}

}  // namespace
}  // namespace pare::rt
