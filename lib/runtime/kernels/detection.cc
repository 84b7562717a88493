// Detection and sampling ops: NonMaxSuppression, RoiAlign, GridSample.
//
// NonMaxSuppression: per batch and class, boxes with score > score_threshold
// taken by descending score (ties: lower box index first, so the result is
// deterministic), a box kept unless its IoU with a kept box exceeds
// iou_threshold, at most max_output_boxes_per_class of them; output
// [selected, 3] int64 (batch, class, box) in that order.
// RoiAlign: average (or max) of bilinear samples per bin, with the spec's
// half_pixel / output_half_pixel coordinates. GridSample: bilinear, nearest
// or bicubic (A = -0.75) sampling with zeros, border or reflection padding,
// align_corners as in the spec. Types: float, double, float16 (computed in
// double). MACs: 0 (no multiply-accumulate of weights).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

void require_real(const KernelContext& ctx, const TensorView& x, const char* what) {
  if (!is_real(x.dtype)) compute_error(ctx, fmt::format("{} must be float, double or float16, got {}", what, ir::name(x.dtype)));
}

// ---------- NonMaxSuppression ----------

struct Box {
  double y1, x1, y2, x2;
};

double iou(const Box& a, const Box& b) {
  double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1), iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (ih <= 0 || iw <= 0) return 0;
  double inter = ih * iw, uni = (a.y2 - a.y1) * (a.x2 - a.x1) + (b.y2 - b.y1) * (b.x2 - b.x1) - inter;
  return uni > 0 ? inter / uni : 0;
}

class NonMaxSuppression : public Kernel {
 public:
  explicit NonMaxSuppression(const KernelInit& init) : center_(init.attr_int("center_point_box", 0)) {
    if (center_ != 0 && center_ != 1) init.reject("center_point_box must be 0 or 1");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& boxes = required(ctx, 0);
    const TensorView& scores = required(ctx, 1);
    require_real(ctx, boxes, "boxes");
    require_real(ctx, scores, "scores");
    if (boxes.rank() != 3 || boxes.dims[2] != 4) compute_error(ctx, "boxes must be [batch, boxes, 4]");
    if (scores.rank() != 3 || scores.dims[0] != boxes.dims[0] || scores.dims[2] != boxes.dims[1])
      compute_error(ctx, "scores must be [batch, classes, boxes]");
    int64_t max_out = 0;
    double iou_th = 0, score_th = -INFINITY;
    bool has_score_th = false;
    if (const TensorView* t = ctx.input(2); t && t->numel() > 0) max_out = read_ints(*t)[0];
    if (const TensorView* t = ctx.input(3); t && t->numel() > 0) iou_th = get(*t, 0);
    if (const TensorView* t = ctx.input(4); t && t->numel() > 0) {
      score_th = get(*t, 0);
      has_score_th = true;
    }
    if (iou_th < 0 || iou_th > 1) compute_error(ctx, fmt::format("iou_threshold {} is not in [0, 1]", iou_th));
    int64_t nb = boxes.dims[0], nbox = boxes.dims[1], nc = scores.dims[1];
    std::vector<int64_t> selected;  // triples
    for (int64_t b = 0; b < nb; ++b) {
      std::vector<Box> bx(static_cast<size_t>(nbox));
      for (int64_t i = 0; i < nbox; ++i) {
        double v[4];
        for (int k = 0; k < 4; ++k) v[k] = get(boxes, (b * nbox + i) * 4 + k);
        if (center_) bx[i] = {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2};
        else bx[i] = {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3])};
      }
      for (int64_t c = 0; c < nc; ++c) {
        if (max_out <= 0) break;
        std::vector<int64_t> order;
        std::vector<double> sc(static_cast<size_t>(nbox));
        for (int64_t i = 0; i < nbox; ++i) {
          sc[i] = get(scores, (b * nc + c) * nbox + i);
          // NaN scores are never selected (and would break the sort's ordering).
          if (!std::isnan(sc[i]) && (!has_score_th || sc[i] > score_th)) order.push_back(i);
        }
        std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return sc[p] > sc[q]; });
        std::vector<int64_t> kept;
        for (int64_t i : order) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          bool keep = true;
          for (int64_t k : kept)
            if (iou(bx[i], bx[k]) > iou_th) {
              keep = false;
              break;
            }
          if (keep) kept.push_back(i);
        }
        for (int64_t k : kept) selected.insert(selected.end(), {b, c, k});
      }
    }
    TensorView& y = ctx.allocate_output(0, DataType::kInt64, {static_cast<int64_t>(selected.size() / 3), 3});
    std::copy(selected.begin(), selected.end(), y.as<int64_t>());
  }

 private:
  int64_t center_;
};

