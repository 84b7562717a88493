// Conv and ConvTranspose, 1-D and 2-D, float32.
//
// Attributes are validated once: group, strides, dilations, pads or auto_pad
// (NOTSET, SAME_UPPER, SAME_LOWER, VALID), kernel_shape (must match W),
// output_padding (below the stride or dilation); per-axis lists must have one
// value per spatial axis of W (checked at run time when W is computed), and a
// bias one value per output channel. 3-D convolutions are rejected at compile time.
// Conv computes, per image and group, Y_g = W_g x col(X_g) with Eigen's GEMM,
// where col is the im2col matrix [C/g*kh*kw, OH*OW]; a 1x1, stride-1, unpadded
// convolution uses X_g itself as col (a plain GEMM), and a depthwise one
// (group == C == M) a direct loop. ConvTranspose is the adjoint: col = W_g^T x X_g,
// then col2im scatters and adds into Y. Work is split over output channels (or
// channel rows), never over a reduction, so threads do not change results.
// MACs: Conv = |Y| * C/g * kh*kw; ConvTranspose = |X| * M/g * kh*kw.
#include <Eigen/Core>

#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor>;
using Map = Eigen::Map<RowMajor>;

// The geometry shared by Conv and ConvTranspose, in 2-D (1-D has H == 1).
struct ConvAttrs {
  int64_t group = 1;
  std::string auto_pad = "NOTSET";
  std::vector<int64_t> strides, dilations, pads, kernel, output_padding, output_shape;
  bool checked_against_w = false;  // W was a constant at compile time: mismatch() ran then

