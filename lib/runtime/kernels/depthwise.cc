#include "lib/runtime/kernels/depthwise.h"

#include <algorithm>
#include <cstring>

#include "lib/runtime/epilogue_simd.h"

namespace pare::rt::kernels {

namespace {

// The widest group of outputs summed at once (four AVX-512 vectors): the
// padded rows leave room for its loads past the last output.
constexpr int64_t kGroup = 64;

// The padded rows of one channel, `width` floats per input row: the padded row
// (input column ix at ix + pl, zeros around) for a column stride of 1; for a
// stride of 2 its even and odd columns as two rows of width / 2, so that every
// tap reads consecutive floats (no permutes in the loop, which took the FMA port).
struct PaddedRows {
  float* data;
  int64_t width;
  int64_t first = 0;  // the input row at data: the rows of one band of output rows are held
  // Where tap j of output column 0 reads in input row iy.
  template <int S>
  const float* tap(int64_t iy, int j) const {
    const float* r = data + (iy - first) * width;
    return S == 1 ? r + j : r + (j % 2) * (width / 2) + j / 2;
  }
};

// Floats per input row: every whole-vector load of a group of outputs up to the
// last group's end, and every row copy with its 16-float overshoot, stay inside.
int64_t padded_width(const Geometry& g, int64_t k, int64_t s) {
  int64_t groups_end = (g.ow + kGroup - 1) / kGroup * kGroup;
  auto lines = [](int64_t n) { return (n + 15) / 16 * 16; };
  if (s == 1) return lines(std::max(groups_end + k, g.pl + g.w + 16) + 16);
  return 2 * lines(std::max(groups_end + k, (g.pl + g.w) / 2 + 2) + 16);
}

// Output rows per band: the input rows a band reads are copied into a buffer
// that stays in L1 (copying a whole 160x160 channel first, then reading it back,
// cost more than the 3x3 arithmetic).
constexpr int64_t kBand = 16;

int64_t band_rows(const Geometry& g) { return (kBand - 1) * g.sh + g.kh; }

#if PARE_HAVE_AVX2_KERNELS
// evens[k] = src[2k], odds[k] = src[2k + 1] for whole vectors of pairs; returns
// the first k left to the scalar loop (a stride-2 layer copies four times its
// output: scalar, the copy took longer than the arithmetic).
PARE_TARGET_AVX512 int64_t split_columns_avx512(const float* src, int64_t n, float* evens, float* odds) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  int64_t k = 0;
  for (; 2 * k + 32 <= n; k += 16) {
    __m512 a = _mm512_loadu_ps(src + 2 * k), b = _mm512_loadu_ps(src + 2 * k + 16);
    _mm512_storeu_ps(evens + k, _mm512_permutex2var_ps(a, even, b));
    _mm512_storeu_ps(odds + k, _mm512_permutex2var_ps(a, odd, b));
  }
  return k;
}

PARE_TARGET_AVX2 int64_t split_columns_avx2(const float* src, int64_t n, float* evens, float* odds) {
  int64_t k = 0;
  for (; 2 * k + 16 <= n; k += 8) {
    __m256 a = _mm256_loadu_ps(src + 2 * k), b = _mm256_loadu_ps(src + 2 * k + 8);
    // Within each 128-bit lane, then the lanes in order.
    __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    _mm256_storeu_ps(evens + k, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0))));
    _mm256_storeu_ps(odds + k, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0))));
  }
  return k;
}
#endif

