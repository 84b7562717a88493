// Normalisations, float32: BatchNormalization (inference), InstanceNormalization,
// LayerNormalization.
//
// BatchNormalization: y = (x - mean) / sqrt(var + eps) * scale + bias over axis 1;
// with constant parameters the per-channel multiplier and offset are computed
// once at compile time. training_mode = 1 is rejected (pare runs inference).
// LayerNormalization normalises over the axes from `axis` to the end;
// InstanceNormalization over the spatial axes of each (n, c).
#include <cmath>

#include "lib/runtime/epilogue.h"
#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

const float* floats(const KernelContext& ctx, size_t i, int64_t want) {
  const TensorView* t = ctx.input(i);
  if (!t || t->dtype != DataType::kFloat) compute_error(ctx, fmt::format("input {} must be float32", i));
  if (want >= 0 && t->numel() != want) compute_error(ctx, fmt::format("input {} has {} values, expected {}", i, t->numel(), want));
  return t->as<float>();
}

class BatchNorm : public Kernel {
 public:
  explicit BatchNorm(const KernelInit& init) : eps_(init.attr_float("epsilon", 1e-5f)) {
    if (init.attr_int("training_mode", 0) != 0) init.reject("training_mode=1 is not supported (inference only)");
    if (init.opset < 7 && init.attr_int("is_test", 1) == 0) init.reject("is_test=0 is not supported (inference only)");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kFloat) compute_error(ctx, "only float32 is supported");
    if (x.rank() < 2) compute_error(ctx, "input must have a channel axis");
    int64_t c = x.dims[1], n = x.dims[0], inner = x.numel() / std::max<int64_t>(1, n * c);
    const float *scale = floats(ctx, 1, c), *bias = floats(ctx, 2, c), *mean = floats(ctx, 3, c), *var = floats(ctx, 4, c);
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, x.dims);
    const float* px = x.as<float>();
    float* py = y.as<float>();
    ctx.parallel_for(n * c, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        int64_t ch = i % c;
        float mul, add;  // as a BatchNormalization fused into a Conv's epilogue computes them
        batch_norm_factors(scale[ch], bias[ch], mean[ch], var[ch], eps_, mul, add);
        batch_norm_row(px + i * inner, py + i * inner, inner, mul, add);
      }
    });
  }

 private:
  float eps_;
};

class InstanceNorm : public Kernel {
 public:
  explicit InstanceNorm(const KernelInit& init) : eps_(init.attr_float("epsilon", 1e-5f)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kFloat || x.rank() < 3) compute_error(ctx, "input must be float32 [N, C, ...]");
    int64_t n = x.dims[0], c = x.dims[1], inner = x.numel() / (n * c);
    const float *scale = floats(ctx, 1, c), *bias = floats(ctx, 2, c);
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, x.dims);
    normalize_rows(ctx, x.as<float>(), y.as<float>(), n * c, inner, eps_,
                   [&](int64_t row, int64_t) { return scale[row % c]; }, [&](int64_t row, int64_t) { return bias[row % c]; });
  }

  // Normalises each row of `inner` values; optionally stores each row's mean and 1/stddev.
  template <typename S, typename B>
  static void normalize_rows(const KernelContext& ctx, const float* x, float* y, int64_t rows, int64_t inner, float eps,
                             S scale, B bias, float* means = nullptr, float* inv_stds = nullptr) {
    ctx.parallel_for(rows, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const float* xs = x + r * inner;
        double sum = 0, sq = 0;
        for (int64_t j = 0; j < inner; ++j) sum += xs[j];
        double mean = sum / inner;
        for (int64_t j = 0; j < inner; ++j) sq += (xs[j] - mean) * (xs[j] - mean);
        float inv = static_cast<float>(1.0 / std::sqrt(sq / inner + eps));
        if (means) means[r] = static_cast<float>(mean);
        if (inv_stds) inv_stds[r] = inv;
        for (int64_t j = 0; j < inner; ++j)
          y[r * inner + j] = static_cast<float>(xs[j] - mean) * inv * scale(r, j) + bias(r, j);
      }
    });
  }

 private:
  float eps_;
};

class LayerNorm : public Kernel {
 public:
  explicit LayerNorm(const KernelInit& init) : axis_(init.attr_int("axis", -1)), eps_(init.attr_float("epsilon", 1e-5f)) {
    if (init.attr_int("stash_type", 1) != 1) init.reject("stash_type other than float is not supported");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kFloat) compute_error(ctx, "only float32 is supported");
    int64_t axis = normalize_axis(axis_, static_cast<int64_t>(x.rank()));
    int64_t inner = 1;
    for (size_t i = axis; i < x.rank(); ++i) inner *= x.dims[i];
    int64_t rows = inner ? x.numel() / inner : 0;
    const TensorView* s = ctx.input(1);
    const TensorView* b = ctx.input(2);
    if (!s || s->numel() != inner || (b && b->numel() != inner)) compute_error(ctx, "scale and bias must cover the normalised axes");
    if (s->dtype != DataType::kFloat || (b && b->dtype != DataType::kFloat)) compute_error(ctx, "scale and bias must be float32");
    const float* ps = s->as<float>();
    const float* pb = b ? b->as<float>() : nullptr;
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, x.dims);
    // Mean and InvStdDev have the input's shape with the normalised axes set to 1.
    std::vector<int64_t> stat_dims = x.dims;
    for (size_t i = axis; i < x.rank(); ++i) stat_dims[i] = 1;
    float* means = ctx.num_outputs() > 1 ? ctx.allocate_output(1, DataType::kFloat, stat_dims).as<float>() : nullptr;
    float* invs = ctx.num_outputs() > 2 ? ctx.allocate_output(2, DataType::kFloat, stat_dims).as<float>() : nullptr;
    InstanceNorm::normalize_rows(ctx, x.as<float>(), y.as<float>(), rows, inner, eps_,
                                 [&](int64_t, int64_t j) { return ps[j]; }, [&](int64_t, int64_t j) { return pb ? pb[j] : 0.0f; },
                                 means, invs);
  }

 private:
  int64_t axis_;
  float eps_;
};

}  // namespace

std::vector<KernelDef> norm_kernels() {
  return {
      onnx_op("BatchNormalization", 1, make_kernel<BatchNorm>),
      onnx_op("InstanceNormalization", 1, make_kernel<InstanceNorm>),
      onnx_op("LayerNormalization", 17, make_kernel<LayerNorm>),
  };
}

}  // namespace pare::rt::kernels
