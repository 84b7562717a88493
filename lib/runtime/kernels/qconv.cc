#include "lib/runtime/kernels/qconv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "lib/runtime/epilogue_simd.h"
#include "lib/runtime/kernels/conv_geometry.h"
#include "lib/runtime/kernels/depthwise.h"
#include "lib/runtime/kernels/qgemm.h"

namespace pare::rt::kernels {
namespace {

// Depthwise sums are computed in float on integer values: exact while every
// partial sum stays below 2^24, which kh*kw <= 256 taps of |x - zp| <= 255 and
// |w| <= 128 guarantee (256 * 255 * 128 < 2^24). Larger kernels take the GEMM.
constexpr int64_t kMaxDepthwiseTaps = 256;
// The most pixels per block of the dense path (the im2col row buffers' size).
constexpr int64_t kMaxBlock = 1024;

int32_t type_min(DataType t) { return t == DataType::kUint8 ? 0 : -128; }
int32_t type_max(DataType t) { return t == DataType::kUint8 ? 255 : 127; }

// QuantizeLinear of one float, as its kernel computes it (quant.cc).
int32_t quantize(float v, float scale, int32_t zero_point, DataType t) {
  return static_cast<int32_t>(quantize_linear(v, scale, static_cast<float>(zero_point), static_cast<float>(type_min(t)),
                                              static_cast<float>(type_max(t))));
}

int64_t weight_taps(const QConvSpec& s) { return s.weight.numel() / std::max<int64_t>(s.weight.dims()[0], 1); }

// The requantization of every output channel (qgemm.h).
Requant requant_of(const QConvSpec& s) {
  int64_t m = s.weight.dims()[0];
  Requant rq;
  rq.zero_point = s.y_zero_point;
  rq.lo = type_min(s.y_type);
  rq.hi = type_max(s.y_type);
  // Q is monotone, so Q(clip(y, a, b)) = clamp(Q(y), Q(a), Q(b)): the folded
  // activation is a narrower clamp.
  if (s.act_lo > -std::numeric_limits<float>::infinity())
    rq.lo = std::max(rq.lo, quantize(s.act_lo, s.y_scale, s.y_zero_point, s.y_type));
  if (s.act_hi < std::numeric_limits<float>::infinity())
    rq.hi = std::min(rq.hi, quantize(s.act_hi, s.y_scale, s.y_zero_point, s.y_type));
  rq.hi = std::max(rq.hi, rq.lo);
  for (int64_t c = 0; c < m; ++c) {
    float sxw = s.x_scale * s.w_scale[s.w_scale.size() == 1 ? 0 : c];
    rq.scale.push_back(sxw / s.y_scale);
    rq.offset.push_back(s.bias.empty() ? 0.0f : s.bias[c] / s.y_scale);
  }
  return rq;
}

#define PARE_ALWAYS_INLINE __attribute__((always_inline)) inline

// ---------- im2col in B's panels ----------
// One body for every path, in baseline code: the rows of the im2col matrix as
// the input's bytes, the padding written as the zero point zp; then each path's
// interleave lays a group of rows into its panels (qgemm.h): int16 pairs of
// (byte - zp), or byte quads for VNNI. An int8 x is read as the uint8 byte
// x ^ 0x80 with zero point zp + 128 (the same x - zp), so one instance serves
// uint8 and int8 inputs. Only the interleaves are compiled per ISA (pare-run's
// size): building the rows is copies, which memcpy serves for uint8 inputs.

// x ^ flip over n bytes: a plain copy for uint8 inputs (flip 0).
inline void copy_bytes(uint8_t* dst, const uint8_t* src, int64_t n, uint8_t flip) {
  if (flip == 0) {
    std::memcpy(dst, src, static_cast<size_t>(n));
    return;
  }
  for (int64_t q = 0; q < n; ++q) dst[q] = src[q] ^ flip;
}

// The input rows a block of output pixels reads, as bytes with the padding
// written out: channel c's row y, column X at data[(c * rows + y) * width + X]
// is x[c][oy0 * sh - pt + y][X - pl]. Each input element is converted once per
// block, not once per kernel tap, and the im2col rows are then plain copies (no
// bounds checks).
struct BlockPlanes {
  uint8_t* data;
  int64_t oy0, rows, width;
};

// The planes' sizes for blocks of up to `cols` pixels.
inline void plane_extent(const Geometry& g, int64_t cols, int64_t& rows, int64_t& width) {
  int64_t out_rows = std::min(g.oh, cols / g.ow + 2);
  rows = (out_rows - 1) * g.sh + (g.kh - 1) * g.dh + 1;
  width = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
}

BlockPlanes fill_planes(const Geometry& g, int64_t channels, const uint8_t* x, uint8_t flip, uint8_t pad, int64_t p0,
                        int64_t p1, uint8_t* data) {
  BlockPlanes b{data, p0 / g.ow, 0, 0};
  int64_t oy1 = (p1 - 1) / g.ow;
  b.rows = (oy1 - b.oy0) * g.sh + (g.kh - 1) * g.dh + 1;
  b.width = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
  int64_t lo = std::min(b.width, g.pl), hi = std::clamp(g.w + g.pl, lo, b.width);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = 0; y < b.rows; ++y) {
      uint8_t* row = data + (c * b.rows + y) * b.width;
      int64_t iy = b.oy0 * g.sh - g.pt + y;
      if (iy < 0 || iy >= g.h) {
        std::memset(row, pad, static_cast<size_t>(b.width));
        continue;
      }
      std::memset(row, pad, static_cast<size_t>(lo));
      copy_bytes(row + lo, x + (c * g.h + iy) * g.w + lo - g.pl, hi - lo, flip);
      std::memset(row + hi, pad, static_cast<size_t>(b.width - hi));
    }
  return b;
}

// Row r of the im2col matrix over output pixels [p0, p1), from the block's planes.
void im2col_row(const Geometry& g, const BlockPlanes& b, int64_t r, int64_t p0, int64_t p1, uint8_t* dst) {
  int64_t c = r / (g.kh * g.kw), ki = (r / g.kw) % g.kh, kj = r % g.kw;
  for (int64_t p = p0; p < p1;) {
    int64_t oy = p / g.ow, ox0 = p % g.ow, ox1 = std::min(g.ow, ox0 + (p1 - p));
    const uint8_t* src = b.data + (c * b.rows + (oy - b.oy0) * g.sh + ki * g.dh) * b.width + kj * g.dw;
    uint8_t* out = dst + (p - p0) - ox0;  // out[ox] is output column ox of this row
    if (g.sw == 1)
      std::memcpy(out + ox0, src + ox0, static_cast<size_t>(ox1 - ox0));
    else
      for (int64_t ox = ox0; ox < ox1; ++ox) out[ox] = src[ox * g.sw];
    p += ox1 - ox0;
  }
}

// A 1x1 convolution: its im2col rows are x's channels.
inline bool pointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h && g.ow == g.w;
}

