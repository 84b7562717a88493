// Integer-arithmetic quantized ops: MatMulInteger, ConvInteger, QLinearMatMul,
// QLinearConv, DynamicQuantizeLinear.
//
// Operands are int8 or uint8 with zero points (a scalar, or one per row of A /
// per column of B / per output channel of W, as the spec allows); products are
// accumulated exactly in int32 (int64 internally, so nothing overflows in
// between). QLinear ops requantize with y = saturate(round_half_even(acc *
// x_scale * w_scale / y_scale) + y_zero_point), computed in double. Integer
// results do not depend on summation order, so splitting over output channels
// or rows across threads gives the same bits. These are reference kernels
// (direct loops); faster integer kernels fused from QDQ groups are to be
// checked against them.
// MACs: MatMul-like, M*K*N per matrix; Conv-like, output elements times
// (C/group) times the kernel size.
#include <cmath>

#include "lib/runtime/broadcast.h"
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"
#include "lib/runtime/kernels/window.h"

namespace pare::rt::kernels {
namespace {

bool is_8bit(DataType t) { return t == DataType::kInt8 || t == DataType::kUint8; }

// Input i, which must be present and int8 or uint8.
const TensorView& required_8bit(const KernelContext& ctx, size_t i, const char* what) {
  const TensorView& t = required(ctx, i);
  if (!is_8bit(t.dtype)) compute_error(ctx, fmt::format("{} must be int8 or uint8, got {}", what, ir::name(t.dtype)));
  return t;
}

// A zero point: absent (0), a scalar, or a vector of `n` (one per row/column/channel).
std::vector<int64_t> zero_points(const KernelContext& ctx, const TensorView* zp, const TensorView& of, int64_t n, const char* what) {
  if (!zp || zp->numel() == 0) return std::vector<int64_t>(static_cast<size_t>(std::max<int64_t>(n, 1)), 0);
  if (zp->dtype != of.dtype) compute_error(ctx, fmt::format("{} zero point must have the type of its tensor", what));
  if (zp->numel() == 1) return std::vector<int64_t>(static_cast<size_t>(std::max<int64_t>(n, 1)), get_int(*zp, 0));
  if (zp->numel() != n) compute_error(ctx, fmt::format("{} zero point has {} values, expected 1 or {}", what, zp->numel(), n));
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[i] = get_int(*zp, i);
  return out;
}

std::vector<double> scales(const KernelContext& ctx, const TensorView& s, int64_t n, const char* what) {
  if (s.dtype != DataType::kFloat && s.dtype != DataType::kFloat16 && s.dtype != DataType::kDouble)
    compute_error(ctx, fmt::format("{} scale must be float", what));
  if (s.numel() != 1 && s.numel() != n) compute_error(ctx, fmt::format("{} scale has {} values, expected 1 or {}", what, s.numel(), n));
  std::vector<double> out(static_cast<size_t>(std::max<int64_t>(n, 1)));
  for (size_t i = 0; i < out.size(); ++i) out[i] = get(s, s.numel() == 1 ? 0 : static_cast<int64_t>(i));
  return out;
}

// How a QLinear operand is quantized: its scale and zero point are the inputs
// `first` and `first + 1`, each 1 or `n` values.
struct OperandQuant {
  std::vector<double> scales;
  std::vector<int64_t> zero_points;
  double scale(int64_t i) const { return scales[scales.size() == 1 ? 0 : i]; }
};
OperandQuant operand_quant(const KernelContext& ctx, size_t first, const TensorView& of, int64_t n, const char* what) {
  return {scales(ctx, required(ctx, first), n, what), zero_points(ctx, &required(ctx, first + 1), of, n, what)};
}

// How a QLinear output is quantized: a scalar scale and zero point (inputs `first`
// and `first + 1`), the zero point's type being the output's.
struct OutputQuant {
  double scale;
  int64_t zero_point;
  DataType dtype;
};
OutputQuant output_quant(const KernelContext& ctx, size_t first) {
  double scale = scales(ctx, required(ctx, first), 1, "y")[0];
  const TensorView& zp = required_8bit(ctx, first + 1, "y_zero_point");
  if (zp.numel() != 1) compute_error(ctx, "y_zero_point must be a scalar");
  return {scale, get_int(zp, 0), zp.dtype};
}

// round half to even, then clamp to the output type's range.
int64_t requantize(double v, int64_t zp, DataType t) {
  double r = std::nearbyint(v) + static_cast<double>(zp);
  double lo = t == DataType::kUint8 ? 0 : -128, hi = t == DataType::kUint8 ? 255 : 127;
  return static_cast<int64_t>(std::clamp(r, lo, hi));
}

// ---------- matmul ----------

// acc[b, m, n] = sum_k (A[b, m, k] - azp[m]) * (B[b, k, n] - bzp[n]) with numpy batch broadcasting.
struct MatMulResult {
  std::vector<int64_t> dims;  // output shape
  std::vector<int64_t> acc;
  int64_t m = 0, n = 0;
};

MatMulResult int_matmul(const KernelContext& ctx, const TensorView& a, const TensorView& b, const std::vector<int64_t>& azp,
                        const std::vector<int64_t>& bzp) {
  if (a.rank() < 1 || b.rank() < 1) compute_error(ctx, "inputs must have rank >= 1");
  MatMulShape s(a.dims, b.dims);
  int64_t m = s.m, k = s.k, n = s.n;
  if (s.b_k != k) compute_error(ctx, fmt::format("inner dims differ ({} and {})", k, s.b_k));
  const std::vector<int64_t>& abatch = s.a_batch;
  const std::vector<int64_t>& bbatch = s.b_batch;
  std::vector<int64_t> batch;
  try {
    batch = broadcast_shapes(abatch, bbatch);
  } catch (const Error& e) {
    compute_error(ctx, e.message());
  }
  MatMulResult r;
  r.m = m;
  r.n = n;
  r.dims = s.out_dims(batch);
  int64_t nb = product(batch, 0, batch.size());
  r.acc.assign(static_cast<size_t>(nb * m * n), 0);
  auto bs_a = strides_of(abatch), bs_b = strides_of(bbatch);
  ctx.parallel_for(nb * m, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> idx;
    for (int64_t row = r0; row < r1; ++row) {
      int64_t bi = row / m, i = row % m;
      // batch offsets with broadcasting
      int64_t rem = bi, oa = 0, ob = 0;
      for (size_t d = batch.size(); d-- > 0;) {
        int64_t id = rem % batch[d];
        rem /= batch[d];
        size_t da = d + abatch.size() - batch.size(), db = d + bbatch.size() - batch.size();
        if (d >= batch.size() - abatch.size() && abatch[da] != 1) oa += id * bs_a[da];
        if (d >= batch.size() - bbatch.size() && bbatch[db] != 1) ob += id * bs_b[db];
      }
      int64_t za = azp[azp.size() == 1 ? 0 : i];
      for (int64_t j = 0; j < n; ++j) {
        int64_t zb = bzp[bzp.size() == 1 ? 0 : j], s = 0;
        for (int64_t t = 0; t < k; ++t)
          s += (get_int(a, (oa * m + i) * k + t) - za) * (get_int(b, (ob * k + t) * n + j) - zb);
        r.acc[(bi * m + i) * n + j] = s;
      }
    }
  });
  return r;
}

class MatMulInteger : public Kernel {
 public:
  explicit MatMulInteger(const KernelInit&) {}
  void compute(KernelContext& ctx) override {
    const TensorView& a = required_8bit(ctx, 0, "A");
    const TensorView& b = required_8bit(ctx, 1, "B");
    int64_t m = a.rank() >= 2 ? a.dims[a.rank() - 2] : 1, n = b.rank() >= 2 ? b.dims.back() : 1;
    auto azp = zero_points(ctx, ctx.input(2), a, m, "A");
    auto bzp = zero_points(ctx, ctx.input(3), b, n, "B");
    MatMulResult r = int_matmul(ctx, a, b, azp, bzp);
    TensorView& y = ctx.allocate_output(0, DataType::kInt32, r.dims);
    for (size_t i = 0; i < r.acc.size(); ++i) y.as<int32_t>()[i] = static_cast<int32_t>(r.acc[i]);
  }
};

class QLinearMatMul : public Kernel {
 public:
  explicit QLinearMatMul(const KernelInit&) {}
  void compute(KernelContext& ctx) override {
    const TensorView& a = required_8bit(ctx, 0, "a");
    const TensorView& b = required_8bit(ctx, 3, "b");
    int64_t m = a.rank() >= 2 ? a.dims[a.rank() - 2] : 1, n = b.rank() >= 2 ? b.dims.back() : 1;
    OperandQuant aq = operand_quant(ctx, 1, a, m, "a"), bq = operand_quant(ctx, 4, b, n, "b");
    OutputQuant yq = output_quant(ctx, 6);
    MatMulResult r = int_matmul(ctx, a, b, aq.zero_points, bq.zero_points);
    TensorView& y = ctx.allocate_output(0, yq.dtype, r.dims);
    for (size_t o = 0; o < r.acc.size(); ++o) {
      int64_t i = (static_cast<int64_t>(o) / r.n) % r.m, j = static_cast<int64_t>(o) % r.n;
      double scale = aq.scale(i) * bq.scale(j) / yq.scale;
      put_int(y, static_cast<int64_t>(o), requantize(static_cast<double>(r.acc[o]) * scale, yq.zero_point, yq.dtype));
    }
  }
};

int64_t matmul_macs(const ir::Node&, const NodeShapes& s) {
  if (s.outputs.empty() || s.inputs.size() < 2 || s.inputs[0].empty()) return 0;
  int64_t out = 1;
  for (int64_t d : s.outputs[0]) out *= d;
  return out * s.inputs[0].back();
}

int64_t qlinear_matmul_macs(const ir::Node& n, const NodeShapes& s) {
  NodeShapes t{{s.inputs.at(0), s.inputs.at(3)}, s.outputs};
  return matmul_macs(n, t);
}

// ---------- convolution ----------

struct ConvGeometry : WindowAttrs {
  int64_t group = 1;
};

ConvGeometry parse_conv(const KernelInit& init) {
  ConvGeometry g{parse_window_attrs(init), init.attr_int("group", 1)};
  if (g.group < 1) init.reject("group must be >= 1");
  return g;
}

// acc[n, m, spatial...] = B[m] + sum (x - xzp) * (w - wzp[m]); returns the output dims.
std::vector<int64_t> int_conv(const KernelContext& ctx, const ConvGeometry& g, const TensorView& x, const TensorView& w,
                              int64_t xzp, const std::vector<int64_t>& wzp, const TensorView* bias, std::vector<int64_t>& acc) {
  if (x.rank() < 3 || w.rank() != x.rank()) compute_error(ctx, "X must be [N, C, D1, ...] and W [M, C/group, k1, ...]");
  size_t sp = x.rank() - 2;
  int64_t n = x.dims[0], c = x.dims[1], mo = w.dims[0], cg = w.dims[1];
  if (c != cg * g.group || mo % g.group) compute_error(ctx, fmt::format("channels {} do not fit W [{}] with group {}", c, fmt::join(w.dims, ","), g.group));
  auto pick = [&](const std::vector<int64_t>& v, size_t i, int64_t def) { return v.empty() ? def : v.at(i); };
  if ((!g.strides.empty() && g.strides.size() != sp) || (!g.dilations.empty() && g.dilations.size() != sp) ||
      (!g.pads.empty() && g.pads.size() != 2 * sp) || (!g.kernel.empty() && g.kernel.size() != sp))
    compute_error(ctx, "strides, dilations, pads or kernel_shape do not match the spatial rank");
  std::vector<int64_t> out_sp(sp), pad_begin(sp);
  for (size_t i = 0; i < sp; ++i) {
    int64_t in = x.dims[2 + i], k = w.dims[2 + i], s = pick(g.strides, i, 1), d = pick(g.dilations, i, 1);
    if (!g.kernel.empty() && g.kernel[i] != k) compute_error(ctx, "kernel_shape does not match W");
    int64_t ext = (k - 1) * d + 1;
    if (g.auto_pad == "SAME_UPPER" || g.auto_pad == "SAME_LOWER") {
      out_sp[i] = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out_sp[i] - 1) * s + ext - in);
      pad_begin[i] = g.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else {
      int64_t pb = g.auto_pad == "VALID" ? 0 : pick(g.pads, i, 0), pe = g.auto_pad == "VALID" ? 0 : pick(g.pads, i + sp, 0);
      pad_begin[i] = pb;
      if (in + pb + pe < ext) compute_error(ctx, "the kernel is larger than the padded input");
      out_sp[i] = (in + pb + pe - ext) / s + 1;
    }
  }
  std::vector<int64_t> dims{n, mo};
  dims.insert(dims.end(), out_sp.begin(), out_sp.end());
  int64_t out_points = product(out_sp, 0, sp), ksize = product(w.dims, 2, w.rank()), in_points = product(x.dims, 2, x.rank());
  acc.assign(static_cast<size_t>(n * mo * out_points), 0);
  int64_t m_per_group = mo / g.group;
  if (bias && (bias->numel() != mo || bias->dtype != DataType::kInt32)) compute_error(ctx, fmt::format("B must be int32 [{}]", mo));
  std::vector<int64_t> strides(sp), dilations(sp);
  for (size_t i = 0; i < sp; ++i) strides[i] = pick(g.strides, i, 1), dilations[i] = pick(g.dilations, i, 1);
  WindowTaps taps({x.dims.begin() + 2, x.dims.end()}, {w.dims.begin() + 2, w.dims.end()}, strides, dilations, pad_begin);
  auto os = strides_of(out_sp);
  ctx.parallel_for(n * mo, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> opos(sp);
    for (int64_t row = r0; row < r1; ++row) {
      int64_t b = row / mo, m = row % mo, grp = m / m_per_group;
      int64_t zw = wzp[wzp.size() == 1 ? 0 : m];
      for (int64_t o = 0; o < out_points; ++o) {
        for (size_t i = 0; i < sp; ++i) opos[i] = (o / os[i]) % out_sp[i];
        int64_t s = bias ? bias->as<int32_t>()[m] : 0;
        for (int64_t kc = 0; kc < cg; ++kc) {
          int64_t ch = grp * cg + kc;
          taps.for_each_inside(opos, [&](int64_t kk, int64_t xoff) {
            s += (get_int(x, (b * c + ch) * in_points + xoff) - xzp) * (get_int(w, (m * cg + kc) * ksize + kk) - zw);
          });
        }
        acc[row * out_points + o] = s;
      }
    }
  });
  return dims;
}

