// Reductions: ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSumExp/LogSum, ArgMax,
// ArgMin (TopK, a sort, is in unique.cc).
//
// Axes come from the attribute (before opset 13 for ReduceSum, before 18 for
// the others) or from the optional second input; keepdims and
// noop_with_empty_axes as in the spec. Sums accumulate in double, in a fixed
// order per output element, so results do not depend on the thread count.
// ArgMax/ArgMin honour select_last_index.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

enum class Red { kMean, kSum, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSumExp, kLogSum };

// Splits a tensor into [outer, reduced, inner] index spaces for arbitrary axes by
// iterating output elements and, per element, every reduced position.
struct ReducePlan {
  std::vector<int64_t> out_dims, kept_dims;
  std::vector<int64_t> out_strides_in_input;  // for each kept axis, its input stride
  std::vector<int64_t> red_sizes, red_strides;
  int64_t out_count = 1, red_count = 1;
};

ReducePlan plan_reduce(const std::vector<int64_t>& dims, std::vector<int64_t> axes, bool keepdims) {
  int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<bool> reduced(rank, false);
  if (axes.empty()) std::fill(reduced.begin(), reduced.end(), true);
  for (int64_t a : axes) reduced[normalize_axis(a, rank)] = true;
  std::vector<int64_t> strides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  ReducePlan p;
  for (int64_t i = 0; i < rank; ++i) {
    if (reduced[i]) {
      p.red_sizes.push_back(dims[i]);
      p.red_strides.push_back(strides[i]);
      p.red_count *= dims[i];
      if (keepdims) p.out_dims.push_back(1);
    } else {
      p.kept_dims.push_back(dims[i]);
      p.out_strides_in_input.push_back(strides[i]);
      p.out_count *= dims[i];
      p.out_dims.push_back(dims[i]);
    }
  }
  return p;
}

// Input offsets of every reduced position, in row-major order of the reduced axes.
std::vector<int64_t> reduced_offsets(const ReducePlan& p) {
  std::vector<int64_t> offs(p.red_count);
  for (int64_t r = 0; r < p.red_count; ++r) {
    int64_t rem = r, off = 0;
    for (size_t d = p.red_sizes.size(); d-- > 0;) {
      off += (rem % p.red_sizes[d]) * p.red_strides[d];
      rem /= p.red_sizes[d];
    }
    offs[r] = off;
  }
  return offs;
}

int64_t base_offset(const ReducePlan& p, int64_t o) {
  int64_t rem = o, off = 0;
  for (size_t d = p.kept_dims.size(); d-- > 0;) {
    off += (rem % p.kept_dims[d]) * p.out_strides_in_input[d];
    rem /= p.kept_dims[d];
  }
  return off;
}

class Reduce : public Kernel {
 public:
  Reduce(const KernelInit& init, Red op, int axes_input_since)
      : op_(op),
        keepdims_(init.attr_int("keepdims", 1) != 0),
        noop_empty_(init.attr_int("noop_with_empty_axes", 0) != 0),
        axes_from_input_(init.opset >= axes_input_since),
        axes_(init.attr_ints("axes")) {}

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    std::vector<int64_t> axes = axes_;
    if (axes_from_input_) {
      axes.clear();
      if (const TensorView* a = ctx.input(1)) axes = read_ints(*a);
    }
    if (axes.empty() && noop_empty_ && axes_from_input_) {
      TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
      std::memcpy(y.data, x.data, x.byte_size());
      return;
    }
    ReducePlan p = plan_reduce(x.dims, axes, keepdims_);
    TensorView& y = ctx.allocate_output(0, x.dtype, p.out_dims);
    auto typed = [&](auto t) { run<decltype(t)>(ctx, x, y, p); };
    if (!visit_dtype<float, double, int32_t, int64_t>(x.dtype, typed))
      compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
  }

 private:
  template <typename T>
  void run(KernelContext& ctx, const TensorView& x, TensorView& y, const ReducePlan& p) {
    auto offs = reduced_offsets(p);
    const T* px = x.as<T>();
    T* py = y.as<T>();
    ctx.parallel_for(p.out_count, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* base = px + base_offset(p, o);
        double acc;
        switch (op_) {
          case Red::kMax: acc = -std::numeric_limits<double>::infinity(); for (int64_t off : offs) acc = std::max(acc, double(base[off])); break;
          case Red::kMin: acc = std::numeric_limits<double>::infinity(); for (int64_t off : offs) acc = std::min(acc, double(base[off])); break;
          case Red::kProd: acc = 1; for (int64_t off : offs) acc *= base[off]; break;
          case Red::kL1: acc = 0; for (int64_t off : offs) acc += std::fabs(double(base[off])); break;
          case Red::kL2: acc = 0; for (int64_t off : offs) acc += double(base[off]) * base[off]; acc = std::sqrt(acc); break;
          case Red::kSumSquare: acc = 0; for (int64_t off : offs) acc += double(base[off]) * base[off]; break;
          case Red::kLogSumExp: {
            double m = -std::numeric_limits<double>::infinity();
            for (int64_t off : offs) m = std::max(m, double(base[off]));
            acc = 0;
            for (int64_t off : offs) acc += std::exp(base[off] - m);
            acc = m + std::log(acc);
            break;
          }
          case Red::kLogSum: acc = 0; for (int64_t off : offs) acc += base[off]; acc = std::log(acc); break;
          default: acc = 0; for (int64_t off : offs) acc += base[off]; if (op_ == Red::kMean) acc /= std::max<int64_t>(p.red_count, 1);
        }
        py[o] = static_cast<T>(acc);
      }
    });
  }
  Red op_;
  bool keepdims_, noop_empty_, axes_from_input_;
  std::vector<int64_t> axes_;
};