// A block of pixels [p0, p1) of the im2col matrix: `rows` rows (kp once rounded
// up to whole groups of `lanes`), `padded` columns (rounded up to whole panels).
struct Block {
  const Geometry& g;
  const uint8_t* x;
  uint8_t flip, pad;
  int64_t p0, p1, rows, kp, padded;
  BlockPlanes planes;  // none (data null) for a 1x1 convolution
};

Block block_of(const Geometry& g, int64_t channels, const uint8_t* x, uint8_t flip, uint8_t pad, int64_t p0,
               int64_t p1, int64_t lanes, uint8_t* plane_data) {
  int64_t rows = channels * g.kh * g.kw, padded = (p1 - p0 + kQTileCols - 1) / kQTileCols * kQTileCols;
  Block b{g, x, flip, pad, p0, p1, rows, (rows + lanes - 1) / lanes * lanes, padded, {}};
  if (!pointwise(g)) b.planes = fill_planes(g, channels, x, flip, pad, p0, p1, plane_data);
  return b;
}

// Rows i to i + lanes - 1 of the block, padded past the last row and column.
void im2col_rows(const Block& b, int64_t i, int64_t lanes, uint8_t (*dst)[kMaxBlock]) {
  int64_t width = b.p1 - b.p0;
  for (int64_t s = 0; s < lanes; ++s) {
    int64_t q = 0;
    if (i + s < b.rows) {
      if (b.planes.data) im2col_row(b.g, b.planes, i + s, b.p0, b.p1, dst[s]);
      else copy_bytes(dst[s], b.x + (i + s) * b.g.h * b.g.w + b.p0, width, b.flip);
      q = width;
    }
    std::memset(dst[s] + q, b.pad, static_cast<size_t>(b.padded - q));
  }
}

// Two rows into the int16 panels at pair row i: (byte - zp) side by side.
void interleave_pairs(const uint8_t (*row)[kMaxBlock], int32_t zp, int64_t padded, int64_t kp, int64_t i,
                      int16_t* out) {
  for (int64_t q = 0; q < padded; q += kQTileCols) {
    int16_t* dst = out + q * kp + i * kQTileCols;
    for (int64_t j = 0; j < kQTileCols; ++j) {
      dst[2 * j] = static_cast<int16_t>(row[0][q + j] - zp);
      dst[2 * j + 1] = static_cast<int16_t>(row[1][q + j] - zp);
    }
  }
}
#if PARE_HAVE_AVX2_KERNELS
// 16 bytes minus the zero point, as int16.
inline PARE_AVX2_INLINE __m256i widen_avx2(const uint8_t* bytes, __m256i zp) {
  return _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes))), zp);
}
// interleave_pairs with AVX2: 16 pairs widened, unpacked and stored in two stores.
PARE_TARGET_AVX2 void interleave_pairs_avx2(const uint8_t (*row)[kMaxBlock], int32_t zp, int64_t padded, int64_t kp,
                                            int64_t i, int16_t* out) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  for (int64_t q = 0; q < padded; q += kQTileCols) {
    __m256i e = widen_avx2(row[0] + q, z), o = widen_avx2(row[1] + q, z);
    __m256i lo = _mm256_unpacklo_epi16(e, o), hi = _mm256_unpackhi_epi16(e, o);  // pairs 0-3, 8-11 | 4-7, 12-15
    auto* dst = reinterpret_cast<__m256i*>(out + q * kp + i * kQTileCols);
    _mm256_storeu_si256(dst, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(dst + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
}

// Four rows into the VNNI panels at quad row i: per 16 columns, each column's
// four bytes side by side (two rounds of unpacks).
PARE_TARGET_AVX512VNNI void interleave_quads(const uint8_t (*row)[kMaxBlock], int64_t padded, int64_t kq, int64_t i,
                                             uint8_t* out) {
  for (int64_t q = 0; q < padded; q += kQTileCols) {
    __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[0] + q));
    __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[1] + q));
    __m128i r2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[2] + q));
    __m128i r3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[3] + q));
    __m128i lo01 = _mm_unpacklo_epi8(r0, r1), hi01 = _mm_unpackhi_epi8(r0, r1);  // columns 0-7 | 8-15
    __m128i lo23 = _mm_unpacklo_epi8(r2, r3), hi23 = _mm_unpackhi_epi8(r2, r3);
    auto* dst = reinterpret_cast<__m128i*>(out + q * kq + i * kQTileCols);
    _mm_storeu_si128(dst, _mm_unpacklo_epi16(lo01, lo23));  // columns 0-3
    _mm_storeu_si128(dst + 1, _mm_unpackhi_epi16(lo01, lo23));
    _mm_storeu_si128(dst + 2, _mm_unpacklo_epi16(hi01, hi23));
    _mm_storeu_si128(dst + 3, _mm_unpackhi_epi16(hi01, hi23));
  }
}
#endif

// B's panels for pixels [p0, p1) (`out`: int16, or bytes where qgemm_vnni(isa)),
// with `planes` the block's scratch for the input rows.
void im2col(const Geometry& g, int64_t channels, const uint8_t* x, bool is_signed, int32_t zp, int64_t p0, int64_t p1,
            uint8_t* planes, void* out, Isa isa) {
  uint8_t flip = is_signed ? 0x80 : 0;
  if (is_signed) zp += 128;
  int64_t lanes = qgemm_vnni(isa) ? 4 : 2;
  uint8_t rows[4][kMaxBlock];
  Block b = block_of(g, channels, x, flip, static_cast<uint8_t>(zp), p0, p1, lanes, planes);
  for (int64_t i = 0; i < b.kp; i += lanes) {
    im2col_rows(b, i, lanes, rows);
#if PARE_HAVE_AVX2_KERNELS
    if (lanes == 4) {
      interleave_quads(rows, b.padded, b.kp, i, static_cast<uint8_t*>(out));
      continue;
    }
    if (has_avx2(isa)) {
      interleave_pairs_avx2(rows, zp, b.padded, b.kp, i, static_cast<int16_t*>(out));
      continue;
    }
#endif
    interleave_pairs(rows, zp, b.padded, b.kp, i, static_cast<int16_t*>(out));
  }
}

