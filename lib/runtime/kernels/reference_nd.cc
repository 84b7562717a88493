// Reference kernels for what the fast Conv and pool kernels (conv.cc, pool.cc)
// do not take: 3-D (and any N-D) float convolution, N-D MaxPool/AveragePool,
// and MaxPool's Indices output with storage_order. kernels/create.cc hands a
// node to these when the fast kernel refuses it at compile time, or (Conv) when
// the input turns out to have more than 2 spatial dims at run time.
//
// Direct loops in double over every output element, one writer per element, in
// a fixed order: results do not depend on the thread count. Windows follow the
// ONNX rules: pads or auto_pad, strides, dilations, ceil_mode (a last window
// must start inside the input or its begin padding), count_include_pad.
// Types: float, double, float16 (via the float16 bridge for float16).
// MACs: Conv's, as conv.cc states them (output elements * C/group * kernel).
#include <cmath>
#include <limits>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"
#include "lib/runtime/kernels/window.h"

namespace pare::rt::kernels {
namespace {

struct Window : WindowAttrs {
  bool ceil = false;
};

Window parse_window(const KernelInit& init) { return {parse_window_attrs(init), init.attr_int("ceil_mode", 0) != 0}; }

// Output sizes and begin pads of every spatial axis, for inputs `in` and kernel `k`.
void plan_window(const KernelContext& ctx, const Window& w, const std::vector<int64_t>& in, const std::vector<int64_t>& k,
                 std::vector<int64_t>& out, std::vector<int64_t>& pad_begin, std::vector<int64_t>& pad_end) {
  size_t sp = in.size();
  if ((!w.strides.empty() && w.strides.size() != sp) || (!w.dilations.empty() && w.dilations.size() != sp) ||
      (!w.pads.empty() && w.pads.size() != 2 * sp) || k.size() != sp)
    compute_error(ctx, "kernel_shape, strides, dilations or pads do not match the input's spatial rank");
  out.assign(sp, 0);
  pad_begin.assign(sp, 0);
  pad_end.assign(sp, 0);
  for (size_t i = 0; i < sp; ++i) {
    int64_t s = w.strides.empty() ? 1 : w.strides[i], d = w.dilations.empty() ? 1 : w.dilations[i];
    int64_t ext = (k[i] - 1) * d + 1;
    if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
      out[i] = (in[i] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + ext - in[i]);
      pad_begin[i] = w.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pad_end[i] = total - pad_begin[i];
      continue;
    }
    if (w.auto_pad == "NOTSET" && !w.pads.empty()) {
      pad_begin[i] = w.pads[i];
      pad_end[i] = w.pads[i + sp];
    }
    int64_t span = in[i] + pad_begin[i] + pad_end[i] - ext;
    if (span < 0) compute_error(ctx, "the window is larger than the padded input");
    out[i] = (w.ceil ? (span + s - 1) / s : span / s) + 1;
    if (w.ceil && (out[i] - 1) * s >= in[i] + pad_begin[i]) --out[i];
  }
}

// ---------- Conv ----------

class ConvNd : public Kernel {
 public:
  explicit ConvNd(const KernelInit& init) : w_(parse_window(init)), group_(init.attr_int("group", 1)) {
    if (group_ < 1) init.reject("group must be at least 1");
    if (w_.ceil) init.reject("ceil_mode is not a Conv attribute");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& wt = required(ctx, 1);
    const TensorView* b = ctx.input(2);
    if (!is_real(x.dtype) || wt.dtype != x.dtype) compute_error(ctx, "X and W must be float of one type");
    if (x.rank() < 3 || wt.rank() != x.rank()) compute_error(ctx, "X must be [N, C, spatial...] and W [M, C/group, kernel...]");
    size_t sp = x.rank() - 2;
    int64_t n = x.dims[0], c = x.dims[1], m = wt.dims[0], cg = wt.dims[1];
    if (c != cg * group_ || m % group_) compute_error(ctx, fmt::format("channels {} do not fit W [{}] with group {}", c, fmt::join(wt.dims, ","), group_));
    if (b && b->numel() != m) compute_error(ctx, fmt::format("B must have {} values", m));
    std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end()), k(wt.dims.begin() + 2, wt.dims.end()), out, pb, pe;
    if (!w_.kernel.empty() && w_.kernel != k) compute_error(ctx, "kernel_shape does not match W");
    plan_window(ctx, w_, in, k, out, pb, pe);
    std::vector<int64_t> dims{n, m};
    dims.insert(dims.end(), out.begin(), out.end());
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    int64_t points = product(out, 0, sp), ksize = product(k, 0, sp), in_points = product(in, 0, sp), m_per_group = m / group_;
    auto os = strides_of(out);
    std::vector<int64_t> strides(sp, 1), dilations(sp, 1);
    if (!w_.strides.empty()) strides = w_.strides;
    if (!w_.dilations.empty()) dilations = w_.dilations;
    WindowTaps taps(in, k, strides, dilations, pb);
    ctx.parallel_for(n * m, [&](int64_t r0, int64_t r1) {
      std::vector<int64_t> opos(sp);
      for (int64_t row = r0; row < r1; ++row) {
        int64_t bi = row / m, oc = row % m, grp = oc / m_per_group;
        for (int64_t o = 0; o < points; ++o) {
          for (size_t i = 0; i < sp; ++i) opos[i] = (o / os[i]) % out[i];
          double acc = b ? get(*b, oc) : 0.0;
          for (int64_t kc = 0; kc < cg; ++kc) {
            int64_t ch = grp * cg + kc;
            taps.for_each_inside(opos, [&](int64_t kk, int64_t off) {
              acc += get(x, (bi * c + ch) * in_points + off) * get(wt, (oc * cg + kc) * ksize + kk);
            });
          }
          put(y, row * points + o, acc);
        }
      }
    });
  }