// ---------- RoiAlign ----------

class RoiAlign : public Kernel {
 public:
  explicit RoiAlign(const KernelInit& init)
      : out_h_(init.attr_int("output_height", 1)), out_w_(init.attr_int("output_width", 1)),
        ratio_(init.attr_int("sampling_ratio", 0)), scale_(init.attr_float("spatial_scale", 1.0f)) {
    std::string mode = init.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max") init.reject(fmt::format("mode '{}' is not avg or max", mode));
    max_ = mode == "max";
    // Opset 10 has no attribute and behaves as output_half_pixel.
    std::string ctm = init.attr_string("coordinate_transformation_mode", init.opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (ctm != "half_pixel" && ctm != "output_half_pixel") init.reject(fmt::format("coordinate_transformation_mode '{}' is not supported", ctm));
    half_pixel_ = ctm == "half_pixel";
    if (out_h_ < 1 || out_w_ < 1 || ratio_ < 0) init.reject("output sizes must be >= 1 and sampling_ratio >= 0");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& rois = required(ctx, 1);
    const TensorView& bidx = required(ctx, 2);
    require_real(ctx, x, "X");
    require_real(ctx, rois, "rois");
    if (x.rank() != 4 || rois.rank() != 2 || rois.dims[1] != 4 || bidx.numel() != rois.dims[0])
      compute_error(ctx, "expected X [N, C, H, W], rois [R, 4] and batch_indices [R]");
    int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3], r = rois.dims[0];
    TensorView& y = ctx.allocate_output(0, x.dtype, {r, c, out_h_, out_w_});
    double off = half_pixel_ ? 0.5 : 0.0;
    for (int64_t k = 0; k < r; ++k) {
      int64_t b = get_int(bidx, k);
      if (b < 0 || b >= n) compute_error(ctx, fmt::format("batch index {} is out of range [0, {})", b, n));
      double x1 = get(rois, k * 4) * scale_ - off, y1 = get(rois, k * 4 + 1) * scale_ - off;
      double rw = get(rois, k * 4 + 2) * scale_ - off - x1, rh = get(rois, k * 4 + 3) * scale_ - off - y1;
      if (!half_pixel_) {
        rw = std::max(rw, 1.0);
        rh = std::max(rh, 1.0);
      }
      double bh = rh / out_h_, bw = rw / out_w_;
      if (!(std::fabs(rh) < 1e7 && std::fabs(rw) < 1e7)) compute_error(ctx, fmt::format("roi {} is not a finite region of the image scale", k));
      int64_t gh = ratio_ > 0 ? ratio_ : static_cast<int64_t>(std::ceil(rh / out_h_));
      int64_t gw = ratio_ > 0 ? ratio_ : static_cast<int64_t>(std::ceil(rw / out_w_));
      // A roi of absurd size would mean billions of samples per bin: refuse instead of hanging.
      if (gh > 65536 || gw > 65536)
        compute_error(ctx, fmt::format("roi {} spans more than the sampling grid can hold", k));
      double count = std::max<int64_t>(gh * gw, 1);
      for (int64_t ch = 0; ch < c; ++ch) {
        int64_t base = (b * c + ch) * h * w;
        for (int64_t ph = 0; ph < out_h_; ++ph)
          for (int64_t pw = 0; pw < out_w_; ++pw) {
            double acc = 0;
            bool first = true;
            for (int64_t iy = 0; iy < gh; ++iy)
              for (int64_t ix = 0; ix < gw; ++ix) {
                double yy = y1 + ph * bh + (iy + 0.5) * bh / gh, xx = x1 + pw * bw + (ix + 0.5) * bw / gw;
                double v = sample(x, base, h, w, yy, xx);
                if (max_) acc = first ? v : std::max(acc, v);
                else acc += v;
                first = false;
              }
            put(y, ((k * c + ch) * out_h_ + ph) * out_w_ + pw, max_ ? acc : acc / count);
          }
      }
    }
  }

