// Ops that select or combine data: Concat, Split, Slice, Gather, Cast,
// ConstantOfShape. Byte-level, so every element type works, except Cast, which
// converts between all numeric types, float16 and bool (strings are rejected).
// Slice follows the spec's clamping for out-of-range and negative starts, ends
// and steps; Split takes sizes from the attribute (before 13), the input (13+) or
// num_outputs (18+), else equal parts.
#include <cmath>
#include <cstring>

#include "lib/base/fp16.h"
#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

int64_t prod(const std::vector<int64_t>& d, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= d[i];
  return p;
}

class Concat : public Kernel {
 public:
  explicit Concat(const KernelInit& init) : axis_(init.attr_int("axis", 0)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& first = *ctx.input(0);
    int64_t rank = static_cast<int64_t>(first.rank());
    int64_t axis = normalize_axis(axis_, rank);
    std::vector<int64_t> dims = first.dims;
    dims[axis] = 0;
    for (size_t k = 0; k < ctx.num_inputs(); ++k) {
      const TensorView& in = *ctx.input(k);
      if (in.rank() != first.rank() || in.dtype != first.dtype) compute_error(ctx, "inputs differ in rank or type");
      for (int64_t i = 0; i < rank; ++i)
        if (i != axis && in.dims[i] != first.dims[i])
          compute_error(ctx, fmt::format("input {} has shape [{}], which does not match [{}] off axis {}", k,
                                         fmt::join(in.dims, ","), fmt::join(first.dims, ","), axis));
      dims[axis] += in.dims[axis];
    }
    TensorView& y = ctx.allocate_output(0, first.dtype, dims);
    size_t es = ir::size_of(first.dtype);
    int64_t outer = prod(dims, 0, axis), inner = prod(dims, axis + 1, rank);
    auto* py = static_cast<uint8_t*>(y.data);
    int64_t offset = 0;
    for (size_t k = 0; k < ctx.num_inputs(); ++k) {
      const TensorView& in = *ctx.input(k);
      int64_t block = in.dims[axis] * inner * es;
      const auto* px = static_cast<const uint8_t*>(in.data);
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(py + (o * dims[axis] * inner + offset * inner) * es, px + o * block, block);
      offset += in.dims[axis];
    }
  }

 private:
  int64_t axis_;
};

class Split : public Kernel {
 public:
  explicit Split(const KernelInit& init)
      : axis_(init.attr_int("axis", 0)), sizes_from_input_(init.opset >= 13), attr_sizes_(init.attr_ints("split")) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = normalize_axis(axis_, rank);
    size_t n = ctx.num_outputs();
    std::vector<int64_t> sizes = attr_sizes_;
    if (sizes_from_input_) sizes = ctx.input(1) ? read_ints(*ctx.input(1)) : std::vector<int64_t>{};
    if (n == 0) compute_error(ctx, "no outputs to split into");
    if (sizes.empty()) {
      int64_t len = x.dims[axis], part = (len + static_cast<int64_t>(n) - 1) / static_cast<int64_t>(n);
      for (size_t i = 0; i < n; ++i) sizes.push_back(std::max<int64_t>(0, std::min(part, len - part * static_cast<int64_t>(i))));
      // Equal parts with a smaller last one: an empty part means more outputs
      // than the axis can fill, which ONNX Runtime refuses too.
      if (sizes.back() <= 0)
        compute_error(ctx, fmt::format("axis {} of size {} cannot be split into {} non-empty outputs", axis, len, n));
    }
    int64_t total = 0;
    bool bad = false;
    for (int64_t s : sizes) bad = bad || s < 0 || __builtin_add_overflow(total, s, &total);
    if (bad || sizes.size() != n || total != x.dims[axis])
      compute_error(ctx, fmt::format("split sizes [{}] do not cover axis {} of size {} in {} outputs",
                                     fmt::join(sizes, ","), axis, x.dims[axis], n));
    size_t es = ir::size_of(x.dtype);
    int64_t outer = prod(x.dims, 0, axis), inner = prod(x.dims, axis + 1, rank), offset = 0;
    const auto* px = static_cast<const uint8_t*>(x.data);
    for (size_t k = 0; k < n; ++k) {
      std::vector<int64_t> dims = x.dims;
      dims[axis] = sizes[k];
      TensorView& y = ctx.allocate_output(k, x.dtype, dims);
      auto* py = static_cast<uint8_t*>(y.data);
      int64_t block = sizes[k] * inner * es;
      if (block > 0)  // an empty part (or input) may have no buffer at all: memcpy wants one
        for (int64_t o = 0; o < outer; ++o)
          std::memcpy(py + o * block, px + (o * x.dims[axis] * inner + offset * inner) * es, block);
      offset += sizes[k];
    }
  }

 private:
  int64_t axis_;
  bool sizes_from_input_;
  std::vector<int64_t> attr_sizes_;
};

