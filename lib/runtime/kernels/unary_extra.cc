// More elementwise ops: trigonometric and hyperbolic functions (Tan, Asin, Acos,
// Atan, Sinh, Cosh, Asinh, Acosh, Atanh), activations (Gelu, Celu,
// ThresholdedRelu, Shrink), IsNaN, IsInf and BitShift.
//
// Types: float, double and float16 for the math (float16 is computed in float
// and rounded once per element, as ONNX Runtime does); IsNaN/IsInf give bool;
// BitShift takes unsigned integers, and a shift by the type's width or more
// gives 0 (C++ would leave it undefined). Elementwise: 0 MACs; chunks of the
// flat output are split over threads, one writer per element.
#include <cmath>

#include "lib/runtime/broadcast.h"
#include "lib/runtime/kernels/chunks.h"
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

// y = f(x) for float, double and float16 x; F is callable on float and double.
template <typename F>
class RealUnary : public Kernel {
 public:
  explicit RealUnary(F f) : f_(f) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    switch (x.dtype) {
      case DataType::kFloat: map_flat(ctx, x.as<float>(), y.as<float>(), x.numel(), [this](float v) { return f_(v); }); break;
      case DataType::kDouble: map_flat(ctx, x.as<double>(), y.as<double>(), x.numel(), [this](double v) { return f_(v); }); break;
      case DataType::kFloat16:
        map_flat(ctx, static_cast<const uint16_t*>(x.data), static_cast<uint16_t*>(y.data), x.numel(),
                   [this](uint16_t v) { return float_to_half(f_(half_to_float(v))); });
        break;
      default: compute_error(ctx, fmt::format("{} inputs are not supported (float, double, float16)", ir::name(x.dtype)));
    }
  }

 private:
  F f_;
};

template <typename F>
std::unique_ptr<Kernel> real_unary(F f) {
  return std::make_unique<RealUnary<F>>(f);
}

// IsNaN / IsInf: float types -> bool.
class FloatTest : public Kernel {
 public:
  FloatTest(bool nan, bool neg, bool pos) : nan_(nan), neg_(neg), pos_(pos) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (!is_real(x.dtype)) compute_error(ctx, fmt::format("{} inputs are not supported (float, double, float16)", ir::name(x.dtype)));
    TensorView& y = ctx.allocate_output(0, DataType::kBool, x.dims);
    bool* py = y.as<bool>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double v = get(x, i);
      py[i] = nan_ ? std::isnan(v) : (std::isinf(v) && ((v > 0 && pos_) || (v < 0 && neg_)));
    }
  }

 private:
  bool nan_, neg_, pos_;
};

class BitShift : public Kernel {
 public:
  explicit BitShift(const KernelInit& init) {
    std::string d = init.attr_string("direction", "");
    if (d != "LEFT" && d != "RIGHT") init.reject("direction must be LEFT or RIGHT");
    left_ = d == "LEFT";
  }
  void compute(KernelContext& ctx) override {
    const TensorView& a = required(ctx, 0);
    const TensorView& b = required(ctx, 1);
    if (a.dtype != b.dtype) compute_error(ctx, "inputs have different types");
    std::vector<int64_t> dims;
    try {
      dims = broadcast_shapes(a.dims, b.dims);
    } catch (const Error& e) {
      compute_error(ctx, e.message());
    }
    TensorView& y = ctx.allocate_output(0, a.dtype, dims);
    auto typed = [&](auto t) { run<decltype(t)>(ctx, a, b, y); };
    if (!visit_dtype<uint8_t, uint16_t, uint32_t, uint64_t>(a.dtype, typed))
      compute_error(ctx, fmt::format("{} inputs are not supported (unsigned integers)", ir::name(a.dtype)));
  }

 private:
  template <typename T>
  void run(const KernelContext& ctx, const TensorView& a, const TensorView& b, TensorView& y) {
    const T* pa = a.as<T>();
    const T* pb = b.as<T>();
    T* py = y.as<T>();
    bool left = left_;
    for_each_broadcast<2>(ctx, y.dims, {&a.dims, &b.dims}, [&](int64_t o, int64_t i, int64_t j) {
      T s = pb[j];
      py[o] = s >= sizeof(T) * 8 ? T(0) : static_cast<T>(left ? pa[i] << s : pa[i] >> s);
    });
  }
  bool left_ = true;
};

// Gelu (opset 20): exact with erf, or the tanh approximation.
std::unique_ptr<Kernel> make_gelu(const KernelInit& init) {
  std::string approx = init.attr_string("approximate", "none");
  if (approx == "tanh")
    return real_unary([](auto x) {
      using T = decltype(x);
      return static_cast<T>(0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))));
    });
  if (approx != "none") init.reject(fmt::format("approximate '{}' is not none or tanh", approx));
  return real_unary([](auto x) {
    using T = decltype(x);
    return static_cast<T>(0.5 * x * (1 + std::erf(x * M_SQRT1_2)));
  });
}

}  // namespace

std::vector<KernelDef> unary_extra_kernels() {
  using I = const KernelInit&;
  return {
      onnx_op("Tan", 7, [](I) { return real_unary([](auto x) { return std::tan(x); }); }),
      onnx_op("Asin", 7, [](I) { return real_unary([](auto x) { return std::asin(x); }); }),
      onnx_op("Acos", 7, [](I) { return real_unary([](auto x) { return std::acos(x); }); }),
      onnx_op("Atan", 7, [](I) { return real_unary([](auto x) { return std::atan(x); }); }),
      onnx_op("Sinh", 9, [](I) { return real_unary([](auto x) { return std::sinh(x); }); }),
      onnx_op("Cosh", 9, [](I) { return real_unary([](auto x) { return std::cosh(x); }); }),
      onnx_op("Asinh", 9, [](I) { return real_unary([](auto x) { return std::asinh(x); }); }),
      onnx_op("Acosh", 9, [](I) { return real_unary([](auto x) { return std::acosh(x); }); }),
      onnx_op("Atanh", 9, [](I) { return real_unary([](auto x) { return std::atanh(x); }); }),
      onnx_op("Gelu", 20, make_gelu),
      onnx_op("Celu", 12, [](I init) {
         float alpha = init.attr_float("alpha", 1.0f);
         if (alpha == 0) init.reject("alpha must not be 0");
         return real_unary([alpha](auto x) {
           using T = decltype(x);
           return std::max(T(0), x) + std::min(T(0), static_cast<T>(alpha * (std::exp(x / alpha) - 1)));
         });
       }),
      onnx_op("ThresholdedRelu", 10, [](I init) {
         float alpha = init.attr_float("alpha", 1.0f);
         return real_unary([alpha](auto x) { return x > alpha ? x : decltype(x)(0); });
       }),
      onnx_op("Shrink", 9, [](I init) {
         float bias = init.attr_float("bias", 0.0f), lambd = init.attr_float("lambd", 0.5f);
         return real_unary([bias, lambd](auto x) {
           using T = decltype(x);
           return x < -lambd ? static_cast<T>(x + bias) : x > lambd ? static_cast<T>(x - bias) : T(0);
         });
       }),
      onnx_op("IsNaN", 9, make_fixed_kernel<FloatTest, true, false, false>),
      onnx_op("IsInf", 10, [](I init) -> std::unique_ptr<Kernel> {
         return std::make_unique<FloatTest>(false, init.attr_int("detect_negative", 1) != 0, init.attr_int("detect_positive", 1) != 0);
       }),
      onnx_op("BitShift", 11, make_kernel<BitShift>),
  };
}

}  // namespace pare::rt::kernels
