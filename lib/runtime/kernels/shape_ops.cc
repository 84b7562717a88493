// Ops that only change a tensor's shape or layout: Reshape, Flatten, Squeeze,
// Unsqueeze, Identity, Shape, Size, Expand, Tile, Transpose, Range.
// They work on bytes, so every element type is supported (strings are not: the
// runner has none). Attributes that became inputs (Squeeze/Unsqueeze axes at
// opset 13, Reshape's shape at 5) are read from wherever the opset puts them.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "lib/runtime/broadcast.h"
#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

TensorView& copy_to(KernelContext& ctx, const TensorView& x, std::vector<int64_t> dims) {
  TensorView& y = ctx.allocate_output(0, x.dtype, std::move(dims));
  if (x.byte_size()) std::memcpy(y.data, x.data, x.byte_size());
  return y;
}

class Reshape : public Kernel {
 public:
  explicit Reshape(const KernelInit& init) : shape_attr_(init.opset < 5), allowzero_(init.attr_int("allowzero", 0) != 0) {
    if (shape_attr_) attr_shape_ = init.attr_ints("shape");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    std::vector<int64_t> shape = shape_attr_ ? attr_shape_ : read_ints(*ctx.input(1));
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 0 && !allowzero_) {
        if (i >= x.rank()) compute_error(ctx, "a 0 in the shape has no input dim to copy");
        shape[i] = x.dims[i];
      }
      if (shape[i] == -1) {
        if (infer >= 0) compute_error(ctx, "more than one -1 in the shape");
        infer = static_cast<int64_t>(i);
      } else if (shape[i] < 0) {
        compute_error(ctx, fmt::format("invalid dim {} in the shape", shape[i]));
      } else if (__builtin_mul_overflow(known, shape[i], &known)) {
        // Checked before use: the product of [2^40, 2^40] overflows int64.
        compute_error(ctx, fmt::format("shape [{}] has more elements than int64 can count", fmt::join(shape, ",")));
      }
    }
    if (infer >= 0) {
      if (known == 0 || x.numel() % known) compute_error(ctx, fmt::format("cannot infer -1 for {} elements", x.numel()));
      shape[infer] = x.numel() / known;
    }
    int64_t total = 1;
    for (int64_t d : shape)
      if (__builtin_mul_overflow(total, d, &total))
        compute_error(ctx, fmt::format("shape [{}] has more elements than int64 can count", fmt::join(shape, ",")));
    if (total != x.numel())
      compute_error(ctx, fmt::format("cannot reshape [{}] to [{}]", fmt::join(x.dims, ","), fmt::join(shape, ",")));
    copy_to(ctx, x, shape);
  }

 private:
  bool shape_attr_, allowzero_;
  std::vector<int64_t> attr_shape_;
};

class Flatten : public Kernel {
 public:
  explicit Flatten(const KernelInit& init) : axis_(init.attr_int("axis", 1)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    if (axis < 0 || axis > rank) compute_error(ctx, "axis out of range");
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.dims[i];
    copy_to(ctx, x, {outer, outer ? x.numel() / outer : 0});
  }

 private:
  int64_t axis_;
};

class SqueezeLike : public Kernel {
 public:
  SqueezeLike(const KernelInit& init, bool squeeze)
      : squeeze_(squeeze), axes_from_input_(init.opset >= 13), axes_(init.attr_ints("axes")) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    std::vector<int64_t> axes = axes_;
    if (axes_from_input_) axes = ctx.input(1) ? read_ints(*ctx.input(1)) : std::vector<int64_t>{};
    std::vector<int64_t> dims;
    if (squeeze_) {
      int64_t rank = static_cast<int64_t>(x.rank());
      std::vector<bool> drop(rank, false);
      for (int64_t a : axes) {
        int64_t ax = normalize_axis(a, rank);
        if (x.dims[ax] != 1) compute_error(ctx, fmt::format("cannot squeeze axis {} of size {}", a, x.dims[ax]));
        drop[ax] = true;
      }
      for (int64_t i = 0; i < rank; ++i)
        if (!(axes.empty() ? x.dims[i] == 1 : drop[i])) dims.push_back(x.dims[i]);
    } else {
      int64_t rank = static_cast<int64_t>(x.rank() + axes.size());
      std::vector<bool> add(rank, false);
      for (int64_t a : axes) add[normalize_axis(a, rank)] = true;
      size_t j = 0;
      for (int64_t i = 0; i < rank; ++i) dims.push_back(add[i] ? 1 : x.dims[j++]);
    }
    copy_to(ctx, x, dims);
  }

 private:
  bool squeeze_, axes_from_input_;
  std::vector<int64_t> axes_;
};

