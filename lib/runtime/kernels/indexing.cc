// Ops that move elements by computed indices: GatherElements, GatherND,
// ScatterElements (and the older Scatter), ScatterND, OneHot, Compress,
// ReverseSequence, Trilu, EyeLike, DepthToSpace, SpaceToDepth, and CumSum.
//
// Element moves are bytewise, so every element type works; index inputs are int32
// or int64, negative indices count from the end where the spec allows it, and an
// index out of range is an error naming the node (never a read out of bounds).
// Scatter reductions (add, mul, max, min) and CumSum compute on numbers: int64
// exactly, floating types in double. Each output element is written by one loop
// in index order, so results never depend on the thread count.
// MACs: 0 (data movement).
#include <cstring>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

// Multi-index <-> flat offset helpers for row-major tensors.
void unravel(int64_t flat, const std::vector<int64_t>& dims, std::vector<int64_t>& idx) {
  idx.resize(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = dims[d] ? flat % dims[d] : 0;
    flat = dims[d] ? flat / dims[d] : 0;
  }
}

int64_t fix_index(const KernelContext& ctx, int64_t i, int64_t len) {
  int64_t j = i < 0 ? i + len : i;
  if (j < 0 || j >= len) compute_error(ctx, fmt::format("index {} is out of range for a dimension of size {}", i, len));
  return j;
}

void check_index_type(const KernelContext& ctx, const TensorView& t) {
  if (t.dtype != DataType::kInt32 && t.dtype != DataType::kInt64) compute_error(ctx, "indices must be int32 or int64");
}

// ---------- reductions shared by the scatters ----------

enum class ScatterReduce { kNone, kAdd, kMul, kMax, kMin };

ScatterReduce parse_scatter_reduction(const KernelInit& init) {
  std::string r = init.attr_string("reduction", "none");
  if (r == "none") return ScatterReduce::kNone;
  if (r == "add") return ScatterReduce::kAdd;
  if (r == "mul") return ScatterReduce::kMul;
  if (r == "max") return ScatterReduce::kMax;
  if (r == "min") return ScatterReduce::kMin;
  init.reject(fmt::format("reduction '{}' is not one of none, add, mul, max, min", r));
}

// out[to] = reduce(out[to], upd[from]).
void scatter_one(ScatterReduce r, const TensorView& upd, int64_t from, TensorView& out, int64_t to) {
  if (r == ScatterReduce::kNone) return copy_element(upd, from, out, to);
  bool integral = !is_real(out.dtype);
  if (integral) {
    int64_t a = get_int(out, to), b = get_int(upd, from);
    int64_t v = r == ScatterReduce::kAdd ? a + b : r == ScatterReduce::kMul ? a * b : r == ScatterReduce::kMax ? std::max(a, b) : std::min(a, b);
    return put_int(out, to, v);
  }
  double a = get(out, to), b = get(upd, from);
  double v = r == ScatterReduce::kAdd ? a + b : r == ScatterReduce::kMul ? a * b : r == ScatterReduce::kMax ? std::max(a, b) : std::min(a, b);
  put(out, to, v);
}

// ---------- GatherElements / ScatterElements ----------

// Calls fn(o, off) for every element o of `ind`: off is the element of x that o
// names, its index along `axis` and its own position off it (GatherElements and
// ScatterElements address data alike).
template <typename Fn>
void for_each_element_index(const KernelContext& ctx, const TensorView& x, const TensorView& ind, int64_t axis, Fn fn) {
  auto xs = strides_of(x.dims);
  std::vector<int64_t> idx;
  for (int64_t o = 0; o < ind.numel(); ++o) {
    unravel(o, ind.dims, idx);
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) {
      int64_t i = static_cast<int64_t>(d) == axis ? fix_index(ctx, get_int(ind, o), x.dims[d]) : idx[d];
      if (i >= x.dims[d]) compute_error(ctx, "indices are larger than data off the axis");
      off += i * xs[d];
    }
    fn(o, off);
  }
}