class ConvInteger : public Kernel {
 public:
  explicit ConvInteger(const KernelInit& init) : g_(parse_conv(init)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required_8bit(ctx, 0, "x");
    const TensorView& w = required_8bit(ctx, 1, "w");
    auto xzp = zero_points(ctx, ctx.input(2), x, 1, "x");
    auto wzp = zero_points(ctx, ctx.input(3), w, w.dims.empty() ? 1 : w.dims[0], "w");
    std::vector<int64_t> acc;
    auto dims = int_conv(ctx, g_, x, w, xzp[0], wzp, nullptr, acc);
    TensorView& y = ctx.allocate_output(0, DataType::kInt32, dims);
    for (size_t i = 0; i < acc.size(); ++i) y.as<int32_t>()[i] = static_cast<int32_t>(acc[i]);
  }

 private:
  ConvGeometry g_;
};

class QLinearConv : public Kernel {
 public:
  explicit QLinearConv(const KernelInit& init) : g_(parse_conv(init)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required_8bit(ctx, 0, "x");
    const TensorView& w = required_8bit(ctx, 3, "w");
    int64_t mo = w.dims.empty() ? 1 : w.dims[0];
    OperandQuant xq = operand_quant(ctx, 1, x, 1, "x"), wq = operand_quant(ctx, 4, w, mo, "w");
    OutputQuant yq = output_quant(ctx, 6);
    std::vector<int64_t> acc;
    auto dims = int_conv(ctx, g_, x, w, xq.zero_points[0], wq.zero_points, ctx.input(8), acc);
    TensorView& y = ctx.allocate_output(0, yq.dtype, dims);
    int64_t points = product(dims, 2, dims.size());
    for (size_t o = 0; o < acc.size(); ++o) {
      int64_t m = (static_cast<int64_t>(o) / points) % mo;
      double scale = xq.scales[0] * wq.scale(m) / yq.scale;
      put_int(y, static_cast<int64_t>(o), requantize(static_cast<double>(acc[o]) * scale, yq.zero_point, yq.dtype));
    }
  }