// ---------- direct convolution on channel quads (VNNI) ----------
// A dense convolution (any kernel above 1x1, stride and dilation) reads its
// input in place instead of through im2col: each padded input row is laid out
// once as channel quads, row[phase][q][i] = the four bytes of channels
// 4q..4q+3 at padded column X = i * sw + phase (one phase at stride 1), so the
// 16 outputs from column ox of one kernel tap read 64 contiguous bytes, which
// is what vpdpbusd takes. The GEMM's K runs tap by tap (QuadRows), A's columns
// in that order (tap_major). PP-OCRv4 det's 96 -> 24 channel layers had spent
// most of their time building im2col rows for only 24 output channels, and
// strided first layers (3 channels, 3x3 or 5x5) copying im2col rows byte by byte.

// Quads per phase of a laid-out row: the output row rounded up to whole
// 16-pixel loads, plus the kernel's reach in that phase.
inline int64_t quad_row_width(const Geometry& g) {
  return (g.ow + kQTileCols - 1) / kQTileCols * kQTileCols + (g.kw - 1) * g.dw / g.sw;
}

// W [m, c, kh, kw] as A [m, kh * kw * quads * 4]: tap by tap, channels padded
// to whole quads with zero weights.
std::vector<int8_t> tap_major(const int8_t* w, int64_t m, int64_t c, int64_t taps) {
  int64_t cq = (c + 3) / 4 * 4, k = taps * cq;
  std::vector<int8_t> a(static_cast<size_t>(m * k), 0);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < taps; ++s) a[r * k + s * cq + ch] = w[(r * c + ch) * taps + s];
  return a;
}

// One input row of one quad of channels: their four rows (`src[i][ix]`; null
// past the last channel, read as the pad byte).
struct QuadSource {
  const uint8_t* src[4];
  uint8_t flip, pad;
  uint8_t byte(int i, int64_t ix) const { return src[i] ? src[i][ix] ^ flip : pad; }
};

#if PARE_HAVE_AVX2_KERNELS
// Sixteen columns of four channels as sixteen byte quads at `dst` (two rounds of unpacks).
inline PARE_AVX512VNNI_INLINE void store_quads(const __m128i r[4], uint8_t* dst) {
  __m128i lo01 = _mm_unpacklo_epi8(r[0], r[1]), hi01 = _mm_unpackhi_epi8(r[0], r[1]);
  __m128i lo23 = _mm_unpacklo_epi8(r[2], r[3]), hi23 = _mm_unpackhi_epi8(r[2], r[3]);
  auto* d = reinterpret_cast<__m128i*>(dst);
  _mm_storeu_si128(d, _mm_unpacklo_epi16(lo01, lo23));
  _mm_storeu_si128(d + 1, _mm_unpackhi_epi16(lo01, lo23));
  _mm_storeu_si128(d + 2, _mm_unpacklo_epi16(hi01, hi23));
  _mm_storeu_si128(d + 3, _mm_unpackhi_epi16(hi01, hi23));
}

// Input columns [0, n) of one quad into its laid-out row at stride 1 (column
// ix at quad ix + pl of `row`) or 2 (even columns into one phase, odd ones
// into the other, `phase[ix % 2] + 4 * ((ix + pl) / 2)`), vectors where whole
// steps fit, the rest one by one. Only the direct path (VNNI) calls it.
PARE_TARGET_AVX512VNNI void interleave_quad_row(const QuadSource& s, int64_t n, int64_t sw, int64_t pl,
                                                uint8_t* const phase[2]) {
  const __m128i flips = _mm_set1_epi8(static_cast<char>(s.flip)), pads = _mm_set1_epi8(static_cast<char>(s.pad));
  auto load = [&](int i, int64_t ix) {
    return s.src[i] ? _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s.src[i] + ix)), flips) : pads;
  };
  int64_t ix = 0;
  if (sw == 1) {
    for (; ix + 16 <= n; ix += 16) {
      __m128i r[4] = {load(0, ix), load(1, ix), load(2, ix), load(3, ix)};
      store_quads(r, phase[0] + 4 * (ix + pl));
    }
  } else {
    // Each channel's 32 bytes split into their even and odd bytes.
    const __m128i split = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    for (; ix + 32 <= n; ix += 32) {
      __m128i even[4], odd[4];
      for (int i = 0; i < 4; ++i) {
        __m128i a = _mm_shuffle_epi8(load(i, ix), split), b = _mm_shuffle_epi8(load(i, ix + 16), split);
        even[i] = _mm_unpacklo_epi64(a, b);
        odd[i] = _mm_unpackhi_epi64(a, b);
      }
      store_quads(even, phase[0] + 4 * ((ix + pl) / 2));
      store_quads(odd, phase[1] + 4 * ((ix + 1 + pl) / 2));
    }
  }
  for (; ix < n; ++ix)
    for (int i = 0; i < 4; ++i) phase[ix % sw][4 * ((ix + pl) / sw) + i] = s.byte(i, ix);
}
#endif

// Padded input row `py` (input row py - pt) laid out as channel quads in `sw`
// phases of `width` quads each, the padding and the channels past c written as
// the zero point. (The interleave was 8% of M-LSD 320 large's int8 time one
// byte at a time.)
void fill_quad_row(const Geometry& g, const uint8_t* x, int64_t py, uint8_t flip, uint8_t pad, int64_t width,
                   uint8_t* out) {
  int64_t quads = (g.c + 3) / 4, iy = py - g.pt, phase_bytes = quads * width * 4;
  std::memset(out, pad, static_cast<size_t>(g.sw * phase_bytes));
  if (iy < 0 || iy >= g.h) return;
  // The input columns whose padded column falls inside the row (the last may not).
  int64_t n = std::min(g.w, width * g.sw - g.pl);
  for (int64_t q = 0; q < quads; ++q) {
    QuadSource s{{}, flip, pad};
    for (int64_t i = 0; i < 4; ++i) s.src[i] = 4 * q + i < g.c ? x + ((4 * q + i) * g.h + iy) * g.w : nullptr;
    // Phase p holds padded columns p, p + sw, ...; input column ix is padded column ix + pl.
#if PARE_HAVE_AVX2_KERNELS
    if (g.sw <= 2) {
      uint8_t* phase[2] = {out + q * width * 4 + (g.pl % g.sw) * phase_bytes,
                           out + q * width * 4 + ((g.pl + 1) % g.sw) * phase_bytes};  // even and odd columns
      interleave_quad_row(s, n, g.sw, g.pl, phase);
      continue;
    }
#endif
    for (int64_t ix = 0; ix < n; ++ix) {
      uint8_t* at = out + q * width * 4 + ((ix + g.pl) % g.sw) * phase_bytes + 4 * ((ix + g.pl) / g.sw);
      for (int i = 0; i < 4; ++i) at[i] = s.byte(i, ix);
    }
  }
}

