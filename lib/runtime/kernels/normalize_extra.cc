// Normalisations beyond Batch/Instance/LayerNorm: Hardmax, LRN,
// MeanVarianceNormalization, and BatchNormalization in training mode.
//
// Types: float, double, float16 (computed in double, written in the input's
// type). Each output element (or row) is computed by one loop in index order.
// MACs: LRN counts size multiply-adds per element; the others 0.
#include <cmath>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

// Hardmax: 1 at the first maximum of each row, 0 elsewhere. Before opset 13 a
// "row" is everything from `axis` on (the input is seen as 2-D); from 13 on it
// is the one axis.
class Hardmax : public Kernel {
 public:
  explicit Hardmax(const KernelInit& init)
      : flatten_(init.opset < 13), axis_(init.attr_int("axis", init.opset < 13 ? 1 : -1)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    check_real(ctx, x);
    int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = normalize_axis(axis_, rank);
    int64_t outer = product(x.dims, 0, static_cast<size_t>(axis));
    int64_t len = flatten_ ? product(x.dims, static_cast<size_t>(axis), x.rank()) : x.dims[axis];
    int64_t inner = flatten_ ? 1 : product(x.dims, static_cast<size_t>(axis) + 1, x.rank());
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t best = 0;
        for (int64_t k = 0; k < len; ++k) {
          put(y, (o * len + k) * inner + i, 0.0);
          if (get(x, (o * len + k) * inner + i) > get(x, (o * len + best) * inner + i)) best = k;
        }
        if (len > 0) put(y, (o * len + best) * inner + i, 1.0);
      }
  }

 private:
  bool flatten_;
  int64_t axis_;
};

class Lrn : public Kernel {
 public:
  explicit Lrn(const KernelInit& init)
      : alpha_(init.attr_float("alpha", 1e-4f)), beta_(init.attr_float("beta", 0.75f)), bias_(init.attr_float("bias", 1.0f)),
        size_(init.attr_int("size", 0)) {
    if (size_ < 1) init.reject("size must be >= 1");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    check_real(ctx, x);
    if (x.rank() < 3) compute_error(ctx, "input must be [N, C, D1, ...]");
    int64_t n = x.dims[0], c = x.dims[1], inner = product(x.dims, 2, x.rank());
    int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < inner; ++i) {
          double sq = 0;
          for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after); ++k) {
            double v = get(x, (b * c + k) * inner + i);
            sq += v * v;
          }
          int64_t off = (b * c + ch) * inner + i;
          put(y, off, get(x, off) / std::pow(bias_ + alpha_ / size_ * sq, beta_));
        }
  }

 private:
  double alpha_, beta_, bias_;
  int64_t size_;
};

// (x - mean) / (sqrt(E[x^2] - mean^2) + 1e-9) over `axes` (default 0, 2, 3), as the
// ONNX function body computes it.
class MeanVarianceNormalization : public Kernel {
 public:
  explicit MeanVarianceNormalization(const KernelInit& init) : axes_(init.attr_ints("axes", {0, 2, 3})) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    check_real(ctx, x);
    int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<bool> reduced(x.rank(), false);
    for (int64_t a : axes_) reduced[normalize_axis(a, rank)] = true;
    // Group elements by their position on the kept axes.
    auto xs = strides_of(x.dims);
    int64_t groups = 1, count = 1;
    for (size_t d = 0; d < x.rank(); ++d) (reduced[d] ? count : groups) *= x.dims[d];
    std::vector<int64_t> group_of(static_cast<size_t>(x.numel()));
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t rem = i, g = 0, mult = 1;
      for (size_t d = x.rank(); d-- > 0;) {
        int64_t idx = rem % x.dims[d];
        rem /= x.dims[d];
        if (!reduced[d]) {
          g += idx * mult;
          mult *= x.dims[d];
        }
      }
      group_of[i] = g;
    }
    std::vector<double> sum(groups, 0), sq(groups, 0);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double v = get(x, i);
      sum[group_of[i]] += v;
      sq[group_of[i]] += v * v;
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double mean = sum[group_of[i]] / count, var = sq[group_of[i]] / count - mean * mean;
      put(y, i, (get(x, i) - mean) / (std::sqrt(std::max(var, 0.0)) + 1e-9));
    }
  }

 private:
  std::vector<int64_t> axes_;
};

// BatchNormalization with training_mode=1 (opset 14+): normalises with the batch's
// own mean and (population) variance per channel and outputs the updated running
// statistics, running * momentum + batch * (1 - momentum). The fast kernel
// (norm.cc) is inference-only; kernels/create.cc hands these nodes over.
class BatchNormTraining : public Kernel {
 public:
  explicit BatchNormTraining(const KernelInit& init)
      : epsilon_(init.attr_float("epsilon", 1e-5f)), momentum_(init.attr_float("momentum", 0.9f)) {
    if (init.opset < 14 || init.attr_int("training_mode", 0) == 0) init.reject("only training_mode=1 (opset 14+) runs here");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    check_real(ctx, x);
    if (x.rank() < 2) compute_error(ctx, "X must be [N, C, ...]");
    int64_t n = x.dims[0], c = x.dims[1], inner = product(x.dims, 2, x.rank()), count = n * inner;
    for (size_t i = 1; i <= 4; ++i)
      if (required(ctx, i).numel() != c) compute_error(ctx, fmt::format("input {} must have {} values", i, c));
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    TensorView* rm = ctx.num_outputs() > 1 ? &ctx.allocate_output(1, ctx.input(3)->dtype, {c}) : nullptr;
    TensorView* rv = ctx.num_outputs() > 2 ? &ctx.allocate_output(2, ctx.input(4)->dtype, {c}) : nullptr;
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sq = 0;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < inner; ++i) sum += get(x, (b * c + ch) * inner + i);
      double mean = count ? sum / count : 0;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          double d = get(x, (b * c + ch) * inner + i) - mean;
          sq += d * d;
        }
      double var = count ? sq / count : 0, scale = get(*ctx.input(1), ch), bias = get(*ctx.input(2), ch);
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t off = (b * c + ch) * inner + i;
          put(y, off, (get(x, off) - mean) / std::sqrt(var + epsilon_) * scale + bias);
        }
      if (rm) put(*rm, ch, get(*ctx.input(3), ch) * momentum_ + mean * (1 - momentum_));
      if (rv) put(*rv, ch, get(*ctx.input(4), ch) * momentum_ + var * (1 - momentum_));
    }
  }

 private:
  double epsilon_, momentum_;
};

int64_t lrn_macs(const ir::Node& n, const NodeShapes& s) {
  int64_t e = 1;
  for (int64_t d : s.inputs.at(0)) e *= d;
  return e * n.attr_int("size", 1);
}

}  // namespace

std::unique_ptr<Kernel> make_batchnorm_training(const KernelInit& init) { return std::make_unique<BatchNormTraining>(init); }

std::vector<KernelDef> normalize_extra_kernels() {
  return {
      onnx_op("Hardmax", 1, make_kernel<Hardmax>),
      onnx_op("LRN", 1, make_kernel<Lrn>, lrn_macs),
      onnx_op("MeanVarianceNormalization", 9, make_kernel<MeanVarianceNormalization>),
  };
}

}  // namespace pare::rt::kernels
