// Conv, 1-D and 2-D, float32 (ConvTranspose, in conv_transpose.cc, is registered
// here with it: one family for the reduced-ops build).
//
// Attributes are validated once: group, strides, dilations, pads or auto_pad
// (NOTSET, SAME_UPPER, SAME_LOWER, VALID), kernel_shape (must match W),
// output_padding (below the stride or dilation); per-axis lists must have one
// value per spatial axis of W (checked at run time when W is computed), and a
// bias one value per output channel. 3-D convolutions are rejected at compile time.
// Conv computes, per image and group, Y_g = W_g x col(X_g), where col is the
// im2col matrix [C/g*kh*kw, OH*OW]; a 1x1, stride-1, unpadded convolution uses
// X_g itself as col (a plain GEMM), and a depthwise one (group == C == M) a
// direct loop. With constant weights (the usual case) W_g is packed once at
// compile time and the GEMM is packed_gemm_panels over blocks of pixels whose
// im2col columns (or X's, for 1x1) are written straight into a small per-thread
// buffer in the tile's column panels; with computed
// weights it is Eigen's GEMM over the whole im2col matrix. An activation the
// session fused into the Conv (init.epilogue) is applied as outputs are stored.
// Work is split over output channels (or channel rows), never over a
// reduction, so threads do not change results. MACs = |Y| * C/g * kh*kw.
#include <cstring>

#include "lib/runtime/epilogue.h"
#include "lib/runtime/epilogue_simd.h"
#include "lib/runtime/kernels/eigen_rows.h"
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/conv_geometry.h"
#include "lib/runtime/kernels/depthwise.h"
#include "lib/runtime/kernels/packed_gemm.h"
#include "lib/runtime/kernels/winograd.h"

namespace pare::rt::kernels {
namespace {

class Conv : public Kernel {
 public:
  explicit Conv(const KernelInit& init) : a_(init, false), isa_(init.isa) {
    if (init.epilogue) epilogue_ = *init.epilogue;
    const ir::Tensor* w = init.constant(1);
    // Depthwise weights (one input channel per group) are read directly.
    if (w && w->dtype() == DataType::kFloat && !(w->dims()[1] == 1 && a_.group == w->dims()[0])) {
      int64_t m = w->dims()[0], mg = m / a_.group, k = w->numel() / std::max<int64_t>(m, 1);
      winograd_ = winograd_weights(*w, a_.group, a_.strides, a_.dilations);
      if (winograd_.u.empty() && m % a_.group == 0) {
        const float* pw = w->span<float>().data();
        for (int64_t grp = 0; grp < a_.group; ++grp) {
          packed_.push_back(pack_a(pw + grp * mg * k, mg, k, k));
          group_epilogues_.push_back(epilogue_.from_channel(grp * mg));  // a fused BatchNorm's channels
        }
      }
    }
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    const TensorView& w = *ctx.input(1);
    const TensorView* b = ctx.input(2);
    check_inputs(ctx, a_, x, w);
    Geometry g = geometry(ctx, x, w);
    check_bias(ctx, b, g.m);
    std::vector<int64_t> out_dims = {g.n, g.m, g.oh, g.ow};
    if (x.rank() == 3) out_dims = {g.n, g.m, g.ow};
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, out_dims);
    const float* px = x.as<float>();
    const float* pw = w.as<float>();
    const float* pb = b ? b->as<float>() : nullptr;
    float* py = y.as<float>();
    int64_t cg = g.c / a_.group, mg = g.m / a_.group, spatial = g.oh * g.ow;
    bool depthwise = a_.group == g.c && a_.group == g.m;
    bool pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h && g.ow == g.w;
    if (!winograd_.u.empty()) return winograd_conv(ctx, g, winograd_, px, pb, epilogue_, isa_, py);  // all images
    for (int64_t n = 0; n < g.n; ++n) {
      const float* xn = px + n * g.c * g.h * g.w;
      float* yn = py + n * g.m * spatial;
      if (depthwise) {
        depthwise_conv(ctx, g, xn, pw, pb, epilogue_, isa_, yn);
      } else if (!packed_.empty()) {
        for (int64_t grp = 0; grp < a_.group; ++grp) {
          const float* xg = xn + grp * cg * g.h * g.w;
          const float* bg = pb ? pb + grp * mg : nullptr;
          const Epilogue& e = group_epilogues_[grp];
          if (!pointwise && reads_rows_in_place(g)) rows_conv(ctx, g, packed_[grp], e, xg, bg, yn + grp * mg * spatial);
          else packed_conv(ctx, g, packed_[grp], e, pointwise, xg, bg, yn + grp * mg * spatial);
        }
      } else {
        eigen_conv(ctx, g, pointwise, xn, pw, pb, yn);
      }
    }
  }