// ---------- depthwise rows ----------

#if PARE_HAVE_AVX2_KERNELS
// 16 bytes of a padded row from `at` (stride 1: consecutive; stride 2: every
// other byte of 32) as int16 minus the zero point.
inline PARE_AVX2_INLINE __m256i tap_avx2(const uint8_t* at, int64_t stride, __m256i zp) {
  __m256i v = stride == 1 ? _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at)))
                          : _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)),
                                             _mm256_set1_epi16(0xFF));
  return _mm256_sub_epi16(v, zp);
}

// The exact sums of one output row of a KxK depthwise channel, read from a
// plane of bytes whose padding holds the zero point (so it adds nothing):
// acc[ox] = sum over taps (ky, kx) of w[ky * K + kx] * (row(ky)[ox * stride + kx] - zp).
// Sixteen outputs at a time, taps in pairs through vpmaddwd (|x - zp| <= 255
// and |w| <= 128 fit int16; a pair's sum fits int32). `acc` has room for the
// last block of 16, and the plane for that block's loads past a row's end (the
// outputs past `ow` they feed are discarded).
template <int K>
PARE_TARGET_AVX2 void depthwise_row_bytes_avx2(const uint8_t* top, int64_t row_bytes, int64_t stride, int64_t ow,
                                               const int8_t* w, int32_t zero_point, int32_t* acc) {
  constexpr int kTaps = K * K, kPairs = (kTaps + 1) / 2;
  const __m256i zp = _mm256_set1_epi16(static_cast<int16_t>(zero_point));
  __m256i pair[kPairs];
  for (int p = 0; p < kPairs; ++p) {
    int32_t w0 = w[2 * p], w1 = 2 * p + 1 < kTaps ? w[2 * p + 1] : 0;
    pair[p] = _mm256_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(w1) << 16) | static_cast<uint16_t>(w0)));
  }
  for (int64_t ox = 0; ox < ow; ox += 16) {
    __m256i lo = _mm256_setzero_si256(), hi = lo;
    for (int p = 0; p < kPairs; ++p) {
      int t0 = 2 * p, t1 = std::min(2 * p + 1, kTaps - 1);  // the odd last tap pairs with itself, weight 0
      __m256i a = tap_avx2(top + (t0 / K) * row_bytes + ox * stride + t0 % K, stride, zp);
      __m256i b = tap_avx2(top + (t1 / K) * row_bytes + ox * stride + t1 % K, stride, zp);
      lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), pair[p]));
      hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), pair[p]));
    }
    // lo holds outputs 0-3 and 8-11, hi 4-7 and 12-15 (the unpacks work per 128-bit lane).
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + ox), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + ox + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
  }
}
#endif

#if PARE_HAVE_AVX2_KERNELS
// One output row of a depthwise channel whose kernel is at most 8 wide, at
// column stride 1 or 2, from a plane of bytes padded with the zero point (as
// depthwise_row_bytes_avx2's): per sixteen outputs and kernel row, taps 0-3
// and 4-7 are gathered into byte quads by vpermb (output p's quad is the bytes
// sw * p + t, `gather`) and summed by vpdpbusd against the row's weights as
// four signed bytes (`quads`: two per kernel row, zeros past kw). acc starts at
// -zp * sum(w), so the sums are the exact integers. PP-OCR's classifier spends
// most of its int8 time in 5x5 depthwise layers over planes two rows high.
PARE_TARGET_AVX512VNNI_VBMI void depthwise_row_vnni(const uint8_t* top, int64_t row_step, int64_t kh, int64_t sw,
                                                    int64_t ow, const int32_t* quads, bool wide, int32_t start,
                                                    const uint8_t* gather, int32_t* acc) {
  const __m512i idx = _mm512_loadu_si512(gather);
  // Four blocks of sixteen at once, whether or not the row has them all: one
  // block's sums are a chain of dependent vpdpbusd, four hide their latency.
  // (The caller leaves room for the sums and the loads past the row.)
  for (int64_t ox = 0; ox < ow; ox += 64) {
    __m512i sum[4];
    for (int b = 0; b < 4; ++b) sum[b] = _mm512_set1_epi32(start);
    const uint8_t* at = top + ox * sw;
    for (int64_t r = 0; r < kh; ++r, at += row_step) {
      __m512i w0 = _mm512_set1_epi32(quads[2 * r]), w1 = _mm512_set1_epi32(quads[2 * r + 1]);
      for (int b = 0; b < 4; ++b) {
        const uint8_t* block = at + 16 * b * sw;
        sum[b] = _mm512_dpbusd_epi32(sum[b], _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(block)), w0);
        if (wide) sum[b] = _mm512_dpbusd_epi32(sum[b], _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(block + 4)), w1);
      }
    }
    for (int b = 0; b < 4; ++b) _mm512_storeu_si512(acc + ox + 16 * b, sum[b]);
  }
}
#endif

#if PARE_HAVE_AVX2_KERNELS
// fill_planes for one channel's whole plane (`rows` rows of `width` bytes),
// 64 bytes a store: each chunk of a row is the input (a masked load, from
// column pl on) blended over the pad byte, one store; rows outside the input
// are the pad byte alone. The masks are the same for every row, so they are
// made once. The per-row memset and memcpy calls had cost BlazeFace's small
// int8 depthwise planes more than their sums, and a loop that stored the pad
// then copied the input over it, 8% of its int8 time. Each row's last store
// may run up to 63 bytes past it, into the next row (written after) or the
// plane's slack.
PARE_TARGET_AVX512VNNI_VBMI void fill_plane_vnni(const Geometry& g, const uint8_t* x, uint8_t flip, uint8_t pad,
                                                 int64_t rows, int64_t width, uint8_t* plane) {
  const __m512i pads = _mm512_set1_epi8(static_cast<char>(pad)), flips = _mm512_set1_epi8(static_cast<char>(flip));
  int64_t lo = std::min(width, g.pl), hi = std::clamp(g.w + g.pl, lo, width);  // columns holding input
  constexpr int64_t kMaxChunks = 16;  // rows up to 1024 bytes take the masks made once
  int64_t chunks = (width + 63) / 64;
  __mmask64 masks[kMaxChunks];
  auto columns = [&](int64_t j) {  // the chunk at column j: bits of the columns in [lo, hi)
    int64_t b = std::clamp<int64_t>(lo - j, 0, 64), e = std::clamp<int64_t>(hi - j, 0, 64);
    __mmask64 upto_e = e >= 64 ? ~__mmask64{0} : (__mmask64{1} << e) - 1;
    __mmask64 upto_b = b >= 64 ? ~__mmask64{0} : (__mmask64{1} << b) - 1;
    return upto_e & ~upto_b;
  };
  for (int64_t k = 0; k < std::min(chunks, kMaxChunks); ++k) masks[k] = columns(64 * k);
  for (int64_t y = 0; y < rows; ++y) {
    uint8_t* row = plane + y * width;
    int64_t iy = y - g.pt;
    if (iy < 0 || iy >= g.h) {
      for (int64_t k = 0; k < chunks; ++k) _mm512_storeu_si512(row + 64 * k, pads);
      continue;
    }
    const uint8_t* src = x + iy * g.w - g.pl;  // column j of the row is src[j] (masked loads never touch the rest)
    for (int64_t k = 0; k < chunks; ++k) {
      __mmask64 m = k < kMaxChunks ? masks[k] : columns(64 * k);
      __m512i v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + 64 * k), flips);
      _mm512_storeu_si512(row + 64 * k, _mm512_mask_blend_epi8(m, pads, v));
    }
  }
}
#endif