// Input rows [lo, hi) of one channel into the band buffer, whose padding is zero
// from the first band on (zero_rows once per buffer): only the data positions
// are written, the same for every row. Stride 1 copies in fixed 16-float
// pieces, which compile to vector moves (a memcpy call per row cost more than a
// 20-wide row's arithmetic), then puts back the zeros the last piece overwrote;
// rows whose pieces would read past the channel's end (its last rows) are
// copied exactly, as nothing may be read after it.
// Stride 2 splits each row into its even and odd columns.
template <int S>
void copy_rows(const Geometry& g, const float* xc, int64_t lo, int64_t hi, Isa isa, PaddedRows& p) {
  p.first = lo;
  for (int64_t iy = lo; iy < hi; ++iy) {
    const float* src = xc + iy * g.w;
    float* row = p.data + (iy - lo) * p.width;
    if constexpr (S == 1) {
      float* dst = row + g.pl;
      if (iy * g.w + (g.w + 15) / 16 * 16 > g.h * g.w) {  // the pieces would read past the channel
        std::memcpy(dst, src, sizeof(float) * g.w);
        continue;
      }
      for (int64_t i = 0; i < g.w; i += 16) std::memcpy(dst + i, src + i, sizeof(float) * 16);
      std::memset(dst + g.w, 0, sizeof(float) * 16);
    } else {
      // Input column ix is padded column ix + pl, in half (ix + pl) % 2 at
      // (ix + pl) / 2: the even input columns go to one half, the odd ones to the other.
      int64_t half = p.width / 2, parity = g.pl % 2;
      float* evens = row + parity * half + g.pl / 2;
      float* odds = row + (1 - parity) * half + (g.pl + 1) / 2;
      int64_t k = 0;
#if PARE_HAVE_AVX2_KERNELS
      if (isa >= Isa::kAvx512) k = split_columns_avx512(src, g.w, evens, odds);
      else if (has_avx2(isa)) k = split_columns_avx2(src, g.w, evens, odds);
#endif
      for (; 2 * k < g.w; ++k) {
        evens[k] = src[2 * k];
        if (2 * k + 1 < g.w) odds[k] = src[2 * k + 1];
      }
    }
  }
}

void zero_rows(const Geometry& g, PaddedRows p) { std::fill(p.data, p.data + (band_rows(g) + 1) * p.width, 0.0f); }

// R output rows computed together: the first reads input rows top + i, the
// next top + step + i, ... for taps i in [i0, i1).
struct RowPass {
  int64_t top, step;
  int i0, i1;
  RowPass row(int q) const { return {top + q * step, step, i0, i1}; }  // the q-th row alone
};

// The input rows output row oy reads: taps i in [i0, i1).
std::pair<int, int> tap_rows(const Geometry& g, int k, int64_t oy) {
  int64_t top = oy * g.sh - g.pt;
  int i0 = static_cast<int>(std::clamp<int64_t>(-top, 0, k)), i1 = static_cast<int>(std::clamp<int64_t>(g.h - top, 0, k));
  return {i0, std::max(i0, i1)};
}

// The portable row: 16 outputs at a time in an array the compiler vectorises,
// with separate multiplies and adds (a group of 64 unrolled to 5 KB of pare-run).
template <int K, int S>
void row_portable_one(const PaddedRows& p, const RowPass& rows, const float* w, float bias, int64_t ow, float* out) {
  constexpr int64_t kPortable = 16;
  for (int64_t ox0 = 0; ox0 < ow; ox0 += kPortable) {
    float acc[kPortable];
    for (int64_t o = 0; o < kPortable; ++o) acc[o] = bias;
    for (int i = rows.i0; i < rows.i1; ++i)
      for (int j = 0; j < K; ++j) {
        const float* r = p.tap<S>(rows.top + i, j) + ox0;
        float wv = w[i * K + j];
        for (int64_t o = 0; o < kPortable; ++o) acc[o] += wv * r[o];
      }
    std::memcpy(out + ox0, acc, sizeof(float) * std::min(kPortable, ow - ox0));
  }
}

template <int K, int S, int R>
void row_portable(const PaddedRows& p, const RowPass& rows, const float* w, float bias, int64_t ow, float* out) {
  for (int q = 0; q < R; ++q)
    row_portable_one<K, S>(p, rows.row(q), w, bias, ow, out + q * ow);
}

