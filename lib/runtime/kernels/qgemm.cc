#include "lib/runtime/kernels/qgemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "lib/runtime/epilogue_simd.h"

namespace pare::rt::kernels {

namespace {
// Bounds the float before rounding, so that a huge product (a wrong scale)
// cannot overflow the int32 conversion (undefined in C++, INT_MIN in AVX2).
constexpr float kFloatBound = 1e9f;
}  // namespace

int32_t Requant::apply(int32_t acc, int64_t r) const {
  float v = static_cast<float>(acc) * scale[r] + offset[r];
  v = std::min(std::max(v, -kFloatBound), kFloatBound);
  int32_t q = static_cast<int32_t>(std::nearbyint(v)) + zero_point;
  return std::min(std::max(q, lo), hi);
}

PackedQA pack_qa(const int8_t* a, int64_t m, int64_t k, int64_t lda, bool quads) {
  PackedQA p;
  p.m = m;
  p.k = k;
  int64_t group = quads ? 4 : 2;  // K rows a row's weights are grouped by
  p.kp = (k + group - 1) / group * group;
  auto size = static_cast<size_t>(p.panels() * kQPanelRows * p.kp);
  if (quads) {
    p.quads.assign(size / 4, 0);
    p.sums.assign(static_cast<size_t>(p.panels() * kQPanelRows), 0);
  } else {
    p.data.assign(size, 0);
  }
  auto* bytes = reinterpret_cast<uint8_t*>(p.quads.data());  // four weights an int32, in memory order
  for (int64_t r = 0; r < m; ++r)
    for (int64_t i = 0; i < k; ++i) {
      int8_t w = a[r * lda + i];
      int64_t at = (r / kQPanelRows) * kQPanelRows * p.kp + (i / group) * group * kQPanelRows +
                   (r % kQPanelRows) * group + i % group;
      if (quads) {
        bytes[at] = static_cast<uint8_t>(w);
        p.sums[r] += w;
      } else {
        p.data[at] = w;
      }
    }
  return p;
}

void pack_qb(const int16_t* b, int64_t ldb, int64_t k, int64_t n, int16_t* out) {
  int64_t kp = (k + 1) / 2 * 2;
  std::fill(out, out + qb_panel_elements(kp, n), int16_t{0});
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) out[qb_index(kp, i, j)] = b[i * ldb + j];
}

namespace {

// Requantizes and stores a tile's sums (kQPanelRows x kQTileCols int32).
void store_tile(const int32_t* tile, int64_t rows, int64_t cols, const Requant& rq, int64_t row0, uint8_t* c,
                int64_t ldc) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      c[r * ldc + j] = static_cast<uint8_t>(rq.apply(tile[r * kQTileCols + j], row0 + r));
}

void tile_portable(int64_t kp, const int16_t* ap, const int16_t* b, int64_t rows, int64_t cols, const Requant& rq,
                   int64_t row0, uint8_t* c, int64_t ldc) {
  int32_t tile[kQPanelRows * kQTileCols] = {};
  for (int64_t i = 0; i < kp; i += 2) {
    for (int64_t r = 0; r < kQPanelRows; ++r) {
      int32_t a0 = ap[r * 2], a1 = ap[r * 2 + 1];
      int32_t* t = tile + r * kQTileCols;
      for (int64_t j = 0; j < kQTileCols; ++j) t[j] += a0 * b[j * 2] + a1 * b[j * 2 + 1];
    }
    ap += 2 * kQPanelRows;
    b += 2 * kQTileCols;
  }
  store_tile(tile, rows, cols, rq, row0, c, ldc);
}

#if PARE_HAVE_AVX2_KERNELS
// Requant::apply on 8 sums of channel r.
inline PARE_AVX2_INLINE __m256i requant_avx2(__m256i s, const Requant& rq, int64_t r) {
  __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(rq.scale[r])),
                           _mm256_set1_ps(rq.offset[r]));
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-kFloatBound)), _mm256_set1_ps(kFloatBound));
  // cvtps rounds half to even (the default rounding mode), as nearbyint does.
  __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(rq.zero_point));
  return _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(rq.lo)), _mm256_set1_epi32(rq.hi));
}