// One output row of a depthwise channel, any kernel, stride and dilation, tap
// by tap: exact integer sums in float, whatever the order. Square 3x3 and 5x5
// kernels take depthwise_square_conv instead (QConv::depthwise_square).
void depthwise_row(const Geometry& g, const float* top, int64_t pw, const float* w, float* acc, int32_t* acc_int) {
  for (int64_t ox = 0; ox < g.ow; ++ox) acc[ox] = 0.0f;
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      float wv = w[i * g.kw + j];
      const float* src = top + i * g.dh * pw + j * g.dw;
      for (int64_t ox = 0; ox < g.ow; ++ox) acc[ox] += wv * src[ox * g.sw];
    }
  for (int64_t ox = 0; ox < g.ow; ++ox) acc_int[ox] = static_cast<int32_t>(acc[ox]);
}

// Channels [c0, c0 + n) of x as floats x - zp, plane after plane.
template <typename T>
void planes_minus_zero_point(const KernelContext& ctx, const T* x, int64_t plane, int64_t c0, int64_t n, float zp,
                             float* out) {
  ctx.parallel_for(n, [&](int64_t b, int64_t e) {
    const T* src = x + (c0 + b) * plane;
    float* dst = out + b * plane;
    for (int64_t i = 0; i < (e - b) * plane; ++i) dst[i] = static_cast<float>(src[i]) - zp;
  });
}

// depthwise_row_vnni's weights for each channel of [m, kh, kw] int8 weights
// (kw <= 8): two signed-byte quads per kernel row (taps 0-3, 4-7; zeros past
// kw), then the sums' start, -zp * the sum of the channel's weights, which
// makes them the exact sums of (x - zp) * w over bytes x padded with zp.
std::vector<int32_t> depthwise_quads(const int8_t* w, int64_t m, int64_t kh, int64_t kw, int32_t zp) {
  std::vector<int32_t> out(static_cast<size_t>(m * (2 * kh + 1)), 0);
  for (int64_t c = 0; c < m; ++c) {
    int32_t* quads = out.data() + c * (2 * kh + 1);
    int32_t sum = 0;
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) {
        int8_t v = w[(c * kh + i) * kw + j];
        quads[2 * i + j / 4] |= static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint8_t>(v)) << (8 * (j % 4)));
        sum += v;
      }
    quads[2 * kh] = -zp * sum;
  }
  return out;
}