  explicit ConvAttrs(const KernelInit& init, bool transpose) {
    group = init.attr_int("group", 1);
    auto_pad = init.attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
      init.reject("auto_pad '" + auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    if (group < 1) init.reject("group must be at least 1");
    kernel = init.attr_ints("kernel_shape");
    strides = init.attr_ints("strides");
    dilations = init.attr_ints("dilations");
    pads = init.attr_ints("pads");
    if (transpose) {  // Conv has neither
      output_padding = init.attr_ints("output_padding");
      output_shape = init.attr_ints("output_shape");
    }
    if (const ir::Tensor* w = init.constant(1)) {
      if (w->rank() < 3 || w->rank() > 4) init.reject(fmt::format("{}-D convolutions are not supported", w->rank() - 2));
      std::string wrong = mismatch(std::vector<int64_t>(w->dims().begin() + 2, w->dims().end()));
      if (!wrong.empty()) init.reject(wrong);
      checked_against_w = true;
    }
    for (int64_t v : strides)
      if (v < 1) init.reject("strides must be positive");
    for (int64_t v : dilations)
      if (v < 1) init.reject("dilations must be positive");
    for (int64_t v : pads)
      if (v < 0) init.reject("pads must not be negative");
    // The spec's bound: output_padding only picks among the output sizes that a Conv
    // with this stride (or dilation) maps to one input size.
    for (size_t i = 0; i < output_padding.size(); ++i) {
      int64_t bound = std::max(i < strides.size() ? strides[i] : 1, i < dilations.size() ? dilations[i] : 1);
      if (output_padding[i] < 0 || output_padding[i] >= bound)
        init.reject(fmt::format("output_padding [{}] must be at least 0 and less than the stride or dilation of its axis",
                                fmt::join(output_padding, ",")));
    }
  }

  // What is wrong with the attributes for a kernel of `kernel_dims` (W's dims after
  // the first two), or "": each per-axis list is absent or has one value per
  // spatial axis (pads two), since the geometry indexes them by axis.
  std::string mismatch(const std::vector<int64_t>& kernel_dims) const {
    size_t s = kernel_dims.size();
    if (!kernel.empty() && kernel != kernel_dims)
      return fmt::format("kernel_shape [{}] does not match the weights' [{}]", fmt::join(kernel, ","),
                         fmt::join(kernel_dims, ","));
    for (const auto& [name, v, count] : {std::tuple{"strides", &strides, s}, {"dilations", &dilations, s},
                                         {"pads", &pads, 2 * s}, {"output_padding", &output_padding, s}})
      if (!v->empty() && v->size() != count)
        return fmt::format("{} must have {} values for {} spatial axes, has {}", name, count, s, v->size());
    // ConvTranspose reads the last s values: output_shape may also list N and C.
    if (!output_shape.empty() && output_shape.size() != s && output_shape.size() != s + 2)
      return fmt::format("output_shape must have {} values (or {} with N and C), has {}", s, s + 2, output_shape.size());
    return "";
  }
};

// Per-call geometry, normalised to 2-D.
struct Geometry {
  int64_t n, c, h, w;      // input
  int64_t m, kh, kw;       // output channels, kernel
  int64_t oh, ow;          // output
  int64_t sh, sw, dh, dw;  // strides, dilations
  int64_t pt, pl;          // top and left padding
};

std::vector<int64_t> or_ones(const std::vector<int64_t>& v, size_t n) {
  return v.empty() ? std::vector<int64_t>(n, 1) : v;
}

// Begin and end padding of one spatial axis for auto_pad SAME_*.
std::pair<int64_t, int64_t> same_pads(const std::string& mode, int64_t total) {
  total = std::max<int64_t>(total, 0);
  return mode == "SAME_UPPER" ? std::pair{total / 2, total - total / 2} : std::pair{total - total / 2, total / 2};
}

// Checks what the attributes alone could not: types, ranks, and the attributes
// against W when W is computed.
void check_inputs(const KernelContext& ctx, const ConvAttrs& a, const TensorView& x, const TensorView& w) {
  if (x.dtype != DataType::kFloat || w.dtype != DataType::kFloat) compute_error(ctx, "only float32 is supported");
  if (x.rank() != w.rank() || x.rank() < 3 || x.rank() > 4)
    compute_error(ctx, fmt::format("input rank {} and weight rank {} do not make a 1-D or 2-D convolution", x.rank(), w.rank()));
  if (a.checked_against_w) return;  // not again on every run
  std::string wrong = a.mismatch(std::vector<int64_t>(w.dims.begin() + 2, w.dims.end()));
  if (!wrong.empty()) compute_error(ctx, wrong);
}

// The bias, if any, holds one float per output channel (`m`).
void check_bias(const KernelContext& ctx, const TensorView* b, int64_t m) {
  if (b && (b->dtype != DataType::kFloat || b->dims != std::vector<int64_t>{m}))
    compute_error(ctx, fmt::format("the bias must be float32 [{}], one value per output channel; it is {} [{}]", m,
                                   ir::name(b->dtype), fmt::join(b->dims, ",")));
}

class Conv : public Kernel {
 public:
  explicit Conv(const KernelInit& init) : a_(init, false) {}

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
    int64_t cg = g.c / a_.group, mg = g.m / a_.group, k = cg * g.kh * g.kw, spatial = g.oh * g.ow;
    bool depthwise = a_.group == g.c && a_.group == g.m;
    bool pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h && g.ow == g.w;
    float* col = (depthwise || pointwise) ? nullptr : static_cast<float*>(ctx.scratch(sizeof(float) * k * spatial));
    for (int64_t n = 0; n < g.n; ++n) {
      const float* xn = px + n * g.c * g.h * g.w;
      float* yn = py + n * g.m * spatial;
      if (depthwise) {
        depthwise_conv(ctx, g, xn, pw, pb, yn);
        continue;
      }
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
        });
      }
    }
  }

 private:
  Geometry geometry(const KernelContext& ctx, const TensorView& x, const TensorView& w) const {
    bool one_d = x.rank() == 3;
    Geometry g{};
    g.n = x.dims[0];
    g.c = x.dims[1];
    g.h = one_d ? 1 : x.dims[2];
    g.w = x.dims.back();
    g.m = w.dims[0];
    g.kh = one_d ? 1 : w.dims[2];
    g.kw = w.dims.back();
    // Multiplied with an overflow check: a group of 2^62 must not wrap to a
    // channel count that matches (or print as a negative one).
    if (int64_t expect = 0; __builtin_mul_overflow(w.dims[1], a_.group, &expect) || expect != g.c)
      compute_error(ctx, fmt::format("weights of {} input channels per group in {} groups do not match the input's {} "
                                     "channels", w.dims[1], a_.group, g.c));
    if (g.m % a_.group != 0) compute_error(ctx, "output channels are not a multiple of group");
    size_t s = x.rank() - 2;
    auto strides = or_ones(a_.strides, s), dil = or_ones(a_.dilations, s);
    std::vector<int64_t> pads = a_.pads.empty() ? std::vector<int64_t>(2 * s, 0) : a_.pads;
    std::vector<int64_t> in = {g.h, g.w}, ker = {g.kh, g.kw}, out(2);
    std::vector<int64_t> st = one_d ? std::vector<int64_t>{1, strides[0]} : strides;
    std::vector<int64_t> di = one_d ? std::vector<int64_t>{1, dil[0]} : dil;
    std::vector<int64_t> pb = one_d ? std::vector<int64_t>{0, pads[0]} : std::vector<int64_t>{pads[0], pads[1]};
    std::vector<int64_t> pe = one_d ? std::vector<int64_t>{0, pads[1]} : std::vector<int64_t>{pads[2], pads[3]};
    for (int i = 0; i < 2; ++i) {
      int64_t extent = di[i] * (ker[i] - 1) + 1;
      if (a_.auto_pad == "SAME_UPPER" || a_.auto_pad == "SAME_LOWER") {
        out[i] = (in[i] + st[i] - 1) / st[i];
        auto [b, e] = same_pads(a_.auto_pad, (out[i] - 1) * st[i] + extent - in[i]);
        pb[i] = b;
        pe[i] = e;
      } else {
        if (a_.auto_pad == "VALID") pb[i] = pe[i] = 0;
        out[i] = (in[i] + pb[i] + pe[i] - extent) / st[i] + 1;
      }
      if (out[i] < 1) compute_error(ctx, "the kernel is larger than the padded input");
    }
    g.oh = out[0];
    g.ow = out[1];
    g.sh = st[0];
    g.sw = st[1];
    g.dh = di[0];
    g.dw = di[1];
    g.pt = pb[0];
    g.pl = pb[1];
    return g;
  }

  // The valid output columns of one kernel column: those whose input column
  // ox*sw - pl + kj*dw lies in [0, w). Outside them im2col writes zeros.
  static std::pair<int64_t, int64_t> valid_columns(const Geometry& g, int64_t kj) {
    int64_t shift = kj * g.dw - g.pl;  // ix = ox * sw + shift
    if (g.w - 1 - shift < 0) return {0, 0};
    int64_t lo = shift >= 0 ? 0 : (-shift + g.sw - 1) / g.sw;
    int64_t hi = std::min(g.ow, (g.w - 1 - shift) / g.sw + 1);
    lo = std::min(lo, g.ow);
    return {lo, std::max(lo, hi)};
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

  // One channel at a time; per output row, each kernel tap adds a scaled input row
  // segment to the row accumulator, so the inner loop is a contiguous
  // multiply-add the compiler vectorises (for stride 1; strided rows still skip
  // all bounds checks inside the loop).
  static void depthwise_conv(const KernelContext& ctx, const Geometry& g, const float* x, const float* w, const float* b,
                             float* y) {
    if (g.kh == g.kw && (g.kw == 3 || g.kw == 5) && g.dh == 1 && g.dw == 1 && g.sh == g.sw &&
        (g.sw == 1 || g.sw == 2)) {
      // Mobile networks are made of these (3x3; 5x5 in PP-OCR and MobileNetV3):
      // one pass per output row.
      auto* zeros = static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * (g.w + 2 * g.kw)));
      std::fill(zeros, zeros + g.w + 2 * g.kw, 0.0f);
      ctx.parallel_for(g.c, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          const float* xc = x + c * g.h * g.w;
          float* yc = y + c * g.oh * g.ow;
          float bias = b ? b[c] : 0.0f;
          const float* wc = w + c * g.kh * g.kw;
          if (g.kw == 3) {
            if (g.sw == 1) depthwise_square<3, 1>(g, xc, wc, bias, yc, zeros);
            else depthwise_square<3, 2>(g, xc, wc, bias, yc, zeros);
          } else {
            if (g.sw == 1) depthwise_square<5, 1>(g, xc, wc, bias, yc, zeros);
            else depthwise_square<5, 2>(g, xc, wc, bias, yc, zeros);
          }
        }
      });
      return;
    }
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
              int64_t lo = shift >= 0 ? 0 : (-shift + g.sw - 1) / g.sw;
              int64_t hi = std::min(g.ow, (g.w - 1 - shift) / g.sw + 1);
              if (g.w - 1 - shift < 0) continue;
              if (g.sw == 1) {
                const float* src = xr + shift;
                for (int64_t ox = lo; ox < hi; ++ox) row[ox] += wv * src[ox];
              } else {
                for (int64_t ox = lo; ox < hi; ++ox) row[ox] += wv * xr[ox * g.sw + shift];
              }
            }
          }
        }
      }
    });
  }

  // KxK depthwise, stride S: rows outside the input read a row of zeros, so the
  // interior columns are one branch-free, vectorisable pass of K*K products
  // (summed in the same order as the general loop: bias, then row by row);
  // only the border columns check their bounds.
  template <int K, int S>
  static void depthwise_square(const Geometry& g, const float* xc, const float* w, float bias, float* yc,
                               const float* zeros) {
    int64_t lo = std::min(g.ow, (g.pl + S - 1) / S);  // first ox with ox*S - pl >= 0
    int64_t hi = g.w - K + g.pl < 0 ? 0 : std::min(g.ow, (g.w - K + g.pl) / S + 1);  // ox*S - pl + K-1 <= w - 1
    hi = std::max(hi, lo);
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const float* r[K];
      for (int i = 0; i < K; ++i) {
        int64_t iy = oy * S - g.pt + i;
        r[i] = iy >= 0 && iy < g.h ? xc + iy * g.w : zeros;
      }
      float* row = yc + oy * g.ow;
      for (int64_t ox = lo; ox < hi; ++ox) {
        int64_t ix = ox * S - g.pl;
        float acc = bias;
        for (int i = 0; i < K; ++i)
          for (int j = 0; j < K; ++j) acc += w[i * K + j] * r[i][ix + j];
        row[ox] = acc;
      }
      auto border = [&](int64_t ox) {
        float acc = bias;
        for (int i = 0; i < K; ++i)
          for (int j = 0; j < K; ++j) {
            int64_t ix = ox * S - g.pl + j;
            if (ix >= 0 && ix < g.w) acc += w[i * K + j] * r[i][ix];
          }
        row[ox] = acc;
      };
      for (int64_t ox = 0; ox < lo; ++ox) border(ox);
      for (int64_t ox = hi; ox < g.ow; ++ox) border(ox);
    }
  }

  ConvAttrs a_;
};

