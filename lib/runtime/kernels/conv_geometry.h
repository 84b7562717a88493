// The geometry of a 2-D (or 1-D) convolution, shared by the float Conv
// (conv.cc), ConvTranspose (conv_transpose.cc) and the integer Conv (qconv.cc): attributes
// validated once, and the per-call sizes, strides and pads they give.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

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

inline std::vector<int64_t> or_ones(const std::vector<int64_t>& v, size_t n) {
  return v.empty() ? std::vector<int64_t>(n, 1) : v;
}

// Begin and end padding of one spatial axis for auto_pad SAME_*.
inline std::pair<int64_t, int64_t> same_pads(const std::string& mode, int64_t total) {
  total = std::max<int64_t>(total, 0);
  return mode == "SAME_UPPER" ? std::pair{total / 2, total - total / 2} : std::pair{total - total / 2, total / 2};
}

// The geometry of one call: x and w dims against the attributes (errors name the node).
Geometry conv_geometry(const KernelContext& ctx, const ConvAttrs& a, const std::vector<int64_t>& x_dims,
                       const std::vector<int64_t>& w_dims);

// A float Conv's or ConvTranspose's input and weights: float32, ranks that make
// a 1-D or 2-D convolution, and (unless checked at compile time) W's kernel
// dims against the attributes.
void check_inputs(const KernelContext& ctx, const ConvAttrs& a, const TensorView& x, const TensorView& w);
// The bias, if any, holds one float per output channel (`m`).
void check_bias(const KernelContext& ctx, const TensorView* b, int64_t m);

// ConvTranspose (conv_transpose.cc), registered with Conv in conv.cc.
std::unique_ptr<Kernel> make_conv_transpose(const KernelInit& init);

// [lo, hi): the q in [0, count) with 0 <= q * stride + shift < limit (stride
// >= 1): where a strided window's tap lands inside an axis of `limit`
// elements (convolutions, ConvTranspose's scatter, pools).
inline std::pair<int64_t, int64_t> strided_range(int64_t shift, int64_t stride, int64_t count, int64_t limit) {
  if (limit - 1 - shift < 0) return {0, 0};
  int64_t lo = std::min(count, shift >= 0 ? 0 : (-shift + stride - 1) / stride);
  int64_t hi = std::min(count, (limit - 1 - shift) / stride + 1);
  return {lo, std::max(lo, hi)};
}

// The valid output columns of one kernel column: those whose input column
// ox*sw - pl + kj*dw lies in [0, w). Outside them im2col writes zeros.
// Inline: im2col asks it for every row.
inline std::pair<int64_t, int64_t> valid_columns(const Geometry& g, int64_t kj) {
  return strided_range(kj * g.dw - g.pl, g.sw, g.ow, g.w);  // ix = ox * sw + shift
}

}  // namespace pare::rt::kernels