// One row of 16 sums requantized, stored as 16 bytes (or `cols`).
inline PARE_AVX2_INLINE void store_row_avx2(__m256i s0, __m256i s1, const Requant& rq, int64_t r, int64_t cols,
                                     uint8_t* out) {
  __m256i q0 = requant_avx2(s0, rq, r), q1 = requant_avx2(s1, rq, r);
  // Values are within a byte's range: take each int32's low byte.
  __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);  // 16 int16 in order
  __m128i lo16 = _mm256_castsi256_si128(w), hi16 = _mm256_extracti128_si256(w, 1);
  __m128i bytes = _mm_packus_epi16(_mm_and_si128(lo16, _mm_set1_epi16(0xFF)), _mm_and_si128(hi16, _mm_set1_epi16(0xFF)));
  if (cols == kQTileCols) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
  } else {
    alignas(16) uint8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
    std::memcpy(out, tmp, static_cast<size_t>(cols));
  }
}

// One tile over the whole of K: 12 accumulators of 8 int32; per pair of K
// rows, two loads of B, six broadcasts of A, twelve vpmaddwd and twelve adds.
PARE_TARGET_AVX2 void tile_avx2(int64_t kp, const int16_t* ap, const int16_t* b, int64_t rows, int64_t cols,
                                const Requant& rq, int64_t row0, uint8_t* c, int64_t ldc) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const int32_t* a32 = reinterpret_cast<const int32_t*>(ap);
  for (int64_t i = 0; i < kp; i += 2) {
    __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
    __m256i a;
    a = _mm256_set1_epi32(a32[0]); c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(a, b0)); c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(a, b1));
    a = _mm256_set1_epi32(a32[1]); c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(a, b0)); c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(a, b1));
    a = _mm256_set1_epi32(a32[2]); c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(a, b0)); c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(a, b1));
    a = _mm256_set1_epi32(a32[3]); c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(a, b0)); c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(a, b1));
    a = _mm256_set1_epi32(a32[4]); c40 = _mm256_add_epi32(c40, _mm256_madd_epi16(a, b0)); c41 = _mm256_add_epi32(c41, _mm256_madd_epi16(a, b1));
    a = _mm256_set1_epi32(a32[5]); c50 = _mm256_add_epi32(c50, _mm256_madd_epi16(a, b0)); c51 = _mm256_add_epi32(c51, _mm256_madd_epi16(a, b1));
    a32 += kQPanelRows;
    b += 2 * kQTileCols;
  }
  __m256i acc[kQPanelRows][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int64_t r = 0; r < rows; ++r) store_row_avx2(acc[r][0], acc[r][1], rq, row0 + r, cols, c + r * ldc);
}
#endif

}  // namespace

void qgemm_panels(const PackedQA& a, int64_t panel0, int64_t panel1, const int16_t* b, int64_t n, const Requant& rq,
                  int64_t row0, uint8_t* c, int64_t ldc, Isa isa) {
  int64_t panel_stride = kQTileCols * a.kp;
  for (int64_t p = panel0; p < panel1; ++p) {
    int64_t r0 = p * kQPanelRows, rows = std::min(kQPanelRows, a.m - r0);
    for (int64_t j = 0; j < n; j += kQTileCols) {
      int64_t cols = std::min(kQTileCols, n - j);
      const int16_t* bj = b + j / kQTileCols * panel_stride;
      uint8_t* cj = c + r0 * ldc + j;
#if PARE_HAVE_AVX2_KERNELS
      if (has_avx2(isa)) {
        tile_avx2(a.kp, a.panel(p), bj, rows, cols, rq, row0 + r0, cj, ldc);
        continue;
      }
#endif
      tile_portable(a.kp, a.panel(p), bj, rows, cols, rq, row0 + r0, cj, ldc);
    }
  }
}