class Identity : public Kernel {
 public:
  void compute(KernelContext& ctx) override { copy_to(ctx, *ctx.input(0), ctx.input(0)->dims); }
};

class ShapeOp : public Kernel {
 public:
  explicit ShapeOp(const KernelInit& init) : start_(init.attr_int("start", 0)), end_(init.attr_int("end", INT64_MAX)) {}
  void compute(KernelContext& ctx) override {
    const auto& d = ctx.input(0)->dims;
    int64_t rank = static_cast<int64_t>(d.size());
    auto clamp = [rank](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
    int64_t s = clamp(start_), e = clamp(end_);
    TensorView& y = ctx.allocate_output(0, DataType::kInt64, {std::max<int64_t>(0, e - s)});
    for (int64_t i = s; i < e; ++i) y.as<int64_t>()[i - s] = d[i];
  }

 private:
  int64_t start_, end_;
};

class Size : public Kernel {
 public:
  void compute(KernelContext& ctx) override {
    TensorView& y = ctx.allocate_output(0, DataType::kInt64, {});
    *y.as<int64_t>() = ctx.input(0)->numel();
  }
};

class Expand : public Kernel {
 public:
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    auto dims = broadcast_shapes(x.dims, read_ints(*ctx.input(1)));
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    size_t es = ir::size_of(x.dtype);
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    for_each_broadcast<1>(ctx, dims, {&x.dims}, [&](int64_t o, int64_t i) { std::memcpy(py + o * es, px + i * es, es); });
  }
};

class Tile : public Kernel {
 public:
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    auto repeats = read_ints(*ctx.input(1));
    if (repeats.size() != x.rank()) compute_error(ctx, "repeats must have one value per input axis");
    std::vector<int64_t> dims(x.rank());
    for (size_t i = 0; i < x.rank(); ++i) dims[i] = x.dims[i] * repeats[i];
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    size_t es = ir::size_of(x.dtype);
    std::vector<int64_t> in_strides(x.rank(), 1);
    for (int64_t i = static_cast<int64_t>(x.rank()) - 2; i >= 0; --i) in_strides[i] = in_strides[i + 1] * x.dims[i + 1];
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    for (int64_t o = 0; o < y.numel(); ++o) {
      int64_t rem = o, off = 0;
      for (size_t d = x.rank(); d-- > 0;) {
        off += ((rem % dims[d]) % x.dims[d]) * in_strides[d];
        rem /= dims[d];
      }
      std::memcpy(py + o * es, px + off * es, es);
    }
  }
};