class QConv : public Kernel {
 public:
  QConv(const KernelInit& init, const QConvSpec& spec)
      : a_(init, false), spec_(spec), rq_(requant_of(spec)), isa_(init.isa) {
    const auto& d = spec.weight.dims();
    int64_t m = d[0], k = weight_taps(spec);
    depthwise_ = d[1] == 1 && a_.group == m && d[2] * d[3] <= kMaxDepthwiseTaps;
    const int8_t* w = spec.weight.span<int8_t>().data();
    direct_ = !depthwise_ && qgemm_vnni(isa_) && a_.group == 1 && d[2] * d[3] > 1;
    if (depthwise_) {
      wf_.assign(w, w + spec.weight.numel());  // int8 values as floats (exact)
      int32_t zp = spec.x_zero_point + (spec.x_type == DataType::kInt8 ? 128 : 0);  // as the bytes are read
      if (d[3] <= 8) dw_quads_ = depthwise_quads(w, m, d[2], d[3], zp);
    } else if (direct_) {
      std::vector<int8_t> a = tap_major(w, m, d[1], d[2] * d[3]);
      packed_.push_back(pack_qa(a.data(), m, a.size() / m, a.size() / m, true));
    } else if (m % a_.group == 0) {
      int64_t mg = m / a_.group;
      for (int64_t grp = 0; grp < a_.group; ++grp)
        packed_.push_back(pack_qa(w + grp * mg * k, mg, k, k, qgemm_vnni(isa_)));
    } else {
      init.reject("output channels are not a multiple of group");
    }
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != spec_.x_type) compute_error(ctx, "the quantized input's type differs from its zero point's");
    if (x.rank() != 4) compute_error(ctx, "the integer Conv is 2-D");
    Geometry g = conv_geometry(ctx, a_, x.dims, spec_.weight.dims());
    const QConvSpec& s = spec_;
    bool padded = s.pad_top || s.pad_bottom || s.pad_left || s.pad_right;
    int64_t ph = g.oh + s.pad_top + s.pad_bottom, pw = g.ow + s.pad_left + s.pad_right;
    TensorView& y = ctx.allocate_output(0, s.y_type, {g.n, g.m, ph, pw});
    // With a folded Pad, each image is computed into scratch, then copied inside its border.
    auto* unpadded = padded ? static_cast<uint8_t*>(ctx.scratch(static_cast<size_t>(g.m * g.oh * g.ow))) : nullptr;
    for (int64_t n = 0; n < g.n; ++n) {
      const uint8_t* xn = static_cast<const uint8_t*>(x.data) + n * g.c * g.h * g.w;
      uint8_t* yn = static_cast<uint8_t*>(y.data) + n * g.m * ph * pw;
      uint8_t* out = padded ? unpadded : yn;
      if (depthwise_) {
        depthwise(ctx, g, xn, out);
      } else if (direct_) {
        direct(ctx, g, xn, out);
      } else {
        int64_t cg = g.c / a_.group, mg = g.m / a_.group;
        for (int64_t grp = 0; grp < a_.group; ++grp)
          dense(ctx, g, grp, xn + grp * cg * g.h * g.w, grp * mg, out + grp * mg * g.oh * g.ow);
      }
      if (padded) add_border(g, unpadded, ph, pw, yn);
    }
  }

 private:
  // Pixels per block: about 96 KB of im2col columns (as the float Conv's 192 KB
  // of floats), so a block stays in L2 while every weight panel passes over it.
  static int64_t block_columns(int64_t column_bytes) {
    return std::clamp<int64_t>(98304 / std::max<int64_t>(column_bytes, 1) / kQTileCols * kQTileCols, 64, kMaxBlock);
  }

  // One group of one image: work units are (pixel block, range of weight
  // panels), a contiguous run of them per task, each task with its own buffer.
  // Integer sums are exact, so any split gives the same bits. B is int16, or
  // bytes on the VNNI path (qgemm.h).
  void dense(const KernelContext& ctx, const Geometry& g, int64_t grp, const uint8_t* x, int64_t row0,
             uint8_t* y) const {
    const PackedQA& w = packed_[grp];
    bool bytes = qgemm_vnni(isa_);
    int64_t size = bytes ? 1 : 2;  // of B's elements
    int64_t spatial = g.oh * g.ow, kp = w.kp, panels = w.panels();
    int64_t cols = block_columns(kp * size), blocks = (spatial + cols - 1) / cols, threads = ctx.threads();
    int64_t chunks = blocks >= 2 * threads ? 1 : std::min(panels, (2 * threads + blocks - 1) / blocks);
    int64_t units = blocks * chunks, tasks = std::min(threads, units);
    int64_t channels = w.k / (g.kh * g.kw), plane_rows = 0, plane_width = 0;
    if (!pointwise(g)) plane_extent(g, cols, plane_rows, plane_width);
    // Bytes: B's panels, then the input rows' planes; whole cache lines per task.
    int64_t per_task = (kp * cols * size + channels * plane_rows * plane_width + 63) / 64 * 64;
    auto* buffers = static_cast<uint8_t*>(const_cast<KernelContext&>(ctx).scratch(tasks * per_task));
    bool is_signed = spec_.x_type == DataType::kInt8;
    int32_t zp = spec_.x_zero_point + (is_signed ? 128 : 0);  // the bytes' zero point
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        uint8_t* buffer = buffers + t * per_task;
        int64_t packed_block = -1;
        for (int64_t u = t * units / tasks; u < (t + 1) * units / tasks; ++u) {
          int64_t block = u / chunks, chunk = u % chunks, panel0 = chunk * panels / chunks;
          int64_t panel1 = (chunk + 1) * panels / chunks, p0 = block * cols, p1 = std::min(spatial, p0 + cols);
          if (packed_block != block)
            im2col(g, channels, x, is_signed, spec_.x_zero_point, p0, p1, buffer + kp * cols * size, buffer, isa_);
          packed_block = block;
          if (bytes)
            qgemm_vnni_panels(w, panel0, panel1, buffer, zp, p1 - p0, rq_, row0, y + p0, spatial);
          else
            qgemm_panels(w, panel0, panel1, reinterpret_cast<const int16_t*>(buffer), p1 - p0, rq_, row0,
                         y + p0, spatial, isa_);
        }
      }
    });
  }

  // The direct path (above tap_major): each task takes a run of output rows
  // and keeps the padded input rows each reads (a span of (kh - 1) * dh + 1) as
  // channel quads in a ring, laying out each input row once per task; each
  // output row is then one GEMM over every panel of A. Integer sums: any split
  // gives the same bits.
  void direct(const KernelContext& ctx, const Geometry& g, const uint8_t* x, uint8_t* y) const {
    int64_t width = quad_row_width(g), quads = (g.c + 3) / 4, phase_bytes = quads * width * 4;
    int64_t row_bytes = g.sw * phase_bytes;
    int64_t taps = g.kh * g.kw, tasks = std::min<int64_t>(ctx.threads(), g.oh), span = (g.kh - 1) * g.dh + 1;
    int64_t per_task = (span * row_bytes + 63) / 64 * 64;
    auto* rings = static_cast<uint8_t*>(const_cast<KernelContext&>(ctx).scratch(static_cast<size_t>(tasks * per_task)));
    bool is_signed = spec_.x_type == DataType::kInt8;
    int32_t zp = spec_.x_zero_point + (is_signed ? 128 : 0);  // the bytes' zero point
    const PackedQA& a = packed_[0];
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      std::vector<int64_t> held(static_cast<size_t>(span)), offset(static_cast<size_t>(taps));
      for (int64_t t = t0; t < t1; ++t) {
        uint8_t* ring = rings + t * per_task;
        std::fill(held.begin(), held.end(), -1);  // the padded row each slot holds
        for (int64_t oy = t * g.oh / tasks; oy < (t + 1) * g.oh / tasks; ++oy) {
          for (int64_t ki = 0; ki < g.kh; ++ki) {
            int64_t py = oy * g.sh + ki * g.dh, slot = py % span;  // a window of span rows: distinct slots
            if (held[slot] != py)
              fill_quad_row(g, x, py, is_signed ? 0x80 : 0, static_cast<uint8_t>(zp), width, ring + slot * row_bytes);
            held[slot] = py;
            for (int64_t kj = 0; kj < g.kw; ++kj)  // padded column ox * sw + kj * dw
              offset[ki * g.kw + kj] = slot * row_bytes + (kj * g.dw % g.sw) * phase_bytes + 4 * (kj * g.dw / g.sw);
          }
          QuadRows b{ring, offset.data(), taps, quads, 4 * width};
          qgemm_vnni_quad_rows(a, 0, a.panels(), b, zp, g.ow, rq_, 0, y + oy * g.ow, g.oh * g.ow);
        }
      }
    });
  }

  void add_border(const Geometry& g, const uint8_t* in, int64_t ph, int64_t pw, uint8_t* out) const {
    auto zp = static_cast<uint8_t>(spec_.y_zero_point);  // an int8 zero point as its byte
    for (int64_t c = 0; c < g.m; ++c) {
      uint8_t* plane = out + c * ph * pw;
      std::memset(plane, zp, static_cast<size_t>(spec_.pad_top * pw));
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        uint8_t* row = plane + (oy + spec_.pad_top) * pw;
        std::memset(row, zp, static_cast<size_t>(spec_.pad_left));
        std::memcpy(row + spec_.pad_left, in + (c * g.oh + oy) * g.ow, static_cast<size_t>(g.ow));
        std::memset(row + spec_.pad_left + g.ow, zp, static_cast<size_t>(spec_.pad_right));
      }
      std::memset(plane + (spec_.pad_top + g.oh) * pw, zp, static_cast<size_t>(spec_.pad_bottom * pw));
    }
  }

  // Depthwise: per channel, (x - zero point) as floats in a plane that holds
  // the padding as zeros, then per output row each tap adds a scaled row of the
  // plane (exact: see kMaxDepthwiseTaps), then the row is requantized.
  void depthwise(const KernelContext& ctx, const Geometry& g, const uint8_t* x, uint8_t* y) const {
#if PARE_HAVE_AVX2_KERNELS
    // 3x3 only: at 5x5 the float kernel, which keeps rows in registers across
    // taps, was 6% faster on the classifier's int8 model (measured interleaved).
    if (depthwise_vnni(g) ||
        (has_avx2(isa_) && g.kh == 3 && g.kw == 3 && g.dh == 1 && g.dw == 1 && g.sh == g.sw && g.sh <= 2))
      return depthwise_bytes(ctx, g, x, y);
#endif
    if (depthwise_square_applies(g)) return depthwise_square(ctx, g, x, y);
    int64_t ph = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1, pw = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
    int64_t tasks = std::min<int64_t>(ctx.threads(), g.c), per_task = ph * pw + 2 * g.ow;
    auto* buffers = static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * tasks * per_task));
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        float* plane = buffers + t * per_task;
        float* acc = plane + ph * pw;
        auto* acc_int = reinterpret_cast<int32_t*>(acc + g.ow);
        for (int64_t c = t * g.c / tasks; c < (t + 1) * g.c / tasks; ++c) {
          const uint8_t* xc = x + c * g.h * g.w;
          if (spec_.x_type == DataType::kUint8) fill_plane(g, xc, ph, pw, plane);
          else fill_plane(g, reinterpret_cast<const int8_t*>(xc), ph, pw, plane);
          const float* wc = wf_.data() + c * g.kh * g.kw;
          for (int64_t oy = 0; oy < g.oh; ++oy) {
            depthwise_row(g, plane + oy * g.sh * pw, pw, wc, acc, acc_int);
            requantize_row(acc_int, g.ow, rq_, c, y + (c * g.oh + oy) * g.ow, isa_);
          }
        }
      }
    });
  }

