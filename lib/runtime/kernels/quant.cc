// QuantizeLinear and DequantizeLinear, exactly per the ONNX spec: the literal
// QDQ semantics that pare's quantized models run with, and the test oracle for
// any faster int8 kernel later.
//
//   Q:  y = saturate(round_half_to_even(x / scale) + zero_point)   (uint8 or int8)
//   DQ: y = (x - zero_point) * scale                                (float)
// Per-tensor (scalar scale) or per-axis (1-D scale along `axis`, opset 13+).
// The output type of Q is the zero point's type (uint8 when it is absent).
// DequantizeLinear also reads int4/uint4 (packed, opset 21), float16 scales
// (its output then is float16) and blocked scales (block_size, opset 21);
// QuantizeLinear rejects block_size at compile time.
#include <cmath>

#include "lib/base/fp16.h"

#include "lib/runtime/epilogue_simd.h"
#include "lib/runtime/kernels/chunks.h"
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

// Per-tensor loops (one scale, one zero point: every activation of an int8
// model), the same formulas as the general loops below with the scale hoisted,
// so the compiler vectorises them; an AVX2 copy of each is compiled too and
// runs when the session's Isa has AVX2 (the same results: nearbyint and
// vroundps both round half to even, and there is nothing to fuse).
template <typename T>
__attribute__((always_inline)) inline void quantize_body(const float* x, float scale, float zp, T* y, int64_t n) {
  constexpr float lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(quantize_linear(x[i], scale, zp, lo, hi));
}
template <typename T>
__attribute__((always_inline)) inline void dequantize_body(const T* x, int32_t zp, float scale, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zp) * scale;
}
template <typename T>
void quantize_tensor(const float* x, float scale, float zp, T* y, int64_t n) { quantize_body(x, scale, zp, y, n); }
template <typename T>
void dequantize_tensor(const T* x, int32_t zp, float scale, float* y, int64_t n) { dequantize_body(x, zp, scale, y, n); }
#if PARE_HAVE_AVX2_KERNELS
template <typename T>
PARE_TARGET_AVX2 void quantize_tensor_avx2(const float* x, float scale, float zp, T* y, int64_t n) {
  quantize_body(x, scale, zp, y, n);
}
template <typename T>
PARE_TARGET_AVX2 void dequantize_tensor_avx2(const T* x, int32_t zp, float scale, float* y, int64_t n) {
  dequantize_body(x, zp, scale, y, n);
}
#endif

template <typename T>
void quantize_per_tensor(const KernelContext& ctx, const float* x, float scale, float zp, T* y, int64_t n, Isa isa) {
  for_chunks(ctx, n, [&](int64_t i, int64_t end) {
#if PARE_HAVE_AVX2_KERNELS
    if (has_avx2(isa)) return quantize_tensor_avx2(x + i, scale, zp, y + i, end - i);
#endif
    quantize_tensor(x + i, scale, zp, y + i, end - i);
  });
}

template <typename T>
void dequantize_per_tensor(const KernelContext& ctx, const T* x, int32_t zp, float scale, float* y, int64_t n, Isa isa) {
  for_chunks(ctx, n, [&](int64_t i, int64_t end) {
#if PARE_HAVE_AVX2_KERNELS
    if (has_avx2(isa)) return dequantize_tensor_avx2(x + i, zp, scale, y + i, end - i);
#endif
    dequantize_tensor(x + i, zp, scale, y + i, end - i);
  });
}

void check_block_size(const KernelInit& init) {
  if (init.attr_int("block_size", 0) != 0) init.reject("blocked quantization (block_size) is not supported");
}

class Quantize : public Kernel {
 public:
  explicit Quantize(const KernelInit& init) : axis_(init.attr_int("axis", 1)), isa_(init.isa) {
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
    if (ch.count == 1) {
      float z = zp ? static_cast<float>(out == DataType::kUint8 ? zp->as<uint8_t>()[0] : zp->as<int8_t>()[0]) : 0.0f;
      if (out == DataType::kUint8) quantize_per_tensor(ctx, px, ps[0], z, y.as<uint8_t>(), x.numel(), isa_);
      else quantize_per_tensor(ctx, px, ps[0], z, y.as<int8_t>(), x.numel(), isa_);
      return;
    }
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
        y[i] = static_cast<T>(quantize_linear(x[i], scale[c], zp ? static_cast<float>(zp[c]) : 0.0f, lo, hi));
      }
    });
  }
  int64_t axis_;
  Isa isa_;
};

// Where the scale of each element of x is: per tensor, per axis, or per block
// of `block` elements along the axis (opset 21; scale has x's rank and
// ceil(x.dims[axis] / block) entries along it).
struct ScaleIndex {
  int64_t inner = 1, len = 1, count = 1, block = 0;  // block 0: not blocked
  int64_t of(int64_t i) const {
    if (block == 0) return count == 1 ? 0 : (i / inner) % count;
    int64_t r = i % inner, a = (i / inner) % len, o = i / inner / len;
    return (o * count + a / block) * inner + r;
  }
};