 private:
  // The pixels per block of the packed path: about 192 KB of im2col columns, so
  // that a block stays in L2 while every panel of weights passes over it. Any
  // block size gives the same results (see packed_gemm.h).
  static int64_t block_columns(int64_t k) {
    return std::clamp<int64_t>(49152 / std::max<int64_t>(k, 1) / kTileCols * kTileCols, 64, 1024);
  }

  // One group of one image on pre-packed weights. Work units are (pixel block,
  // range of weight panels); a few tasks, one per thread, each take a contiguous
  // run of units and own one im2col buffer.
  void packed_conv(const KernelContext& ctx, const Geometry& g, const PackedA& w, const Epilogue& e, bool pointwise,
                   const float* x, const float* bias, float* y) const {
    int64_t spatial = g.oh * g.ow, k = w.k, panels = w.panels();
    int64_t cols = block_columns(k), blocks = (spatial + cols - 1) / cols, threads = ctx.threads();
    int64_t chunks = blocks >= 2 * threads ? 1 : std::min(panels, (2 * threads + blocks - 1) / blocks);
    int64_t units = blocks * chunks, tasks = std::min(threads, units);
    // cols is a multiple of kTileCols: a block's panels fill its buffer exactly.
    auto* buffers = static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * tasks * k * cols));
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        float* buffer = buffers + t * k * cols;
        int64_t packed_block = -1;
        for (int64_t u = t * units / tasks; u < (t + 1) * units / tasks; ++u) {
          int64_t block = u / chunks, chunk = u % chunks;
          int64_t p0 = block * cols, p1 = std::min(spatial, p0 + cols);
          // B in column panels (packed_gemm_panels): im2col writes them directly, a
          // 1x1 convolution copies its block of X.
          if (packed_block != block) {
            if (pointwise) pack_b_panels(x + p0, spatial, k, p1 - p0, buffer);
            else im2col_block(g, k / (g.kh * g.kw), x, p0, p1, buffer);
          }
          packed_block = block;
          packed_gemm_panels(w, chunk * panels / chunks, (chunk + 1) * panels / chunks, buffer, p1 - p0, bias,
                             e, y + p0, spatial, isa_);
        }
      }
    });
  }

  // Computed weights: Eigen's GEMM over the whole im2col matrix, then the epilogue.
  void eigen_conv(const KernelContext& ctx, const Geometry& g, bool pointwise, const float* xn, const float* pw,
                  const float* pb, float* yn) const {
    int64_t cg = g.c / a_.group, mg = g.m / a_.group, k = cg * g.kh * g.kw, spatial = g.oh * g.ow;
    float* col = pointwise ? nullptr : static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * k * spatial));
    for (int64_t grp = 0; grp < a_.group; ++grp) {
      const float* xg = xn + grp * cg * g.h * g.w;
      const float* cols = xg;
      if (!pointwise) {
        im2col(ctx, g, cg, xg, col);
        cols = col;
      }
      ConstMap wg(pw + grp * mg * k, mg, k);
      float* yg = yn + grp * mg * spatial;
      // Blocks of output columns (pixels) go to different threads: each block packs
      // only its own part of the big im2col matrix (see for_row_blocks on why the
      // blocks depend on the size only).
      for_row_blocks(ctx, spatial, [&](int64_t c0, int64_t c1) {
        Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>> cm(cols + c0, k, c1 - c0, Eigen::OuterStride<>(spatial));
        Eigen::Map<RowMajor, 0, Eigen::OuterStride<>> ym(yg + c0, mg, c1 - c0, Eigen::OuterStride<>(spatial));
        // Accumulating onto the bias spares the zero fill Eigen would do and a
        // second pass over the output to add the bias.
        if (pb) {
          for (int64_t r = 0; r < mg; ++r) ym.row(r).setConstant(pb[grp * mg + r]);
          ym.noalias() += wg * cm;
        } else {
          ym.noalias() = wg * cm;
        }
        for (int64_t r = 0; r < mg; ++r) epilogue_.apply(yg + r * spatial + c0, c1 - c0, isa_, grp * mg + r);
      });
    }
  }

  // Output rows wide enough to fill the tiles (the packed path's blocks span
  // several output rows; these calls span one).
  static bool reads_rows_in_place(const Geometry& g) { return g.ow >= 32; }

  // The GEMM over the im2col matrix without writing it (packed_gemm_rows): for
  // each output row, row k = (c, ki, kj) of the matrix is input row
  // oy * sh - pt + ki * dh of channel c, from column kj * dw - pl on, every
  // sw-th column. The input rows a task reads live in a ring of `span` rows per
  // channel, copied once each with the padding columns around them; rows in
  // the top or bottom padding point at a row of zeros. With a column stride s
  // above 1, a ring row holds the input row split into its s phases (columns
  // p, p + s, p + 2s, ... for each p), so that every tap reads consecutive
  // floats of one phase (BlazeFace's and M-LSD's first convolutions went
  // through im2col, 3x slower; a copy per kernel column cost BlazeFace's
  // first layer a third of its time). The same sums in the same
  // order as packed_conv (im2col's rows and order), so the same bits, with no
  // copy of the input per kernel tap: PP-OCRv4 det's 3x3 convolutions over 96
  // channels spent more time in im2col than in the GEMM.
  void rows_conv(const KernelContext& ctx, const Geometry& g, const PackedA& w, const Epilogue& e, const float* x,
                 const float* bias, float* y) const {
    int64_t channels = w.k / (g.kh * g.kw), span = (g.kh - 1) * g.dh + 1;
    Phases ph = phases(g);
    bool phased = g.sw != 1;
    // Rows rounded up to whole cache lines, so that each starts on one: a
    // padded row (columns -pl .. -pl + width - 1), or each phase's columns.
    int64_t width = phased ? ph.width : (g.ow + (g.kw - 1) * g.dw + 15) / 16 * 16;
    int64_t per_slot = phased ? g.sw * width : width;
    int64_t tasks = std::min<int64_t>(ctx.threads(), g.oh);
    int64_t ring_floats = channels * span * per_slot, per_task = ring_floats + width;  // the ring and a zero row
    auto& scratch_ctx = const_cast<KernelContext&>(ctx);
    auto* buffers = static_cast<float*>(scratch_ctx.scratch(sizeof(float) * tasks * per_task));
    auto* pointers = static_cast<const float**>(scratch_ctx.scratch(sizeof(const float*) * tasks * w.k));
    // Where tap kj starts in its ring row, and per task where each kernel row's
    // input row lies in the ring (-1: padding), computed once: the divisions
    // in them, redone for every tap of every output row, cost BlazeFace's
    // first convolution a third of its time.
    auto* offsets = static_cast<int64_t*>(scratch_ctx.scratch(sizeof(int64_t) * (g.kw + tasks * g.kh)));
    for (int64_t kj = 0; kj < g.kw; ++kj) offsets[kj] = phased ? ph.start(g, kj) : kj * g.dw;
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        float* ring = buffers + t * per_task;
        float* zeros = ring + ring_floats;
        std::fill(zeros, zeros + width, 0.0f);
        const float** rows = pointers + t * w.k;
        std::vector<int64_t> held(static_cast<size_t>(span), std::numeric_limits<int64_t>::min());  // the input row in each ring slot
        for (int64_t oy = t * g.oh / tasks; oy < (t + 1) * g.oh / tasks; ++oy) {
          for (int64_t ki = 0; ki < g.kh; ++ki) {
            int64_t iy = oy * g.sh - g.pt + ki * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            int64_t slot = iy % span;
            if (held[slot] != iy) {
              float* dst = ring + slot * per_slot;
              if (phased) load_phases(g, ph, channels, x, iy, dst, span * per_slot);
              else load_row(g, channels, x, iy, dst, span * per_slot, width);
            }
            held[slot] = iy;
          }
          int64_t* row_at = offsets + g.kw + t * g.kh;
          for (int64_t ki = 0; ki < g.kh; ++ki) {
            int64_t iy = oy * g.sh - g.pt + ki * g.dh;
            row_at[ki] = iy < 0 || iy >= g.h ? -1 : iy % span * per_slot;
          }
          const float** row_k = rows;  // k = (c, ki, kj) in im2col's order
          for (int64_t c = 0; c < channels; ++c)
            for (int64_t ki = 0; ki < g.kh; ++ki) {
              const float* slot = row_at[ki] < 0 ? nullptr : ring + c * span * per_slot + row_at[ki];
              for (int64_t kj = 0; kj < g.kw; ++kj) *row_k++ = slot ? slot + offsets[kj] : zeros;
            }
          packed_gemm_rows(w, 0, w.panels(), rows, g.ow, bias, e, y + oy * g.ow, g.oh * g.ow, isa_);
        }
      }
    });
  }

  // Input row iy of every channel into its ring slot (channel c at ring + c *
  // stride), with the padding columns as zeros.
  static void load_row(const Geometry& g, int64_t channels, const float* x, int64_t iy, float* slot, int64_t stride,
                       int64_t width) {
    int64_t left = std::min(g.pl, width), copied = std::clamp<int64_t>(g.w, 0, width - left);
    for (int64_t c = 0; c < channels; ++c) {
      float* dst = slot + c * stride;
      std::fill(dst, dst + left, 0.0f);
      std::copy(x + (c * g.h + iy) * g.w, x + (c * g.h + iy) * g.w + copied, dst + left);
      std::fill(dst + left + copied, dst + width, 0.0f);
    }
  }

  // The phases of a row for a column stride sw above 1: tap kj reads input
  // column ox * sw + t (t = kj * dw - pl), which is column ox + b of phase p
  // (t = b * sw + p, 0 <= p < sw). Phase p's floats are input columns
  // (e - lead) * sw + p for e in [0, width) (zero outside the input), where
  // `lead` makes the most negative b land at 0; tap kj starts at
  // p * width + lead + b.
  struct Phases {
    int64_t lead = 0, width = 0;
    static std::pair<int64_t, int64_t> split(const Geometry& g, int64_t kj) {  // (b, p)
      int64_t t = kj * g.dw - g.pl, p = ((t % g.sw) + g.sw) % g.sw;
      return {(t - p) / g.sw, p};
    }
    int64_t start(const Geometry& g, int64_t kj) const {
      auto [b, p] = split(g, kj);
      return p * width + lead + b;
    }
  };
  static Phases phases(const Geometry& g) {
    Phases ph;
    if (g.sw == 1) return ph;
    int64_t lowest = 0, highest = 0;
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      int64_t b = Phases::split(g, kj).first;
      lowest = std::min(lowest, b);
      highest = std::max(highest, b);
    }
    ph.lead = -lowest;
    ph.width = (ph.lead + highest + g.ow + 15) / 16 * 16;
    return ph;
  }

  // Input row iy of every channel split into its phases (channel c at slot + c * stride).
  static void load_phases(const Geometry& g, const Phases& ph, int64_t channels, const float* x, int64_t iy,
                          float* slot, int64_t stride) {
    for (int64_t c = 0; c < channels; ++c) {
      const float* src = x + (c * g.h + iy) * g.w;
      for (int64_t p = 0; p < g.sw; ++p) {
        float* dst = slot + c * stride + p * ph.width;
        // e is inside the input for 0 <= (e - lead) * sw + p < w.
        auto [lo, hi] = strided_range(p - ph.lead * g.sw, g.sw, ph.width, g.w);
        std::fill(dst, dst + lo, 0.0f);
        for (int64_t e = lo; e < hi; ++e) dst[e] = src[(e - ph.lead) * g.sw + p];
        std::fill(dst + hi, dst + ph.width, 0.0f);
      }
    }
  }

  // dst[0, n) = src[0, n), or zeros when src is nullptr, for the runs of at most
  // 16 floats im2col_block writes: a whole panel row is a fixed-size copy that
  // the compiler turns into vector moves of the build's width, not a call to
  // memmove (masked stores would be microcoded on AMD).
  static void short_fill(float* dst, int64_t n, const float* src) {
    if (n == kTileCols) {
      if (src) std::memcpy(dst, src, sizeof(float) * kTileCols);
      else std::memset(dst, 0, sizeof(float) * kTileCols);
      return;
    }
    for (int64_t i = 0; i < n; ++i) dst[i] = src ? src[i] : 0.0f;
  }

  // Columns [p0, p1) of the im2col matrix of `channels` channels, in the column
  // panels packed_gemm_panels reads (the last one zero-padded): element (row,
  // column q - p0) at out[(q / 16) * rows * 16 + row * 16 + q % 16].
  static void im2col_block(const Geometry& g, int64_t channels, const float* x, int64_t p0, int64_t p1, float* out) {
    int64_t rows = channels * g.kh * g.kw, width = p1 - p0, padded = (width + kTileCols - 1) / kTileCols * kTileCols;
    // out index of block column q (0-based) in row r.
    auto at = [&](int64_t r, int64_t q) { return (q / kTileCols) * rows * kTileCols + r * kTileCols + q % kTileCols; };
    // Runs of columns [q0, q1) that stay inside one panel, in order.
    auto for_runs = [&](int64_t q0, int64_t q1, auto&& fn) {
      while (q0 < q1) {
        int64_t end = std::min(q1, (q0 / kTileCols + 1) * kTileCols);
        fn(q0, end);
        q0 = end;
      }
    };
    for (int64_t r = 0; r < rows; ++r) {
      int64_t c = r / (g.kh * g.kw), ki = (r / g.kw) % g.kh, kj = r % g.kw;
      const float* xc = x + c * g.h * g.w;
      auto [lo, hi] = valid_columns(g, kj);
      int64_t shift = kj * g.dw - g.pl;
      auto zeros = [&](int64_t q0, int64_t q1) {
        for_runs(q0, q1, [&](int64_t a, int64_t b) { short_fill(out + at(r, a), b - a, nullptr); });
      };
      for (int64_t p = p0; p < p1;) {
        int64_t oy = p / g.ow, ox0 = p % g.ow, ox1 = std::min(g.ow, ox0 + (p1 - p));
        int64_t q = p - p0 - ox0;  // block column of output column ox is q + ox
        int64_t iy = oy * g.sh - g.pt + ki * g.dh;
        if (iy < 0 || iy >= g.h) {
          zeros(q + ox0, q + ox1);
        } else {
          const float* xr = xc + iy * g.w;
          int64_t a = std::clamp(lo, ox0, ox1), b = std::clamp(hi, a, ox1);
          zeros(q + ox0, q + a);
          for_runs(q + a, q + b, [&](int64_t q0, int64_t q1) {
            float* dst = out + at(r, q0);
            const float* src = xr + (q0 - q) * g.sw + shift;
            if (g.sw == 1) short_fill(dst, q1 - q0, src);
            else for (int64_t i = 0; i < q1 - q0; ++i) dst[i] = src[i * g.sw];
          });
          zeros(q + b, q + ox1);
        }
        p += ox1 - ox0;
      }
      zeros(width, padded);
    }
  }


  Geometry geometry(const KernelContext& ctx, const TensorView& x, const TensorView& w) const {
    return conv_geometry(ctx, a_, x.dims, w.dims);
  }

  static void im2col(const KernelContext& ctx, const Geometry& g, int64_t channels, const float* x, float* col) {
    int64_t rows = channels * g.kh * g.kw, spatial = g.oh * g.ow;
    ctx.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t c = r / (g.kh * g.kw), ki = (r / g.kw) % g.kh, kj = r % g.kw;
        const float* xc = x + c * g.h * g.w;
        float* out = col + r * spatial;
        auto [lo, hi] = valid_columns(g, kj);
        int64_t shift = kj * g.dw - g.pl;
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          int64_t iy = oy * g.sh - g.pt + ki * g.dh;
          float* row = out + oy * g.ow;
          if (iy < 0 || iy >= g.h) {
            std::fill(row, row + g.ow, 0.0f);
            continue;
          }
          const float* xr = xc + iy * g.w;
          std::fill(row, row + lo, 0.0f);
          if (g.sw == 1) {
            std::copy(xr + lo + shift, xr + hi + shift, row + lo);
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) row[ox] = xr[ox * g.sw + shift];
          }
          std::fill(row + hi, row + g.ow, 0.0f);
        }
      }
    });
  }

  // Square 3x3 and 5x5 kernels in depthwise.cc; the others one channel at a
  // time: per output row, each kernel tap adds a scaled input row segment to the
  // row accumulator, so the inner loop is a contiguous multiply-add the compiler
  // vectorises (for stride 1; strided rows still skip all bounds checks inside
  // the loop).
  static void depthwise_conv(const KernelContext& ctx, const Geometry& g, const float* x, const float* w, const float* b,
                             const Epilogue& e, Isa isa, float* y) {
    // Mobile networks are made of these (3x3; 5x5 in PP-OCR and MobileNetV3).
    if (depthwise_square_applies(g)) return depthwise_square_conv(ctx, g, x, w, b, e, isa, y);
    ctx.parallel_for(g.c, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const float* xc = x + c * g.h * g.w;
        const float* wc = w + c * g.kh * g.kw;
        float* yc = y + c * g.oh * g.ow;
        float bias = b ? b[c] : 0.0f;
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          float* row = yc + oy * g.ow;
          std::fill(row, row + g.ow, bias);
          for (int64_t i = 0; i < g.kh; ++i) {
            int64_t iy = oy * g.sh - g.pt + i * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            const float* xr = xc + iy * g.w;
            for (int64_t j = 0; j < g.kw; ++j) {
              float wv = wc[i * g.kw + j];
              int64_t shift = j * g.dw - g.pl;  // ix = ox * sw + shift
              auto [lo, hi] = valid_columns(g, j);
              if (lo >= hi) continue;  // the tap lies in the padding for the whole row
              if (g.sw == 1) {
                const float* src = xr + shift;
                for (int64_t ox = lo; ox < hi; ++ox) row[ox] += wv * src[ox];
              } else {
                for (int64_t ox = lo; ox < hi; ++ox) row[ox] += wv * xr[ox * g.sw + shift];
              }
            }
          }
          e.apply(row, g.ow, isa, c);
        }
      }
    });
  }

  ConvAttrs a_;
  Isa isa_;  // the session's: which tile, depthwise rows and epilogue loops run
  Epilogue epilogue_;
  std::vector<Epilogue> group_epilogues_;  // epilogue_ for each group's channels (packed_ beside it)
  std::vector<PackedA> packed_;  // per group, when W is a constant
  WinogradWeights winograd_;     // instead, for the convolutions Winograd's F(4x4, 3x3) runs
};

int64_t product(const std::vector<int64_t>& v, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < v.size(); ++i) p *= v[i];
  return p;
}

int64_t conv_macs(const ir::Node&, const NodeShapes& s) {
  if (s.outputs.empty() || s.inputs.size() < 2 || s.inputs[1].size() < 3) return 0;
  return product(s.outputs[0]) * s.inputs[1][1] * product(s.inputs[1], 2);
}

// Every input element times M/group times the kernel's taps.
int64_t conv_transpose_macs(const ir::Node&, const NodeShapes& s) {
  if (s.inputs.size() < 2 || s.inputs[1].size() < 3) return 0;
  return product(s.inputs[0]) * s.inputs[1][1] * product(s.inputs[1], 2);
}

}  // namespace

std::vector<KernelDef> conv_kernels() {
  return {
      onnx_op("Conv", 1, make_kernel<Conv>, conv_macs),
      onnx_op("ConvTranspose", 1, make_conv_transpose, conv_transpose_macs),
  };
}

}  // namespace pare::rt::kernels
