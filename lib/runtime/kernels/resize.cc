// Resize (opsets 10-18) and Upsample (7-9), float32: nearest and linear; uint8
// and int8: nearest (each output element is one input element, so an int8
// model's Resize runs on the bytes, qdq_groups.h).
//
// Output size comes from `sizes` or from `scales` (floor(in * scale)); each
// output coordinate maps back to the input by the coordinate_transformation_mode
// (half_pixel, pytorch_half_pixel, align_corners, asymmetric,
// tf_half_pixel_for_nn). Nearest rounds by nearest_mode; linear interpolates
// between the two neighbours on every resized axis. Opset 10 Resize and Upsample
// have the old semantics: asymmetric mapping, nearest rounds down.
// Rejected at compile time: cubic, tf_crop_and_resize, antialias, and the
// keep_aspect_ratio_policy other than stretch.
#include <cmath>
#include <cstring>

#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

class Resize : public Kernel {
 public:
  // Cold: a constructor runs once per model, so it is built for size (pare-run, docs/runtime.md).
  [[gnu::cold]] Resize(const KernelInit& init, bool upsample) : upsample_(upsample), opset_(init.opset) {
    mode_ = init.attr_string("mode", "nearest");
    bool legacy = upsample || init.opset < 11;
    coord_ = legacy ? "asymmetric" : init.attr_string("coordinate_transformation_mode", "half_pixel");
    nearest_ = legacy ? "floor" : init.attr_string("nearest_mode", "round_prefer_floor");
    if (mode_ == "bilinear") mode_ = "linear";  // Upsample-7's spelling
    if (mode_ != "nearest" && mode_ != "linear") init.reject("mode '" + mode_ + "' is not supported (nearest and linear are)");
    if (coord_ != "half_pixel" && coord_ != "pytorch_half_pixel" && coord_ != "align_corners" && coord_ != "asymmetric" &&
        coord_ != "tf_half_pixel_for_nn")
      init.reject("coordinate_transformation_mode '" + coord_ + "' is not supported");
    if (nearest_ != "round_prefer_floor" && nearest_ != "round_prefer_ceil" && nearest_ != "floor" && nearest_ != "ceil")
      init.reject("nearest_mode '" + nearest_ + "' is not supported");
    if (init.attr_int("antialias", 0) != 0) init.reject("antialias is not supported");
    if (init.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") init.reject("keep_aspect_ratio_policy is not supported");
    if (init.node.has_attr("axes")) init.reject("the axes attribute is not supported");
    if (upsample && init.opset < 9) attr_scales_ = init.node.attr_floats("scales");
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    bool bytes = x.dtype == DataType::kUint8 || x.dtype == DataType::kInt8;
    if (x.dtype != DataType::kFloat && !(bytes && mode_ == "nearest"))
      compute_error(ctx, "only float32 is supported (uint8 and int8 in nearest mode)");
    size_t rank = x.rank();
    std::vector<float> scales(rank, 1.0f);
    std::vector<int64_t> out(rank);
    const TensorView* s = nullptr;
    const TensorView* sz = nullptr;
    if (upsample_) s = opset_ >= 9 ? ctx.input(1) : nullptr;
    else if (opset_ < 11) s = ctx.input(1);
    else {
      s = ctx.input(2);
      sz = ctx.input(3);
    }
    if (s && s->numel() == 0) s = nullptr;
    if (sz && sz->numel() == 0) sz = nullptr;
    if (sz) {
      auto sizes = read_ints(*sz);
      if (sizes.size() != rank) compute_error(ctx, "sizes must have one value per axis");
      for (size_t i = 0; i < rank; ++i) {
        out[i] = sizes[i];
        scales[i] = x.dims[i] ? static_cast<float>(out[i]) / static_cast<float>(x.dims[i]) : 1.0f;
      }
    } else {
      if (s) {
        if (s->dtype != DataType::kFloat || static_cast<size_t>(s->numel()) != rank)
          compute_error(ctx, "scales must be float32 with one value per axis");
        scales.assign(s->as<float>(), s->as<float>() + rank);
      } else if (!attr_scales_.empty()) {
        scales = attr_scales_;
      } else {
        compute_error(ctx, "neither scales nor sizes is given");
      }
      for (size_t i = 0; i < rank; ++i) out[i] = static_cast<int64_t>(std::floor(x.dims[i] * scales[i]));
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, out);
    // Per axis and output index: the two source indices and the weight of the second.
    std::vector<std::vector<int64_t>> lo(rank), hi(rank);
    std::vector<std::vector<float>> wt(rank);
    for (size_t a = 0; a < rank; ++a) {
      lo[a].resize(out[a]);
      hi[a].resize(out[a]);
      wt[a].resize(out[a]);
      for (int64_t o = 0; o < out[a]; ++o) map_index(a, o, x.dims[a], out[a], scales[a], lo[a][o], hi[a][o], wt[a][o]);
    }
    if (bytes) return nearest_bytes(ctx, x, y, lo);
    if (rank >= 2 && only_last_two_resized(x.dims, out, lo)) {
      resize_planes(ctx, x, y, lo, hi, wt);
      return;
    }
    std::vector<int64_t> strides(rank, 1);
    for (int64_t i = static_cast<int64_t>(rank) - 2; i >= 0; --i) strides[i] = strides[i + 1] * x.dims[i + 1];
    std::vector<size_t> interp;  // axes that need two taps
    for (size_t a = 0; a < rank; ++a)
      if (mode_ == "linear" && x.dims[a] != out[a]) interp.push_back(a);
    const float* px = x.as<float>();
    float* py = y.as<float>();
    int64_t inner = rank ? out.back() : 1, rows = inner ? y.numel() / inner : 0;
    ctx.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      std::vector<int64_t> idx(rank);
      for (int64_t r = r0; r < r1; ++r) {
        int64_t rem = r;
        for (size_t d = rank >= 1 ? rank - 1 : 0; d-- > 0;) {
          idx[d] = rem % out[d];
          rem /= out[d];
        }
        for (int64_t c = 0; c < inner; ++c) {
          idx[rank - 1] = c;
          float acc = 0;
          for (int64_t combo = 0; combo < (int64_t{1} << interp.size()); ++combo) {
            float w = 1;
            int64_t off = 0;
            for (size_t a = 0, k = 0; a < rank; ++a) {
              int64_t o = idx[a];
              if (k < interp.size() && interp[k] == a) {
                bool second = (combo >> k) & 1;
                off += (second ? hi[a][o] : lo[a][o]) * strides[a];
                w *= second ? wt[a][o] : 1 - wt[a][o];
                ++k;
              } else {
                off += lo[a][o] * strides[a];
              }
            }
            acc += w * px[off];
          }
          py[r * inner + c] = acc;
        }
      }
    });
  }

 private:
  // True when every axis but the last two keeps its size and maps index i to i.
  static bool only_last_two_resized(const std::vector<int64_t>& in, const std::vector<int64_t>& out,
                                    const std::vector<std::vector<int64_t>>& lo) {
    for (size_t a = 0; a + 2 < in.size(); ++a) {
      if (in[a] != out[a]) return false;
      for (int64_t i = 0; i < out[a]; ++i)
        if (lo[a][i] != i) return false;
    }
    return true;
  }

  // Nearest on 1-byte elements: each output row gathers from one input row
  // (an upsampling by 2 repeats each byte, which the compiler vectorises), and
  // a row from the same input row as the row before it is a copy of that row.
  static void nearest_bytes(const KernelContext& ctx, const TensorView& x, TensorView& y,
                            const std::vector<std::vector<int64_t>>& lo) {
    size_t rank = x.rank();
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    if (rank == 0) {
      py[0] = px[0];
      return;
    }
    std::vector<int64_t> strides(rank, 1);
    for (size_t i = rank - 1; i-- > 0;) strides[i] = strides[i + 1] * x.dims[i + 1];
    int64_t inner = y.dims.back(), rows = inner ? y.numel() / inner : 0;
    const std::vector<int64_t>& cols = lo[rank - 1];
    bool doubled = inner % 2 == 0;
    for (int64_t c = 0; doubled && c < inner; ++c) doubled = cols[c] == c / 2;
    auto source_row = [&](int64_t r) {
      int64_t off = 0;
      for (size_t d = rank - 1; d-- > 0;) {
        off += lo[d][r % y.dims[d]] * strides[d];
        r /= y.dims[d];
      }
      return off;
    };
    ctx.parallel_for(rows, [&](int64_t r0, int64_t r1) {
      int64_t previous = -1;
      for (int64_t r = r0; r < r1; ++r) {
        int64_t off = source_row(r);
        uint8_t* dst = py + r * inner;
        if (off == previous) {
          std::memcpy(dst, dst - inner, static_cast<size_t>(inner));
          continue;
        }
        previous = off;
        const uint8_t* src = px + off;
        if (doubled)
          for (int64_t c = 0; c < inner / 2; ++c) dst[2 * c] = dst[2 * c + 1] = src[c];
        else
          for (int64_t c = 0; c < inner; ++c) dst[c] = src[cols[c]];
      }
    });
  }

  // The common case (NCHW images): per plane and output row, two source rows
  // blended, each output pixel from two columns; nearest has weight 0 on the second.
  void resize_planes(const KernelContext& ctx, const TensorView& x, TensorView& y,
                     const std::vector<std::vector<int64_t>>& lo, const std::vector<std::vector<int64_t>>& hi,
                     const std::vector<std::vector<float>>& wt) const {
    size_t r = x.rank();
    int64_t ih = x.dims[r - 2], iw = x.dims[r - 1], oh = y.dims[r - 2], ow = y.dims[r - 1];
    int64_t planes = ih * iw ? x.numel() / (ih * iw) : 0;
    const auto &ylo = lo[r - 2], &yhi = hi[r - 2], &xlo = lo[r - 1], &xhi = hi[r - 1];
    const auto &wy = wt[r - 2], &wx = wt[r - 1];
    bool linear = mode_ == "linear";
    const float* px = x.as<float>();
    float* py = y.as<float>();
    if (linear && iw != ow) return resize_planes_linear(ctx, px, py, planes, ih, iw, oh, ow, ylo, yhi, xlo, xhi, wy, wx);
    ctx.parallel_for(planes, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* src = px + p * ih * iw;
        float* dst = py + p * oh * ow;
        for (int64_t oy = 0; oy < oh; ++oy) {
          const float* r0 = src + ylo[oy] * iw;
          const float* r1 = src + yhi[oy] * iw;
          float b = linear && ih != oh ? wy[oy] : 0.0f;
          float* out = dst + oy * ow;
          for (int64_t ox = 0; ox < ow; ++ox) out[ox] = r0[xlo[ox]] + b * (r1[xlo[ox]] - r0[xlo[ox]]);
        }
      }
    });
  }

  // Linear along the columns (and the rows, unless their count is kept): each
  // source row is interpolated along its columns once per plane (into `rows`,
  // ih x ow), then output rows blend two of them, top + b * (bottom - top), b
  // = 0 where the rows keep their count. Computing both rows' columns for every
  // output row instead, an upsampling by 2 did each source row's four times.
  static void resize_planes_linear(const KernelContext& ctx, const float* px, float* py, int64_t planes, int64_t ih,
                                   int64_t iw, int64_t oh, int64_t ow, const std::vector<int64_t>& ylo,
                                   const std::vector<int64_t>& yhi, const std::vector<int64_t>& xlo,
                                   const std::vector<int64_t>& xhi, const std::vector<float>& wy,
                                   const std::vector<float>& wx) {
    int64_t tasks = std::min<int64_t>(ctx.threads(), planes);
    auto* scratch = static_cast<float*>(const_cast<KernelContext&>(ctx).scratch(sizeof(float) * tasks * ih * ow));
    ctx.parallel_for(tasks, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        float* rows = scratch + t * ih * ow;
        for (int64_t p = t * planes / tasks; p < (t + 1) * planes / tasks; ++p) {
          const float* src = px + p * ih * iw;
          for (int64_t iy = 0; iy < ih; ++iy) {
            const float* r = src + iy * iw;
            float* h = rows + iy * ow;
            for (int64_t ox = 0; ox < ow; ++ox) h[ox] = r[xlo[ox]] + wx[ox] * (r[xhi[ox]] - r[xlo[ox]]);
          }
          float* dst = py + p * oh * ow;
          for (int64_t oy = 0; oy < oh; ++oy) {
            const float* top = rows + ylo[oy] * ow;
            const float* bottom = rows + yhi[oy] * ow;
            float b = ih != oh ? wy[oy] : 0.0f;
            float* out = dst + oy * ow;
            for (int64_t ox = 0; ox < ow; ++ox) out[ox] = top[ox] + b * (bottom[ox] - top[ox]);
          }
        }
      }
    });
  }

  void map_index(size_t, int64_t o, int64_t in, int64_t out, float scale, int64_t& lo, int64_t& hi, float& w) const {
    double x;
    if (coord_ == "half_pixel") x = (o + 0.5) / scale - 0.5;
    else if (coord_ == "pytorch_half_pixel") x = out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
    // The spec's resized length is in * scale, unrounded, when scales are given.
    else if (coord_ == "align_corners") x = in * scale > 1 ? o * static_cast<double>(in - 1) / (in * scale - 1) : 0.0;
    else if (coord_ == "tf_half_pixel_for_nn") x = (o + 0.5) / scale;
    else x = o / static_cast<double>(scale);
    if (mode_ == "nearest") {
      double r;
      if (nearest_ == "round_prefer_floor") r = (x - std::floor(x) == 0.5) ? std::floor(x) : std::round(x);
      else if (nearest_ == "round_prefer_ceil") r = std::round(x);
      else if (nearest_ == "floor") r = std::floor(x);
      else r = std::ceil(x);
      lo = hi = std::clamp<int64_t>(static_cast<int64_t>(r), 0, in - 1);
      w = 0;
      return;
    }
    x = std::clamp(x, 0.0, static_cast<double>(in - 1));
    lo = static_cast<int64_t>(std::floor(x));
    hi = std::min(lo + 1, in - 1);
    w = static_cast<float>(x - lo);
  }

  bool upsample_;
  int64_t opset_;
  std::string mode_, coord_, nearest_;
  std::vector<float> attr_scales_;
};

}  // namespace

std::vector<KernelDef> resize_kernels() {
  return {
      onnx_op("Resize", 10, make_kernel<Resize, false>),
      {"", "Upsample", 7, 9, make_kernel<Resize, true>, nullptr},
  };
}

}  // namespace pare::rt::kernels
