#include "lib/runtime/kernels/qadd.h"

#include <algorithm>
#include <cmath>
#include <tuple>

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
  return static_cast<uint8_t>(static_cast<int32_t>(quantize_linear(s, f.sy, f.ya, f.qmin, f.qmax)));
}
__attribute__((always_inline)) inline float dequantize(uint8_t x, uint8_t flip, int32_t z, float scale) {
  return static_cast<float>(static_cast<int32_t>(static_cast<uint8_t>(x ^ flip)) - z) * scale;
}
// The literal Mul of one pair: both dequantized, the product, requantize's tail
// (the element loops of the Mul; mul_same_avx2 computes the same eight at a time).
__attribute__((always_inline)) inline uint8_t mul_one(uint8_t a, uint8_t b, const Flat& f) {
  return requantize(dequantize(a, f.flip_a, f.za, f.sa) * dequantize(b, f.flip_b, f.zb, f.sb), f);
}

// The Add in fixed point, as integer runtimes compute QLinearAdd: with
// ka = sa / sy and kb = sb / sy as 16-bit multipliers of 2^-shift,
//   y = clamp(((a - za) ka + (b - zb) kb + ya) rounded, lo, hi)
// is one vpmaddwd per eight outputs. The multipliers' rounding moves a value
// by at most 256 * 2^-shift steps (1/16 at the smallest shift taken,
// fixed_shift), so a byte differs from the literal nodes' (float, half to even)
// by one step where the exact value lies that close to a rounding boundary,
// never by more. The activation's bounds are clamps in steps (QuantizeLinear
// never decreases, so Q(clamp(s)) = clamp(Q(s), Q(lo), Q(hi))).
// One loop serves every mix of uint8 and int8 tensors, so the binary holds one
// instance instead of eight (pare-run's size, docs/runtime.md): an int8 byte x
// with zero point z is read as the uint8 byte x ^ 0x80 with zero point z + 128,
// the same integer x - z, and a result q in [qmin, qmax] is stored as the low
// byte of q, which is the int8 or the uint8 value alike.
struct Fixed {
  int32_t ka, kb;    // multipliers, below 2^15
  int32_t bias;      // (ya - za ka - zb kb) 2^shift + 2^(shift - 1) (rounding half up)
  int32_t shift;
  int32_t lo, hi;    // the clamps in steps: max(qmin, Q(act_lo)), min(qmax, Q(act_hi))
  uint8_t flip_a, flip_b;
};

// The smallest shift fixed_shift takes: rounding errors of at most 1/16 step.
constexpr int kMinShift = 12;

__attribute__((always_inline)) inline uint8_t fixed_add_one(uint8_t a, uint8_t b, const Fixed& f) {
  int32_t s = static_cast<uint8_t>(a ^ f.flip_a) * f.ka + static_cast<uint8_t>(b ^ f.flip_b) * f.kb + f.bias;
  s >>= f.shift;
  return static_cast<uint8_t>(s < f.lo ? f.lo : (s > f.hi ? f.hi : s));
}

// (ka, kb) as the int16 pair vpmaddwd multiplies each (a, b) pair by.
inline int32_t multiplier_pair(const Fixed& f) {
  return static_cast<int32_t>((static_cast<uint32_t>(f.kb) << 16) | (static_cast<uint32_t>(f.ka) & 0xffffu));
}

__attribute__((noinline)) void qadd_portable(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n,
                                             const Fixed& f) {
  for (int64_t i = 0; i < n; ++i) y[i] = fixed_add_one(a[i], b[i], f);
}

#if PARE_HAVE_AVX2_KERNELS
// (x ^ flip - z) * s for 8 bytes.
PARE_TARGET_AVX2 inline __m256 dequantize8(const uint8_t* x, __m128i flip, __m256i z, __m256 s) {
  __m128i bytes = _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x)), flip);
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), z)), s);
}

// qadd_portable 16 at a time: bytes of a and b interleaved into 16-bit pairs
// (a, b), one vpmaddwd by (ka, kb) per eight sums, the same integers.
struct Fixed8 {
  __m256i k, bias, lo, hi, low_byte;
  __m128i shift;
};
// Eight (a, b) byte pairs -> eight results, each in the low byte of its int32.
PARE_AVX2_INLINE __m256i fixed_add8(__m128i pairs, const Fixed8& f) {
  __m256i s = _mm256_add_epi32(_mm256_madd_epi16(_mm256_cvtepu8_epi16(pairs), f.k), f.bias);
  s = _mm256_min_epi32(_mm256_max_epi32(_mm256_sra_epi32(s, f.shift), f.lo), f.hi);
  return _mm256_and_si256(s, f.low_byte);
}