ScaleIndex blocked_index(const KernelContext& ctx, const TensorView& x, const TensorView& scale, int64_t axis_attr,
                         int64_t block) {
  if (scale.rank() != x.rank()) compute_error(ctx, "a blocked scale must have the rank of x");
  int64_t axis = normalize_axis(axis_attr, static_cast<int64_t>(x.rank()));
  ScaleIndex s;
  s.block = block;
  s.len = x.dims[axis];
  s.count = (s.len + block - 1) / block;
  for (size_t d = 0; d < x.rank(); ++d) {
    int64_t want = static_cast<int64_t>(d) == axis ? s.count : x.dims[d];
    if (scale.dims[d] != want)
      compute_error(ctx, fmt::format("blocked scale has {} entries on axis {} where x's dims and block_size {} need {}",
                                     scale.dims[d], d, block, want));
  }
  for (size_t i = axis + 1; i < x.rank(); ++i) s.inner *= x.dims[i];
  return s;
}

// Element i of an integer tensor of any type DequantizeLinear reads.
int64_t load_integer(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DataType::kUint8: return t.as<uint8_t>()[i];
    case DataType::kInt8: return t.as<int8_t>()[i];
    case DataType::kInt32: return t.as<int32_t>()[i];
    case DataType::kUint4:
    case DataType::kInt4: return ir::load_4bit(t.dtype, static_cast<const uint8_t*>(t.data), static_cast<uint64_t>(i));
    default: return 0;  // refused before
  }
}

bool dequantizable(DataType t) {
  return t == DataType::kUint8 || t == DataType::kInt8 || t == DataType::kInt32 || ir::is_4bit(t);
}

// DequantizeLinear: y = (x - zero_point) * scale, computed in float32 and
// stored in the scale's type (float32, or float16 from opset 19). x may be
// int4/uint4 and blocked from opset 21. Runs once, at compile time, for
// constant weights.
class Dequantize : public Kernel {
 public:
  explicit Dequantize(const KernelInit& init)
      : axis_(init.attr_int("axis", 1)), block_(init.attr_int("block_size", 0)), isa_(init.isa) {
    if (block_ != 0 && init.opset < 21) init.reject("block_size needs opset 21");
    if (block_ < 0) init.reject("block_size must be positive");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    const TensorView& scale = *ctx.input(1);
    const TensorView* zp = ctx.input(2);
    if (scale.dtype != DataType::kFloat && scale.dtype != DataType::kFloat16)
      compute_error(ctx, "scale must be float32 or float16");
    if (!dequantizable(x.dtype)) compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
    if (zp && (zp->dtype != x.dtype || zp->numel() != scale.numel()))
      compute_error(ctx, "zero_point must match x's type and scale's size");
    ScaleIndex si;
    if (block_ > 0) {
      si = blocked_index(ctx, x, scale, axis_, block_);
    } else {
      Channels ch = channels(ctx, x, scale, axis_);
      si.inner = ch.inner;
      si.count = ch.count;
    }
    TensorView& y = ctx.allocate_output(0, scale.dtype, x.dims);
    std::vector<float> s(static_cast<size_t>(scale.numel()));
    for (size_t k = 0; k < s.size(); ++k)
      s[k] = scale.dtype == DataType::kFloat ? scale.as<float>()[k] : half_to_float(scale.as<uint16_t>()[k]);
    int64_t n = x.numel();
    if (si.count == 1 && si.block == 0 && y.dtype == DataType::kFloat) {
      int32_t z = zp ? static_cast<int32_t>(load_integer(*zp, 0)) : 0;
      if (x.dtype == DataType::kUint8) return dequantize_per_tensor(ctx, x.as<uint8_t>(), z, s[0], y.as<float>(), n, isa_);
      if (x.dtype == DataType::kInt8) return dequantize_per_tensor(ctx, x.as<int8_t>(), z, s[0], y.as<float>(), n, isa_);
    }
    ctx.parallel_for((n + 16383) / 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b * 16384, end = std::min(n, e * 16384); i < end; ++i) {
        int64_t c = si.of(i);
        float v = static_cast<float>(load_integer(x, i) - (zp ? load_integer(*zp, c) : 0)) * s[c];
        if (y.dtype == DataType::kFloat) y.as<float>()[i] = v;
        else y.as<uint16_t>()[i] = float_to_half(v);
      }
    });
  }

 private:
  int64_t axis_, block_;
  Isa isa_;
};

}  // namespace

std::vector<KernelDef> quant_kernels() {
  return {
      onnx_op("QuantizeLinear", 10, make_kernel<Quantize>),
      onnx_op("DequantizeLinear", 10, make_kernel<Dequantize>),
  };
}

}  // namespace pare::rt::kernels