class GatherElements : public Kernel {
 public:
  explicit GatherElements(const KernelInit& init) : axis_(init.attr_int("axis", 0)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& ind = required(ctx, 1);
    check_index_type(ctx, ind);
    if (ind.rank() != x.rank()) compute_error(ctx, "indices must have the rank of data");
    int64_t axis = normalize_axis(axis_, static_cast<int64_t>(x.rank()));
    TensorView& y = ctx.allocate_output(0, x.dtype, ind.dims);
    for_each_element_index(ctx, x, ind, axis, [&](int64_t o, int64_t off) { copy_element(x, off, y, o); });
  }

 private:
  int64_t axis_;
};

class ScatterElements : public Kernel {
 public:
  explicit ScatterElements(const KernelInit& init)
      : axis_(init.attr_int("axis", 0)), reduce_(parse_scatter_reduction(init)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& ind = required(ctx, 1);
    const TensorView& upd = required(ctx, 2);
    check_index_type(ctx, ind);
    if (ind.rank() != x.rank() || upd.dims != ind.dims || upd.dtype != x.dtype)
      compute_error(ctx, "indices and updates must have one shape, of the rank of data, and updates data's type");
    int64_t axis = normalize_axis(axis_, static_cast<int64_t>(x.rank()));
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    std::memcpy(y.data, x.data, x.byte_size());
    for_each_element_index(ctx, x, ind, axis, [&](int64_t o, int64_t off) { scatter_one(reduce_, upd, o, y, off); });
  }

 private:
  int64_t axis_;
  ScatterReduce reduce_;
};

// ---------- GatherND / ScatterND ----------

class GatherND : public Kernel {
 public:
  explicit GatherND(const KernelInit& init) : batch_dims_(init.attr_int("batch_dims", 0)) {
    if (batch_dims_ < 0) init.reject("batch_dims must be >= 0");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& ind = required(ctx, 1);
    check_index_type(ctx, ind);
    int64_t r = static_cast<int64_t>(x.rank()), q = static_cast<int64_t>(ind.rank()), b = batch_dims_;
    if (q < 1 || r < 1 || b >= std::min(q, r)) compute_error(ctx, "batch_dims must be less than both ranks");
    int64_t k = ind.dims.back();
    if (k < 1 || k > r - b) compute_error(ctx, fmt::format("the last indices dim {} must be in [1, {}]", k, r - b));
    for (int64_t d = 0; d < b; ++d)
      if (ind.dims[d] != x.dims[d]) compute_error(ctx, "batch dims of data and indices differ");
    std::vector<int64_t> dims(ind.dims.begin(), ind.dims.end() - 1);
    dims.insert(dims.end(), x.dims.begin() + b + k, x.dims.end());
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    int64_t slice = product(x.dims, static_cast<size_t>(b + k), x.rank());
    int64_t batch = product(x.dims, 0, static_cast<size_t>(b));
    int64_t per_batch = product(ind.dims, static_cast<size_t>(b), ind.rank() - 1);
    int64_t batch_stride = product(x.dims, static_cast<size_t>(b), x.rank());
    auto xs = strides_of(x.dims);
    size_t es = ir::size_of(x.dtype);
    for (int64_t bi = 0; bi < batch; ++bi)
      for (int64_t t = 0; t < per_batch; ++t) {
        int64_t row = bi * per_batch + t, off = bi * batch_stride;
        for (int64_t j = 0; j < k; ++j) off += fix_index(ctx, get_int(ind, row * k + j), x.dims[b + j]) * xs[b + j];
        std::memcpy(static_cast<uint8_t*>(y.data) + row * slice * es, static_cast<const uint8_t*>(x.data) + off * es,
                    slice * es);
      }
  }

 private:
  int64_t batch_dims_;
};