#if PARE_HAVE_AVX2_KERNELS
  // 3x3 at stride 1 or 2 straight from the bytes: per channel the input
  // plane is copied once with its padding written as the zero point
  // (fill_planes, as im2col's; int8 inputs as x ^ 0x80 with zero point + 128,
  // the same x - zp), then each output row's exact sums
  // (depthwise_row_bytes_avx2) are requantized. M-LSD's int8
  // depthwise layers had taken longer than their float versions through float planes.
  // Whether depthwise_row_vnni computes this channel's rows.
  bool depthwise_vnni(const Geometry& g) const {
    return isa_ >= Isa::kAvx512Vnni && cpu_has_avx512vbmi() && g.dw == 1 && g.kw <= 8 && g.sw <= 2;
  }
  // Whether depthwise_row_vnni computes a channel's plane as one row: with equal
  // strides, output (oy, ox) reads the plane from sw * (oy * width + ox), so the
  // outputs at pitch `width` are one row of a plane `width` bytes wide, whose
  // columns past ow are computed and dropped. Taken where that makes fewer
  // groups of 64 sums than row by row: on BlazeFace's 16x16 and 8x8 planes a
  // row's group of 64 held 16 or 8 outputs.
  static bool flat_depthwise(const Geometry& g, int64_t width) {
    int64_t flat_groups = ((g.oh - 1) * width + g.ow + 63) / 64, row_groups = g.oh * ((g.ow + 63) / 64);
    return g.sh == g.sw && flat_groups < row_groups;
  }

  void depthwise_bytes(const KernelContext& ctx, const Geometry& g, const uint8_t* x, uint8_t* y) const {
    int64_t rows = 0, width = 0;
    plane_extent(g, g.oh * g.ow, rows, width);
    // The last block of 16 reads up to 15 strides and one 32-byte load past a
    // row's end (into the next row, for outputs it discards); VNNI's rows
    // compute whole groups of four blocks, up to 63 outputs past the row at
    // stride 2 and a 64-byte load 4 bytes on: 256 bytes of slack.
    int64_t plane_bytes = (rows * width + 256 + 63) / 64 * 64;  // the sums after it stay aligned
    bool vnni = depthwise_vnni(g);
    alignas(64) uint8_t gather[64];  // depthwise_row_vnni's vpermb indices: output p, tap t
    for (int p = 0; p < 16; ++p)
      for (int t = 0; t < 4; ++t) gather[4 * p + t] = static_cast<uint8_t>(g.sw * p + t);
    // The sums of a whole output plane, requantized at once: each row's last
    // block (or group of four) runs into the next row's place, which that row
    // then writes.
    int64_t tasks = std::min<int64_t>(ctx.threads(), g.c);
    int64_t per_task = (plane_bytes + 4 * (g.oh * width + 64) + 63) / 64 * 64;
    auto* buffers = static_cast<uint8_t*>(const_cast<KernelContext&>(ctx).scratch(static_cast<size_t>(tasks * per_task)));
    bool is_signed = spec_.x_type == DataType::kInt8;
    int32_t zp = spec_.x_zero_point + (is_signed ? 128 : 0);
    const int8_t* w = spec_.weight.span<int8_t>().data();
    bool flat = vnni && flat_depthwise(g, width);
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        uint8_t* plane = buffers + t * per_task;
        auto* acc = reinterpret_cast<int32_t*>(plane + plane_bytes);
        for (int64_t c = t * g.c / tasks; c < (t + 1) * g.c / tasks; ++c) {
          BlockPlanes b{plane, 0, rows, width};
          if (vnni) fill_plane_vnni(g, x + c * g.h * g.w, is_signed ? 0x80 : 0, static_cast<uint8_t>(zp), rows, width, plane);
          else b = fill_planes(g, 1, x + c * g.h * g.w, is_signed ? 0x80 : 0, static_cast<uint8_t>(zp), 0, g.oh * g.ow, plane);
          if (vnni) {
            const int32_t* quads = dw_quads_.data() + c * (2 * g.kh + 1);  // two per kernel row, then the start
            if (flat) {
              // The whole plane as one row of pitch `width` (flat_depthwise), then its rows side by side.
              depthwise_row_vnni(plane, g.dh * width, g.kh, g.sw, (g.oh - 1) * width + g.ow, quads, g.kw > 4,
                                 quads[2 * g.kh], gather, acc);
              for (int64_t oy = 1; oy < g.oh; ++oy)
                std::memmove(acc + oy * g.ow, acc + oy * width, sizeof(int32_t) * static_cast<size_t>(g.ow));
            } else {
              for (int64_t oy = 0; oy < g.oh; ++oy)
                depthwise_row_vnni(plane + oy * g.sh * b.width, g.dh * b.width, g.kh, g.sw, g.ow, quads, g.kw > 4,
                                   quads[2 * g.kh], gather, acc + oy * g.ow);
            }
          } else {
            for (int64_t oy = 0; oy < g.oh; ++oy)
              depthwise_row_bytes_avx2<3>(plane + oy * g.sh * b.width, b.width, g.sh, g.ow, w + c * 9, zp,
                                          acc + oy * g.ow);
          }
          requantize_row(acc, g.oh * g.ow, rq_, c, y + c * g.oh * g.ow, isa_);
        }
      }
    });
  }
