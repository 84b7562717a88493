#include "lib/runtime/kernels/qadd.h"

#include <algorithm>
#include <cmath>

#include "lib/runtime/broadcast.h"
#include "lib/runtime/epilogue_simd.h"
#include "lib/runtime/kernels/chunks.h"

namespace pare::rt::kernels {
namespace {

struct Flat {  // the spec as the loop reads it
  float sa, sb, sy, ya, yb, lo, hi, qmin, qmax;
  int32_t za, zb;
  uint8_t flip_a, flip_b;  // 0x80 for an int8 input, read as uint8 (below)
};

// The literal nodes' tail for one value: Relu or Clip, then QuantizeLinear.
__attribute__((always_inline)) inline uint8_t requantize(float s, const Flat& f) {
  s = s < f.lo ? f.lo : (s > f.hi ? f.hi : s);
  float q = std::nearbyint(s / f.sy) + f.ya;
  return static_cast<uint8_t>(static_cast<int32_t>(q < f.qmin ? f.qmin : (q > f.qmax ? f.qmax : q)));
}
__attribute__((always_inline)) inline float dequantize(uint8_t x, uint8_t flip, int32_t z, float scale) {
  return static_cast<float>(static_cast<int32_t>(static_cast<uint8_t>(x ^ flip)) - z) * scale;
}

// One loop serves every mix of uint8 and int8 tensors, so the binary holds one
// instance instead of eight (pare-run's size, docs/runtime.md): an int8 byte x
// with zero point z is read as the uint8 byte x ^ 0x80 with zero point z + 128,
// the same integer x - z, and a result q in [qmin, qmax] is stored as the low
// byte of (int32)q, which is the int8 or the uint8 value alike. The dequantized
// values, sums and roundings are the literal nodes' exactly.
// One body compiled twice (baseline and AVX2); the same float operations in
// the same order either way, so the same bits.
__attribute__((always_inline)) inline void qadd_body(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n,
                                                     const Flat& f) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = requantize(dequantize(a[i], f.flip_a, f.za, f.sa) + dequantize(b[i], f.flip_b, f.zb, f.sb), f);
}

void qadd_portable(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const Flat& f) {
  qadd_body(a, b, y, n, f);
}
#if PARE_HAVE_AVX2_KERNELS
// (x ^ flip - z) * s for 8 bytes.
PARE_TARGET_AVX2 inline __m256 dequantize8(const uint8_t* x, __m128i flip, __m256i z, __m256 s) {
  __m128i bytes = _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x)), flip);
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), z)), s);
}

// qadd_body 8 at a time, written out: the compiler's own vectorisation of it
// (four vectors, NaN-exact blends, spills) made the fused Add slower than the
// five float kernels it replaces. The same operations in the same order:
// max(lo, s) is s < lo ? lo : s and min(hi, s) is s > hi ? hi : s, NaN
// included; the rounding is nearbyint's (the current mode, no exceptions);
// the int32's low byte is the uint8 or int8 result.
// The tail after the Add or the Mul (Relu or Clip, QuantizeLinear) for 8
// values, stored as 8 bytes: requantize()'s operations, vectorised.
struct Tail8 {
  __m256 lo, hi, sy, ya, qmin, qmax;
};
PARE_AVX2_INLINE Tail8 tail8(const Flat& f) {
  return {_mm256_set1_ps(f.lo), _mm256_set1_ps(f.hi),   _mm256_set1_ps(f.sy),
          _mm256_set1_ps(f.ya), _mm256_set1_ps(f.qmin), _mm256_set1_ps(f.qmax)};
}
PARE_AVX2_INLINE void store_tail8(__m256 s, const Tail8& t, uint8_t* y) {
  s = _mm256_min_ps(t.hi, _mm256_max_ps(t.lo, s));
  __m256 q = _mm256_add_ps(_mm256_round_ps(_mm256_div_ps(s, t.sy), _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC), t.ya);
  q = _mm256_min_ps(t.qmax, _mm256_max_ps(t.qmin, q));
  __m256i v = _mm256_and_si256(_mm256_cvttps_epi32(q), _mm256_set1_epi32(0xff));
  __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(y), _mm_packus_epi16(words, words));
}