#if PARE_HAVE_AVX2_KERNELS
// R output rows (tops `rows.step` input rows apart, outputs ow apart) times V
// vectors: R * V independent chains.
template <int K, int S, int V, int R>
PARE_TARGET_AVX2 void group_avx2(const PaddedRows& p, const RowPass& rows, const float* w, float bias, int64_t ox0,
                                 int64_t ow, float* out) {
  __m256 acc[R][V];
  for (int q = 0; q < R; ++q)
    for (int v = 0; v < V; ++v) acc[q][v] = _mm256_set1_ps(bias);
  for (int i = rows.i0; i < rows.i1; ++i)
    for (int j = 0; j < K; ++j) {
      __m256 wv = _mm256_set1_ps(w[i * K + j]);
      for (int q = 0; q < R; ++q) {
        const float* r = p.tap<S>(rows.top + q * rows.step + i, j) + ox0;
        for (int v = 0; v < V; ++v) acc[q][v] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(r + v * 8), acc[q][v]);
      }
    }
  for (int q = 0; q < R; ++q)
    for (int v = 0; v < V; ++v) {
      int64_t n = ow - ox0 - v * 8;
      float* o = out + q * ow + ox0 + v * 8;
      if (n >= 8) {
        _mm256_storeu_ps(o, acc[q][v]);
      } else if (n > 0) {
        alignas(32) float tail[8];
        _mm256_store_ps(tail, acc[q][v]);
        std::memcpy(o, tail, sizeof(float) * n);
      }
    }
}

template <int K, int S, int R>
PARE_TARGET_AVX2 void row_avx2(const PaddedRows& p, const RowPass& rows, const float* w, float bias, int64_t ow,
                               float* out) {
  // Four vectors at a time, the last group storing only the outputs that exist
  // (its loads stay inside the padded rows): one instance per shape (pare-run's size).
  for (int64_t ox0 = 0; ox0 < ow; ox0 += 32) group_avx2<K, S, 4, R>(p, rows, w, bias, ox0, ow, out);
}

template <int K, int S, int V, int R>
PARE_TARGET_AVX512 void group_avx512(const PaddedRows& p, const RowPass& rows, const float* w, float bias,
                                     int64_t ox0, int64_t ow, float* out) {
  __m512 acc[R][V];
  for (int q = 0; q < R; ++q)
    for (int v = 0; v < V; ++v) acc[q][v] = _mm512_set1_ps(bias);
  for (int i = rows.i0; i < rows.i1; ++i)
    for (int j = 0; j < K; ++j) {
      __m512 wv = _mm512_set1_ps(w[i * K + j]);
      for (int q = 0; q < R; ++q) {
        const float* r = p.tap<S>(rows.top + q * rows.step + i, j) + ox0;
        for (int v = 0; v < V; ++v) acc[q][v] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(r + v * 16), acc[q][v]);
      }
    }
  for (int q = 0; q < R; ++q)
    for (int v = 0; v < V; ++v) {
      int64_t n = ow - ox0 - v * 16;
      float* o = out + q * ow + ox0 + v * 16;
      if (n >= 16) _mm512_storeu_ps(o, acc[q][v]);
      else if (n > 0) _mm512_mask_storeu_ps(o, static_cast<__mmask16>((1u << n) - 1), acc[q][v]);
    }
}

template <int K, int S, int R>
PARE_TARGET_AVX512 void row_avx512(const PaddedRows& p, const RowPass& rows, const float* w, float bias, int64_t ow,
                                   float* out) {
  int64_t ox0 = 0;
  for (; ow - ox0 > 32; ox0 += 64) group_avx512<K, S, 4, R>(p, rows, w, bias, ox0, ow, out);
  for (; ox0 < ow; ox0 += 16) group_avx512<K, S, 1, R>(p, rows, w, bias, ox0, ow, out);
}
#endif

