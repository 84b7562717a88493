// Resize for what the fast kernel (resize.cc) does not cover: cubic mode
// (cubic_coeff_a, exclude_outside) and tf_crop_and_resize (roi,
// extrapolation_value), on float, double and float16.
//
// Separable, as the spec defines it: each axis maps every output index to a
// few weighted input taps (2 for nearest and linear, 4 for cubic, edge-clamped),
// and an output element is the sum over the product of its axes' taps, in
// double, in a fixed order. tf_crop_and_resize gives extrapolation_value where
// any axis maps outside the input. A reference kernel, for the models that ask
// for these modes; resize.cc stays the fast path. MACs: 0.
#include <cmath>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

struct Tap {
  int64_t index;
  double weight;
};

class GeneralResize : public Kernel {
 public:
  explicit GeneralResize(const KernelInit& init) : opset_(init.opset) {
    mode_ = init.attr_string("mode", "nearest");
    coord_ = init.opset < 11 ? "asymmetric" : init.attr_string("coordinate_transformation_mode", "half_pixel");
    nearest_ = init.opset < 11 ? "floor" : init.attr_string("nearest_mode", "round_prefer_floor");
    a_ = init.attr_float("cubic_coeff_a", -0.75f);
    exclude_outside_ = init.attr_int("exclude_outside", 0) != 0;
    extrapolation_ = init.attr_float("extrapolation_value", 0.0f);
    if (mode_ != "nearest" && mode_ != "linear" && mode_ != "cubic") init.reject(fmt::format("mode '{}' is not supported", mode_));
    static const char* coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                   "tf_crop_and_resize"};
    if (std::find(std::begin(coords), std::end(coords), coord_) == std::end(coords))
      init.reject(fmt::format("coordinate_transformation_mode '{}' is not supported", coord_));
    if (init.attr_int("antialias", 0) != 0) init.reject("antialias is not supported");
    if (init.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") init.reject("keep_aspect_ratio_policy is not supported");
    if (init.node.has_attr("axes")) init.reject("the axes attribute is not supported");
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (!is_real(x.dtype)) compute_error(ctx, "X must be float, double or float16");
    size_t rank = x.rank();
    const TensorView* roi_t = opset_ >= 11 ? ctx.input(1) : nullptr;
    const TensorView* s = ctx.input(opset_ >= 11 ? 2 : 1);
    const TensorView* sz = opset_ >= 11 ? ctx.input(3) : nullptr;
    if (s && s->numel() == 0) s = nullptr;
    if (sz && sz->numel() == 0) sz = nullptr;
    std::vector<double> scales(rank, 1.0), roi;
    std::vector<int64_t> out(rank);
    if (sz) {
      auto sizes = read_ints(*sz);
      if (sizes.size() != rank) compute_error(ctx, "sizes must have one value per axis");
      for (size_t i = 0; i < rank; ++i) {
        out[i] = sizes[i];
        scales[i] = x.dims[i] ? static_cast<double>(static_cast<float>(out[i]) / static_cast<float>(x.dims[i])) : 1.0;
      }
    } else if (s) {
      if (static_cast<size_t>(s->numel()) != rank) compute_error(ctx, "scales must have one value per axis");
      for (size_t i = 0; i < rank; ++i) {
        scales[i] = get(*s, static_cast<int64_t>(i));
        if (!(scales[i] > 0) || !std::isfinite(scales[i])) compute_error(ctx, "scales must be positive and finite");
        out[i] = static_cast<int64_t>(std::floor(x.dims[i] * scales[i]));
      }
    } else {
      compute_error(ctx, "neither scales nor sizes is given");
    }
    if (coord_ == "tf_crop_and_resize") {
      if (!roi_t || static_cast<size_t>(roi_t->numel()) != 2 * rank) compute_error(ctx, "tf_crop_and_resize needs roi [starts..., ends...]");
      for (int64_t i = 0; i < roi_t->numel(); ++i) roi.push_back(get(*roi_t, i));
    }
    std::vector<std::vector<std::vector<Tap>>> taps(rank);
    std::vector<std::vector<bool>> outside(rank);
    for (size_t a = 0; a < rank; ++a) {
      taps[a].resize(out[a]);
      outside[a].assign(out[a], false);
      for (int64_t o = 0; o < out[a]; ++o) {
        bool off = false;
        taps[a][o] = axis_taps(o, x.dims[a], scales[a], roi.empty() ? 0 : roi[a], roi.empty() ? 1 : roi[a + rank], off);
        outside[a][o] = off;
      }
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, out);
    auto xs = strides_of(x.dims);
    ctx.parallel_for(y.numel(), [&](int64_t b, int64_t e) {
      std::vector<int64_t> idx(rank);
      for (int64_t o = b; o < e; ++o) {
        int64_t rem = o;
        bool off = false;
        for (size_t d = rank; d-- > 0;) {
          idx[d] = rem % out[d];
          rem /= out[d];
          off = off || outside[d][idx[d]];
        }
        if (off) {
          put(y, o, extrapolation_);
          continue;
        }
        put(y, o, blend(x, xs, taps, idx, 0, 0));
      }
    });
  }