PARE_TARGET_AVX2 void qadd_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const Fixed& f) {
  const __m128i flip_a = _mm_set1_epi8(static_cast<char>(f.flip_a));
  const __m128i flip_b = _mm_set1_epi8(static_cast<char>(f.flip_b));
  const Fixed8 v{_mm256_set1_epi32(multiplier_pair(f)), _mm256_set1_epi32(f.bias), _mm256_set1_epi32(f.lo),
                 _mm256_set1_epi32(f.hi), _mm256_set1_epi32(0xff), _mm_cvtsi32_si128(f.shift)};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i va = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)), flip_a);
    __m128i vb = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)), flip_b);
    __m256i first = fixed_add8(_mm_unpacklo_epi8(va, vb), v), second = fixed_add8(_mm_unpackhi_epi8(va, vb), v);
    // packs works per 128-bit lane: words 0-3 8-11 4-7 12-15, put in order by the permute.
    __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(first, second), 0xD8);
    __m128i bytes = _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), bytes);
  }
  // GCC left the upper halves dirty at this tail call, and every SSE
  // instruction after it paid for that: the classifier's Mul, 192 bytes a
  // call, ran at the scalar loop's speed.
  _mm256_zeroupper();
  qadd_portable(a + i, b + i, y + i, n - i, f);
}
#endif

#if PARE_HAVE_AVX2_KERNELS
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

#if PARE_HAVE_AVX2_KERNELS
// The Mul of two tensors of one shape (MobileNetV3's x * HardSigmoid(x) as
// Paddle exports it), eight at a time: the literal nodes' float formulas in
// their order (each input dequantized, the product, the activation's clamp,
// divided by sy, rounded half to even, plus ya, clamped to the type), so the
// bytes of the element loop. Returns the elements done. The element loop had
// taken 84% of the classifier's static int8 run (9.5 ns an element).
PARE_TARGET_AVX2 int64_t mul_same_avx2(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const Flat& f) {
  const __m128i flip_a = _mm_set1_epi8(static_cast<char>(f.flip_a)), flip_b = _mm_set1_epi8(static_cast<char>(f.flip_b));
  const __m256i za = _mm256_set1_epi32(f.za), zb = _mm256_set1_epi32(f.zb), low_byte = _mm256_set1_epi32(0xff);
  const __m256 sa = _mm256_set1_ps(f.sa), sb = _mm256_set1_ps(f.sb), lo = _mm256_set1_ps(f.lo),
               hi = _mm256_set1_ps(f.hi), sy = _mm256_set1_ps(f.sy), ya = _mm256_set1_ps(f.ya),
               qmin = _mm256_set1_ps(f.qmin), qmax = _mm256_set1_ps(f.qmax);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 p = _mm256_mul_ps(dequantize8(a + i, flip_a, za, sa), dequantize8(b + i, flip_b, zb, sb));
    p = _mm256_min_ps(_mm256_max_ps(p, lo), hi);
    __m256 q = _mm256_round_ps(_mm256_div_ps(p, sy), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(q, ya), qmin), qmax);
    __m256i v = _mm256_and_si256(_mm256_cvtps_epi32(q), low_byte);  // the low byte, as requantize stores it
    __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), _mm_packus_epi16(words, words));
  }
  _mm256_zeroupper();
  return i;
}
#endif

// Plain arithmetic, no libm: the Mul sets up a fixed point per channel plane,
// and nearbyint (which keeps the floating-point environment) had cost more
// than the classifier's planes of 192 bytes themselves.
int64_t round_half_away(double x) { return static_cast<int64_t>(x < 0 ? x - 0.5 : x + 0.5); }

// The shift of the multipliers: as large as keeps both below 2^15 in
// magnitude and the bias within int32 (at most 20), or -1 when that is below
// kMinShift (a multiplier above 8: y's scale over 8 times finer than an input's).
int32_t fixed_shift(double ka, double kb) {
  double k = std::max(std::fabs(ka), std::fabs(kb));
  if (!(k <= 1e30)) return -1;  // NaN or beyond any shift
  int32_t shift = 20;
  while (shift >= kMinShift && k * static_cast<double>(int64_t{1} << shift) >= 32767.5) --shift;
  return shift >= kMinShift ? shift : -1;
}