class Transpose : public Kernel {
 public:
  explicit Transpose(const KernelInit& init) : perm_(init.attr_ints("perm")) {
    std::vector<int64_t> sorted = perm_;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i)
      if (sorted[i] != static_cast<int64_t>(i))
        init.reject(fmt::format("perm [{}] is not a permutation of 0..{}", fmt::join(perm_, ","), perm_.size() - 1));
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    size_t rank = x.rank();
    std::vector<int64_t> perm = perm_;
    if (perm.empty())
      for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
    if (perm.size() != rank) compute_error(ctx, "perm must have one entry per axis");
    std::vector<int64_t> dims(rank), in_strides(rank, 1), strides(rank);
    for (int64_t i = static_cast<int64_t>(rank) - 2; i >= 0; --i) in_strides[i] = in_strides[i + 1] * x.dims[i + 1];
    for (size_t i = 0; i < rank; ++i) {
      dims[i] = x.dims[perm[i]];
      strides[i] = in_strides[perm[i]];
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    size_t es = ir::size_of(x.dtype);
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    int64_t batch, rows_in, cols_in;
    if (es == 4 && as_batched_2d(x.dims, perm, batch, rows_in, cols_in)) {
      transpose_2d(ctx, static_cast<const uint32_t*>(x.data), static_cast<uint32_t*>(y.data), batch, rows_in, cols_in);
      return;
    }
    int64_t inner = rank ? dims.back() : 1, rows = inner ? y.numel() / inner : 0;
    int64_t step = rank ? strides.back() : 0;
    ctx.parallel_for(rows, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        int64_t rem = r, off = 0;
        for (size_t d = rank >= 1 ? rank - 1 : 0; d-- > 0;) {
          off += (rem % dims[d]) * strides[d];
          rem /= dims[d];
        }
        uint8_t* out = py + r * inner * es;
        if (es == 4) {
          const auto* src = reinterpret_cast<const uint32_t*>(px);
          auto* dst = reinterpret_cast<uint32_t*>(out);
          for (int64_t i = 0; i < inner; ++i) dst[i] = src[off + i * step];
        } else {
          for (int64_t i = 0; i < inner; ++i) std::memcpy(out + i * es, px + (off + i * step) * es, es);
        }
      }
    });
  }

 private:
  // Whether the permutation, once runs of axes that stay together are merged
  // and axes of size 1 dropped, swaps the last two of [batch, rows, cols]: the
  // NCHW <-> NHWC transposes models converted from TensorFlow start and end with.
  static bool as_batched_2d(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& perm, int64_t& batch,
                            int64_t& rows, int64_t& cols) {
    // Runs of input axes in order as the output lists them: (first axis, size).
    int64_t first[3], size[3], prev = -1;
    int runs = 0;
    for (int64_t a : perm) {
      if (in_dims[a] == 1) continue;
      bool extends = runs > 0 && a > prev;  // an axis of size 1 between does not break a run
      for (int64_t b = prev + 1; extends && b < a; ++b) extends = in_dims[b] == 1;
      if (extends) {
        size[runs - 1] *= in_dims[a];
      } else {
        if (runs == 3) return false;
        first[runs] = a;
        size[runs++] = in_dims[a];
      }
      prev = a;
    }
    // In output order: [batch] then B then A, where A comes before B in the input.
    if (runs == 2 && first[0] > first[1]) {
      batch = 1, rows = size[1], cols = size[0];
      return true;
    }
    if (runs == 3 && first[0] < first[2] && first[2] < first[1]) {
      batch = size[0], rows = size[2], cols = size[1];
      return true;
    }
    return false;
  }

  // y[b][c][r] = x[b][r][c], in 16 x 16 tiles so that reads and writes both
  // stay within a few cache lines: row by row, one side strode through memory
  // (M-LSD's NCHW -> NHWC output transpose wrote four floats per row).
  static void transpose_2d(const KernelContext& ctx, const uint32_t* x, uint32_t* y, int64_t batch, int64_t rows,
                           int64_t cols) {
    if (cols == 3) {
      for (int64_t b = 0; b < batch; ++b) split_three(ctx, x + b * rows * 3, y + b * rows * 3, rows);
      return;
    }
    constexpr int64_t kTile = 16;
    int64_t row_tiles = (rows + kTile - 1) / kTile;
    ctx.parallel_for(batch * row_tiles, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        int64_t b = t / row_tiles, r0 = t % row_tiles * kTile, r1 = std::min(rows, r0 + kTile);
        const uint32_t* xb = x + b * rows * cols;
        uint32_t* yb = y + b * rows * cols;
        for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
          int64_t c1 = std::min(cols, c0 + kTile);
          for (int64_t c = c0; c < c1; ++c)
            for (int64_t r = r0; r < r1; ++r) yb[c * rows + r] = xb[r * cols + c];
        }
      }
    });
  }

  // [n, 3] -> [3, n]: an RGB image from NHWC to NCHW (BlazeFace's
  // input), one pass, which the compiler vectorises for the known stride (the
  // tiles above spent 0.5 ns an element on it).
  static void split_three(const KernelContext& ctx, const uint32_t* x, uint32_t* y, int64_t n) {
    ctx.parallel_for(n, [&](int64_t b, int64_t e) {
      const uint32_t* __restrict src = x;
      uint32_t* __restrict r = y;
      uint32_t* __restrict g = y + n;
      uint32_t* __restrict bl = y + 2 * n;
      for (int64_t i = b; i < e; ++i) {
        r[i] = src[3 * i];
        g[i] = src[3 * i + 1];
        bl[i] = src[3 * i + 2];
      }
    });
  }

  std::vector<int64_t> perm_;
};