class Slice : public Kernel {
 public:
  explicit Slice(const KernelInit& init) : from_inputs_(init.opset >= 10) {
    starts_ = init.attr_ints("starts");
    ends_ = init.attr_ints("ends");
    axes_ = init.attr_ints("axes");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    if (from_inputs_) {
      starts = read_ints(*ctx.input(1));
      ends = read_ints(*ctx.input(2));
      axes = ctx.input(3) ? read_ints(*ctx.input(3)) : std::vector<int64_t>{};
      steps = ctx.input(4) ? read_ints(*ctx.input(4)) : std::vector<int64_t>{};
    }
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
      compute_error(ctx, "starts, ends, axes and steps differ in length");
    std::vector<int64_t> begin(rank, 0), step(rank, 1), dims = x.dims;
    std::vector<bool> seen(rank, false);
    for (size_t i = 0; i < starts.size(); ++i) {
      int64_t a = normalize_axis(axes[i], rank), len = x.dims[a], s = steps[i];
      if (seen[a]) compute_error(ctx, fmt::format("axis {} is sliced twice", a));
      seen[a] = true;
      if (s == 0) compute_error(ctx, "a step of 0");
      // A step longer than the axis takes one element either way; INT64_MIN has no
      // negation, so it is brought into range before any arithmetic.
      s = std::clamp<int64_t>(s, -INT64_MAX, INT64_MAX);
      int64_t st = starts[i] < 0 ? starts[i] + len : starts[i];
      int64_t en = ends[i] < 0 ? (ends[i] <= INT64_MIN / 2 ? -1 : ends[i] + len) : ends[i];
      if (s > 0) {
        st = std::clamp<int64_t>(st, 0, len);
        en = std::clamp<int64_t>(en, 0, len);
        dims[a] = en > st ? 1 + (en - st - 1) / s : 0;
      } else {
        st = std::clamp<int64_t>(st, 0, len - 1);
        en = std::clamp<int64_t>(en, -1, len - 1);
        dims[a] = st > en ? 1 + (st - en - 1) / (-s) : 0;
      }
      begin[a] = st;
      step[a] = s;
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    size_t es = ir::size_of(x.dtype);
    std::vector<int64_t> strides(rank, 1);
    for (int64_t i = rank - 2; i >= 0; --i) strides[i] = strides[i + 1] * x.dims[i + 1];
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    if (y.numel() == 0) return;
    if (rank == 0) {
      std::memcpy(py, px, es);
      return;
    }
    // Rows along the last axis, the outer indices counted like an odometer: a
    // division per element made M-LSD's channel slices 25x slower than a copy.
    int64_t inner = dims[rank - 1], rows = y.numel() / inner, last_step = step[rank - 1];
    std::vector<int64_t> index(rank, 0);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = begin[rank - 1] * strides[rank - 1];
      for (int64_t d = 0; d + 1 < rank; ++d) off += (begin[d] + index[d] * step[d]) * strides[d];
      uint8_t* dst = py + r * inner * static_cast<int64_t>(es);
      if (last_step == 1) {
        std::memcpy(dst, px + off * es, inner * es);
      } else {
        for (int64_t i = 0; i < inner; ++i) std::memcpy(dst + i * es, px + (off + i * last_step) * es, es);
      }
      for (int64_t d = rank - 2; d >= 0 && ++index[d] == dims[d]; --d) index[d] = 0;
    }
  }

 private:
  bool from_inputs_;
  std::vector<int64_t> starts_, ends_, axes_;
};

class Gather : public Kernel {
 public:
  explicit Gather(const KernelInit& init) : axis_(init.attr_int("axis", 0)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    auto idx = read_ints(*ctx.input(1));
    const auto& idims = ctx.input(1)->dims;
    int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = normalize_axis(axis_, rank);
    std::vector<int64_t> dims(x.dims.begin(), x.dims.begin() + axis);
    dims.insert(dims.end(), idims.begin(), idims.end());
    dims.insert(dims.end(), x.dims.begin() + axis + 1, x.dims.end());
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    size_t es = ir::size_of(x.dtype);
    int64_t outer = prod(x.dims, 0, axis), inner = prod(x.dims, axis + 1, rank), len = x.dims[axis];
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    int64_t n = static_cast<int64_t>(idx.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < n; ++i) {
        int64_t j = idx[i] < 0 ? idx[i] + len : idx[i];
        if (j < 0 || j >= len) compute_error(ctx, fmt::format("index {} is out of range for axis size {}", idx[i], len));
        std::memcpy(py + (o * n + i) * inner * es, px + (o * len + j) * inner * es, inner * es);
      }
  }

 private:
  int64_t axis_;
};