class ScatterND : public Kernel {
 public:
  explicit ScatterND(const KernelInit& init) : reduce_(parse_scatter_reduction(init)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& ind = required(ctx, 1);
    const TensorView& upd = required(ctx, 2);
    check_index_type(ctx, ind);
    if (ind.rank() < 1 || upd.dtype != x.dtype) compute_error(ctx, "indices need a rank >= 1 and updates data's type");
    int64_t k = ind.dims.back(), r = static_cast<int64_t>(x.rank());
    if (k < 1 || k > r) compute_error(ctx, fmt::format("the last indices dim {} must be in [1, {}]", k, r));
    std::vector<int64_t> want(ind.dims.begin(), ind.dims.end() - 1);
    want.insert(want.end(), x.dims.begin() + k, x.dims.end());
    if (upd.dims != want) compute_error(ctx, fmt::format("updates must have shape [{}]", fmt::join(want, ",")));
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    std::memcpy(y.data, x.data, x.byte_size());
    int64_t slice = product(x.dims, static_cast<size_t>(k), x.rank()), rows = ind.numel() / k;
    auto xs = strides_of(x.dims);
    for (int64_t row = 0; row < rows; ++row) {
      int64_t off = 0;
      for (int64_t j = 0; j < k; ++j) off += fix_index(ctx, get_int(ind, row * k + j), x.dims[j]) * xs[j];
      for (int64_t e = 0; e < slice; ++e) scatter_one(reduce_, upd, row * slice + e, y, off + e);
    }
  }

 private:
  ScatterReduce reduce_;
};

// ---------- OneHot, Compress, ReverseSequence ----------

class OneHot : public Kernel {
 public:
  explicit OneHot(const KernelInit& init) : axis_(init.attr_int("axis", -1)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& ind = required(ctx, 0);
    const TensorView& depth_t = required(ctx, 1);
    const TensorView& values = required(ctx, 2);
    if (depth_t.numel() != 1 || values.numel() != 2) compute_error(ctx, "depth must be a scalar and values hold [off, on]");
    if (!is_numeric(ind.dtype) || !is_numeric(depth_t.dtype)) compute_error(ctx, "indices and depth must be numbers");
    int64_t depth = static_cast<int64_t>(get(depth_t, 0));
    if (depth < 1) compute_error(ctx, fmt::format("depth {} must be positive", depth));
    int64_t rank = static_cast<int64_t>(ind.rank()) + 1;
    int64_t axis = normalize_axis(axis_, rank);
    std::vector<int64_t> dims = ind.dims;
    dims.insert(dims.begin() + axis, depth);
    TensorView& y = ctx.allocate_output(0, values.dtype, dims);
    int64_t outer = product(ind.dims, 0, static_cast<size_t>(axis)), inner = product(ind.dims, static_cast<size_t>(axis), ind.rank());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t d = 0; d < depth; ++d)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t v = static_cast<int64_t>(get(ind, o * inner + i));
          if (v < 0) v += depth;
          copy_element(values, v == d ? 1 : 0, y, (o * depth + d) * inner + i);
        }
  }

 private:
  int64_t axis_;
};

class Compress : public Kernel {
 public:
  explicit Compress(const KernelInit& init) : has_axis_(init.node.has_attr("axis")), axis_(init.attr_int("axis", 0)) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& cond = required(ctx, 1);
    if (cond.rank() != 1 || !is_numeric(cond.dtype)) compute_error(ctx, "condition must be a 1-D bool tensor");
    int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = has_axis_ ? normalize_axis(axis_, rank) : 0;
    std::vector<int64_t> shape = has_axis_ ? x.dims : std::vector<int64_t>{x.numel()};
    int64_t len = shape[axis];
    if (cond.dims[0] > len) compute_error(ctx, "condition is longer than the axis");
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < cond.dims[0]; ++i)
      if (get(cond, i) != 0) keep.push_back(i);
    std::vector<int64_t> dims = shape;
    dims[axis] = static_cast<int64_t>(keep.size());
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    int64_t outer = product(shape, 0, static_cast<size_t>(axis)), inner = product(shape, static_cast<size_t>(axis) + 1, shape.size());
    size_t es = ir::size_of(x.dtype);
    int64_t n = static_cast<int64_t>(keep.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < n; ++k)
        std::memcpy(static_cast<uint8_t*>(y.data) + (o * n + k) * inner * es,
                    static_cast<const uint8_t*>(x.data) + (o * len + keep[k]) * inner * es, inner * es);
  }

 private:
  bool has_axis_;
  int64_t axis_;
};

