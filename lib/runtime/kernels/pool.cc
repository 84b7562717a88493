// Pooling, float32: MaxPool, AveragePool (1-D and 2-D), GlobalAveragePool,
// GlobalMaxPool.
//
// Windows follow the ONNX rules: pads or auto_pad, strides, dilations (MaxPool),
// ceil_mode (a last window must start inside the input or its begin padding),
// count_include_pad (AveragePool). MaxPool's optional Indices output and
// storage_order=1 are rejected at compile time. Work is split over (n, c) planes.
#include <cmath>
#include <limits>

#include "lib/runtime/kernels/conv_geometry.h"
#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

class Pool : public Kernel {
 public:
  Pool(const KernelInit& init, bool max) : max_(max) {
    kernel_ = init.attr_ints("kernel_shape");
    strides_ = init.attr_ints("strides");
    pads_ = init.attr_ints("pads");
    dilations_ = init.attr_ints("dilations");
    auto_pad_ = init.attr_string("auto_pad", "NOTSET");
    ceil_ = init.attr_int("ceil_mode", 0) != 0;
    include_pad_ = init.attr_int("count_include_pad", 0) != 0;
    size_t s = kernel_.size();
    if (s == 0 || s > 2) init.reject("kernel_shape must have 1 or 2 dims");
    // Each list is absent (its default) or has a value per spatial axis (pads: a
    // begin and an end); compute() indexes them by axis and divides by strides.
    auto check = [&](const char* name, const std::vector<int64_t>& v, size_t count, int64_t min) {
      if (!v.empty() && v.size() != count)
        init.reject(fmt::format("{} must have {} values for {} spatial axes, has {}", name, count, s, v.size()));
      for (int64_t x : v)
        if (x < min) init.reject(fmt::format("{} must be at least {}, got [{}]", name, min, fmt::join(v, ",")));
    };
    check("kernel_shape", kernel_, s, 1);
    check("strides", strides_, s, 1);
    check("dilations", dilations_, s, 1);
    check("pads", pads_, 2 * s, 0);
    if (max && init.node.outputs().size() > 1 && init.node.output(1)) init.reject("the Indices output is not supported");
    if (init.attr_int("storage_order", 0) != 0) init.reject("storage_order=1 is not supported");
    if (auto_pad_ != "NOTSET" && auto_pad_ != "VALID" && auto_pad_ != "SAME_UPPER" && auto_pad_ != "SAME_LOWER")
      init.reject("unknown auto_pad '" + auto_pad_ + "'");
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    size_t s = kernel_.size();
    if (x.dtype != DataType::kFloat || x.rank() != s + 2) compute_error(ctx, "input must be float32 [N, C, spatial]");
    bool one_d = s == 1;
    int64_t n = x.dims[0], c = x.dims[1], h = one_d ? 1 : x.dims[2], w = x.dims.back();
    std::vector<int64_t> in = {h, w};
    std::vector<int64_t> k = one_d ? std::vector<int64_t>{1, kernel_[0]} : kernel_;
    auto ones = [&](const std::vector<int64_t>& v) {
      if (v.empty()) return std::vector<int64_t>{1, 1};
      return one_d ? std::vector<int64_t>{1, v[0]} : v;
    };
    std::vector<int64_t> st = ones(strides_), di = ones(dilations_);
    std::vector<int64_t> pb(2, 0), pe(2, 0), out(2);
    if (!pads_.empty()) {
      pb = one_d ? std::vector<int64_t>{0, pads_[0]} : std::vector<int64_t>{pads_[0], pads_[1]};
      pe = one_d ? std::vector<int64_t>{0, pads_[1]} : std::vector<int64_t>{pads_[2], pads_[3]};
    }
    for (int i = 0; i < 2; ++i) {
      int64_t extent = di[i] * (k[i] - 1) + 1;
      if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") {
        out[i] = (in[i] + st[i] - 1) / st[i];
        int64_t total = std::max<int64_t>(0, (out[i] - 1) * st[i] + extent - in[i]);
        pb[i] = auto_pad_ == "SAME_UPPER" ? total / 2 : total - total / 2;
        pe[i] = total - pb[i];
      } else {
        if (auto_pad_ == "VALID") pb[i] = pe[i] = 0;
        int64_t span = in[i] + pb[i] + pe[i] - extent;
        out[i] = (ceil_ ? (span + st[i] - 1) / st[i] : span / st[i]) + 1;
        if (ceil_ && (out[i] - 1) * st[i] >= in[i] + pb[i]) --out[i];
      }
      if (out[i] < 1) compute_error(ctx, "the pooling window is larger than the padded input");
    }
    std::vector<int64_t> out_dims = one_d ? std::vector<int64_t>{n, c, out[1]} : std::vector<int64_t>{n, c, out[0], out[1]};
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, out_dims);
    const float* px = x.as<float>();
    float* py = y.as<float>();
    // ys[oy, ox] = window(xs, oy, ox) over every output position of every plane.
    auto each_output = [&](auto window) {
      ctx.parallel_for(n * c, [&](int64_t b, int64_t e) {
        for (int64_t plane = b; plane < e; ++plane) {
          const float* xs = px + plane * h * w;
          float* ys = py + plane * out[0] * out[1];
          for (int64_t oy = 0; oy < out[0]; ++oy)
            for (int64_t ox = 0; ox < out[1]; ++ox) ys[oy * out[1] + ox] = window(xs, oy, ox);
        }
      });
    };
    if (max_ && di[0] == 1 && di[1] == 1) {
      int64_t planes = n * c, tasks = std::min<int64_t>(ctx.threads(), planes);
      auto* rows = static_cast<float*>(ctx.scratch(sizeof(float) * tasks * h * out[1]));
      ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
          for (int64_t plane = t * planes / tasks; plane < (t + 1) * planes / tasks; ++plane)
            separable_max(px + plane * h * w, h, w, k, st, pb, out, rows + t * h * out[1],
                          py + plane * out[0] * out[1]);
      });
      return;
    }
    each_output([&](const float* xs, int64_t oy, int64_t ox) {
      float acc = max_ ? -std::numeric_limits<float>::infinity() : 0.0f;
      int64_t count = 0, padded = 0;
      for (int64_t i = 0; i < k[0]; ++i) {
        int64_t iy = oy * st[0] - pb[0] + i * di[0];
        for (int64_t j = 0; j < k[1]; ++j) {
          int64_t ix = ox * st[1] - pb[1] + j * di[1];
          bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
          // count_include_pad counts the explicit padding, not the overhang ceil_mode adds.
          if (!inside && iy < h + pe[0] && ix < w + pe[1]) ++padded;
          if (!inside) continue;
          float v = xs[iy * w + ix];
          if (max_) acc = std::max(acc, v);
          else acc += v;
          ++count;
        }
      }
      if (!max_) acc /= static_cast<float>(include_pad_ ? count + padded : std::max<int64_t>(count, 1));
      return acc;
    });
  }

 private:
  // One plane of max pooling with dilation 1, separably: the maximum over each
  // window's columns for every input row (into `rows`, h x ow), then over its
  // rows. Both start from -inf and take std::max in the window's row-major
  // order, so the result is the per-window loop's (NaN ignored, of equal
  // values the first), and the inner loops vectorise: the per-window loop took
  // 10% of BlazeFace's time and was 17x ONNX Runtime's on M-LSD's heat map.
  static void separable_max(const float* xs, int64_t h, int64_t w, const std::vector<int64_t>& k,
                            const std::vector<int64_t>& st, const std::vector<int64_t>& pb,
                            const std::vector<int64_t>& out, float* rows, float* ys) {
    constexpr float kLowest = -std::numeric_limits<float>::infinity();
    int64_t oh = out[0], ow = out[1];
    if (k[0] == 2 && k[1] == 2 && st[0] == 2 && st[1] == 2 && pb[0] == 0 && pb[1] == 0 && 2 * oh <= h && 2 * ow <= w) {
      // The common 2x2 pool with every window inside: one pass, in the same
      // order (BlazeFace's pools took 1.8x ONNX Runtime's time in two).
      for (int64_t oy = 0; oy < oh; ++oy) {
        const float *top = xs + 2 * oy * w, *bottom = top + w;
        float* yr = ys + oy * ow;
        for (int64_t ox = 0; ox < ow; ++ox) {
          float m = std::max(std::max(kLowest, top[2 * ox]), top[2 * ox + 1]);
          yr[ox] = std::max(std::max(m, bottom[2 * ox]), bottom[2 * ox + 1]);
        }
      }
      return;
    }
    for (int64_t iy = 0; iy < h; ++iy) {
      const float* xr = xs + iy * w;
      float* hr = rows + iy * ow;
      std::fill(hr, hr + ow, kLowest);
      for (int64_t j = 0; j < k[1]; ++j) {
        int64_t shift = j - pb[1];  // ix = ox * st + shift
        auto [lo, hi] = strided_range(shift, st[1], ow, w);
        if (st[1] == 1) {
          for (int64_t ox = lo; ox < hi; ++ox) hr[ox] = std::max(hr[ox], xr[ox + shift]);
        } else {
          for (int64_t ox = lo; ox < hi; ++ox) hr[ox] = std::max(hr[ox], xr[ox * st[1] + shift]);
        }
      }
    }
    for (int64_t oy = 0; oy < oh; ++oy) {
      float* yr = ys + oy * ow;
      std::fill(yr, yr + ow, kLowest);
      for (int64_t i = 0; i < k[0]; ++i) {
        int64_t iy = oy * st[0] - pb[0] + i;
        if (iy < 0 || iy >= h) continue;
        const float* hr = rows + iy * ow;
        for (int64_t ox = 0; ox < ow; ++ox) yr[ox] = std::max(yr[ox], hr[ox]);
      }
    }
  }

  bool max_;
  std::vector<int64_t> kernel_, strides_, pads_, dilations_;
  std::string auto_pad_;
  bool ceil_, include_pad_;
};