 private:
  // Sum over the taps of axes a.. of the weighted inputs, `base` the offset so far.
  static double blend(const TensorView& x, const std::vector<int64_t>& xs, const std::vector<std::vector<std::vector<Tap>>>& taps,
                      const std::vector<int64_t>& idx, size_t a, int64_t base) {
    if (a == idx.size()) return get(x, base);
    double acc = 0;
    for (const Tap& t : taps[a][idx[a]])
      if (t.weight != 0) acc += t.weight * blend(x, xs, taps, idx, a + 1, base + t.index * xs[a]);
    return acc;
  }

  std::vector<Tap> axis_taps(int64_t o, int64_t in, double scale, double roi_start, double roi_end, bool& outside) const {
    double out_len = scale * in, xo;  // the spec's unrounded output length
    if (coord_ == "half_pixel") xo = (o + 0.5) / scale - 0.5;
    else if (coord_ == "pytorch_half_pixel") xo = out_len > 1 ? (o + 0.5) / scale - 0.5 : -0.5;
    else if (coord_ == "align_corners") xo = out_len == 1 ? 0 : o * static_cast<double>(in - 1) / (out_len - 1);
    else if (coord_ == "tf_half_pixel_for_nn") xo = (o + 0.5) / scale;
    else if (coord_ == "tf_crop_and_resize") {
      xo = out_len == 1 ? (roi_end - roi_start) * (in - 1) / 2 : o * (roi_end - roi_start) * (in - 1) / (out_len - 1);
      xo += roi_start * (in - 1);
      if (xo < 0 || xo > in - 1) {
        outside = true;
        return {};
      }
    } else xo = o / scale;
    // The left neighbour is preferred: an integer coordinate has ratio 1 to the tap left of it.
    int64_t base = static_cast<int64_t>(std::ceil(xo)) - 1;
    double ratio = xo - static_cast<double>(base);
    std::vector<double> w;
    int64_t first;
    if (mode_ == "cubic") {
      double a = a_, r = ratio;
      w = {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
           ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1,
           ((a * (2 - r) - 5 * a) * (2 - r) + 8 * a) * (2 - r) - 4 * a};
      first = base - 1;
    } else if (mode_ == "linear") {
      w = {1 - ratio, ratio};
      first = base;
    } else {
      bool right;
      if (ratio == 1) right = true;
      else if (nearest_ == "round_prefer_floor") right = ratio > 0.5;
      else if (nearest_ == "round_prefer_ceil") right = ratio >= 0.5;
      else if (nearest_ == "floor") right = false;
      else right = true;
      w = {right ? 0.0 : 1.0, right ? 1.0 : 0.0};
      first = base;
    }
    std::vector<Tap> t;
    double sum = 0;
    for (size_t k = 0; k < w.size(); ++k) {
      int64_t i = first + static_cast<int64_t>(k);
      if (exclude_outside_ && (i < 0 || i >= in)) w[k] = 0;
      sum += w[k];
      t.push_back({std::clamp<int64_t>(i, 0, in - 1), w[k]});
    }
    if (exclude_outside_ && sum != 0)
      for (Tap& tp : t) tp.weight /= sum;
    return t;
  }

  int64_t opset_;
  std::string mode_, coord_, nearest_;
  double a_, extrapolation_;
  bool exclude_outside_;
};

}  // namespace

std::unique_ptr<Kernel> make_general_resize(const KernelInit& init) { return std::make_unique<GeneralResize>(init); }

}  // namespace pare::rt::kernels