class ConvTranspose : public Kernel {
 public:
  explicit ConvTranspose(const KernelInit& init) : a_(init, true) {}

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
    float* col = static_cast<float*>(ctx.scratch(sizeof(float) * k * spatial));
    const float* px = x.as<float>();
    const float* pw = w.as<float>();
    float* py = y.as<float>();
    for (int64_t img = 0; img < n; ++img) {
      for (int64_t grp = 0; grp < a_.group; ++grp) {
        ConstMap wg(pw + grp * cg * k, cg, k);
        ConstMap xg(px + (img * c + grp * cg) * spatial, cg, spatial);
        for_row_blocks(ctx, k, [&](int64_t r0, int64_t r1) {
          Map cm(col + r0 * spatial, r1 - r0, spatial);
          cm.noalias() = wg.middleCols(r0, r1 - r0).transpose() * xg;
        });
        float* yg = py + (img * m + grp * mg) * oh * ow;
        // col2im: each output channel is written by one thread only.
        ctx.parallel_for(mg, [&](int64_t m0, int64_t m1) {
          for (int64_t oc = m0; oc < m1; ++oc) {
            float* yc = yg + oc * oh * ow;
            std::fill(yc, yc + oh * ow, b ? b->as<float>()[grp * mg + oc] : 0.0f);
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const float* cr = col + ((oc * kh + i) * kw + j) * spatial;
                for (int64_t iy = 0; iy < h; ++iy) {
                  int64_t oy = iy * sh - pt + i * dh;
                  if (oy < 0 || oy >= oh) continue;
                  for (int64_t ix = 0; ix < wd; ++ix) {
                    int64_t ox = ix * sw - pl + j * dw;
                    if (ox >= 0 && ox < ow) yc[oy * ow + ox] += cr[iy * wd + ix];
                  }
                }
              }
          }
        });
      }
    }
  }

 private:
  ConvAttrs a_;
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

int64_t conv_transpose_macs(const ir::Node&, const NodeShapes& s) {
  if (s.inputs.size() < 2 || s.inputs[1].size() < 3) return 0;
  return product(s.inputs[0]) * s.inputs[1][1] * product(s.inputs[1], 2);
}

}  // namespace

std::vector<KernelDef> conv_kernels() {
  return {
      {"", "Conv", 1, kLatestOpset, [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Conv>(i); }, conv_macs},
      {"", "ConvTranspose", 1, kLatestOpset,
       [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<ConvTranspose>(i); }, conv_transpose_macs},
  };
}

}  // namespace pare::rt::kernels
