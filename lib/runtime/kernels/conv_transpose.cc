// ConvTranspose, float32, 1-D and 2-D: the GEMM of W's columns and the input
// (W^T [M/group * kh * kw, C/group] times X [C/group, H * W]), then each
// column row added where its tap lands in the output (col2im). Constant
// weights are packed once for the packed GEMM; weights computed at run time
// take Eigen's. Built with -Os (cmake/size.cmake): its time is the GEMM's, in
// packed_gemm.cc, and the scatter's memory traffic.
#include "lib/runtime/epilogue.h"
#include "lib/runtime/kernels/conv_geometry.h"
#include "lib/runtime/kernels/eigen_rows.h"
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/packed_gemm.h"

namespace pare::rt::kernels {
namespace {

class ConvTranspose : public Kernel {
 public:
  // Constant weights are packed once, per group, as the GEMM's A: W's group
  // block [cg, k] transposed to [k, cg] (k = mg * kh * kw).
  explicit ConvTranspose(const KernelInit& init) : a_(init, true), isa_(init.isa) {
    const ir::Tensor* w = init.constant(1);
    if (!w || w->dtype() != DataType::kFloat || w->dims().size() < 3 || w->numel() == 0 || w->dims()[0] % a_.group)
      return;  // Eigen's path (empty weights: the bias alone)
    int64_t cg = w->dims()[0] / a_.group, k = w->numel() / std::max<int64_t>(w->dims()[0], 1);
    const float* pw = w->span<float>().data();
    std::vector<float> transposed(static_cast<size_t>(k * cg));
    for (int64_t grp = 0; grp < a_.group; ++grp) {
      for (int64_t i = 0; i < cg; ++i)
        for (int64_t r = 0; r < k; ++r) transposed[r * cg + i] = pw[(grp * cg + i) * k + r];
      packed_.push_back(pack_a(transposed.data(), k, cg, cg));
    }
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    const TensorView& w = *ctx.input(1);
    const TensorView* b = ctx.input(2);
    check_inputs(ctx, a_, x, w);
    bool one_d = x.rank() == 3;
    size_t s = x.rank() - 2;
    int64_t n = x.dims[0], c = x.dims[1], h = one_d ? 1 : x.dims[2], wd = x.dims.back();
    int64_t mg = w.dims[1], m = 0, kh = one_d ? 1 : w.dims[2], kw = w.dims.back();
    if (__builtin_mul_overflow(mg, a_.group, &m))
      compute_error(ctx, fmt::format("{} output channels per group in {} groups overflow int64", mg, a_.group));
    if (w.dims[0] != c) compute_error(ctx, fmt::format("weights expect {} input channels, the input has {}", w.dims[0], c));
    check_bias(ctx, b, m);
    auto st = or_ones(a_.strides, s), di = or_ones(a_.dilations, s);
    std::vector<int64_t> op = a_.output_padding.empty() ? std::vector<int64_t>(s, 0) : a_.output_padding;
    std::vector<int64_t> pads = a_.pads.empty() ? std::vector<int64_t>(2 * s, 0) : a_.pads;
    std::vector<int64_t> in = one_d ? std::vector<int64_t>{wd} : std::vector<int64_t>{h, wd};
    std::vector<int64_t> ker = one_d ? std::vector<int64_t>{kw} : std::vector<int64_t>{kh, kw};
    std::vector<int64_t> out(s), pb(s);
    for (size_t i = 0; i < s; ++i) {
      int64_t full = st[i] * (in[i] - 1) + op[i] + (ker[i] - 1) * di[i] + 1;
      if (!a_.output_shape.empty() || a_.auto_pad == "SAME_UPPER" || a_.auto_pad == "SAME_LOWER") {
        int64_t target = !a_.output_shape.empty() ? a_.output_shape[a_.output_shape.size() - s + i] : in[i] * st[i];
        // The spec puts the odd padding at the end only for SAME_UPPER.
        auto [b0, e0] = same_pads(a_.auto_pad == "SAME_UPPER" ? "SAME_UPPER" : "SAME_LOWER", full - target);
        out[i] = target;
        pb[i] = b0;
      } else {
        if (a_.auto_pad == "VALID") pads.assign(2 * s, 0);
        out[i] = full - pads[i] - pads[s + i];
        pb[i] = pads[i];
      }
      if (out[i] < 1) compute_error(ctx, "the output would be empty");
    }
    int64_t oh = one_d ? 1 : out[0], ow = out.back();
    int64_t sh = one_d ? 1 : st[0], sw = st.back(), dh = one_d ? 1 : di[0], dw = di.back();
    int64_t pt = one_d ? 0 : pb[0], pl = pb.back();
    std::vector<int64_t> out_dims = one_d ? std::vector<int64_t>{n, m, ow} : std::vector<int64_t>{n, m, oh, ow};
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, out_dims);
    int64_t cg = c / a_.group, k = mg * kh * kw, spatial = h * wd;
    // Taps that never meet in one output (a 2x2 upsampling at stride 2) take
    // the blocked path; the others the whole column matrix.
    bool disjoint = !packed_.empty() && (kh - 1) * dh < sh && (kw - 1) * dw < sw;
    float* col = disjoint ? nullptr : static_cast<float*>(ctx.scratch(sizeof(float) * k * spatial));
    const float* px = x.as<float>();
    const float* pw = w.as<float>();
    float* py = y.as<float>();
    for (int64_t img = 0; img < n; ++img) {
      for (int64_t grp = 0; grp < a_.group; ++grp) {
        const float* xg = px + (img * c + grp * cg) * spatial;
        if (disjoint) {
          Geometry t{1, cg, h, wd, mg, kh, kw, oh, ow, sh, sw, dh, dw, pt, pl};
          disjoint_taps(ctx, packed_[grp], t, xg, b ? b->as<float>() + grp * mg : nullptr,
                        py + (img * m + grp * mg) * oh * ow);
          continue;
        }
        if (!packed_.empty()) {
          // The packed GEMM (AVX-512 or AVX2 tiles) instead of Eigen's, which
          // the portable build compiles for SSE: PP-OCRv4 det's 2x2 upsampling
          // spent 2.9 of its 6.4 ms there. Blocks of pixels over threads.
          packed_gemm_columns(ctx, packed_[grp], xg, spatial, spatial, col, spatial, isa_);
        } else {
          ConstMap wg(pw + grp * cg * k, cg, k);
          ConstMap xm(xg, cg, spatial);
          for_row_blocks(ctx, k, [&](int64_t r0, int64_t r1) {
            Map cm(col + r0 * spatial, r1 - r0, spatial);
            cm.noalias() = wg.middleCols(r0, r1 - r0).transpose() * xm;
          });
        }
        float* yg = py + (img * m + grp * mg) * oh * ow;
        // col2im: each output channel is written by one thread only, an
        // output row at a time (it stays in L1 while every tap adds to it;
        // a pass per tap over the whole channel took as long as the GEMM),
        // each element's taps in (i, j) order as before.
        ctx.parallel_for(mg, [&](int64_t m0, int64_t m1) {
          for (int64_t oc = m0; oc < m1; ++oc) {
            float* yc = yg + oc * oh * ow;
            float bias = b ? b->as<float>()[grp * mg + oc] : 0.0f;
            for (int64_t oy = 0; oy < oh; ++oy) {
              float* yr = yc + oy * ow;
              std::fill(yr, yr + ow, bias);
              for (int64_t i = 0; i < kh; ++i) {
                int64_t t = oy + pt - i * dh;  // = iy * sh
                if (t < 0 || t % sh != 0 || t / sh >= h) continue;
                int64_t iy = t / sh;
                for (int64_t j = 0; j < kw; ++j) {
                  const float* xr = col + ((oc * kh + i) * kw + j) * spatial + iy * wd;
                  // The input columns whose output column lies inside, then no test per column.
                  int64_t shift = j * dw - pl;
                  auto [lo, hi] = strided_range(shift, sw, wd, ow);
                  for (int64_t ix = lo; ix < hi; ++ix) yr[ix * sw + shift] += xr[ix];
                }
              }
            }
          }
        });
      }
    }
  }