// The sum of n floats in double, in eight interleaved partial sums (lane i % 8)
// added at the end: one chain of dependent additions cost four cycles per
// element (GlobalAveragePool took 9% of the PP-OCR classifier's time); eight
// chains vectorise. The order is fixed, so results do not depend on threads.
double plane_sum(const float* x, int64_t n) {
  double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += x[i + l];
  for (int l = 0; i < n; ++i, ++l) lanes[l] += x[i];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

class GlobalPool : public Kernel {
 public:
  explicit GlobalPool(bool max) : max_(max) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kFloat || x.rank() < 3) compute_error(ctx, "input must be float32 [N, C, spatial...]");
    std::vector<int64_t> out_dims(x.rank(), 1);
    out_dims[0] = x.dims[0];
    out_dims[1] = x.dims[1];
    int64_t planes = x.dims[0] * x.dims[1], inner = planes ? x.numel() / planes : 0;
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, out_dims);
    const float* px = x.as<float>();
    float* py = y.as<float>();
    ctx.parallel_for(planes, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const float* xs = px + p * inner;
        if (max_) {
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t i = 0; i < inner; ++i) m = std::max(m, xs[i]);
          py[p] = m;
        } else {
          py[p] = static_cast<float>(plane_sum(xs, inner) / inner);
        }
      }
    });
  }

 private:
  bool max_;
};

}  // namespace

std::vector<KernelDef> pool_kernels() {
  return {
      onnx_op("MaxPool", 1, make_kernel<Pool, true>),
      onnx_op("AveragePool", 1, make_kernel<Pool, false>),
      onnx_op("GlobalAveragePool", 1, make_fixed_kernel<GlobalPool, false>),
      onnx_op("GlobalMaxPool", 1, make_fixed_kernel<GlobalPool, true>),
  };
}

}  // namespace pare::rt::kernels
