// QuantizeLinear and DequantizeLinear, exactly per the ONNX spec: the literal
// QDQ semantics that pare's quantized models run with, and the test oracle for
// any faster int8 kernel later.
//
//   Q:  y = saturate(round_half_to_even(x / scale) + zero_point)   (uint8 or int8)
//   DQ: y = (x - zero_point) * scale                                (float)
// Per-tensor (scalar scale) or per-axis (1-D scale along `axis`, opset 13+).
// The output type of Q is the zero point's type (uint8 when it is absent).
// Blocked quantization (block_size, opset 21) is rejected at compile time.
#include <cmath>

#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

// Index of the scale that applies to each element: 0 per-tensor, else along axis.
struct Channels {
  int64_t inner = 1, count = 1;
  int64_t of(int64_t i) const { return count == 1 ? 0 : (i / inner) % count; }
};

Channels channels(const KernelContext& ctx, const TensorView& x, const TensorView& scale, int64_t axis_attr) {
  Channels c;
  if (scale.numel() == 1) return c;
  if (scale.rank() != 1) compute_error(ctx, "scale must be a scalar or 1-D");
  int64_t axis = normalize_axis(axis_attr, static_cast<int64_t>(x.rank()));
  if (x.dims[axis] != scale.numel())
    compute_error(ctx, fmt::format("scale has {} values but axis {} has size {}", scale.numel(), axis, x.dims[axis]));
  for (size_t i = axis + 1; i < x.rank(); ++i) c.inner *= x.dims[i];
  c.count = scale.numel();
  return c;
}

void check_block_size(const KernelInit& init) {
  if (init.attr_int("block_size", 0) != 0) init.reject("blocked quantization (block_size) is not supported");
}

class Quantize : public Kernel {
 public:
  explicit Quantize(const KernelInit& init) : axis_(init.attr_int("axis", 1)) {
    check_block_size(init);
    if (init.attr_int("saturate", 1) != 1) init.reject("saturate=0 is not supported");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    const TensorView& scale = *ctx.input(1);
    const TensorView* zp = ctx.input(2);
    if (x.dtype != DataType::kFloat || scale.dtype != DataType::kFloat) compute_error(ctx, "x and scale must be float32");
    DataType out = zp ? zp->dtype : DataType::kUint8;
    if (out != DataType::kUint8 && out != DataType::kInt8) compute_error(ctx, "only uint8 and int8 outputs are supported");
    if (zp && zp->numel() != scale.numel()) compute_error(ctx, "zero_point and scale differ in size");
    Channels ch = channels(ctx, x, scale, axis_);
    TensorView& y = ctx.allocate_output(0, out, x.dims);
    const float* px = x.as<float>();
    const float* ps = scale.as<float>();
    if (out == DataType::kUint8) run<uint8_t>(ctx, px, ps, zp ? zp->as<uint8_t>() : nullptr, ch, y.as<uint8_t>(), x.numel());
    else run<int8_t>(ctx, px, ps, zp->as<int8_t>(), ch, y.as<int8_t>(), x.numel());
  }

 private:
  template <typename T>
  static void run(const KernelContext& ctx, const float* x, const float* scale, const T* zp, const Channels& ch, T* y,
                  int64_t n) {
    constexpr float lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
    ctx.parallel_for((n + 16383) / 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b * 16384, end = std::min(n, e * 16384); i < end; ++i) {
        int64_t c = ch.of(i);
        // nearbyint rounds half to even in the default rounding mode.
        float q = std::nearbyint(x[i] / scale[c]) + (zp ? static_cast<float>(zp[c]) : 0.0f);
        y[i] = static_cast<T>(std::clamp(q, lo, hi));
      }
    });
  }
  int64_t axis_;
};

class Dequantize : public Kernel {
 public:
  explicit Dequantize(const KernelInit& init) : axis_(init.attr_int("axis", 1)) { check_block_size(init); }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    const TensorView& scale = *ctx.input(1);
    const TensorView* zp = ctx.input(2);
    if (scale.dtype != DataType::kFloat) compute_error(ctx, "scale must be float32");
    if (zp && (zp->dtype != x.dtype || zp->numel() != scale.numel()))
      compute_error(ctx, "zero_point must match x's type and scale's size");
    Channels ch = channels(ctx, x, scale, axis_);
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, x.dims);
    switch (x.dtype) {
      case DataType::kUint8: run<uint8_t>(ctx, x, scale, zp, ch, y); break;
      case DataType::kInt8: run<int8_t>(ctx, x, scale, zp, ch, y); break;
      case DataType::kInt32: run<int32_t>(ctx, x, scale, zp, ch, y); break;
      default: compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
    }
  }

 private:
  template <typename T>
  static void run(const KernelContext& ctx, const TensorView& x, const TensorView& scale, const TensorView* zp,
                  const Channels& ch, TensorView& y) {
    const T* px = x.as<T>();
    const T* pz = zp ? zp->as<T>() : nullptr;
    const float* ps = scale.as<float>();
    float* py = y.as<float>();
    int64_t n = x.numel();
    ctx.parallel_for((n + 16383) / 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b * 16384, end = std::min(n, e * 16384); i < end; ++i) {
        int64_t c = ch.of(i);
        py[i] = static_cast<float>(static_cast<int64_t>(px[i]) - (pz ? static_cast<int64_t>(pz[c]) : 0)) * ps[c];
      }
    });
  }
  int64_t axis_;
};

}  // namespace

std::vector<KernelDef> quant_kernels() {
  return {
      {"", "QuantizeLinear", 10, kLatestOpset, [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Quantize>(i); }, nullptr},
      {"", "DequantizeLinear", 10, kLatestOpset, [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Dequantize>(i); }, nullptr},
  };
}

}  // namespace pare::rt::kernels