PARE_TARGET_AVX2 void qadd_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const Flat& f) {
  const __m128i flip_a = _mm_set1_epi8(static_cast<char>(f.flip_a)), flip_b = _mm_set1_epi8(static_cast<char>(f.flip_b));
  const __m256i za = _mm256_set1_epi32(f.za), zb = _mm256_set1_epi32(f.zb);
  const __m256 sa = _mm256_set1_ps(f.sa), sb = _mm256_set1_ps(f.sb);
  const Tail8 tail = tail8(f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    store_tail8(_mm256_add_ps(dequantize8(a + i, flip_a, za, sa), dequantize8(b + i, flip_b, zb, sb)), tail, y + i);
  qadd_body(a + i, b + i, y + i, n - i, f);
}
#endif

// y[i] = the tail of DQ(x[i]) * c, for one channel of a squeeze-excite product
// (x: flip, zero point z, scale s; c: the channel's dequantized scale).
// Not inlined: one copy serves the portable path and the AVX2 path's tail (pare-run's size).
__attribute__((noinline)) void qmul_portable(const uint8_t* x, uint8_t flip, int32_t z, float s, float c, uint8_t* y,
                                             int64_t n, const Flat& f) {
  for (int64_t i = 0; i < n; ++i) y[i] = requantize(dequantize(x[i], flip, z, s) * c, f);
}
#if PARE_HAVE_AVX2_KERNELS
// qmul_portable 8 at a time: the same operations in the same order (qadd_avx2).
PARE_TARGET_AVX2 void qmul_avx2(const uint8_t* x, uint8_t flip, int32_t z, float s, float c, uint8_t* y, int64_t n,
                                const Flat& f) {
  const __m128i vflip = _mm_set1_epi8(static_cast<char>(flip));
  const __m256i vz = _mm256_set1_epi32(z);
  const __m256 vs = _mm256_set1_ps(s), vc = _mm256_set1_ps(c);
  const Tail8 tail = tail8(f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store_tail8(_mm256_mul_ps(dequantize8(x + i, vflip, vz, vs), vc), tail, y + i);
  qmul_portable(x + i, flip, z, s, c, y + i, n - i, f);
}
#endif

#if PARE_HAVE_AVX2_KERNELS
// The AVX2 loops 16 at a time (Isa kAvx512): the same operations in the same
// order, so the same bits; vpmovdb stores each int32's low byte. The residual
// Adds were the one int8 kernel of BlazeFace slower than their float versions.
struct Tail16 {
  __m512 lo, hi, sy, ya, qmin, qmax;
};
PARE_AVX512_INLINE Tail16 tail16(const Flat& f) {
  return {_mm512_set1_ps(f.lo), _mm512_set1_ps(f.hi),   _mm512_set1_ps(f.sy),
          _mm512_set1_ps(f.ya), _mm512_set1_ps(f.qmin), _mm512_set1_ps(f.qmax)};
}
PARE_AVX512_INLINE __m512 dequantize16(const uint8_t* x, __m128i flip, __m512i z, __m512 s) {
  __m128i bytes = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)), flip);
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_cvtepu8_epi32(bytes), z)), s);
}
PARE_AVX512_INLINE void store_tail16(__m512 s, const Tail16& t, uint8_t* y) {
  s = _mm512_min_ps(t.hi, _mm512_max_ps(t.lo, s));
  __m512 q = _mm512_add_ps(_mm512_roundscale_ps(_mm512_div_ps(s, t.sy), _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC), t.ya);
  q = _mm512_min_ps(t.qmax, _mm512_max_ps(t.qmin, q));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(q)));
}