#if PARE_HAVE_AVX2_KERNELS
namespace {
// The VNNI tile's requantization (below) over one row: sixteen lanes a step.
void requantize_row_vnni(const int32_t* acc, int64_t n, const Requant& rq, int64_t r, uint8_t* out);

// Whole rows, the last part of 16 through a copy (M-LSD's 40- and 20-wide
// depthwise rows had spent 3% of the model in the scalar formula).
PARE_TARGET_AVX2 void requantize_row_avx2(const int32_t* acc, int64_t n, const Requant& rq, int64_t r, uint8_t* out) {
  for (int64_t j = 0; j < n; j += kQTileCols) {
    int64_t cols = std::min(kQTileCols, n - j);
    alignas(32) int32_t part[kQTileCols] = {};
    const int32_t* s = acc + j;
    if (cols < kQTileCols) s = static_cast<const int32_t*>(std::memcpy(part, s, static_cast<size_t>(cols) * 4));
    store_row_avx2(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)),
                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 8)), rq, r, cols, out + j);
  }
}

// The same from sums held as floats: each is an integer below 2^24, so the
// conversion to int32 is exact and the bytes are requantize_row's.
PARE_TARGET_AVX2 void requantize_sums_row_avx2(const float* sums, int64_t n, const Requant& rq, int64_t r,
                                               uint8_t* out) {
  for (int64_t j = 0; j < n; j += kQTileCols) {
    int64_t cols = std::min(kQTileCols, n - j);
    alignas(32) float part[kQTileCols] = {};
    const float* s = sums + j;
    if (cols < kQTileCols) s = static_cast<const float*>(std::memcpy(part, s, static_cast<size_t>(cols) * 4));
    store_row_avx2(_mm256_cvtps_epi32(_mm256_loadu_ps(s)), _mm256_cvtps_epi32(_mm256_loadu_ps(s + 8)), rq, r, cols,
                   out + j);
  }
}
}  // namespace
#endif

void requantize_row(const int32_t* acc, int64_t n, const Requant& rq, int64_t r, uint8_t* out, Isa isa) {
#if PARE_HAVE_AVX2_KERNELS
  if (qgemm_vnni(isa)) return requantize_row_vnni(acc, n, rq, r, out);
  if (has_avx2(isa)) return requantize_row_avx2(acc, n, rq, r, out);
#endif
  for (int64_t j = 0; j < n; ++j) out[j] = static_cast<uint8_t>(rq.apply(acc[j], r));
}

void requantize_sums_row(const float* sums, int64_t n, const Requant& rq, int64_t r, uint8_t* out, Isa isa) {
#if PARE_HAVE_AVX2_KERNELS
  if (has_avx2(isa)) return requantize_sums_row_avx2(sums, n, rq, r, out);
#endif
  for (int64_t j = 0; j < n; ++j) out[j] = static_cast<uint8_t>(rq.apply(static_cast<int32_t>(sums[j]), r));
}

bool qgemm_vnni(Isa isa) { return PARE_HAVE_AVX2_KERNELS && isa >= Isa::kAvx512Vnni; }

void pack_qb_vnni(const uint8_t* b, int64_t ldb, int64_t k, int64_t n, uint8_t zero_point, uint8_t* out) {
  int64_t kq = (k + 3) / 4 * 4;
  std::fill(out, out + qb_panel_elements(kq, n), zero_point);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) out[qb_vnni_index(kq, i, j)] = b[i * ldb + j];
}

