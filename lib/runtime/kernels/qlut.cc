#include "lib/runtime/kernels/qlut.h"

#include <algorithm>
#include <cmath>

#include "lib/runtime/epilogue_simd.h"

namespace pare::rt::kernels {

std::vector<uint8_t> qlut_table(const QLutSpec& s) {
  std::vector<uint8_t> table(256);
  float qmin = s.y.type == DataType::kUint8 ? 0.0f : -128.0f, qmax = s.y.type == DataType::kUint8 ? 255.0f : 127.0f;
  for (int b = 0; b < 256; ++b) {
    int32_t x = s.x.type == DataType::kUint8 ? b : static_cast<int8_t>(static_cast<uint8_t>(b));
    float v = static_cast<float>(x - s.x.zero_point) * s.x.scale;                              // DequantizeLinear
    v = s.activation.activate(v);                                                              // the activation
    float q = quantize_linear(v, s.y.scale, static_cast<float>(s.y.zero_point), qmin, qmax);  // QuantizeLinear
    table[b] = static_cast<uint8_t>(static_cast<int32_t>(q));
  }
  return table;
}

namespace {

#if PARE_HAVE_AVX2_KERNELS
// dst[i] = table[src[i]], 64 bytes a step: two 128-entry permutes (vpermi2b
// reads index bits 0-6) and bit 7 choosing between them. One byte at a time,
// PP-OCRv4 det's 24 int8 hardswish tables had taken 10% of the model.
PARE_TARGET_AVX512VBMI void lookup_vbmi(const uint8_t* table, const uint8_t* src, uint8_t* dst, int64_t n) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  for (int64_t i = 0; i < n; i += 64) {
    __mmask64 m = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
    __m512i x = _mm512_maskz_loadu_epi8(m, src + i);
    __m512i lo = _mm512_permutex2var_epi8(t0, x, t1), hi = _mm512_permutex2var_epi8(t2, x, t3);
    _mm512_mask_storeu_epi8(dst + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi));
  }
}
#endif

}  // namespace

void lookup_bytes(const uint8_t* table, const uint8_t* src, uint8_t* dst, int64_t n, Isa isa) {
#if PARE_HAVE_AVX2_KERNELS
  if (isa >= Isa::kAvx512 && cpu_has_avx512vbmi()) return lookup_vbmi(table, src, dst, n);
#endif
  for (int64_t i = 0; i < n; ++i) dst[i] = table[src[i]];
}

namespace {

class QLut : public Kernel {
 public:
  QLut(const KernelInit& init, const QLutSpec& s) : spec_(s), isa_(init.isa) {
    for (const QTensorParams* p : {&s.x, &s.y})
      if (p->type != DataType::kUint8 && p->type != DataType::kInt8) init.reject("quantized activation: not 8-bit");
    table_ = s.table.size() == 256 ? s.table : qlut_table(s);
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != spec_.x.type) compute_error(ctx, "quantized input of another type");
    TensorView& y = ctx.allocate_output(0, spec_.y.type, x.dims);
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    const uint8_t* t = table_.data();
    int64_t n = x.numel();
    constexpr int64_t kChunk = 65536;
    ctx.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1) {
      int64_t begin = c0 * kChunk, end = std::min(n, c1 * kChunk);
      lookup_bytes(t, px + begin, py + begin, end - begin, isa_);
    });
  }

 private:
  QLutSpec spec_;
  Isa isa_;
  std::vector<uint8_t> table_;
};

}  // namespace

[[gnu::cold]] std::unique_ptr<Kernel> make_qlut(const KernelInit& init, const QLutSpec& spec) {
  return std::make_unique<QLut>(init, spec);
}

}  // namespace pare::rt::kernels