// Q(act_lo) and Q(act_hi) as y's integers, by the literal formula (an
// infinite bound gives qmin or qmax): the fixed-point clamps.
std::pair<int32_t, int32_t> fixed_clamps(const Flat& f) {
  Flat unclamped = f;
  unclamped.lo = -std::numeric_limits<float>::infinity();
  unclamped.hi = std::numeric_limits<float>::infinity();
  auto steps = [&](float v) {
    uint8_t q = requantize(v, unclamped);
    return f.qmin == 0.0f ? static_cast<int32_t>(q) : static_cast<int32_t>(static_cast<int8_t>(q));
  };
  return {steps(f.lo), steps(f.hi)};
}

// y = (a - za) ka + (b - zb) kb + ya in y's steps, with `shift` from
// fixed_shift(ka, kb) and the clamps of `like`; za and zb as the bytes are
// read (after the flips, which the caller sets).
Fixed fixed_sum(double ka, double kb, int32_t za, int32_t zb, int32_t shift, float ya, const Fixed& like) {
  auto unit = static_cast<double>(int64_t{1} << shift);
  Fixed x = like;
  x.ka = static_cast<int32_t>(round_half_away(ka * unit));
  x.kb = static_cast<int32_t>(round_half_away(kb * unit));
  x.bias = static_cast<int32_t>(round_half_away((ya - za * ka - zb * kb) * unit)) + (1 << (shift - 1));
  x.shift = shift;
  return x;
}

// The Add's, or for the Mul only the clamps and flips (per_channel makes the rest).
Fixed fixed_of(const Flat& f, bool add) {
  Fixed x{};
  std::tie(x.lo, x.hi) = fixed_clamps(f);
  x.flip_a = f.flip_a;
  x.flip_b = f.flip_b;
  if (!add) return x;
  double ka = static_cast<double>(f.sa) / f.sy, kb = static_cast<double>(f.sb) / f.sy;
  return fixed_sum(ka, kb, f.za, f.zb, fixed_shift(ka, kb), f.ya, x);
}

#if PARE_HAVE_AVX2_KERNELS
// qadd_avx2 32 at a time with AVX-512 (BW, which the VNNI level has): the
// unpacks work per 128-bit lane, so the first sums hold outputs 0-7 and 16-23,
// the second 8-15 and 24-31, put back in order by 64-bit unpacks of their bytes.
struct Fixed16 {
  __m512i k, bias, lo, hi;
  __m128i shift;
};
// Sixteen (a, b) byte pairs -> sixteen bytes.
PARE_AVX512VNNI_INLINE __m128i fixed_add16(__m256i pairs, const Fixed16& f) {
  __m512i s = _mm512_add_epi32(_mm512_madd_epi16(_mm512_cvtepu8_epi16(pairs), f.k), f.bias);
  return _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(_mm512_sra_epi32(s, f.shift), f.lo), f.hi));
}

PARE_TARGET_AVX512VNNI void qadd_avx512(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const Fixed& f) {
  const __m256i flip_a = _mm256_set1_epi8(static_cast<char>(f.flip_a));
  const __m256i flip_b = _mm256_set1_epi8(static_cast<char>(f.flip_b));
  const Fixed16 v{_mm512_set1_epi32(multiplier_pair(f)), _mm512_set1_epi32(f.bias), _mm512_set1_epi32(f.lo),
                  _mm512_set1_epi32(f.hi), _mm_cvtsi32_si128(f.shift)};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i va = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)), flip_a);
    __m256i vb = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)), flip_b);
    __m128i first = fixed_add16(_mm256_unpacklo_epi8(va, vb), v), second = fixed_add16(_mm256_unpackhi_epi8(va, vb), v);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm_unpacklo_epi64(first, second));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i + 16), _mm_unpackhi_epi64(first, second));
  }
  qadd_avx2(a + i, b + i, y + i, n - i, f);
}
#endif

