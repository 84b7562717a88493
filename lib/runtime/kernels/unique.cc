// The sorting ops, built for size (cmake/size.cmake): Unique and TopK.
//
// TopK: the k largest (or smallest) along an axis, ties broken by the lower
// index (a stable sort). float32, int32 and int64.
//
// Unique: the distinct elements (or slices along `axis`) of a tensor, sorted
// ascending (sorted=1, lexicographic for slices) or in order of first
// occurrence, with the index of each first occurrence, the inverse mapping of
// every input element/slice, and the counts. Every numeric type; slices are
// compared element by element as numbers. MACs: 0.
#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

class Unique : public Kernel {
 public:
  explicit Unique(const KernelInit& init)
      : has_axis_(init.node.has_attr("axis")), axis_(init.attr_int("axis", 0)), sorted_(init.attr_int("sorted", 1) != 0) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (!is_numeric(x.dtype)) compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
    std::vector<int64_t> shape = has_axis_ ? x.dims : std::vector<int64_t>{x.numel()};
    int64_t axis = has_axis_ ? normalize_axis(axis_, static_cast<int64_t>(x.rank())) : 0;
    int64_t outer = product(shape, 0, static_cast<size_t>(axis)), len = shape[axis],
            inner = product(shape, static_cast<size_t>(axis) + 1, shape.size());
    // Slice k as a key: its elements in (outer, inner) order.
    auto key = [&](int64_t k) {
      std::vector<double> v;
      v.reserve(static_cast<size_t>(outer * inner));
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) v.push_back(get(x, (o * len + k) * inner + i));
      return v;
    };
    std::map<std::vector<double>, int64_t> first;  // key -> first slice index
    std::vector<int64_t> order;                   // first occurrences, in input order
    std::vector<std::vector<double>> keys(static_cast<size_t>(len));
    for (int64_t k = 0; k < len; ++k) {
      keys[k] = key(k);
      if (first.emplace(keys[k], k).second) order.push_back(k);
    }
    if (sorted_) std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
    std::map<std::vector<double>, int64_t> pos;
    for (size_t u = 0; u < order.size(); ++u) pos[keys[order[u]]] = static_cast<int64_t>(u);
    int64_t nu = static_cast<int64_t>(order.size());
    std::vector<int64_t> dims = shape;
    dims[axis] = nu;
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t u = 0; u < nu; ++u)
        for (int64_t i = 0; i < inner; ++i) copy_element(x, (o * len + order[u]) * inner + i, y, (o * nu + u) * inner + i);
    if (ctx.num_outputs() > 1) {
      TensorView& idx = ctx.allocate_output(1, DataType::kInt64, {nu});
      for (int64_t u = 0; u < nu; ++u) idx.as<int64_t>()[u] = order[u];
    }
    if (ctx.num_outputs() > 2) {
      TensorView& inv = ctx.allocate_output(2, DataType::kInt64, {len});
      for (int64_t k = 0; k < len; ++k) inv.as<int64_t>()[k] = pos[keys[k]];
    }
    if (ctx.num_outputs() > 3) {
      TensorView& cnt = ctx.allocate_output(3, DataType::kInt64, {nu});
      std::fill(cnt.as<int64_t>(), cnt.as<int64_t>() + nu, 0);
      for (int64_t k = 0; k < len; ++k) ++cnt.as<int64_t>()[pos[keys[k]]];
    }
  }

 private:
  bool has_axis_;
  int64_t axis_;
  bool sorted_;
};

class TopK : public Kernel {
 public:
  explicit TopK(const KernelInit& init)
      : axis_(init.attr_int("axis", -1)), largest_(init.attr_int("largest", 1) != 0), k_attr_(init.attr_int("k", -1)),
        k_from_input_(init.opset >= 10) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kFloat && x.dtype != DataType::kInt64 && x.dtype != DataType::kInt32)
      compute_error(ctx, "only float32, int32 and int64 are supported");
    int64_t k = k_from_input_ ? read_ints(*ctx.input(1)).at(0) : k_attr_;
    int64_t axis = normalize_axis(axis_, static_cast<int64_t>(x.rank()));
    int64_t len = x.dims[axis];
    if (k < 0 || k > len) compute_error(ctx, fmt::format("k={} is outside [0, {}]", k, len));
    std::vector<int64_t> dims = x.dims;
    dims[axis] = k;
    TensorView& values = ctx.allocate_output(0, x.dtype, dims);
    TensorView& indices = ctx.allocate_output(1, DataType::kInt64, dims);
    int64_t inner = 1, outer = 1;
    for (size_t i = axis + 1; i < x.rank(); ++i) inner *= x.dims[i];
    for (int64_t i = 0; i < axis; ++i) outer *= x.dims[i];
    size_t es = ir::size_of(x.dtype);
    auto value = [&](int64_t i) -> double {
      if (x.dtype == DataType::kFloat) return x.as<float>()[i];
      if (x.dtype == DataType::kInt32) return x.as<int32_t>()[i];
      return static_cast<double>(x.as<int64_t>()[i]);
    };
    std::vector<int64_t> order(len);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        int64_t base = o * len * inner + in;
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          double va = value(base + a * inner), vb = value(base + b * inner);
          return largest_ ? va > vb : va < vb;
        });
        for (int64_t j = 0; j < k; ++j) {
          int64_t out = o * k * inner + j * inner + in;
          std::memcpy(static_cast<uint8_t*>(values.data) + out * es,
                      static_cast<const uint8_t*>(x.data) + (base + order[j] * inner) * es, es);
          indices.as<int64_t>()[out] = order[j];
        }
      }
  }

 private:
  int64_t axis_;
  bool largest_;
  int64_t k_attr_;
  bool k_from_input_;
};

}  // namespace

std::vector<KernelDef> unique_kernels() {
  return {
      onnx_op("Unique", 11, make_kernel<Unique>),
      onnx_op("TopK", 1, make_kernel<TopK>),
  };
}

}  // namespace pare::rt::kernels