 private:
  ConvGeometry g_;
};

int64_t conv_macs_of(const std::vector<int64_t>& w, const std::vector<int64_t>& y) {
  if (w.size() < 2 || y.empty()) return 0;
  int64_t out = 1, per = 1;
  for (int64_t d : y) out *= d;
  for (size_t i = 1; i < w.size(); ++i) per *= w[i];  // C/group * kernel
  return out * per;
}

int64_t conv_integer_macs(const ir::Node&, const NodeShapes& s) { return conv_macs_of(s.inputs.at(1), s.outputs.at(0)); }
int64_t qlinear_conv_macs(const ir::Node&, const NodeShapes& s) { return conv_macs_of(s.inputs.at(3), s.outputs.at(0)); }

// ---------- DynamicQuantizeLinear ----------

class DynamicQuantizeLinear : public Kernel {
 public:
  explicit DynamicQuantizeLinear(const KernelInit&) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (!is_real(x.dtype)) compute_error(ctx, "x must be float");
    // The range always includes 0, so 0 is exact. Float32 arithmetic, as the spec's
    // reference computes it: double would move some values across a rounding edge.
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      float v = static_cast<float>(get(x, i));
      if (std::isnan(v)) compute_error(ctx, "x holds NaN");
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    float scale = (hi - lo) / 255.0f;
    float zp = scale == 0 ? 0.0f : std::clamp(std::nearbyint(0.0f - lo / scale), 0.0f, 255.0f);
    TensorView& y = ctx.allocate_output(0, DataType::kUint8, x.dims);
    for (int64_t i = 0; i < x.numel(); ++i) {
      float q = scale == 0 ? zp : std::nearbyint(static_cast<float>(get(x, i)) / scale) + zp;
      y.as<uint8_t>()[i] = static_cast<uint8_t>(std::clamp(q, 0.0f, 255.0f));
    }
    TensorView& s = ctx.allocate_output(1, DataType::kFloat, {});
    *s.as<float>() = scale;
    TensorView& z = ctx.allocate_output(2, DataType::kUint8, {});
    *z.as<uint8_t>() = static_cast<uint8_t>(zp);
  }
};

}  // namespace

std::vector<KernelDef> quant_linear_kernels() {
  return {
      onnx_op("MatMulInteger", 10, make_kernel<MatMulInteger>, matmul_macs),
      onnx_op("QLinearMatMul", 10, make_kernel<QLinearMatMul>, qlinear_matmul_macs),
      onnx_op("ConvInteger", 10, make_kernel<ConvInteger>, conv_integer_macs),
      onnx_op("QLinearConv", 10, make_kernel<QLinearConv>, qlinear_conv_macs),
      onnx_op("DynamicQuantizeLinear", 11, make_kernel<DynamicQuantizeLinear>),
  };
}

}  // namespace pare::rt::kernels