 private:
  // Each output takes at most one tap: the outputs start as the bias, then
  // blocks of input rows go through the GEMM into a buffer that stays in L2
  // and are added where they land (bias + tap, as the column path computes
  // it). Blocks over threads write disjoint output rows. Writing the whole
  // column matrix (9.8 MB for PP-OCRv4 det's first upsampling) and reading it
  // back cost as much as the multiplies.
  // `t` is one group's geometry (t.m its output channels, t.c its input channels).
  void disjoint_taps(const KernelContext& ctx, const PackedA& wp, const Geometry& t, const float* x, const float* bias,
                     float* y) const {
    int64_t k = wp.m, mg = t.m, rows = std::max<int64_t>(1, 512 / t.w);
    int64_t blocks = (t.h + rows - 1) / rows, tasks = std::min<int64_t>(ctx.threads(), blocks);
    // When the taps tile the output (kernel = stride, no padding, as in a 2x2
    // upsampling), every output is bias + its one tap, written once; else the
    // outputs start as the bias and taps are added.
    bool tiled = t.kh == t.sh && t.kw == t.sw && t.pt == 0 && t.pl == 0 && t.oh == t.h * t.sh && t.ow == t.w * t.sw;
    if (!tiled)
      for (int64_t oc = 0; oc < mg; ++oc) std::fill(y + oc * t.oh * t.ow, y + (oc + 1) * t.oh * t.ow, bias ? bias[oc] : 0.0f);
    auto* buffers = static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * tasks * k * rows * t.w));
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      for (int64_t task = t0; task < t1; ++task) {
        float* col = buffers + task * k * rows * t.w;
        for (int64_t blk = task * blocks / tasks; blk < (task + 1) * blocks / tasks; ++blk) {
          int64_t iy0 = blk * rows, iy1 = std::min(t.h, iy0 + rows), n = (iy1 - iy0) * t.w;
          packed_gemm(wp, 0, wp.panels(), x + iy0 * t.w, t.h * t.w, n, nullptr, Epilogue{}, col, n, isa_);
          // Row (oc, i, j) of the block's columns lands in output row
          // iy * sh - pt + i * dh; an output row's taps j follow each other
          // (the row stays in L1).
          for (int64_t r0 = 0; r0 < k; r0 += t.kw) {
            int64_t oc = r0 / (t.kh * t.kw), i = r0 / t.kw % t.kh;
            float b = bias ? bias[oc] : 0.0f;
            for (int64_t iy = iy0; iy < iy1; ++iy) {
              int64_t oy = iy * t.sh - t.pt + i * t.dh;
              if (oy < 0 || oy >= t.oh) continue;
              float* yr = y + (oc * t.oh + oy) * t.ow;
              for (int64_t j = 0; j < t.kw; ++j) {
                const float* cr = col + (r0 + j) * n + (iy - iy0) * t.w;
                int64_t shift = j * t.dw - t.pl;
                auto [lo, hi] = strided_range(shift, t.sw, t.w, t.ow);
                if (tiled) for (int64_t ix = lo; ix < hi; ++ix) yr[ix * t.sw + shift] = b + cr[ix];
                else for (int64_t ix = lo; ix < hi; ++ix) yr[ix * t.sw + shift] += cr[ix];
              }
            }
          }
        }
      }
    });
  }

  ConvAttrs a_;
  Isa isa_;
  std::vector<PackedA> packed_;  // per group, when W is a constant
};

}  // namespace

std::unique_ptr<Kernel> make_conv_transpose(const KernelInit& init) { return std::make_unique<ConvTranspose>(init); }

}  // namespace pare::rt::kernels