template <int K, int S, int R>
void rows_of(const PaddedRows& p, const RowPass& rows, const float* w, float bias, Isa isa, int64_t ow, float* out) {
#if PARE_HAVE_AVX2_KERNELS
  // Pairs of rows for stride 1 only: a network has one strided depthwise
  // layer per stage, and their pairs would cost pare-run 6 KB.
  if (isa >= Isa::kAvx512 && (S == 1 || R == 1)) return row_avx512<K, S, R>(p, rows, w, bias, ow, out);
  if (isa >= Isa::kAvx512) {
    for (int q = 0; q < R; ++q)
      row_avx512<K, S, 1>(p, rows.row(q), w, bias, ow, out + q * ow);
    return;
  }
  // AVX2 rows one at a time: their pairs cost pare-run 15 KB.
  if (has_avx2(isa)) {
    for (int q = 0; q < R; ++q)
      row_avx2<K, S, 1>(p, rows.row(q), w, bias, ow, out + q * ow);
    return;
  }
#endif
  row_portable<K, S, R>(p, rows, w, bias, ow, out);
}

// Two output rows at a time where both read all K input rows (twice the
// independent chains: a 64-wide row alone left half the FMA slots idle), one
// at a time at the top and bottom edges.
template <int K, int S>
void channel(const Geometry& g, const float* xc, PaddedRows& p, const float* w, float bias, const Epilogue& e,
             int64_t c, Isa isa, float* yc) {
  for (int64_t band = 0; band < g.oh; band += kBand) {
    int64_t end = std::min(g.oh, band + kBand);
    int64_t lo = std::clamp<int64_t>(band * g.sh - g.pt, 0, g.h);
    int64_t hi = std::clamp<int64_t>((end - 1) * g.sh - g.pt + K, lo, g.h);
    copy_rows<S>(g, xc, lo, hi, isa, p);
    for (int64_t oy = band; oy < end;) {
      auto [i0, i1] = tap_rows(g, K, oy);
      RowPass rows{oy * g.sh - g.pt, g.sh, i0, i1};
      float* out = yc + oy * g.ow;
      bool pair = oy + 1 < end && i0 == 0 && i1 == K && tap_rows(g, K, oy + 1) == std::pair<int, int>{0, K};
      if (pair) rows_of<K, S, 2>(p, rows, w, bias, isa, g.ow, out);
      else rows_of<K, S, 1>(p, rows, w, bias, isa, g.ow, out);
      oy += pair ? 2 : 1;
    }
    // The band's rows are contiguous: one epilogue call for all of them (per
    // row, PP-OCRv4 rec's eight-step epilogues on 12-wide rows cost more than
    // the 5x5 sums).
    e.apply(yc + band * g.ow, (end - band) * g.ow, isa, c);
  }
}

}  // namespace

bool depthwise_square_applies(const Geometry& g) {
  return g.kh == g.kw && (g.kw == 3 || g.kw == 5) && g.dh == 1 && g.dw == 1 && (g.sw == 1 || g.sw == 2) &&
         g.sh >= 1 && g.pl >= 0 && g.pt >= 0;
}

void depthwise_square_conv(const KernelContext& ctx, const Geometry& g, const float* x, const float* w,
                           const float* b, const Epilogue& e, Isa isa, float* y) {
  int64_t width = padded_width(g, g.kw, g.sw), tasks = std::min<int64_t>(ctx.threads(), g.c);
  // One band's padded rows per task, plus a row of slack past the last.
  int64_t per_task = (band_rows(g) + 1) * width;
  auto* buffers = static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * tasks * per_task));
  ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      PaddedRows p{buffers + t * per_task, width};
      zero_rows(g, p);
      for (int64_t c = t * g.c / tasks; c < (t + 1) * g.c / tasks; ++c) {
        const float* xc = x + c * g.h * g.w;
        const float* wc = w + c * g.kh * g.kw;
        float bias = b ? b[c] : 0.0f;
        float* yc = y + c * g.oh * g.ow;
        if (g.kw == 3) {
          if (g.sw == 1) channel<3, 1>(g, xc, p, wc, bias, e, c, isa, yc);
          else channel<3, 2>(g, xc, p, wc, bias, e, c, isa, yc);
        } else {
          if (g.sw == 1) channel<5, 1>(g, xc, p, wc, bias, e, c, isa, yc);
          else channel<5, 2>(g, xc, p, wc, bias, e, c, isa, yc);
        }
      }
    }
  });
}

}  // namespace pare::rt::kernels