 private:
  Window w_;
  int64_t group_;
};

// ---------- pools ----------

class PoolNd : public Kernel {
 public:
  PoolNd(const KernelInit& init, bool max)
      : max_(max), w_(parse_window(init)), include_pad_(init.attr_int("count_include_pad", 0) != 0),
        storage_order_(init.attr_int("storage_order", 0)) {
    if (w_.kernel.empty()) init.reject("kernel_shape is required");
    for (int64_t v : w_.kernel)
      if (v < 1) init.reject("kernel_shape must be positive");
    if (storage_order_ != 0 && storage_order_ != 1) init.reject("storage_order must be 0 or 1");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (!is_real(x.dtype) && !(max_ && is_numeric(x.dtype))) compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
    size_t sp = w_.kernel.size();
    if (x.rank() != sp + 2) compute_error(ctx, "input must be [N, C, spatial...] with kernel_shape's spatial rank");
    std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end()), out, pb, pe;
    plan_window(ctx, w_, in, w_.kernel, out, pb, pe);
    std::vector<int64_t> dims{x.dims[0], x.dims[1]};
    dims.insert(dims.end(), out.begin(), out.end());
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    TensorView* ind = max_ && ctx.num_outputs() > 1 ? &ctx.allocate_output(1, DataType::kInt64, dims) : nullptr;
    int64_t planes = x.dims[0] * x.dims[1], points = product(out, 0, sp), ksize = product(w_.kernel, 0, sp), in_points = product(in, 0, sp);
    auto os = strides_of(out), ks = strides_of(w_.kernel), xs = strides_of(in);
    // storage_order 1 numbers the spatial positions column-major.
    std::vector<int64_t> cs(sp, 1);
    for (size_t i = 1; i < sp; ++i) cs[i] = cs[i - 1] * in[i - 1];
    ctx.parallel_for(planes, [&](int64_t p0, int64_t p1) {
      std::vector<int64_t> opos(sp), pos(sp);
      for (int64_t plane = p0; plane < p1; ++plane)
        for (int64_t o = 0; o < points; ++o) {
          for (size_t i = 0; i < sp; ++i) opos[i] = (o / os[i]) % out[i];
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t best_at = -1, count = 0, padded_count = 0;
          for (int64_t kk = 0; kk < ksize; ++kk) {
            bool inside = true, in_pads = true;
            int64_t off = 0;
            for (size_t i = 0; i < sp; ++i) {
              int64_t kp = (kk / ks[i]) % w_.kernel[i];
              pos[i] = opos[i] * (w_.strides.empty() ? 1 : w_.strides[i]) - pb[i] + kp * (w_.dilations.empty() ? 1 : w_.dilations[i]);
              inside = inside && pos[i] >= 0 && pos[i] < in[i];
              in_pads = in_pads && pos[i] >= -pb[i] && pos[i] < in[i] + pe[i];
              off += pos[i] * xs[i];
            }
            padded_count += in_pads;
            if (!inside) continue;
            double v = get(x, plane * in_points + off);
            ++count;
            sum += v;
            if (v > best || best_at < 0) {
              best = v;
              int64_t at = 0;
              if (storage_order_ == 0) at = off;
              else
                for (size_t i = 0; i < sp; ++i) at += pos[i] * cs[i];
              best_at = at;
            }
          }
          int64_t yo = plane * points + o;
          if (max_) {
            put(y, yo, best_at < 0 ? 0.0 : best);
            if (ind) ind->as<int64_t>()[yo] = plane * in_points + std::max<int64_t>(best_at, 0);
          } else {
            int64_t den = include_pad_ ? padded_count : count;
            put(y, yo, den ? sum / static_cast<double>(den) : 0.0);
          }
        }
    });
  }

 private:
  bool max_;
  Window w_;
  bool include_pad_;
  int64_t storage_order_;
};

}  // namespace

std::unique_ptr<Kernel> make_reference_conv(const KernelInit& init) { return std::make_unique<ConvNd>(init); }
std::unique_ptr<Kernel> make_reference_pool(const KernelInit& init, bool max) { return std::make_unique<PoolNd>(init, max); }

}  // namespace pare::rt::kernels
