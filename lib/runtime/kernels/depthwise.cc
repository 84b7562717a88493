#include "lib/runtime/kernels/depthwise.h"

#include <algorithm>
#include <cstring>

#include "lib/runtime/epilogue_simd.h"

namespace pare::rt::kernels {

namespace {

// Outputs summed at once per row pass: 4 vectors of 16 (AVX-512), 8 (AVX2), or
// 16 scalars in the portable loop.
constexpr int64_t kGroup = 64;

// The padded rows of one channel: input column ix at row[ix + pl]; zeros around.
struct PaddedRows {
  float* data;
  int64_t width;  // floats per row
  const float* row(int64_t iy) const { return data + iy * width; }
};

// Width of a padded row: every load of a whole group of outputs from output
// column 0 to the last group's end stays inside it.
int64_t padded_width(const Geometry& g, int64_t k, int64_t s) {
  int64_t groups_end = (g.ow + kGroup - 1) / kGroup * kGroup;
  return (groups_end * s + k + 32 + 15) / 16 * 16;
}

// The rows of one channel into buffers whose padding columns are zero from
// the first channel on (zero_rows once per buffer): only the data is copied.
void pad_channel(const Geometry& g, const float* xc, PaddedRows p) {
  int64_t left = std::min(g.pl, p.width), copied = std::clamp<int64_t>(g.w, 0, p.width - left);
  for (int64_t iy = 0; iy < g.h; ++iy) std::memcpy(p.data + iy * p.width + left, xc + iy * g.w, sizeof(float) * copied);
}

void zero_rows(const Geometry& g, PaddedRows p) { std::fill(p.data, p.data + (g.h + 1) * p.width, 0.0f); }

// R output rows computed together: the first reads input rows top + i, the
// next top + step + i, ... for taps i in [i0, i1).
struct RowPass {
  int64_t top, step;
  int i0, i1;
};

// The input rows output row oy reads: taps i in [i0, i1).
std::pair<int, int> tap_rows(const Geometry& g, int k, int64_t oy) {
  int64_t top = oy * g.sh - g.pt;
  int i0 = static_cast<int>(std::clamp<int64_t>(-top, 0, k)), i1 = static_cast<int>(std::clamp<int64_t>(g.h - top, 0, k));
  return {i0, std::max(i0, i1)};
}

// The portable row: kGroup outputs at a time in an array the compiler
// vectorises (stride 1), with separate multiplies and adds.
template <int K, int S>
void row_portable_one(const PaddedRows& p, int64_t top, int i0, int i1, const float* w, float bias, int64_t ow,
                      float* out) {
  for (int64_t ox0 = 0; ox0 < ow; ox0 += kGroup) {
    float acc[kGroup];
    for (int64_t o = 0; o < kGroup; ++o) acc[o] = bias;
    for (int i = i0; i < i1; ++i) {
      const float* r = p.row(top + i) + ox0 * S;
      for (int j = 0; j < K; ++j) {
        float wv = w[i * K + j];
        for (int64_t o = 0; o < kGroup; ++o) acc[o] += wv * r[o * S + j];
      }
    }
    std::memcpy(out + ox0, acc, sizeof(float) * std::min(kGroup, ow - ox0));
  }
}

template <int K, int S, int R>
void row_portable(const PaddedRows& p, const RowPass& rows, const float* w, float bias, int64_t ow, float* out) {
  for (int q = 0; q < R; ++q)
    row_portable_one<K, S>(p, rows.top + q * rows.step, rows.i0, rows.i1, w, bias, ow, out + q * ow);
}

#if PARE_HAVE_AVX2_KERNELS
// Eight outputs of stride S from r[0], r[S], ...: stride 2 loads 16 and keeps the even ones.
template <int S>
PARE_TARGET_AVX2 inline __m256 load8(const float* r) {
  if constexpr (S == 1) {
    return _mm256_loadu_ps(r);
  } else {
    __m256 even = _mm256_shuffle_ps(_mm256_loadu_ps(r), _mm256_loadu_ps(r + 8), _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
  }
}

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
        const float* r = p.row(rows.top + q * rows.step + i) + ox0 * S + j;
        for (int v = 0; v < V; ++v) acc[q][v] = _mm256_fmadd_ps(wv, load8<S>(r + v * 8 * S), acc[q][v]);
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
  int64_t ox0 = 0;
  for (; ox0 + 32 <= ow; ox0 += 32) group_avx2<K, S, 4, R>(p, rows, w, bias, ox0, ow, out);
  if (ow - ox0 > 16) group_avx2<K, S, 4, R>(p, rows, w, bias, ox0, ow, out);
  else if (ow - ox0 > 8) group_avx2<K, S, 2, R>(p, rows, w, bias, ox0, ow, out);
  else if (ow - ox0 > 0) group_avx2<K, S, 1, R>(p, rows, w, bias, ox0, ow, out);
}

// Sixteen outputs of stride S: stride 2 takes the even lanes of two loads.
template <int S>
PARE_TARGET_AVX512 inline __m512 load16(const float* r) {
  if constexpr (S == 1) {
    return _mm512_loadu_ps(r);
  } else {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(r), even, _mm512_loadu_ps(r + 16));
  }
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
        const float* r = p.row(rows.top + q * rows.step + i) + ox0 * S + j;
        for (int v = 0; v < V; ++v) acc[q][v] = _mm512_fmadd_ps(wv, load16<S>(r + v * 16 * S), acc[q][v]);
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
  for (; ox0 + 64 <= ow; ox0 += 64) group_avx512<K, S, 4, R>(p, rows, w, bias, ox0, ow, out);
  if (ow - ox0 > 32) group_avx512<K, S, 4, R>(p, rows, w, bias, ox0, ow, out);
  else if (ow - ox0 > 16) group_avx512<K, S, 2, R>(p, rows, w, bias, ox0, ow, out);
  else if (ow - ox0 > 0) group_avx512<K, S, 1, R>(p, rows, w, bias, ox0, ow, out);
}
#endif

template <int K, int S, int R>
void rows_of(const PaddedRows& p, const RowPass& rows, const float* w, float bias, Isa isa, int64_t ow, float* out) {
#if PARE_HAVE_AVX2_KERNELS
  if (isa >= Isa::kAvx512) return row_avx512<K, S, R>(p, rows, w, bias, ow, out);
  if (has_avx2(isa)) return row_avx2<K, S, R>(p, rows, w, bias, ow, out);
#endif
  row_portable<K, S, R>(p, rows, w, bias, ow, out);
}

// Two output rows at a time where both read all K input rows (twice the
// independent chains: a 64-wide row alone left half the FMA slots idle), one
// at a time at the top and bottom edges.
template <int K, int S>
void channel(const Geometry& g, const PaddedRows& p, const float* w, float bias, const Epilogue& e, int64_t c,
             Isa isa, float* yc) {
  for (int64_t oy = 0; oy < g.oh;) {
    auto [i0, i1] = tap_rows(g, K, oy);
    RowPass rows{oy * g.sh - g.pt, g.sh, i0, i1};
    float* out = yc + oy * g.ow;
    bool pair = oy + 1 < g.oh && i0 == 0 && i1 == K && tap_rows(g, K, oy + 1) == std::pair<int, int>{0, K};
    if (pair) rows_of<K, S, 2>(p, rows, w, bias, isa, g.ow, out);
    else rows_of<K, S, 1>(p, rows, w, bias, isa, g.ow, out);
    int64_t done = pair ? 2 : 1;
    for (int64_t q = 0; q < done; ++q) e.apply(out + q * g.ow, g.ow, isa, c);
    oy += done;
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
  // One channel's padded rows per task, plus a row of slack past the last.
  int64_t per_task = (g.h + 1) * width;
  auto* buffers = static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * tasks * per_task));
  ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      PaddedRows p{buffers + t * per_task, width};
      zero_rows(g, p);
      for (int64_t c = t * g.c / tasks; c < (t + 1) * g.c / tasks; ++c) {
        pad_channel(g, x + c * g.h * g.w, p);
        const float* wc = w + c * g.kh * g.kw;
        float bias = b ? b[c] : 0.0f;
        float* yc = y + c * g.oh * g.ow;
        if (g.kw == 3) {
          if (g.sw == 1) channel<3, 1>(g, p, wc, bias, e, c, isa, yc);
          else channel<3, 2>(g, p, wc, bias, e, c, isa, yc);
        } else {
          if (g.sw == 1) channel<5, 1>(g, p, wc, bias, e, c, isa, yc);
          else channel<5, 2>(g, p, wc, bias, e, c, isa, yc);
        }
      }
    }
  });
}

}  // namespace pare::rt::kernels