class Range : public Kernel {
 public:
  void compute(KernelContext& ctx) override {
    const TensorView& s = *ctx.input(0);
    auto scalar = [&](const TensorView& t) -> double {
      switch (t.dtype) {
        case DataType::kFloat: return *t.as<float>();
        case DataType::kDouble: return *t.as<double>();
        case DataType::kInt32: return *t.as<int32_t>();
        case DataType::kInt64: return static_cast<double>(*t.as<int64_t>());
        default: compute_error(ctx, "unsupported type");
      }
    };
    double start = scalar(s), limit = scalar(*ctx.input(1)), delta = scalar(*ctx.input(2));
    if (delta == 0) compute_error(ctx, "delta must not be 0");
    int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
    TensorView& y = ctx.allocate_output(0, s.dtype, {n});
    for (int64_t i = 0; i < n; ++i) {
      double v = start + i * delta;
      switch (s.dtype) {
        case DataType::kFloat: y.as<float>()[i] = static_cast<float>(v); break;
        case DataType::kDouble: y.as<double>()[i] = v; break;
        case DataType::kInt32: y.as<int32_t>()[i] = static_cast<int32_t>(v); break;
        default: y.as<int64_t>()[i] = static_cast<int64_t>(v);
      }
    }
  }
};

// NonZero: the indices of non-zero elements, as [rank, count] int64 in row-major order.
class NonZero : public Kernel {
 public:
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    size_t es = ir::size_of(x.dtype);
    const auto* px = static_cast<const uint8_t*>(x.data);
    std::vector<int64_t> hits;
    for (int64_t i = 0; i < x.numel(); ++i) {
      bool nz = false;
      for (size_t b = 0; b < es && !nz; ++b) nz = px[i * es + b] != 0;
      if (x.dtype == DataType::kFloat) nz = x.as<float>()[i] != 0.0f;  // -0.0 is zero
      if (x.dtype == DataType::kDouble) nz = x.as<double>()[i] != 0.0;
      if (nz) hits.push_back(i);
    }
    int64_t rank = static_cast<int64_t>(x.rank()), n = static_cast<int64_t>(hits.size());
    TensorView& y = ctx.allocate_output(0, DataType::kInt64, {std::max<int64_t>(rank, 1), n});
    for (int64_t k = 0; k < n; ++k) {
      int64_t rem = hits[k];
      for (int64_t d = rank - 1; d >= 0; --d) {
        y.as<int64_t>()[d * n + k] = rem % x.dims[d];
        rem /= x.dims[d];
      }
      if (rank == 0) y.as<int64_t>()[k] = 0;
    }
  }
};

}  // namespace

std::vector<KernelDef> shape_kernels() {
  return {
      onnx_op("Reshape", 1, make_kernel<Reshape>),
      onnx_op("Flatten", 1, make_kernel<Flatten>),
      onnx_op("Squeeze", 1, make_kernel<SqueezeLike, true>),
      onnx_op("Unsqueeze", 1, make_kernel<SqueezeLike, false>),
      onnx_op("Identity", 1, make_fixed_kernel<Identity>),
      onnx_op("Shape", 1, make_kernel<ShapeOp>),
      onnx_op("Size", 1, make_fixed_kernel<Size>),
      onnx_op("Expand", 8, make_fixed_kernel<Expand>),
      onnx_op("Tile", 6, make_fixed_kernel<Tile>),
      onnx_op("Transpose", 1, make_kernel<Transpose>),
      onnx_op("Range", 11, make_fixed_kernel<Range>),
      onnx_op("NonZero", 9, make_fixed_kernel<NonZero>),
  };
}

}  // namespace pare::rt::kernels
