#include "lib/runtime/kernels/winograd.h"

#include <algorithm>
#include <cstring>

namespace pare::rt::kernels {

namespace {

constexpr int64_t kTile = 4;    // outputs per tile side
constexpr int64_t kPoints = 6;  // inputs per tile side (kTile + 3 - 1)

// G, the weights' transform (6x3): interpolation at 0, -1, 1, -2, 2 and infinity.
constexpr double kG[kPoints][3] = {{1.0 / 4, 0, 0},
                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                   {0, 0, 1}};

// Four floats in one vector of the build's instruction set (SSE on x86-64,
// NEON on aarch64), by GCC's vector extension: each operation is the IEEE one
// per lane, never fused (this file is built with -ffp-contract=off), so every
// build computes the same values. Loads and stores go through memcpy: any
// alignment. (The transforms in AVX2's 8 lanes measured no faster: they wait
// on memory, not arithmetic.)
typedef float V4 __attribute__((vector_size(16)));
constexpr int64_t kLanes = 4;

inline V4 load(const float* p) {
  V4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, V4 v) { std::memcpy(p, &v, sizeof v); }

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// B^T applied to six values d_k = d[k * ds + u], for u in [0, n) rounded up to
// whole vectors: t[i * ts + u] = (B^T d)_i. With `phases`, d holds a row in
// four phases (d[p * ds + u] = column 4u + p) and tile u's six columns are
// phases 0-3 at u and phases 0-1 at u + 1.
template <bool kPhases>
void input_transform(const float* d, int64_t ds, float* t, int64_t ts, int64_t n) {
  const V4 two = V4{} + 2.0f, four = V4{} + 4.0f, five = V4{} + 5.0f;
  for (int64_t u = 0; u < n; u += kLanes) {
    V4 d0 = load(d + u), d1 = load(d + ds + u), d2 = load(d + 2 * ds + u), d3 = load(d + 3 * ds + u);
    V4 d4 = kPhases ? load(d + u + 1) : load(d + 4 * ds + u);
    V4 d5 = kPhases ? load(d + ds + u + 1) : load(d + 5 * ds + u);
    store(t + u, (four * d0 - five * d2) + d4);
    store(t + ts + u, (d3 + d4) - four * (d1 + d2));
    store(t + 2 * ts + u, four * (d1 - d2) + (d4 - d3));
    store(t + 3 * ts + u, two * (d3 - d1) + (d4 - d2));
    store(t + 4 * ts + u, two * (d1 - d3) + (d4 - d2));
    store(t + 5 * ts + u, (four * d1 - five * d3) + d5);
  }
}

// A^T applied to six values m_k = m[k * ms + u], u in [0, n) rounded up to
// whole vectors: o[r * os + u] = (A^T m)_r.
void output_transform(const float* m, int64_t ms, float* o, int64_t os, int64_t n) {
  const V4 two = V4{} + 2.0f, four = V4{} + 4.0f, eight = V4{} + 8.0f;
  for (int64_t u = 0; u < n; u += kLanes) {
    V4 m0 = load(m + u), m1 = load(m + ms + u), m2 = load(m + 2 * ms + u), m3 = load(m + 3 * ms + u),
       m4 = load(m + 4 * ms + u), m5 = load(m + 5 * ms + u);
    V4 s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    store(o + u, (m0 + s12) + s34);
    store(o + os + u, d12 + two * d34);
    store(o + 2 * os + u, s12 + four * s34);
    store(o + 3 * os + u, (d12 + eight * d34) + m5);
  }
}

// out[k] = row[first + k] for k in [lo, hi) and zero elsewhere (the padding;
// row is read only there), for k < n: copied in vectors (a memcpy call, or
// the `rep movsb` -Os makes of it, cost a third of the transform on rows this
// short). transform_inputs copies all six rows before splitting any: a
// vector load over stores still in the store buffer waits for them (building
// the padded groups in place, just before their loads, made M-LSD's
// transforms 1.5x slower).
void padded_row(const float* row, int64_t first, int64_t lo, int64_t hi, int64_t n, float* out) {
  std::fill(out, out + lo, 0.0f);
  int64_t k = lo;
  for (; k + kLanes <= hi; k += kLanes) store(out + k, load(row + first + k));
  for (; k < hi; ++k) out[k] = row[first + k];
  std::fill(out + hi, out + n, 0.0f);
}

// q[p * qs + u] = row[4u + p] for p < 4 and u < nu: a transpose of 4-column
// rows (moves only, so every path gives the same values).
void split_phases(const float* row, int64_t nu, float* q, int64_t qs) {
  int64_t u = 0;
  for (; u + kLanes <= nu; u += kLanes) {
    V4 a = load(row + 4 * u), b = load(row + 4 * u + 4), c = load(row + 4 * u + 8),
       d = load(row + 4 * u + 12);
    // Rows a-d are tiles u..u+3; the columns are the phases.
    V4 ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5), ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    V4 cd_lo = __builtin_shufflevector(c, d, 0, 4, 1, 5), cd_hi = __builtin_shufflevector(c, d, 2, 6, 3, 7);
    store(q + u, __builtin_shufflevector(ab_lo, cd_lo, 0, 1, 4, 5));
    store(q + qs + u, __builtin_shufflevector(ab_lo, cd_lo, 2, 3, 6, 7));
    store(q + 2 * qs + u, __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 4, 5));
    store(q + 3 * qs + u, __builtin_shufflevector(ab_hi, cd_hi, 2, 3, 6, 7));
  }
  for (; u < nu; ++u)
    for (int64_t p = 0; p < 4; ++p) q[p * qs + u] = row[4 * u + p];
}