class ReverseSequence : public Kernel {
 public:
  explicit ReverseSequence(const KernelInit& init)
      : batch_axis_(init.attr_int("batch_axis", 1)), time_axis_(init.attr_int("time_axis", 0)) {
    if (!((batch_axis_ == 0 && time_axis_ == 1) || (batch_axis_ == 1 && time_axis_ == 0)))
      init.reject("batch_axis and time_axis must be 0 and 1 in some order");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& lens = required(ctx, 1);
    if (x.rank() < 2) compute_error(ctx, "input must have rank >= 2");
    int64_t batch = x.dims[batch_axis_], time = x.dims[time_axis_];
    if (lens.numel() != batch) compute_error(ctx, "sequence_lens must have one entry per batch");
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    auto xs = strides_of(x.dims);
    int64_t inner = product(x.dims, 2, x.rank());
    size_t es = ir::size_of(x.dtype);
    for (int64_t b = 0; b < batch; ++b) {
      int64_t len = get_int(lens, b);
      if (len < 0 || len > time) compute_error(ctx, fmt::format("sequence length {} is out of [0, {}]", len, time));
      for (int64_t t = 0; t < time; ++t) {
        int64_t src_t = t < len ? len - 1 - t : t;
        int64_t dst = b * xs[batch_axis_] + t * xs[time_axis_], src = b * xs[batch_axis_] + src_t * xs[time_axis_];
        std::memcpy(static_cast<uint8_t*>(y.data) + dst * es, static_cast<const uint8_t*>(x.data) + src * es, inner * es);
      }
    }
  }

 private:
  int64_t batch_axis_, time_axis_;
};

// ---------- Trilu, EyeLike ----------

class Trilu : public Kernel {
 public:
  explicit Trilu(const KernelInit& init) : upper_(init.attr_int("upper", 1) != 0) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (x.rank() < 2) compute_error(ctx, "input must have rank >= 2");
    int64_t k = 0;
    if (const TensorView* kt = ctx.input(1)) {
      if (kt->numel() != 1) compute_error(ctx, "k must be a scalar");
      k = read_ints(*kt)[0];
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    int64_t rows = x.dims[x.rank() - 2], cols = x.dims.back(), mats = product(x.dims, 0, x.rank() - 2);
    size_t es = ir::size_of(x.dtype);
    std::memset(y.data, 0, y.byte_size());
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          bool keep = upper_ ? j - i >= k : j - i <= k;
          if (keep) {
            int64_t off = (m * rows + i) * cols + j;
            std::memcpy(static_cast<uint8_t*>(y.data) + off * es, static_cast<const uint8_t*>(x.data) + off * es, es);
          }
        }
  }

 private:
  bool upper_;
};

class EyeLike : public Kernel {
 public:
  explicit EyeLike(const KernelInit& init)
      : has_dtype_(init.node.has_attr("dtype")),
        dtype_(static_cast<DataType>(init.attr_int("dtype", 1))),
        k_(init.attr_int("k", 0)) {
    if (has_dtype_ && (!ir::is_valid_dtype(static_cast<int32_t>(dtype_)) || !is_numeric(dtype_)))
      init.reject("dtype must be a numeric type");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (x.rank() != 2) compute_error(ctx, "input must be 2-D");
    DataType t = has_dtype_ ? dtype_ : x.dtype;
    if (!is_numeric(t)) compute_error(ctx, fmt::format("{} outputs are not supported", ir::name(t)));
    TensorView& y = ctx.allocate_output(0, t, x.dims);
    std::memset(y.data, 0, y.byte_size());
    for (int64_t i = 0; i < x.dims[0]; ++i) {
      int64_t j = i + k_;
      if (j >= 0 && j < x.dims[1]) put(y, i * x.dims[1] + j, 1.0);
    }
  }

 private:
  bool has_dtype_;
  DataType dtype_;
  int64_t k_;
};

// ---------- DepthToSpace / SpaceToDepth ----------