 private:
  // Bilinear sample; max mode takes the largest weighted corner, as ONNX Runtime does.
  double sample(const TensorView& x, int64_t base, int64_t h, int64_t w, double yy, double xx) const {
    if (yy < -1.0 || yy > h || xx < -1.0 || xx > w) return 0;
    yy = std::max(yy, 0.0);
    xx = std::max(xx, 0.0);
    int64_t yl = static_cast<int64_t>(yy), xl = static_cast<int64_t>(xx), yh, xh;
    if (yl >= h - 1) yh = yl = h - 1, yy = static_cast<double>(yl);
    else yh = yl + 1;
    if (xl >= w - 1) xh = xl = w - 1, xx = static_cast<double>(xl);
    else xh = xl + 1;
    double ly = yy - yl, lx = xx - xl, hy = 1 - ly, hx = 1 - lx;
    double v1 = get(x, base + yl * w + xl), v2 = get(x, base + yl * w + xh), v3 = get(x, base + yh * w + xl),
           v4 = get(x, base + yh * w + xh);
    if (max_) return std::max({hy * hx * v1, hy * lx * v2, ly * hx * v3, ly * lx * v4});
    return hy * hx * v1 + hy * lx * v2 + ly * hx * v3 + ly * lx * v4;
  }

  int64_t out_h_, out_w_, ratio_;
  double scale_;
  bool max_ = false, half_pixel_ = true;
};

// ---------- GridSample ----------

enum class GridMode { kBilinear, kNearest, kBicubic };
enum class GridPad { kZeros, kBorder, kReflection };