#endif

  // Square 3x3 and 5x5 kernels through the float Conv's depthwise kernel
  // (depthwise.h), a few channels at a time: x - zero point as floats, the
  // float kernel with no bias, then each channel's sums requantized. Integers
  // below 2^24 stay exact through its multiplies and adds (kMaxDepthwiseTaps),
  // and its zero padding is padding by the zero point, so the sums are the
  // integer ones: the same bits as depthwise_row, at the float kernel's speed
  // (BlazeFace's int8 depthwise layers took 1.9x their float time).
  void depthwise_square(const KernelContext& ctx, const Geometry& g, const uint8_t* x, uint8_t* y) const {
    int64_t plane = g.h * g.w, out_plane = g.oh * g.ow;
    // About 128 KB of input floats per chunk (it stays in L2), at least a channel per thread.
    int64_t chunk = std::min<int64_t>(g.c, std::max<int64_t>(32768 / std::max<int64_t>(plane, 1), ctx.threads()));
    auto& scratch_ctx = const_cast<KernelContext&>(ctx);
    auto* xf = static_cast<float*>(scratch_ctx.scratch(sizeof(float) * chunk * plane));
    auto* yf = static_cast<float*>(scratch_ctx.scratch(sizeof(float) * chunk * out_plane));
    float zp = static_cast<float>(spec_.x_zero_point);
    for (int64_t c0 = 0; c0 < g.c; c0 += chunk) {
      int64_t n = std::min(chunk, g.c - c0);
      if (spec_.x_type == DataType::kUint8) planes_minus_zero_point(ctx, x, plane, c0, n, zp, xf);
      else planes_minus_zero_point(ctx, reinterpret_cast<const int8_t*>(x), plane, c0, n, zp, xf);
      Geometry part = g;
      part.c = part.m = n;
      depthwise_square_conv(ctx, part, xf, wf_.data() + c0 * g.kh * g.kw, nullptr, Epilogue{}, isa_, yf);
      ctx.parallel_for(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          requantize_sums_row(yf + i * out_plane, out_plane, rq_, c0 + i, y + (c0 + i) * out_plane, isa_);
      });
    }
  }

  template <typename T>
  void fill_plane(const Geometry& g, const T* xc, int64_t ph, int64_t pw, float* plane) const {
    float zp = static_cast<float>(spec_.x_zero_point);
    for (int64_t py = 0; py < ph; ++py) {
      float* row = plane + py * pw;
      int64_t iy = py - g.pt;
      if (iy < 0 || iy >= g.h) {
        std::fill(row, row + pw, 0.0f);
        continue;
      }
      const T* xr = xc + iy * g.w;
      int64_t a = std::min(pw, g.pl), b = std::clamp(g.w + g.pl, a, pw);
      std::fill(row, row + a, 0.0f);
      for (int64_t px = a; px < b; ++px) row[px] = static_cast<float>(xr[px - g.pl]) - zp;
      std::fill(row + b, row + pw, 0.0f);
    }
  }

  ConvAttrs a_;
  QConvSpec spec_;
  Requant rq_;
  Isa isa_;
  bool depthwise_ = false;
  bool direct_ = false;           // a dense convolution read in place (direct)
  std::vector<float> wf_;         // depthwise weights [C, kh, kw]
  std::vector<int32_t> dw_quads_;  // depthwise kernels up to 8 wide, per channel (depthwise_quads)
  std::vector<PackedQA> packed_;  // per group, dense and grouped (quads where qgemm_vnni(isa_))
};

}  // namespace

std::string qconv_refusal(const QConvSpec& s) {
  const auto& d = s.weight.dims();
  if (s.weight.dtype() != DataType::kInt8 || d.size() != 4) return "the weights are not 2-D int8";
  int64_t m = d[0], k = weight_taps(s);
  if (m < 1 || k < 1) return "empty weights";
  if (s.w_scale.size() != 1 && static_cast<int64_t>(s.w_scale.size()) != m) return "not one weight scale per channel";
  if (!s.bias.empty() && static_cast<int64_t>(s.bias.size()) != m) return "not one bias per channel";
  for (DataType t : {s.x_type, s.y_type})
    if (t != DataType::kUint8 && t != DataType::kInt8) return "not 8-bit activations";
  if (!(s.x_scale > 0) || !(s.y_scale > 0) || !std::isfinite(s.x_scale) || !std::isfinite(s.y_scale))
    return "a scale is not positive";
  for (float w : s.w_scale)
    if (!(w > 0) || !std::isfinite(w)) return "a weight scale is not positive";
  // |x - zp| <= 255, |w| <= 128: the sum of k products and the bias must fit int32
  // (and on the VNNI path each of its two terms, qgemm.h).
  double bound = static_cast<double>(k) * 255 * 128;
  if (bound > 1 << 30) return "the sums could overflow int32";
  for (int64_t p : {s.pad_top, s.pad_bottom, s.pad_left, s.pad_right})
    if (p < 0 || p > (1 << 20)) return "a folded Pad is negative or huge";
  for (float b : s.bias)
    if (!std::isfinite(b)) return "a bias is not finite";
  return "";
}

[[gnu::cold]] std::unique_ptr<Kernel> make_qconv(const KernelInit& init, const QConvSpec& spec) {
  std::string why = qconv_refusal(spec);
  if (!why.empty()) init.reject("integer Conv: " + why);
  return std::make_unique<QConv>(init, spec);
}

}  // namespace pare::rt::kernels