class DepthToSpace : public Kernel {
 public:
  DepthToSpace(const KernelInit& init, bool to_space) : to_space_(to_space), b_(init.attr_int("blocksize", 0)) {
    if (b_ < 1) init.reject("blocksize must be >= 1");
    std::string mode = init.attr_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD") init.reject(fmt::format("mode '{}' is not DCR or CRD", mode));
    crd_ = to_space && mode == "CRD";
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    if (x.rank() != 4) compute_error(ctx, "input must be 4-D [N, C, H, W]");
    int64_t n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3], b = b_;
    std::vector<int64_t> dims;
    if (to_space_) {
      if (c % (b * b)) compute_error(ctx, fmt::format("channels {} are not a multiple of blocksize^2 {}", c, b * b));
      dims = {n, c / (b * b), h * b, w * b};
    } else {
      if (h % b || w % b) compute_error(ctx, "height and width must be multiples of blocksize");
      dims = {n, c * b * b, h / b, w / b};
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    // Walk the space-side tensor [n, cs, hs, ws]; the depth side has channel d.
    const auto& space = to_space_ ? dims : x.dims;
    const auto& depth = to_space_ ? x.dims : dims;
    int64_t cs = space[1], hs = space[2], ws = space[3], cd = depth[1], hd = depth[2], wd = depth[3];
    for (int64_t in = 0; in < n; ++in)
      for (int64_t ic = 0; ic < cs; ++ic)
        for (int64_t ih = 0; ih < hs; ++ih)
          for (int64_t iw = 0; iw < ws; ++iw) {
            int64_t bi = ih % b, bj = iw % b;
            int64_t d = crd_ ? ic * b * b + bi * b + bj : (bi * b + bj) * cs + ic;
            int64_t s_off = ((in * cs + ic) * hs + ih) * ws + iw;
            int64_t d_off = ((in * cd + d) * hd + ih / b) * wd + iw / b;
            if (to_space_) copy_element(x, d_off, y, s_off);
            else copy_element(x, s_off, y, d_off);
          }
  }

 private:
  bool to_space_;
  int64_t b_;
  bool crd_ = false;
};

// ---------- CumSum ----------

class CumSum : public Kernel {
 public:
  explicit CumSum(const KernelInit& init)
      : exclusive_(init.attr_int("exclusive", 0) != 0), reverse_(init.attr_int("reverse", 0) != 0) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& axis_t = required(ctx, 1);
    if (axis_t.numel() != 1) compute_error(ctx, "axis must be a scalar");
    if (!is_numeric(x.dtype) || x.dtype == DataType::kBool) compute_error(ctx, fmt::format("{} inputs are not supported", ir::name(x.dtype)));
    int64_t axis = normalize_axis(read_ints(axis_t)[0], static_cast<int64_t>(x.rank()));
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    int64_t outer = product(x.dims, 0, static_cast<size_t>(axis)), len = x.dims[axis],
            inner = product(x.dims, static_cast<size_t>(axis) + 1, x.rank());
    bool real = is_real(x.dtype);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        double acc = 0;
        int64_t iacc = 0;
        for (int64_t s = 0; s < len; ++s) {
          int64_t t = reverse_ ? len - 1 - s : s;
          int64_t off = (o * len + t) * inner + i;
          if (real) {
            double v = get(x, off);
            if (!exclusive_) acc += v;
            put(y, off, acc);
            if (exclusive_) acc += v;
          } else {
            int64_t v = get_int(x, off);
            if (!exclusive_) iacc += v;
            put_int(y, off, iacc);
            if (exclusive_) iacc += v;
          }
        }
      }
  }

 private:
  bool exclusive_, reverse_;
};

}  // namespace

std::vector<KernelDef> indexing_kernels() {
  return {
      onnx_op("GatherElements", 11, make_kernel<GatherElements>),
      onnx_op("ScatterElements", 11, make_kernel<ScatterElements>),
      {"", "Scatter", 9, 10, make_kernel<ScatterElements>, nullptr},
      onnx_op("GatherND", 11, make_kernel<GatherND>),
      onnx_op("ScatterND", 11, make_kernel<ScatterND>),
      onnx_op("OneHot", 9, make_kernel<OneHot>),
      onnx_op("Compress", 9, make_kernel<Compress>),
      onnx_op("ReverseSequence", 10, make_kernel<ReverseSequence>),
      onnx_op("Trilu", 14, make_kernel<Trilu>),
      onnx_op("EyeLike", 9, make_kernel<EyeLike>),
      onnx_op("DepthToSpace", 1, make_kernel<DepthToSpace, true>),
      onnx_op("SpaceToDepth", 1, make_kernel<DepthToSpace, false>),
      onnx_op("CumSum", 11, make_kernel<CumSum>),
  };
}

}  // namespace pare::rt::kernels