double reflect(double v, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0) return lo;
  if (v < lo) {
    double d = lo - v;
    int64_t n = static_cast<int64_t>(d / range);
    double r = d - n * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (v > hi) {
    double d = v - hi;
    int64_t n = static_cast<int64_t>(d / range);
    double r = d - n * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return v;
}

void cubic_coeffs(double t, double c[4]) {
  const double a = -0.75;
  t = std::fabs(t);
  c[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
  c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
  c[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
}

class GridSample : public Kernel {
 public:
  explicit GridSample(const KernelInit& init) : align_(init.attr_int("align_corners", 0) != 0) {
    std::string mode = init.attr_string("mode", "bilinear"), pad = init.attr_string("padding_mode", "zeros");
    if (mode == "bilinear" || mode == "linear") mode_ = GridMode::kBilinear;
    else if (mode == "nearest") mode_ = GridMode::kNearest;
    else if (mode == "bicubic" || mode == "cubic") mode_ = GridMode::kBicubic;
    else init.reject(fmt::format("mode '{}' is not supported", mode));
    if (pad == "zeros") pad_ = GridPad::kZeros;
    else if (pad == "border") pad_ = GridPad::kBorder;
    else if (pad == "reflection") pad_ = GridPad::kReflection;
    else init.reject(fmt::format("padding_mode '{}' is not supported", pad));
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& grid = required(ctx, 1);
    require_real(ctx, x, "X");
    require_real(ctx, grid, "grid");
    if (x.rank() != 4 || grid.rank() != 4 || grid.dims[0] != x.dims[0] || grid.dims[3] != 2)
      compute_error(ctx, "expected X [N, C, H, W] and grid [N, H_out, W_out, 2] (only 2-D sampling is supported)");
    int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3], ho = grid.dims[1], wo = grid.dims[2];
    TensorView& y = ctx.allocate_output(0, x.dtype, {n, c, ho, wo});
    double xmin = align_ ? 0 : -0.5, xmax = align_ ? w - 1 : w - 0.5, ymin = align_ ? 0 : -0.5, ymax = align_ ? h - 1 : h - 0.5;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        int64_t base = (b * c + ch) * h * w;
        auto pixel = [&](int64_t r, int64_t col) -> double {
          if (pad_ == GridPad::kZeros) return (col >= 0 && col < w && r >= 0 && r < h) ? get(x, base + r * w + col) : 0.0;
          if (pad_ == GridPad::kBorder) {
            col = std::clamp<int64_t>(col, 0, w - 1);
            r = std::clamp<int64_t>(r, 0, h - 1);
          } else {
            col = std::clamp<int64_t>(static_cast<int64_t>(reflect(static_cast<double>(col), xmin, xmax)), 0, w - 1);
            r = std::clamp<int64_t>(static_cast<int64_t>(reflect(static_cast<double>(r), ymin, ymax)), 0, h - 1);
          }
          return get(x, base + r * w + col);
        };
        for (int64_t i = 0; i < ho; ++i)
          for (int64_t j = 0; j < wo; ++j) {
            int64_t g = ((b * ho + i) * wo + j) * 2;
            double gx = get(grid, g), gy = get(grid, g + 1);
            double xx = align_ ? (gx + 1) / 2 * (w - 1) : ((gx + 1) * w - 1) / 2;
            double yy = align_ ? (gy + 1) / 2 * (h - 1) : ((gy + 1) * h - 1) / 2;
            if (mode_ == GridMode::kNearest) {
              xx = std::nearbyint(xx);
              yy = std::nearbyint(yy);
            }
            if (xx < xmin || xx > xmax || yy < ymin || yy > ymax) {
              if (pad_ == GridPad::kBorder) {
                xx = std::clamp(xx, 0.0, static_cast<double>(w - 1));
                yy = std::clamp(yy, 0.0, static_cast<double>(h - 1));
              } else if (pad_ == GridPad::kReflection) {
                xx = reflect(xx, xmin, xmax);
                yy = reflect(yy, ymin, ymax);
              }
            }
            double v;
            if (mode_ == GridMode::kNearest) {
              v = pixel(static_cast<int64_t>(yy), static_cast<int64_t>(xx));
            } else if (mode_ == GridMode::kBilinear) {
              int64_t x1 = static_cast<int64_t>(std::floor(xx)), y1 = static_cast<int64_t>(std::floor(yy));
              double dx1 = xx - x1, dx2 = x1 + 1 - xx, dy1 = yy - y1, dy2 = y1 + 1 - yy;
              v = dy2 * (dx2 * pixel(y1, x1) + dx1 * pixel(y1, x1 + 1)) + dy1 * (dx2 * pixel(y1 + 1, x1) + dx1 * pixel(y1 + 1, x1 + 1));
            } else {
              int64_t x0 = static_cast<int64_t>(std::floor(xx)) - 1, y0 = static_cast<int64_t>(std::floor(yy)) - 1;
              double cx[4], cy[4];
              cubic_coeffs(xx - x0 - 1, cx);
              cubic_coeffs(yy - y0 - 1, cy);
              v = 0;
              for (int r = 0; r < 4; ++r) {
                double row = 0;
                for (int k = 0; k < 4; ++k) row += cx[k] * pixel(y0 + r, x0 + k);
                v += cy[r] * row;
              }
            }
            put(y, ((b * c + ch) * ho + i) * wo + j, v);
          }
      }
  }

 private:
  bool align_;
  GridMode mode_ = GridMode::kBilinear;
  GridPad pad_ = GridPad::kZeros;
};

}  // namespace

std::vector<KernelDef> detection_kernels() {
  return {
      onnx_op("NonMaxSuppression", 10, make_kernel<NonMaxSuppression>),
      onnx_op("RoiAlign", 10, make_kernel<RoiAlign>),
      onnx_op("GridSample", 16, make_kernel<GridSample>),
  };
}

}  // namespace pare::rt::kernels