class ArgExtreme : public Kernel {
 public:
  ArgExtreme(const KernelInit& init, bool max)
      : max_(max), axis_(init.attr_int("axis", 0)), keepdims_(init.attr_int("keepdims", 1) != 0),
        last_(init.attr_int("select_last_index", 0) != 0) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    int64_t axis = normalize_axis(axis_, static_cast<int64_t>(x.rank()));
    ReducePlan p = plan_reduce(x.dims, {axis}, keepdims_);
    TensorView& y = ctx.allocate_output(0, DataType::kInt64, p.out_dims);
    std::vector<double> vals;
    auto get = [&](int64_t i) -> double {
      switch (x.dtype) {
        case DataType::kFloat: return x.as<float>()[i];
        case DataType::kDouble: return x.as<double>()[i];
        case DataType::kInt32: return x.as<int32_t>()[i];
        case DataType::kInt64: return static_cast<double>(x.as<int64_t>()[i]);
        case DataType::kUint8: return x.as<uint8_t>()[i];
        case DataType::kInt8: return x.as<int8_t>()[i];
        default: compute_error(ctx, "unsupported input type");
      }
    };
    int64_t* py = y.as<int64_t>();
    for (int64_t o = 0; o < p.out_count; ++o) {
      int64_t base = base_offset(p, o), best = 0;
      double bv = get(base);
      for (int64_t r = 1; r < p.red_count; ++r) {
        double v = get(base + r * p.red_strides[0]);
        bool better = max_ ? (v > bv || (last_ && v == bv)) : (v < bv || (last_ && v == bv));
        if (better) bv = v, best = r;
      }
      py[o] = best;
    }
  }

 private:
  bool max_;
  int64_t axis_;
  bool keepdims_, last_;
};

template <Red op, int since>
std::unique_ptr<Kernel> reduce(const KernelInit& i) {
  return std::make_unique<Reduce>(i, op, since);
}

}  // namespace

std::vector<KernelDef> reduce_kernels() {
  return {
      onnx_op("ReduceMean", 1, reduce<Red::kMean, 18>),
      onnx_op("ReduceSum", 1, reduce<Red::kSum, 13>),
      onnx_op("ReduceMax", 1, reduce<Red::kMax, 18>),
      onnx_op("ReduceMin", 1, reduce<Red::kMin, 18>),
      onnx_op("ReduceProd", 1, reduce<Red::kProd, 18>),
      onnx_op("ReduceL1", 1, reduce<Red::kL1, 18>),
      onnx_op("ReduceL2", 1, reduce<Red::kL2, 18>),
      onnx_op("ReduceSumSquare", 1, reduce<Red::kSumSquare, 18>),
      onnx_op("ReduceLogSumExp", 1, reduce<Red::kLogSumExp, 18>),
      onnx_op("ReduceLogSum", 1, reduce<Red::kLogSum, 18>),
      onnx_op("ArgMax", 1, make_kernel<ArgExtreme, true>),
      onnx_op("ArgMin", 1, make_kernel<ArgExtreme, false>),
  };
}

}  // namespace pare::rt::kernels