#if PARE_HAVE_AVX2_KERNELS
namespace {

// Requant::apply on `rows` rows of `cols` sums (rows `stride` apart), 16 at a
// time in 512-bit registers; each int32's low byte stored (values within a byte's range).
PARE_TARGET_AVX512VNNI void store_tile_vnni(const int32_t* tile, int64_t stride, int64_t rows, int64_t cols,
                                            const Requant& rq, int64_t row0, uint8_t* c, int64_t ldc) {
  // Requant::apply with one clamp instead of two: to [lo - zp, hi - zp] in
  // float before rounding (integers, so rounding keeps them and the same bytes
  // come out; the bound also keeps the conversion in range).
  const __m512 lo_f = _mm512_set1_ps(static_cast<float>(rq.lo - rq.zero_point));
  const __m512 hi_f = _mm512_set1_ps(static_cast<float>(rq.hi - rq.zero_point));
  const __m512i zp = _mm512_set1_epi32(rq.zero_point);
  for (int64_t r = 0; r < rows; ++r) {
    __m512 scale = _mm512_set1_ps(rq.scale[row0 + r]), offset = _mm512_set1_ps(rq.offset[row0 + r]);
    for (int64_t j = 0; j < cols; j += kQTileCols) {
      auto mask = static_cast<__mmask16>(cols - j >= kQTileCols ? 0xFFFF : (1u << (cols - j)) - 1);
      // Masked: requantize_row's sums end at n, not at a whole tile (ASan saw the overread).
      __m512 v = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, tile + r * stride + j));
      v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(_mm512_mul_ps(v, scale), offset), lo_f), hi_f);
      __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);  // half to even, as nearbyint
      _mm512_mask_cvtepi32_storeu_epi8(c + r * ldc + j, mask, q);
    }
  }
}

void requantize_row_vnni(const int32_t* acc, int64_t n, const Requant& rq, int64_t r, uint8_t* out) {
  store_tile_vnni(acc, n, 1, n, rq, r, out, n);
}

// kTiles adjacent 16-column panels of B (6 rows x 16 * kTiles columns) over
// the whole of K: 18 accumulators for three panels; per quad of K rows, kTiles
// loads of B, six broadcasts of A and 6 * kTiles vpdpbusd. B's quad rows are
// walked as `b` describes them (QuadRows), panel t `tile_stride` bytes after
// the first. Each accumulator starts at its row's `start` (the zero point's
// correction). Columns past `cols` are read, never stored. Every index into
// acc is a constant once the loops unroll, so acc lives in registers.
template <int kTiles>
PARE_TARGET_AVX512VNNI void tiles_vnni(const int32_t* ap, const QuadRows& b, int64_t tile_stride,
                                       const int32_t* start, int64_t rows, int64_t cols, const Requant& rq,
                                       int64_t row0, uint8_t* c, int64_t ldc) {
  __m512i acc[kQPanelRows][kTiles];
#pragma GCC unroll 6
  for (int r = 0; r < kQPanelRows; ++r)
#pragma GCC unroll 3
    for (int t = 0; t < kTiles; ++t) acc[r][t] = _mm512_set1_epi32(start[r]);
  for (int64_t s = 0; s < b.taps; ++s) {
    const uint8_t* bq = b.base + b.offset[s];
    for (int64_t q = 0; q < b.quads; ++q, bq += b.quad_stride, ap += kQPanelRows) {
      __m512i bv[kTiles];
#pragma GCC unroll 3
      for (int t = 0; t < kTiles; ++t) bv[t] = _mm512_loadu_si512(bq + t * tile_stride);
#pragma GCC unroll 6
      for (int r = 0; r < kQPanelRows; ++r) {
        __m512i a = _mm512_set1_epi32(ap[r]);
#pragma GCC unroll 3
        for (int t = 0; t < kTiles; ++t) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], bv[t], a);
      }
    }
  }
  // Requantized from memory by one function for both instances (pare-run's size).
  alignas(64) int32_t tile[kQPanelRows * kTiles * kQTileCols];
#pragma GCC unroll 6
  for (int r = 0; r < kQPanelRows; ++r)
#pragma GCC unroll 3
    for (int t = 0; t < kTiles; ++t) _mm512_store_si512(tile + (r * kTiles + t) * kQTileCols, acc[r][t]);
  store_tile_vnni(tile, kTiles * kQTileCols, rows, cols, rq, row0, c, ldc);
}