// Reads element i of any numeric tensor exactly (long double holds every int64).
long double load(const TensorView& t, int64_t i) {
  switch (t.dtype) {
    case DataType::kFloat: return t.as<float>()[i];
    case DataType::kDouble: return t.as<double>()[i];
    case DataType::kFloat16: return half_to_float(t.as<uint16_t>()[i]);
    case DataType::kInt8: return t.as<int8_t>()[i];
    case DataType::kUint8: return t.as<uint8_t>()[i];
    case DataType::kInt16: return t.as<int16_t>()[i];
    case DataType::kUint16: return t.as<uint16_t>()[i];
    case DataType::kInt32: return t.as<int32_t>()[i];
    case DataType::kUint32: return t.as<uint32_t>()[i];
    case DataType::kInt64: return t.as<int64_t>()[i];
    case DataType::kUint64: return t.as<uint64_t>()[i];
    case DataType::kBool: return t.as<bool>()[i] ? 1 : 0;
    case DataType::kUint4:
    case DataType::kInt4: return ir::load_4bit(t.dtype, static_cast<const uint8_t*>(t.data), static_cast<uint64_t>(i));
    default: fail("cannot cast from {}", ir::name(t.dtype));
  }
}

void store(TensorView& t, int64_t i, long double v) {
  switch (t.dtype) {
    case DataType::kFloat: t.as<float>()[i] = static_cast<float>(v); break;
    case DataType::kDouble: t.as<double>()[i] = static_cast<double>(v); break;
    case DataType::kFloat16: t.as<uint16_t>()[i] = float_to_half(static_cast<float>(v)); break;
    case DataType::kInt8: t.as<int8_t>()[i] = static_cast<int8_t>(static_cast<int64_t>(v)); break;
    case DataType::kUint8: t.as<uint8_t>()[i] = static_cast<uint8_t>(static_cast<int64_t>(v)); break;
    case DataType::kInt16: t.as<int16_t>()[i] = static_cast<int16_t>(static_cast<int64_t>(v)); break;
    case DataType::kUint16: t.as<uint16_t>()[i] = static_cast<uint16_t>(static_cast<int64_t>(v)); break;
    case DataType::kInt32: t.as<int32_t>()[i] = static_cast<int32_t>(static_cast<int64_t>(v)); break;
    case DataType::kUint32: t.as<uint32_t>()[i] = static_cast<uint32_t>(static_cast<int64_t>(v)); break;
    case DataType::kInt64: t.as<int64_t>()[i] = std::isnan(v) ? INT64_MIN : static_cast<int64_t>(v); break;
    case DataType::kUint64: t.as<uint64_t>()[i] = static_cast<uint64_t>(v); break;
    case DataType::kBool: t.as<bool>()[i] = v != 0; break;
    default: fail("cannot cast to {}", ir::name(t.dtype));
  }
}

class Cast : public Kernel {
 public:
  explicit Cast(const KernelInit& init) : to_(static_cast<DataType>(init.attr_int("to", 0))) {
    if (!ir::is_valid_dtype(static_cast<int32_t>(to_)) || to_ == DataType::kUndefined || to_ == DataType::kString ||
        to_ == DataType::kBfloat16 || to_ == DataType::kComplex64 || to_ == DataType::kComplex128 || ir::is_4bit(to_))
      init.reject(fmt::format("cast to {} is not supported", ir::name(to_)));
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    TensorView& y = ctx.allocate_output(0, to_, x.dims);
    if (x.dtype == to_) {
      std::memcpy(y.data, x.data, x.byte_size());
      return;
    }
    if (x.dtype == DataType::kFloat16 && to_ == DataType::kFloat) {
      for (int64_t i = 0; i < x.numel(); ++i) y.as<float>()[i] = half_to_float(x.as<uint16_t>()[i]);
      return;
    }
    try {
      for (int64_t i = 0; i < x.numel(); ++i) store(y, i, load(x, i));
    } catch (const Error& e) {
      compute_error(ctx, e.message());
    }
  }

 private:
  DataType to_;
};

class ConstantOfShape : public Kernel {
 public:
  explicit ConstantOfShape(const KernelInit& init) {
    const ir::Attribute* a = init.node.attr("value");
    value_ = a ? a->t : ir::Tensor::from<float>({1}, {0.0f});
    if (value_.numel() != 1) init.reject("value must hold one element");
  }
  void compute(KernelContext& ctx) override {
    auto dims = read_ints(*ctx.input(0));
    TensorView& y = ctx.allocate_output(0, value_.dtype(), dims);
    size_t es = ir::size_of(value_.dtype());
    auto* py = static_cast<uint8_t*>(y.data);
    for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(py + i * es, value_.raw(), es);
  }

 private:
  ir::Tensor value_;
};

}  // namespace

std::vector<KernelDef> tensor_kernels() {
  return {
      onnx_op("Concat", 1, make_kernel<Concat>),
      onnx_op("Split", 1, make_kernel<Split>),
      onnx_op("Slice", 1, make_kernel<Slice>),
      onnx_op("Gather", 1, make_kernel<Gather>),
      onnx_op("Cast", 6, make_kernel<Cast>),
      onnx_op("ConstantOfShape", 9, make_kernel<ConstantOfShape>),
  };
}

}  // namespace pare::rt::kernels
