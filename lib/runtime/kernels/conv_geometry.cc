#include "lib/runtime/kernels/conv_geometry.h"

#include <algorithm>

namespace pare::rt::kernels {

void check_inputs(const KernelContext& ctx, const ConvAttrs& a, const TensorView& x, const TensorView& w) {
  if (x.dtype != DataType::kFloat || w.dtype != DataType::kFloat) compute_error(ctx, "only float32 is supported");
  if (x.rank() != w.rank() || x.rank() < 3 || x.rank() > 4)
    compute_error(ctx, fmt::format("input rank {} and weight rank {} do not make a 1-D or 2-D convolution", x.rank(), w.rank()));
  if (a.checked_against_w) return;  // not again on every run
  std::string wrong = a.mismatch(std::vector<int64_t>(w.dims.begin() + 2, w.dims.end()));
  if (!wrong.empty()) compute_error(ctx, wrong);
}

void check_bias(const KernelContext& ctx, const TensorView* b, int64_t m) {
  if (b && (b->dtype != DataType::kFloat || b->dims != std::vector<int64_t>{m}))
    compute_error(ctx, fmt::format("the bias must be float32 [{}], one value per output channel; it is {} [{}]", m,
                                   ir::name(b->dtype), fmt::join(b->dims, ",")));
}

Geometry conv_geometry(const KernelContext& ctx, const ConvAttrs& a, const std::vector<int64_t>& x_dims,
                       const std::vector<int64_t>& w_dims) {
  bool one_d = x_dims.size() == 3;
  Geometry g{};
  g.n = x_dims[0];
  g.c = x_dims[1];
  g.h = one_d ? 1 : x_dims[2];
  g.w = x_dims.back();
  g.m = w_dims[0];
  g.kh = one_d ? 1 : w_dims[2];
  g.kw = w_dims.back();
  // Multiplied with an overflow check: a group of 2^62 must not wrap to a
  // channel count that matches (or print as a negative one).
  if (int64_t expect = 0; __builtin_mul_overflow(w_dims[1], a.group, &expect) || expect != g.c)
    compute_error(ctx, fmt::format("weights of {} input channels per group in {} groups do not match the input's {} "
                                   "channels", w_dims[1], a.group, g.c));
  if (g.m % a.group != 0) compute_error(ctx, "output channels are not a multiple of group");
  size_t s = x_dims.size() - 2;
  auto strides = or_ones(a.strides, s), dil = or_ones(a.dilations, s);
  std::vector<int64_t> pads = a.pads.empty() ? std::vector<int64_t>(2 * s, 0) : a.pads;
  std::vector<int64_t> in = {g.h, g.w}, ker = {g.kh, g.kw}, out(2);
  std::vector<int64_t> st = one_d ? std::vector<int64_t>{1, strides[0]} : strides;
  std::vector<int64_t> di = one_d ? std::vector<int64_t>{1, dil[0]} : dil;
  std::vector<int64_t> pb = one_d ? std::vector<int64_t>{0, pads[0]} : std::vector<int64_t>{pads[0], pads[1]};
  std::vector<int64_t> pe = one_d ? std::vector<int64_t>{0, pads[1]} : std::vector<int64_t>{pads[2], pads[3]};
  for (int i = 0; i < 2; ++i) {
    int64_t extent = di[i] * (ker[i] - 1) + 1;
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      out[i] = (in[i] + st[i] - 1) / st[i];
      auto [b, e] = same_pads(a.auto_pad, (out[i] - 1) * st[i] + extent - in[i]);
      pb[i] = b;
      pe[i] = e;
    } else {
      if (a.auto_pad == "VALID") pb[i] = pe[i] = 0;
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

}  // namespace pare::rt::kernels