// row[x] = q[(x % 4) * qs + x / 4] + bias for x < n: split_phases undone.
void join_phases(const float* q, int64_t qs, float bias, int64_t n, float* row) {
  int64_t u = 0;
  V4 vb = V4{} + bias;
  for (; 4 * u + 16 <= n; u += kLanes) {
    V4 a = load(q + u), b = load(q + qs + u), c = load(q + 2 * qs + u), d = load(q + 3 * qs + u);
    V4 ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5), ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    V4 cd_lo = __builtin_shufflevector(c, d, 0, 4, 1, 5), cd_hi = __builtin_shufflevector(c, d, 2, 6, 3, 7);
    store(row + 4 * u, __builtin_shufflevector(ab_lo, cd_lo, 0, 1, 4, 5) + vb);
    store(row + 4 * u + 4, __builtin_shufflevector(ab_lo, cd_lo, 2, 3, 6, 7) + vb);
    store(row + 4 * u + 8, __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 4, 5) + vb);
    store(row + 4 * u + 12, __builtin_shufflevector(ab_hi, cd_hi, 2, 3, 6, 7) + vb);
  }
  for (int64_t x = 4 * u; x < n; ++x) row[x] = q[(x % 4) * qs + x / 4] + bias;
}

// Blocks of tiles: `rows` whole tile rows, or, for rows too wide, pieces of
// `cols` tiles of one tile row. Within a block, the tiles of its r-th tile
// row are the GEMM columns r * (cols + 1) + u: one spare column per tile row, so that a row's last tile
// can read phases at u + 1 and every transform runs over one contiguous span
// of columns. A block's transformed inputs and products (36 values per column
// and channel each) take about 2 MB at most: each of the 36 GEMMs reads only
// its own slice, so the whole need not stay in L2. Among the row counts that
// fit, the one wasting least of the GEMM tile's 16-column panels.
struct Blocking {
  int64_t tiles_y, tiles_x, rows, cols, blocks_y, blocks_x;
  int64_t blocks() const { return blocks_y * blocks_x; }
  int64_t stride() const { return cols + 1; }  // columns per tile row
  // Floats per row of the buffers: whole vectors past the last column read.
  int64_t ld() const { return round_up(rows * stride() + 1, 16); }
};