// Panels [panel0, panel1) of A against n columns of B: B's 16 columns from j
// start `column_bytes(j)` bytes after b.base, the next panel `tile_stride` on.
template <typename ColumnBytes>
void panels_vnni(const PackedQA& a, int64_t panel0, int64_t panel1, QuadRows b, int64_t tile_stride,
                 ColumnBytes column_bytes, int32_t zero_point, int64_t n, const Requant& rq, int64_t row0, uint8_t* c,
                 int64_t ldc) {
  const uint8_t* base = b.base;
  for (int64_t p = panel0; p < panel1; ++p) {
    int64_t r0 = p * kQPanelRows, rows = std::min(kQPanelRows, a.m - r0);
    int32_t start[kQPanelRows];  // |zp * sum| <= 255 * 128 * k <= 2^30
    for (int64_t r = 0; r < kQPanelRows; ++r) start[r] = -zero_point * a.sums[r0 + r];
    // Three panels of B at a time, the last one or two together (a one-panel
    // tile's six broadcasts feed only six vpdpbusd: rows of 80 pixels, as
    // 48 + 16 + 16, had spent a third of their time in one-panel tiles).
    for (int64_t j = 0; j < n;) {
      int tiles = static_cast<int>(std::min<int64_t>(3, (n - j + kQTileCols - 1) / kQTileCols));
      int64_t cols = std::min(n - j, tiles * kQTileCols);
      b.base = base + column_bytes(j);
      uint8_t* cj = c + r0 * ldc + j;
      if (tiles == 3)
        tiles_vnni<3>(a.quad_panel(p), b, tile_stride, start, rows, cols, rq, row0 + r0, cj, ldc);
      else if (tiles == 2)
        tiles_vnni<2>(a.quad_panel(p), b, tile_stride, start, rows, cols, rq, row0 + r0, cj, ldc);
      else
        tiles_vnni<1>(a.quad_panel(p), b, tile_stride, start, rows, cols, rq, row0 + r0, cj, ldc);
      j += tiles * kQTileCols;
    }
  }
}

}  // namespace
#endif

void qgemm_vnni_panels(const PackedQA& a, int64_t panel0, int64_t panel1, const uint8_t* b, int32_t zero_point,
                       int64_t n, const Requant& rq, int64_t row0, uint8_t* c, int64_t ldc) {
#if PARE_HAVE_AVX2_KERNELS
  // One run of kq / 4 quad rows, 64 bytes apart within a panel.
  const int64_t no_offset = 0, panel_stride = kQTileCols * a.kp;
  QuadRows rows{b, &no_offset, 1, a.kp / 4, 4 * kQTileCols};
  panels_vnni(a, panel0, panel1, rows, panel_stride, [&](int64_t j) { return j / kQTileCols * panel_stride; },
              zero_point, n, rq, row0, c, ldc);
#endif
}

void qgemm_vnni_quad_rows(const PackedQA& a, int64_t panel0, int64_t panel1, const QuadRows& b, int32_t zero_point,
                          int64_t n, const Requant& rq, int64_t row0, uint8_t* c, int64_t ldc) {
#if PARE_HAVE_AVX2_KERNELS
  panels_vnni(a, panel0, panel1, b, 4 * kQTileCols, [](int64_t j) { return 4 * j; }, zero_point, n, rq, row0, c,
              ldc);
#endif
}

void qgemm_reference(const int8_t* a, int64_t m, int64_t k, const int16_t* b, int64_t n, const Requant& rq,
                     int64_t row0, uint8_t* c, int64_t ldc) {
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int64_t i = 0; i < k; ++i) acc += int32_t{a[r * k + i]} * b[i * n + j];
      c[r * ldc + j] = static_cast<uint8_t>(rq.apply(acc, row0 + r));
    }
}

}  // namespace pare::rt::kernels