void qadd_run(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, const Fixed& f, Isa isa) {
#if PARE_HAVE_AVX2_KERNELS
  if (isa >= Isa::kAvx512Vnni) return qadd_avx512(a, b, y, n, f);
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
    if (const char* why = qadd_refusal(s)) init.reject(std::string("quantized Add or Mul: ") + why);
    fixed_ = fixed_of(flat_, s.op == QAddSpec::Op::kAdd);
  }

  void compute(KernelContext& ctx) override {
    const TensorView& a = *ctx.input(0);
    if (spec_.op == QAddSpec::Op::kMean) return mean(ctx, a);
    const TensorView& b = *ctx.input(1);
    if (a.dtype != spec_.a.type || b.dtype != spec_.b.type) compute_error(ctx, "quantized inputs of another type");
    if (spec_.op == QAddSpec::Op::kMul) {
      if (channel_scale(a, b)) return per_channel(ctx, a, b, false);
      if (channel_scale(b, a)) return per_channel(ctx, b, a, true);
      if (a.dims == b.dims) return mul_same_shape(ctx, a, b);
    }
    if (a.dims != b.dims) return broadcast(ctx, a, b);
    TensorView& y = ctx.allocate_output(0, spec_.y.type, a.dims);
    int64_t n = a.numel();
    for_chunks(ctx, n, [&](int64_t i, int64_t end) {
      qadd_run(static_cast<const uint8_t*>(a.data) + i, static_cast<const uint8_t*>(b.data) + i,
               static_cast<uint8_t*>(y.data) + i, end - i, fixed_, isa_);
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
      if (!mul) return qadd_portable(pa + ia, pb + ib, py + o, 1, fixed_);
      py[o] = mul_one(pa[ia], pb[ib], f);
    });
  }

  // Two inputs of one shape: the element formula of broadcast(), eight at a
  // time where the CPU has AVX2 (mul_same_avx2, the same bytes).
  void mul_same_shape(KernelContext& ctx, const TensorView& a, const TensorView& b) const {
    TensorView& y = ctx.allocate_output(0, spec_.y.type, a.dims);
    const auto *pa = static_cast<const uint8_t*>(a.data), *pb = static_cast<const uint8_t*>(b.data);
    auto* py = static_cast<uint8_t*>(y.data);
    const Flat& f = flat_;
    Isa isa = isa_;
    for_chunks(ctx, a.numel(), [&](int64_t i, int64_t end) {
#if PARE_HAVE_AVX2_KERNELS
      if (has_avx2(isa)) i += mul_same_avx2(pa + i, pb + i, py + i, end - i, f);
#endif
      for (; i < end; ++i) py[i] = mul_one(pa[i], pb[i], f);
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

  // y = x * s[c], channel by channel, in fixed point as the Add: the product
  // DQ(x) * DQ(s[c]) is (x - zx) * k with k = sx * DQ(s[c]) / sy in y's steps,
  // the Add's loop with kb = 0 (within one step of the nodes).
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
        const uint8_t* xp = px + p * plane;
        double k = static_cast<double>(sx) * scale / f.sy;  // fixed_shift takes it (qadd_refusal)
        Fixed fixed = fixed_sum(k, 0, zx, 0, fixed_shift(k, 0), f.ya, fixed_);
        fixed.flip_a = fixed.flip_b = fx;
        qadd_run(xp, xp, py + p * plane, plane, fixed, isa);
      }
    });
  }

  QAddSpec spec_;
  Flat flat_{};
  Fixed fixed_{};  // the Add's
  Isa isa_;
};

}  // namespace

const char* qadd_refusal(const QAddSpec& s) {
  for (const QTensorParams* p : {&s.a, &s.b, &s.y})
    if (!(p->scale > 0) || !std::isfinite(p->scale)) return "a scale is not positive";
  if (s.op == QAddSpec::Op::kMean) return nullptr;
  double ka = static_cast<double>(s.a.scale) / s.y.scale, kb = static_cast<double>(s.b.scale) / s.y.scale;
  if (s.op == QAddSpec::Op::kMul) {
    // A channel's k is sx DQ(s[c]) / sy; the largest |DQ| of each input bounds it.
    auto largest = [](const QTensorParams& t) {
      int32_t z = t.zero_point + (t.type == DataType::kInt8 ? 128 : 0);  // as the bytes are read
      return static_cast<double>(std::max(z, 255 - z)) * t.scale;
    };
    // 0.1% more: DQ(s[c]) is rounded to float before k is made of it.
    ka *= largest(s.b) * 1.001;
    kb *= largest(s.a) * 1.001;
  }
  if (fixed_shift(ka, kb) < 0) return "the output's scale is too fine for the fixed-point multipliers";
  if (!(s.act_lo <= s.act_hi)) return "the activation's bounds are not a range";
  return nullptr;
}

[[gnu::cold]] std::unique_ptr<Kernel> make_qadd(const KernelInit& init, const QAddSpec& spec) {
  return std::make_unique<QAdd>(init, spec);
}

}  // namespace pare::rt::kernels