Blocking blocking(const Geometry& g, int threads) {
  constexpr int64_t kBudget = 2 << 20;
  Blocking b{};
  b.tiles_y = (g.oh + kTile - 1) / kTile;
  b.tiles_x = (g.ow + kTile - 1) / kTile;
  int64_t most = std::clamp<int64_t>(kBudget / (kWinogradPoints * 4 * (g.c + g.m)), 16, 128);
  b.rows = 1;
  if (b.tiles_x + 1 <= most) {
    b.cols = b.tiles_x;
    // At least two blocks per thread where the rows allow, so threads share the work.
    int64_t limit = std::min(most / b.stride(), std::max<int64_t>(1, b.tiles_y / (2 * threads)));
    double best = 0;
    for (int64_t r = 1; r <= limit; ++r) {
      double use = static_cast<double>(r * b.tiles_x) / static_cast<double>(round_up(r * b.stride(), 16));
      if (use >= best) best = use, b.rows = r;
    }
  } else {
    int64_t pieces = (b.tiles_x + most - 1) / most;
    b.cols = round_up((b.tiles_x + pieces - 1) / pieces, 16) - 1;
  }
  b.blocks_y = (b.tiles_y + b.rows - 1) / b.rows;
  b.blocks_x = (b.tiles_x + b.cols - 1) / b.cols;
  return b;
}

// One thread's buffers, rows ld floats long. v: the 36 GEMM operands
// [channels][ld]; mm: the 36 products [m][ld]; phased and vert: one input
// channel's six input rows in phases, before and after B^T down the columns
// ([6][4][ld]); z and out: one output channel's after A^T along the rows
// ([4][6][ld]) and down the columns ([4][4][ld]); rows: six zero-padded
// input rows.
struct Buffers {
  float *v, *mm, *phased, *vert, *z, *out, *rows;
  int64_t ld, row_len;
  // Floats from one GEMM operand (or product) to the next: whole rows and a
  // cache line more, so that the 36 values of one tile and channel, written or
  // read together, do not all fall in one L1 set (rows of 64 or 96 channels
  // make operands 4 KB multiples apart: PP-OCRv4 det's ran 2.5x slower).
  int64_t v_step, mm_step;
  int64_t floats = 0;  // in all, from p on

  // The buffers from p on (with p null, only their sizes: `floats`).
  Buffers(float* p, const Geometry& g, const Blocking& b)
      : ld(b.ld()), row_len(round_up(kTile * b.stride(), 16)), v_step(g.c * ld + 16), mm_step(g.m * ld + 16) {
    auto take = [&](int64_t n) {
      float* at = p ? p + floats : nullptr;
      floats += n;
      return at;
    };
    v = take(kWinogradPoints * v_step);
    mm = take(kWinogradPoints * mm_step);
    phased = take(kPoints * 4 * ld);
    vert = take(kPoints * 4 * ld);
    z = take(4 * kPoints * ld);
    out = take(kTile * 4 * ld);
    rows = take(kPoints * row_len);
  }
  // Zeros where a transform or the GEMM reads floats nothing wrote yet: the
  // operands' spare columns past a span and the phase rows' slack (they are
  // computed over and never used, and must not hold NaNs or subnormals, slow
  // to multiply). The products are written before they are read.
  void clear() const {
    std::fill(v, mm, 0.0f);
    std::fill(phased, rows + kPoints * row_len, 0.0f);
  }
};

// Tile rows [r0, r1), tiles [tx0, tx1) of each.
struct Block {
  int64_t r0, r1, tx0, tx1;
  int64_t across() const { return tx1 - tx0; }
};

Block block_at(const Blocking& b, int64_t index) {
  int64_t by = index / b.blocks_x, bx = index % b.blocks_x;
  return {by * b.rows, std::min(b.tiles_y, (by + 1) * b.rows), bx * b.cols, std::min(b.tiles_x, (bx + 1) * b.cols)};
}

