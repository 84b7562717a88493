#include "lib/runtime/kernels/qadd.h"

#include <algorithm>
#include <cmath>

#include "lib/runtime/epilogue_simd.h"

namespace pare::rt::kernels {
namespace {

struct Flat {  // the spec as the loop reads it
  float sa, sb, sy, ya, yb, lo, hi, qmin, qmax;
  int32_t za, zb;
};

// One body compiled twice (baseline and AVX2); the same float operations in
// the same order either way, so the same bits.
template <typename A, typename B, typename Y>
__attribute__((always_inline)) inline void qadd_body(const A* a, const B* b, Y* y, int64_t n, const Flat& f) {
  for (int64_t i = 0; i < n; ++i) {
    float va = static_cast<float>(static_cast<int32_t>(a[i]) - f.za) * f.sa;  // DequantizeLinear
    float vb = static_cast<float>(static_cast<int32_t>(b[i]) - f.zb) * f.sb;
    float s = va + vb;                                                        // Add
    s = s < f.lo ? f.lo : (s > f.hi ? f.hi : s);                              // Relu or Clip
    float q = std::nearbyint(s / f.sy) + f.ya;                                // QuantizeLinear
    y[i] = static_cast<Y>(q < f.qmin ? f.qmin : (q > f.qmax ? f.qmax : q));
  }
}

template <typename A, typename B, typename Y>
void qadd_portable(const A* a, const B* b, Y* y, int64_t n, const Flat& f) {
  qadd_body(a, b, y, n, f);
}
#if PARE_HAVE_AVX2_KERNELS
template <typename A, typename B, typename Y>
PARE_TARGET_AVX2 void qadd_avx2(const A* a, const B* b, Y* y, int64_t n, const Flat& f) {
  qadd_body(a, b, y, n, f);
}
#endif

template <typename A, typename B, typename Y>
void qadd_run(const void* a, const void* b, void* y, int64_t n, const Flat& f, Isa isa) {
#if PARE_HAVE_AVX2_KERNELS
  if (isa == Isa::kAvx2Fma)
    return qadd_avx2(static_cast<const A*>(a), static_cast<const B*>(b), static_cast<Y*>(y), n, f);
#endif
  qadd_portable(static_cast<const A*>(a), static_cast<const B*>(b), static_cast<Y*>(y), n, f);
}

using Run = void (*)(const void*, const void*, void*, int64_t, const Flat&, Isa);

template <typename A, typename B>
Run pick_y(DataType y) {
  return y == DataType::kUint8 ? qadd_run<A, B, uint8_t> : qadd_run<A, B, int8_t>;
}
template <typename A>
Run pick_b(DataType b, DataType y) {
  return b == DataType::kUint8 ? pick_y<A, uint8_t>(y) : pick_y<A, int8_t>(y);
}
Run pick(const QAddSpec& s) {
  return s.a.type == DataType::kUint8 ? pick_b<uint8_t>(s.b.type, s.y.type) : pick_b<int8_t>(s.b.type, s.y.type);
}

class QAdd : public Kernel {
 public:
  QAdd(const KernelInit& init, const QAddSpec& s) : spec_(s), run_(pick(s)), isa_(init.isa) {
    for (const QTensorParams* p : {&s.a, &s.b, &s.y})
      if (p->type != DataType::kUint8 && p->type != DataType::kInt8) init.reject("quantized Add: not 8-bit");
    bool u8 = s.y.type == DataType::kUint8;
    flat_ = {s.a.scale, s.b.scale, s.y.scale, static_cast<float>(s.y.zero_point), 0, s.act_lo, s.act_hi,
             u8 ? 0.0f : -128.0f, u8 ? 255.0f : 127.0f, s.a.zero_point, s.b.zero_point};
  }

  void compute(KernelContext& ctx) override {
    const TensorView& a = *ctx.input(0);
    const TensorView& b = *ctx.input(1);
    if (a.dtype != spec_.a.type || b.dtype != spec_.b.type) compute_error(ctx, "quantized inputs of another type");
    if (a.dims != b.dims) compute_error(ctx, "the quantized Add takes inputs of one shape");
    TensorView& y = ctx.allocate_output(0, spec_.y.type, a.dims);
    int64_t n = a.numel();
    constexpr int64_t kChunk = 16384;
    ctx.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1) {
      int64_t i = c0 * kChunk, len = std::min(n, c1 * kChunk) - i;
      run_(static_cast<const uint8_t*>(a.data) + i, static_cast<const uint8_t*>(b.data) + i,
           static_cast<uint8_t*>(y.data) + i, len, flat_, isa_);
    });
  }

 private:
  QAddSpec spec_;
  Run run_;
  Flat flat_{};
  Isa isa_;
};

}  // namespace

std::unique_ptr<Kernel> make_qadd(const KernelInit& init, const QAddSpec& spec) {
  return std::make_unique<QAdd>(init, spec);
}

}  // namespace pare::rt::kernels
