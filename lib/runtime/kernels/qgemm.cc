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

PackedQA pack_qa(const int8_t* a, int64_t m, int64_t k, int64_t lda) {
  PackedQA p;
  p.m = m;
  p.k = k;
  p.kp = (k + 1) / 2 * 2;
  p.data.assign(static_cast<size_t>(p.panels() * kQPanelRows * p.kp), 0);
  for (int64_t r = 0; r < m; ++r) {
    int16_t* panel = p.data.data() + (r / kQPanelRows) * kQPanelRows * p.kp;
    for (int64_t i = 0; i < k; ++i) panel[(i / 2) * 2 * kQPanelRows + (r % kQPanelRows) * 2 + i % 2] = a[r * lda + i];
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
PARE_TARGET_AVX2 int64_t requantize_row_avx2(const int32_t* acc, int64_t n, const Requant& rq, int64_t r, uint8_t* out) {
  int64_t j = 0;
  for (; j + kQTileCols <= n; j += kQTileCols)
    store_row_avx2(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j)),
                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j + 8)), rq, r, kQTileCols, out + j);
  return j;
}
}  // namespace
#endif

void requantize_row(const int32_t* acc, int64_t n, const Requant& rq, int64_t r, uint8_t* out, Isa isa) {
  int64_t j = 0;
#if PARE_HAVE_AVX2_KERNELS
  if (has_avx2(isa)) j = requantize_row_avx2(acc, n, rq, r, out);
#endif
  for (; j < n; ++j) out[j] = static_cast<uint8_t>(rq.apply(acc[j], r));
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