// The block's tiles of every input channel, transformed into the GEMM
// operands. Per channel: each tile row's six input rows (zero outside the
// input) split into four phases (column 4u + p at phase p, column u), B^T down
// the columns over every tile row and phase at once, then B^T along the rows
// into the 36 operands: every loop reads and writes consecutive floats.
void transform_inputs(const Geometry& g, const float* x, const Block& blk, const Blocking& b, const Buffers& s) {
  int64_t nu = blk.across() + 1, width = kTile * nu, span = (blk.r1 - blk.r0) * b.stride();
  int64_t ix0 = blk.tx0 * kTile - g.pl;  // the input column of the block's first
  // The block's columns inside the input: [lo, hi), as ix0 + column.
  int64_t lo = std::clamp<int64_t>(-ix0, 0, width), hi = std::clamp<int64_t>(g.w - ix0, lo, width);
  for (int64_t ic = 0; ic < g.c; ++ic) {
    const float* xc = x + ic * g.h * g.w;
    for (int64_t ty = blk.r0; ty < blk.r1; ++ty) {
      int64_t f0 = (ty - blk.r0) * b.stride();
      // The six input rows, through zero-padded copies where the block
      // reaches into the padding (all copied before any is split).
      const float* rows[kPoints];
      for (int64_t r = 0; r < kPoints; ++r) {
        int64_t iy = ty * kTile - g.pt + r;
        rows[r] = nullptr;
        if (iy < 0 || iy >= g.h) continue;
        rows[r] = xc + iy * g.w + ix0;
        if (lo > 0 || hi < width) {
          float* copy = s.rows + r * s.row_len;
          padded_row(xc + iy * g.w, ix0, lo, hi, width, copy);
          rows[r] = copy;
        }
      }
      for (int64_t r = 0; r < kPoints; ++r) {
        float* q = s.phased + r * 4 * s.ld + f0;
        if (rows[r]) {
          split_phases(rows[r], nu, q, s.ld);
        } else {
          for (int64_t p = 0; p < 4; ++p) std::fill(q + p * s.ld, q + p * s.ld + nu, 0.0f);
        }
      }
    }
    input_transform<false>(s.phased, 4 * s.ld, s.vert, 4 * s.ld, 4 * s.ld);
    for (int64_t i = 0; i < kPoints; ++i)
      input_transform<true>(s.vert + i * 4 * s.ld, s.ld, s.v + i * kPoints * s.v_step + ic * s.ld, s.v_step, span);
  }
}

// Output channel oc of the block from the products s.mm: A^T along the rows,
// then down the columns, plus the bias, into y; then the epilogue over the
// block's outputs.
void transform_outputs(const Geometry& g, int64_t oc, float bias, const Block& blk, const Blocking& b,
                       const Buffers& s, const Epilogue& e, Isa isa, float* y) {
  int64_t span = (blk.r1 - blk.r0) * b.stride(), ld = s.ld;
  int64_t ox0 = blk.tx0 * kTile, ox1 = std::min(g.ow, blk.tx1 * kTile);
  float* yc = y + oc * g.oh * g.ow;
  // z[(c * 6 + i) * ld + f]: row i of the tile at column f after A^T along the row.
  for (int64_t i = 0; i < kPoints; ++i)
    output_transform(s.mm + i * kPoints * s.mm_step + oc * ld, s.mm_step, s.z + i * ld, kPoints * ld, span);
  // out[(r * 4 + c) * ld + f]: output (r, c) of the tile at column f, so that
  // output row r of a tile row is in four phases ld apart.
  for (int64_t c = 0; c < kTile; ++c) output_transform(s.z + c * kPoints * ld, ld, s.out + c * ld, kTile * ld, span);
  for (int64_t ty = blk.r0; ty < blk.r1; ++ty)
    for (int64_t r = 0; r < kTile && ty * kTile + r < g.oh; ++r)
      join_phases(s.out + r * kTile * ld + (ty - blk.r0) * b.stride(), ld, bias, ox1 - ox0,
                  yc + (ty * kTile + r) * g.ow + ox0);
  int64_t oy0 = blk.r0 * kTile, oy1 = std::min(g.oh, blk.r1 * kTile);
  if (ox0 == 0 && ox1 == g.ow) {
    e.apply(yc + oy0 * g.ow, (oy1 - oy0) * g.ow, isa, oc);
  } else {
    for (int64_t oy = oy0; oy < oy1; ++oy) e.apply(yc + oy * g.ow + ox0, ox1 - ox0, isa, oc);
  }
}

}  // namespace