PARE_TARGET_AVX512 void qadd_avx512(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const Flat& f) {
  const __m128i flip_a = _mm_set1_epi8(static_cast<char>(f.flip_a)), flip_b = _mm_set1_epi8(static_cast<char>(f.flip_b));
  const __m512i za = _mm512_set1_epi32(f.za), zb = _mm512_set1_epi32(f.zb);
  const __m512 sa = _mm512_set1_ps(f.sa), sb = _mm512_set1_ps(f.sb);
  const Tail16 tail = tail16(f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    store_tail16(_mm512_add_ps(dequantize16(a + i, flip_a, za, sa), dequantize16(b + i, flip_b, zb, sb)), tail, y + i);
  qadd_avx2(a + i, b + i, y + i, n - i, f);
}

PARE_TARGET_AVX512 void qmul_avx512(const uint8_t* x, uint8_t flip, int32_t z, float s, float c, uint8_t* y, int64_t n,
                                    const Flat& f) {
  const __m128i vflip = _mm_set1_epi8(static_cast<char>(flip));
  const __m512i vz = _mm512_set1_epi32(z);
  const __m512 vs = _mm512_set1_ps(s), vc = _mm512_set1_ps(c);
  const Tail16 tail = tail16(f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) store_tail16(_mm512_mul_ps(dequantize16(x + i, vflip, vz, vs), vc), tail, y + i);
  qmul_avx2(x + i, flip, z, s, c, y + i, n - i, f);
}

// The quantized mean's lanes over whole blocks of 8 (lanes 0-3 and 4-7 in two
// registers, each lane's additions in plane_sum's order); returns the elements done.
PARE_TARGET_AVX2 int64_t sum_lanes_avx2(const uint8_t* x, int64_t n, const Flat& f, double* lanes) {
  const __m128i flip = _mm_set1_epi8(static_cast<char>(f.flip_a));
  const __m256i z = _mm256_set1_epi32(f.za);
  const __m256 s = _mm256_set1_ps(f.sa);
  __m256d lo = _mm256_loadu_pd(lanes), hi = _mm256_loadu_pd(lanes + 4);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = dequantize8(x + i, flip, z, s);
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  _mm256_storeu_pd(lanes, lo);
  _mm256_storeu_pd(lanes + 4, hi);
  return i;
}
#endif

void qadd_run(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const Flat& f, Isa isa) {
#if PARE_HAVE_AVX2_KERNELS
  if (isa >= Isa::kAvx512) return qadd_avx512(a, b, y, n, f);
  if (has_avx2(isa)) return qadd_avx2(a, b, y, n, f);
#endif
  qadd_portable(a, b, y, n, f);
}

class QAdd : public Kernel {
 public:
  QAdd(const KernelInit& init, const QAddSpec& s) : spec_(s), isa_(init.isa) {
    for (const QTensorParams* p : {&s.a, &s.b, &s.y})
      if (p->type != DataType::kUint8 && p->type != DataType::kInt8) init.reject("quantized Add, Mul or mean: not 8-bit");
    bool u8 = s.y.type == DataType::kUint8;
    bool a_signed = s.a.type == DataType::kInt8, b_signed = s.b.type == DataType::kInt8;
    flat_ = {s.a.scale, s.b.scale, s.y.scale, static_cast<float>(s.y.zero_point), 0, s.act_lo, s.act_hi,
             u8 ? 0.0f : -128.0f, u8 ? 255.0f : 127.0f, s.a.zero_point + (a_signed ? 128 : 0),
             s.b.zero_point + (b_signed ? 128 : 0), static_cast<uint8_t>(a_signed ? 0x80 : 0),
             static_cast<uint8_t>(b_signed ? 0x80 : 0)};
  }

  void compute(KernelContext& ctx) override {
    const TensorView& a = *ctx.input(0);
    if (spec_.op == QAddSpec::Op::kMean) return mean(ctx, a);
    const TensorView& b = *ctx.input(1);
    if (a.dtype != spec_.a.type || b.dtype != spec_.b.type) compute_error(ctx, "quantized inputs of another type");
    if (spec_.op == QAddSpec::Op::kMul) {
      if (channel_scale(a, b)) return per_channel(ctx, a, b, false);
      if (channel_scale(b, a)) return per_channel(ctx, b, a, true);
    }
    if (a.dims != b.dims || spec_.op == QAddSpec::Op::kMul) return broadcast(ctx, a, b);
    TensorView& y = ctx.allocate_output(0, spec_.y.type, a.dims);
    int64_t n = a.numel();
    for_chunks(ctx, n, [&](int64_t i, int64_t end) {
      qadd_run(static_cast<const uint8_t*>(a.data) + i, static_cast<const uint8_t*>(b.data) + i,
               static_cast<uint8_t*>(y.data) + i, end - i, flat_, isa_);
    });
  }

 private:
  // Inputs of two shapes (the session takes an Add whose shapes the file does
  // not give): element by element with numpy broadcasting, the same formula.
  void broadcast(KernelContext& ctx, const TensorView& a, const TensorView& b) const {
    TensorView& y = ctx.allocate_output(0, spec_.y.type, broadcast_shapes(a.dims, b.dims));
    const auto *pa = static_cast<const uint8_t*>(a.data), *pb = static_cast<const uint8_t*>(b.data);
    auto* py = static_cast<uint8_t*>(y.data);
    const Flat& f = flat_;
    bool mul = spec_.op == QAddSpec::Op::kMul;
    for_each_broadcast<2>(ctx, y.dims, {&a.dims, &b.dims}, [&](int64_t o, int64_t ia, int64_t ib) {
      if (!mul) return qadd_portable(pa + ia, pb + ib, py + o, 1, f);
      py[o] = requantize(dequantize(pa[ia], f.flip_a, f.za, f.sa) * dequantize(pb[ib], f.flip_b, f.zb, f.sb), f);
    });
  }

  // The quantized GlobalAveragePool (qadd.h): per plane, the float kernel's sum.
  void mean(KernelContext& ctx, const TensorView& x) const {
    if (x.dtype != spec_.a.type || x.rank() < 3) compute_error(ctx, "quantized input of another type or rank");
    std::vector<int64_t> dims(x.rank(), 1);
    dims[0] = x.dims[0];
    dims[1] = x.dims[1];
    TensorView& y = ctx.allocate_output(0, spec_.y.type, dims);
    int64_t planes = x.dims[0] * x.dims[1], inner = planes ? x.numel() / planes : 0;
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    const Flat& f = flat_;
    Isa isa = isa_;
    ctx.parallel_for(planes, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        const uint8_t* xs = px + p * inner;
        int64_t i = 0;
#if PARE_HAVE_AVX2_KERNELS
        if (has_avx2(isa)) i = sum_lanes_avx2(xs, inner, f, lanes);
#endif
        for (; i + 8 <= inner; i += 8)
          for (int l = 0; l < 8; ++l) lanes[l] += dequantize(xs[i + l], f.flip_a, f.za, f.sa);
        for (int l = 0; i < inner; ++i, ++l) lanes[l] += dequantize(xs[i], f.flip_a, f.za, f.sa);
        double sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        // GlobalAveragePool, then QuantizeLinear (a mean has no activation: lo and hi are infinite).
        py[p] = requantize(static_cast<float>(sum / inner), f);
      }
    });
  }

  // Whether s holds one value per channel of x ([N, C, ...] against [C, 1...]
  // or [1, C, 1...] of x's rank or one less).
  static bool channel_scale(const TensorView& x, const TensorView& s) {
    if (x.rank() < 3 || s.rank() > x.rank() || s.rank() + 1 < x.rank() || s.numel() != x.dims[1]) return false;
    size_t lead = x.rank() - s.rank();  // s's dim d is x's dim d + lead
    for (size_t d = 0; d < s.rank(); ++d)
      if (s.dims[d] != (d + lead == 1 ? x.dims[1] : 1)) return false;
    return true;
  }

  // y = x * s[c], channel by channel (a product of two floats is the same in
  // either order, so which input was first does not matter).
  void per_channel(KernelContext& ctx, const TensorView& x, const TensorView& s, bool swapped) const {
    TensorView& y = ctx.allocate_output(0, spec_.y.type, x.dims);
    const Flat& f = flat_;
    uint8_t fx = swapped ? f.flip_b : f.flip_a, fs = swapped ? f.flip_a : f.flip_b;
    int32_t zx = swapped ? f.zb : f.za, zs = swapped ? f.za : f.zb;
    float sx = swapped ? f.sb : f.sa, ss = swapped ? f.sa : f.sb;
    int64_t n = x.dims[0], c = x.dims[1], plane = x.numel() / std::max<int64_t>(n * c, 1);
    const auto *px = static_cast<const uint8_t*>(x.data), *ps = static_cast<const uint8_t*>(s.data);
    auto* py = static_cast<uint8_t*>(y.data);
    Isa isa = isa_;
    ctx.parallel_for(n * c, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        float scale = dequantize(ps[p % c], fs, zs, ss);
#if PARE_HAVE_AVX2_KERNELS
        if (isa >= Isa::kAvx512) {
          qmul_avx512(px + p * plane, fx, zx, sx, scale, py + p * plane, plane, f);
          continue;
        }
        if (has_avx2(isa)) {
          qmul_avx2(px + p * plane, fx, zx, sx, scale, py + p * plane, plane, f);
          continue;
        }
#endif
        qmul_portable(px + p * plane, fx, zx, sx, scale, py + p * plane, plane, f);
      }
    });
  }

  QAddSpec spec_;
  Flat flat_{};
  Isa isa_;
};

}  // namespace

std::unique_ptr<Kernel> make_qadd(const KernelInit& init, const QAddSpec& spec) {
  return std::make_unique<QAdd>(init, spec);
}

}  // namespace pare::rt::kernels
