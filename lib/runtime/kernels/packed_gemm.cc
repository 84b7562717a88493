#include "lib/runtime/kernels/packed_gemm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <cstring>

#include "lib/runtime/epilogue_simd.h"

// One copy of each tile loop serves the three layouts of B: GCC would clone
// them per constant argument (a copy for brows == nullptr), 14 KB of pare-run.
#define PARE_ONE_COPY __attribute__((noclone))

namespace pare::rt::kernels {

// Weights below float's smallest normal (PP-OCRv4 rec's squeeze-excite
// convolutions hold 31,000 of them, left by training) as zero: a multiply by a
// subnormal takes a microcode assist on x86, and those two 1x1 convolutions
// on a 1x1 map took 0.73 of the model's 5.5 ms. Each such product is below
// 1.2e-38 times its input, so only sums of that size change.
float flush_subnormal(float v) { return std::fabs(v) < std::numeric_limits<float>::min() ? 0.0f : v; }

PackedA pack_a(const float* a, int64_t m, int64_t k, int64_t lda) {
  PackedA p;
  p.m = m;
  p.k = k;
  p.data.assign(static_cast<size_t>(p.panels() * kPanelRows * k), 0.0f);
  for (int64_t r = 0; r < m; ++r) {
    float* panel = p.data.data() + (r / kPanelRows) * kPanelRows * k;
    for (int64_t i = 0; i < k; ++i) panel[i * kPanelRows + r % kPanelRows] = flush_subnormal(a[r * lda + i]);
  }
  return p;
}

namespace {

#if PARE_HAVE_AVX2_KERNELS

// Writes the valid part of a tile computed into `tile` (kPanelRows x kTileCols);
// an epilogue without a vector form (Sigmoid, steps, kMulClip) is applied
// here, over each stored row (Epilogue::apply computes the scalar formulas).
void store_tile(const float* tile, int64_t rows, int64_t cols, const Epilogue& e, float* c, int64_t ldc,
                int64_t row0) {
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(tile + r * kTileCols, tile + r * kTileCols + cols, c + r * ldc);
    e.apply(c + r * ldc, cols, Isa::kAvx2Fma, row0 + r);
  }
}

// One tile over the whole of K: 12 accumulators of 8 floats; per k, two loads of
// B, six broadcasts of A and twelve fused multiply-adds.
// With `resume`, the accumulators start from the partial sums a previous block
// of K stored in C (storing and reloading a float is exact, so splitting K
// leaves every output's chain of multiply-adds unchanged); with `last` false the
// sums are stored as they are, for the next block of K to resume.
// With `brows`, B's row i is brows[i] + col (an im2col matrix left in place)
// instead of b + i * ldb.
template <bool kMasked>
PARE_TARGET_AVX2 void tile_avx(int64_t k, const float* ap, const float* b, int64_t ldb, const float* const* brows,
                               int64_t col, int64_t cols, const float* bias6, const EpilogueVec& ev,
                               bool vector_epilogue, float* c, int64_t ldc, int64_t rows, int64_t row0, bool resume,
                               bool last) {
  __m256i mask0 = _mm256_setzero_si256(), mask1 = _mm256_setzero_si256();
  if constexpr (kMasked) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), lane);
    mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols) - 8), lane);
  }
  alignas(32) float tile[kPanelRows * kTileCols];
  bool whole = rows == kPanelRows && cols == kTileCols;
  if (resume) {  // the tile's partial sums, zeros outside C
    std::fill(tile, tile + kPanelRows * kTileCols, 0.0f);
    for (int64_t r = 0; r < rows; ++r) std::copy(c + r * ldc, c + r * ldc + cols, tile + r * kTileCols);
  } else {
    for (int64_t r = 0; r < kPanelRows; ++r) std::fill(tile + r * kTileCols, tile + (r + 1) * kTileCols, bias6[r]);
  }
  __m256 c00 = _mm256_load_ps(tile + 0), c01 = _mm256_load_ps(tile + 8);
  __m256 c10 = _mm256_load_ps(tile + 16), c11 = _mm256_load_ps(tile + 24);
  __m256 c20 = _mm256_load_ps(tile + 32), c21 = _mm256_load_ps(tile + 40);
  __m256 c30 = _mm256_load_ps(tile + 48), c31 = _mm256_load_ps(tile + 56);
  __m256 c40 = _mm256_load_ps(tile + 64), c41 = _mm256_load_ps(tile + 72);
  __m256 c50 = _mm256_load_ps(tile + 80), c51 = _mm256_load_ps(tile + 88);
  for (int64_t i = 0; i < k; ++i) {
    const float* bi = brows ? brows[i] + col : b;
    __m256 b0, b1;
    if constexpr (kMasked) {
      b0 = _mm256_maskload_ps(bi, mask0);
      b1 = _mm256_maskload_ps(bi + 8, mask1);
    } else {
      b0 = _mm256_loadu_ps(bi);
      b1 = _mm256_loadu_ps(bi + 8);
    }
    __m256 a;
    a = _mm256_broadcast_ss(ap + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(ap + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(ap + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(ap + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(ap + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(ap + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    ap += kPanelRows;
    b += ldb;
  }
  __m256 acc[kPanelRows][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (last && vector_epilogue && ev.kind != Epilogue::Kind::kNone)  // Relu or Clip, EpilogueVec's formulas
    for (auto& row : acc)
      for (__m256& v : row)
        v = ev.kind == Epilogue::Kind::kRelu ? _mm256_max_ps(v, ev.zero) : _mm256_min_ps(ev.b, _mm256_max_ps(ev.a, v));
  if (whole && (vector_epilogue || !last)) {
    for (int64_t r = 0; r < kPanelRows; ++r) {
      _mm256_storeu_ps(c + r * ldc, acc[r][0]);
      _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
    }
    return;
  }
  for (int64_t r = 0; r < kPanelRows; ++r) {
    _mm256_store_ps(tile + r * kTileCols, acc[r][0]);
    _mm256_store_ps(tile + r * kTileCols + 8, acc[r][1]);
  }
  // Without a vector form, the whole epilogue is applied here, on the last block of K.
  if (last && !vector_epilogue) store_tile(tile, rows, cols, *ev.source, c, ldc, row0);
  else store_tile(tile, rows, cols, Epilogue{}, c, ldc, row0);
}

// ---------- AVX-512 (Isa::kAvx512 and above) ----------
// kTiles adjacent tiles of one panel (6 rows x 16 * kTiles columns) over a
// block of K, one 512-bit register per row and tile: 18 accumulators for three
// tiles; per k, kTiles loads of B, six broadcasts of A, 6 * kTiles fused
// multiply-adds. Each output is the AVX2 tile's chain of multiply-adds (bias or
// the resumed partial sum, then k in order), so the results are the same bits.
// Tile t's B starts `tile_stride` floats after tile t - 1's. The last tile
// reads only `last_cols` columns of B (all 16 where B is zero-padded panels)
// and writes only `store_cols` columns of C: masked loads cost no more than
// whole ones, so one instance serves every width (pare-run's size).
template <int kTiles, bool kMaskedLoad>
PARE_ONE_COPY PARE_TARGET_AVX512 void tiles_avx512(int64_t k, const float* ap, const float* b, int64_t ldb, const float* const* brows,
                                     int64_t col, int64_t tile_stride, int64_t last_cols, int64_t store_cols,
                                     const float* bias6,
                                     const Epilogue& epilogue, float* c, int64_t ldc, int64_t rows, int64_t row0,
                                     bool resume,
                                     bool last) {
  auto mask_of = [](int64_t cols) {
    return cols >= kTileCols ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << cols) - 1);
  };
  // Columns of each tile that exist in C (all 16 but the last tile's).
  __mmask16 cmask[kTiles];
  for (int t = 0; t < kTiles; ++t) cmask[t] = 0xFFFF;
  cmask[kTiles - 1] = mask_of(store_cols);
  __mmask16 load_mask = mask_of(last_cols);
  __m512 acc[kPanelRows][kTiles];
#pragma GCC unroll 6
  for (int r = 0; r < kPanelRows; ++r)
#pragma GCC unroll 3
    for (int t = 0; t < kTiles; ++t)
      acc[r][t] = resume && r < rows ? _mm512_maskz_loadu_ps(cmask[t], c + r * ldc + t * kTileCols)
                  : resume           ? _mm512_setzero_ps()
                                     : _mm512_set1_ps(bias6[r]);
  for (int64_t i = 0; i < k; ++i) {
    const float* bi = brows ? brows[i] + col : b;  // as in tile_avx
    __m512 bv[kTiles];
#pragma GCC unroll 3
    for (int t = 0; t < kTiles; ++t)
      bv[t] = kMaskedLoad && t == kTiles - 1 ? _mm512_maskz_loadu_ps(load_mask, bi + t * tile_stride)
                                             : _mm512_loadu_ps(bi + t * tile_stride);
#pragma GCC unroll 6
    for (int r = 0; r < kPanelRows; ++r) {
      __m512 a = _mm512_set1_ps(ap[r]);
#pragma GCC unroll 3
      for (int t = 0; t < kTiles; ++t) acc[r][t] = _mm512_fmadd_ps(a, bv[t], acc[r][t]);
    }
    ap += kPanelRows;
    b += ldb;
  }
  // Relu and Clip (most convolutions' epilogue) are applied in registers, with
  // EpilogueVec's operand order (its NaN behaviour). The others run over the
  // stored rows in L1, through Epilogue::apply, whose AVX2 forms compute the
  // scalar formulas exactly: the AVX2 tile's bits either way, for a fraction of
  // the code of every epilogue inlined per register. Every index into acc is a
  // constant once the loops unroll, so acc lives in registers (a loop bounded
  // by `rows` made GCC keep it in memory).
  using K = Epilogue::Kind;
  bool in_registers = last && epilogue.vector_form() && !epilogue.round_trip &&
                      (epilogue.kind == K::kRelu || epilogue.kind == K::kClip);
  bool relu = epilogue.kind == K::kRelu;
  __m512 lo = _mm512_set1_ps(relu ? 0.0f : epilogue.a), hi = _mm512_set1_ps(epilogue.b);
#pragma GCC unroll 6
  for (int r = 0; r < kPanelRows; ++r)
#pragma GCC unroll 3
    for (int t = 0; t < kTiles; ++t) {
      __m512 v = acc[r][t];
      if (in_registers) v = relu ? _mm512_max_ps(v, lo) : _mm512_min_ps(hi, _mm512_max_ps(lo, v));
      if (r < rows) _mm512_mask_storeu_ps(c + r * ldc + t * kTileCols, cmask[t], v);
    }
  if (!last || epilogue.none() || in_registers) return;
  int64_t cols = (kTiles - 1) * kTileCols + std::min(store_cols, kTileCols);
  for (int64_t r = 0; r < rows; ++r) epilogue.apply(c + r * ldc, cols, Isa::kAvx2Fma, row0 + r);
}

#endif

// The portable tile: the same order of operations without fused multiply-adds.
PARE_ONE_COPY void tile_portable(int64_t k, const float* ap, const float* b, int64_t ldb, const float* const* brows, int64_t col,
                   int64_t cols, const float* bias6, const Epilogue& e, float* c, int64_t ldc, int64_t rows,
                   int64_t row0) {
  float tile[kPanelRows * kTileCols];
  for (int64_t r = 0; r < kPanelRows; ++r)
    for (int64_t j = 0; j < kTileCols; ++j) tile[r * kTileCols + j] = bias6[r];
  for (int64_t i = 0; i < k; ++i) {
    const float* brow = brows ? brows[i] + col : b + i * ldb;
    for (int64_t r = 0; r < kPanelRows; ++r) {
      float av = ap[i * kPanelRows + r];
      for (int64_t j = 0; j < cols; ++j) tile[r * kTileCols + j] += av * brow[j];
    }
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) c[r * ldc + j] = e.apply(tile[r * kTileCols + j], row0 + r);
}

}  // namespace

namespace {

// The bias of panel p's rows in bias6 (zeros past m or without a bias); returns its row count.
int64_t panel_bias(const PackedA& a, int64_t p, const float* bias, float* bias6) {
  int64_t r0 = p * kPanelRows, rows = std::min(kPanelRows, a.m - r0);
  std::fill(bias6, bias6 + kPanelRows, 0.0f);
  if (bias) std::copy(bias + r0, bias + r0 + rows, bias6);
  return rows;
}

// Blocks of K bound the slice of A a panel keeps in L1 (6 x 256 floats) and the
// rows of B the panels pass over (256 rows: 2% faster on M-LSD than 512). Every
// SIMD driver splits K at the same places, so each output's chain of
// multiply-adds is the same on every path.
constexpr int64_t kBlockK = 256;

// What a tile driver walks: each block of K, then each panel of A in
// [panel0, panel1): tile(k0, kc, resume, last, p, rows, ap, bias6), with
// `resume` when a previous block's partial sums are in C, `last` on K's last
// block, `ap` the panel's slice for the block and bias6 its rows' bias. Inlined
// into each driver, so that the tiles stay compiled for that driver's ISA.
template <typename Tile>
__attribute__((always_inline)) inline void for_blocks_and_panels(const PackedA& a, int64_t panel0, int64_t panel1,
                                                                 const float* bias, Tile&& tile) {
  for (int64_t k0 = 0; k0 < a.k; k0 += kBlockK) {
    int64_t kc = std::min(kBlockK, a.k - k0);
    for (int64_t p = panel0; p < panel1; ++p) {
      float bias6[kPanelRows];
      int64_t rows = panel_bias(a, p, bias, bias6);
      tile(k0, kc, k0 > 0, k0 + kc == a.k, p, rows, a.panel(p) + k0 * kPanelRows, bias6);
    }
  }
}

// The two layouts of B: rows `ldb` apart with tile j at column j (plain), or
// tile j in its own zero-padded panel `panel_stride` apart with rows kTileCols apart.
#if PARE_HAVE_AVX2_KERNELS
PARE_ONE_COPY PARE_TARGET_AVX2 void gemm_tiles_avx2(const PackedA& a, int64_t panel0, int64_t panel1, const float* b, int64_t ldb,
                                      const float* const* brows, int64_t panel_stride, bool padded, int64_t n,
                                      const float* bias, const Epilogue& epilogue, float* c, int64_t ldc) {
  // Relu and Clip are applied in registers; the other epilogues over the stored
  // tile (store_tile), as in the AVX-512 tile: every form inlined in both tile
  // instances cost pare-run 5 KB.
  using K = Epilogue::Kind;
  bool vector_epilogue = epilogue.none() || (epilogue.vector_form() && !epilogue.round_trip &&
                                             (epilogue.kind == K::kRelu || epilogue.kind == K::kClip));
  EpilogueVec ev(epilogue);
  for_blocks_and_panels(a, panel0, panel1, bias, [&](int64_t k0, int64_t kc, bool resume, bool last, int64_t p,
                                                     int64_t rows, const float* ap, const float* bias6)
                                                     __attribute__((always_inline)) {
    for (int64_t j = 0; j < n; j += kTileCols) {
      int64_t cols = std::min(kTileCols, n - j);
      const float* bj = brows ? nullptr : b + j / kTileCols * panel_stride + k0 * ldb;
      const float* const* rk = brows ? brows + k0 : nullptr;
      float* cj = c + p * kPanelRows * ldc + j;
      // Full loads where B is whole or zero-padded; only the store is partial.
      if (cols == kTileCols || padded)
        tile_avx<false>(kc, ap, bj, ldb, rk, j, cols, bias6, ev, vector_epilogue, cj, ldc, rows, p * kPanelRows,
                        resume, last);
      else
        tile_avx<true>(kc, ap, bj, ldb, rk, j, cols, bias6, ev, vector_epilogue, cj, ldc, rows, p * kPanelRows,
                       resume, last);
    }
  });
}

// gemm_tiles_avx2 with three tiles at a time (then two or one at the end).
PARE_ONE_COPY PARE_TARGET_AVX512 void gemm_tiles_avx512(const PackedA& a, int64_t panel0, int64_t panel1, const float* b,
                                          int64_t ldb, const float* const* brows, int64_t panel_stride, bool padded,
                                          int64_t n, const float* bias, const Epilogue& epilogue, float* c,
                                          int64_t ldc) {
  for_blocks_and_panels(a, panel0, panel1, bias, [&](int64_t k0, int64_t kc, bool resume, bool last, int64_t p,
                                                     int64_t rows, const float* ap, const float* bias6)
                                                     __attribute__((always_inline)) {
    for (int64_t j = 0; j < n; j += kTileCols) {
      // Three tiles at a time while three remain, then two or one: a lone
      // 16-column tile has six accumulators, too few to keep both FMA units busy.
      int tiles = n - j > 2 * kTileCols ? 3 : n - j > kTileCols ? 2 : 1;
      int64_t store_cols = std::min(n - j - (tiles - 1) * kTileCols, kTileCols);
      int64_t load_cols = padded ? kTileCols : store_cols;  // zero-padded panels are read whole
      const float* bj = brows ? nullptr : b + j / kTileCols * panel_stride + k0 * ldb;
      const float* const* rk = brows ? brows + k0 : nullptr;
      float* cj = c + p * kPanelRows * ldc + j;
      // A masked load costs an FMA port's micro-op on Intel: whole tiles load
      // plainly (3% on M-LSD).
      bool masked = load_cols < kTileCols;
      auto run = [&](auto tiles_c, auto masked_c) __attribute__((always_inline)) {
        tiles_avx512<decltype(tiles_c)::value, decltype(masked_c)::value>(
            kc, ap, bj, ldb, rk, j, panel_stride, load_cols, store_cols, bias6, epilogue, cj, ldc, rows,
            p * kPanelRows, resume, last);
      };
      using T1 = std::integral_constant<int, 1>;
      using T2 = std::integral_constant<int, 2>;
      using T3 = std::integral_constant<int, 3>;
      using Yes = std::true_type;
      using No = std::false_type;
      // Only the three-tile form, where rows spend their time, has both
      // (each instance costs pare-run 2 KB).
      if (tiles == 3) masked ? run(T3{}, Yes{}) : run(T3{}, No{});
      else if (tiles == 2) run(T2{}, Yes{});
      else run(T1{}, Yes{});
      j += (tiles - 1) * kTileCols;
    }
  });
}
#endif

PARE_ONE_COPY void gemm_tiles_portable(const PackedA& a, int64_t panel0, int64_t panel1, const float* b, int64_t ldb,
                         const float* const* brows, int64_t panel_stride, int64_t n, const float* bias,
                         const Epilogue& epilogue, float* c, int64_t ldc) {
  for (int64_t p = panel0; p < panel1; ++p) {
    float bias6[kPanelRows];
    int64_t rows = panel_bias(a, p, bias, bias6);
    for (int64_t j = 0; j < n; j += kTileCols)
      tile_portable(a.k, a.panel(p), brows ? nullptr : b + j / kTileCols * panel_stride, ldb, brows, j,
                    std::min(kTileCols, n - j), bias6, epilogue, c + p * kPanelRows * ldc + j, ldc, rows,
                    p * kPanelRows);
  }
}

// B is b's rows ldb apart, or (brows not null) B's row i is brows[i] + j.
void gemm_tiles(const PackedA& a, int64_t panel0, int64_t panel1, const float* b, int64_t ldb,
                const float* const* brows, int64_t panel_stride, bool padded, int64_t n, const float* bias,
                const Epilogue& epilogue, float* c, int64_t ldc, Isa isa) {
  if (a.k == 0) {  // empty sums (a Conv over no input channels): the bias, through the epilogue
    for (int64_t r = panel0 * kPanelRows; r < std::min(a.m, panel1 * kPanelRows); ++r) {
      std::fill(c + r * ldc, c + r * ldc + n, bias ? bias[r] : 0.0f);
      epilogue.apply(c + r * ldc, n, isa, r);
    }
    return;
  }
#if PARE_HAVE_AVX2_KERNELS
  if (isa >= Isa::kAvx512)
    return gemm_tiles_avx512(a, panel0, panel1, b, ldb, brows, panel_stride, padded, n, bias, epilogue, c, ldc);
  if (isa == Isa::kAvx2Fma)
    return gemm_tiles_avx2(a, panel0, panel1, b, ldb, brows, panel_stride, padded, n, bias, epilogue, c, ldc);
#endif
  gemm_tiles_portable(a, panel0, panel1, b, ldb, brows, panel_stride, n, bias, epilogue, c, ldc);
}

}  // namespace

void packed_gemm(const PackedA& a, int64_t panel0, int64_t panel1, const float* b, int64_t ldb, int64_t n,
                 const float* bias, const Epilogue& epilogue, float* c, int64_t ldc, Isa isa) {
  gemm_tiles(a, panel0, panel1, b, ldb, nullptr, kTileCols, false, n, bias, epilogue, c, ldc, isa);
}

void packed_gemm_columns(const KernelContext& ctx, const PackedA& a, const float* b, int64_t ldb, int64_t n, float* c,
                         int64_t ldc, Isa isa) {
  constexpr int64_t kBlock = 256;
  ctx.parallel_for((n + kBlock - 1) / kBlock, [&](int64_t b0, int64_t b1) {
    int64_t j0 = b0 * kBlock, j1 = std::min(n, b1 * kBlock);
    packed_gemm(a, 0, a.panels(), b + j0, ldb, j1 - j0, nullptr, Epilogue{}, c + j0, ldc, isa);
  });
}

void packed_gemm_panels(const PackedA& a, int64_t panel0, int64_t panel1, const float* b, int64_t n,
                        const float* bias, const Epilogue& epilogue, float* c, int64_t ldc, Isa isa) {
  gemm_tiles(a, panel0, panel1, b, kTileCols, nullptr, a.k * kTileCols, true, n, bias, epilogue, c, ldc, isa);
}

void packed_gemm_rows(const PackedA& a, int64_t panel0, int64_t panel1, const float* const* rows, int64_t n,
                      const float* bias, const Epilogue& epilogue, float* c, int64_t ldc, Isa isa) {
  gemm_tiles(a, panel0, panel1, nullptr, 0, rows, kTileCols, false, n, bias, epilogue, c, ldc, isa);
}

void pack_b_panels(const float* b, int64_t ldb, int64_t k, int64_t n, float* out) {
  for (int64_t j0 = 0; j0 < n; j0 += kTileCols) {
    int64_t cols = std::min(kTileCols, n - j0);
    float* panel = out + j0 * k;
    if (cols == kTileCols) {
      // A whole panel row is a fixed-size copy the compiler turns into a few vector
      // moves; std::copy of a run length only known at run time called memmove
      // (4% of M-LSD's time, from its 1x1 convolutions).
      for (int64_t i = 0; i < k; ++i) std::memcpy(panel + i * kTileCols, b + i * ldb + j0, sizeof(float) * kTileCols);
      continue;
    }
    for (int64_t i = 0; i < k; ++i) {
      std::copy(b + i * ldb + j0, b + i * ldb + j0 + cols, panel + i * kTileCols);
      std::fill(panel + i * kTileCols + cols, panel + (i + 1) * kTileCols, 0.0f);
    }
  }
}

void gemm_reference(const float* a, int64_t m, int64_t k, int64_t lda, const float* b, int64_t ldb, int64_t n,
                    const float* bias, const Epilogue& epilogue, float* c, int64_t ldc) {
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      float acc = bias ? bias[r] : 0.0f;
      for (int64_t i = 0; i < k; ++i) acc += a[r * lda + i] * b[i * ldb + j];
      c[r * ldc + j] = epilogue.apply(acc, r);
    }
}

}  // namespace pare::rt::kernels