bool winograd_applies(int64_t group, int64_t c, int64_t m, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                      int64_t dh, int64_t dw) {
  return group == 1 && kh == 3 && kw == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && c >= 16 && m >= 16;
}

namespace {

// U = G g G^T for each output and input channel of w ([m, c, 3, 3]).
WinogradWeights winograd_pack(const float* w, int64_t m, int64_t c) {
  WinogradWeights out;
  std::vector<float> u(static_cast<size_t>(kWinogradPoints * m * c));
  for (int64_t oc = 0; oc < m; ++oc)
    for (int64_t ic = 0; ic < c; ++ic) {
      const float* k = w + (oc * c + ic) * 9;
      double gk[kPoints][3];  // G g
      for (int64_t i = 0; i < kPoints; ++i)
        for (int64_t b = 0; b < 3; ++b)
          gk[i][b] = kG[i][0] * k[b] + kG[i][1] * k[3 + b] + kG[i][2] * k[6 + b];
      for (int64_t i = 0; i < kPoints; ++i)
        for (int64_t j = 0; j < kPoints; ++j) {
          double v = gk[i][0] * kG[j][0] + gk[i][1] * kG[j][1] + gk[i][2] * kG[j][2];
          u[static_cast<size_t>(((i * kPoints + j) * m + oc) * c + ic)] = static_cast<float>(v);
        }
    }
  for (int64_t p = 0; p < kWinogradPoints; ++p) out.u.push_back(pack_a(u.data() + p * m * c, m, c, c));
  return out;
}

}  // namespace

WinogradWeights winograd_weights(const ir::Tensor& w, int64_t group, const std::vector<int64_t>& strides,
                                 const std::vector<int64_t>& dilations) {
  if (w.rank() != 4 || w.dtype() != DataType::kFloat) return {};
  auto s = or_ones(strides, 2), d = or_ones(dilations, 2);
  if (!winograd_applies(group, w.dims()[1], w.dims()[0], w.dims()[2], w.dims()[3], s[0], s[1], d[0], d[1])) return {};
  return winograd_pack(w.span<float>().data(), w.dims()[0], w.dims()[1]);
}

void winograd_conv(const KernelContext& ctx, const Geometry& g, const WinogradWeights& w, const float* x,
                   const float* bias, const Epilogue& e, Isa isa, float* y) {
  Blocking b = blocking(g, ctx.threads());
  int64_t tasks = std::min<int64_t>(ctx.threads(), b.blocks());
  int64_t per_task = Buffers(nullptr, g, b).floats;
  auto* scratch = static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * tasks * per_task));
  for (int64_t t = 0; t < tasks; ++t) Buffers(scratch + t * per_task, g, b).clear();
  // Image by image, through the same buffers (scratch lasts until the kernel returns).
  for (int64_t image = 0; image < g.n; ++image) {
    const float* xi = x + image * g.c * g.h * g.w;
    float* yi = y + image * g.m * g.oh * g.ow;
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        Buffers s(scratch + t * per_task, g, b);
        for (int64_t index = t * b.blocks() / tasks; index < (t + 1) * b.blocks() / tasks; ++index) {
          Block blk = block_at(b, index);
          // Whole 16-column panels (the tile's loads unmasked): the columns past
          // the span are spare, computed and never read.
          int64_t columns = round_up((blk.r1 - blk.r0) * b.stride(), 16);
          transform_inputs(g, xi, blk, b, s);
          for (int64_t p = 0; p < kWinogradPoints; ++p) {
            const PackedA& u = w.u[static_cast<size_t>(p)];
            packed_gemm(u, 0, u.panels(), s.v + p * s.v_step, s.ld, columns, nullptr, Epilogue{},
                        s.mm + p * s.mm_step, s.ld, isa);
          }
          for (int64_t oc = 0; oc < g.m; ++oc)
            transform_outputs(g, oc, bias ? bias[oc] : 0.0f, blk, b, s, e, isa, yi);
        }
      }
    });
  }
}

}  // namespace pare::rt::kernels
