// Pad: modes constant, reflect and edge, any rank and element type (constant
// values for float, int32 and int64). Pads are an attribute before opset 11 and
// an input after (possibly computed at run time, as in M-LSD); the optional axes
// input of opset 18 selects which axes the pads apply to. Negative pads crop.
#include <cstring>

#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

class Pad : public Kernel {
 public:
  explicit Pad(const KernelInit& init) : legacy_(init.opset < 11) {
    mode_ = init.attr_string("mode", "constant");
    if (mode_ != "constant" && mode_ != "reflect" && mode_ != "edge") init.reject("mode '" + mode_ + "' is not supported");
    if (legacy_) {
      attr_pads_ = init.attr_ints(init.opset < 2 ? "paddings" : "pads");
      attr_value_ = init.attr_float("value", 0.0f);
    }
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<int64_t> pads = legacy_ ? attr_pads_ : read_ints(*ctx.input(1));
    if (!legacy_ && ctx.input(3)) {  // axes: pads name only these axes
      auto axes = read_ints(*ctx.input(3));
      std::vector<int64_t> full(2 * rank, 0);
      if (pads.size() != 2 * axes.size()) compute_error(ctx, "pads must have two values per axis in axes");
      for (size_t i = 0; i < axes.size(); ++i) {
        int64_t a = normalize_axis(axes[i], rank);
        full[a] = pads[i];
        full[rank + a] = pads[axes.size() + i];
      }
      pads = full;
    }
    if (static_cast<int64_t>(pads.size()) != 2 * rank) compute_error(ctx, fmt::format("pads has {} values, expected {}", pads.size(), 2 * rank));
    std::vector<int64_t> dims(rank);
    for (int64_t i = 0; i < rank; ++i) {
      if (__builtin_add_overflow(x.dims[i], pads[i], &dims[i]) || __builtin_add_overflow(dims[i], pads[rank + i], &dims[i]))
        compute_error(ctx, "pads overflow int64");
      if (dims[i] < 0) compute_error(ctx, "pads crop more than the input has");
      if (mode_ == "reflect" && x.dims[i] < 2 && (pads[i] > 0 || pads[rank + i] > 0))
        compute_error(ctx, "reflect padding needs at least 2 elements on a padded axis");
      if (mode_ != "constant" && x.dims[i] == 0 && dims[i] > 0) compute_error(ctx, "cannot pad an empty axis by reflection or edge");
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    size_t es = ir::size_of(x.dtype);
    std::vector<uint8_t> fill(es, 0);
    double value = legacy_ ? attr_value_ : 0.0;
    if (!legacy_ && ctx.input(2) && ctx.input(2)->numel() > 0) {
      const TensorView& v = *ctx.input(2);
      if (v.dtype != x.dtype) compute_error(ctx, "constant_value must have the input's type");
      std::memcpy(fill.data(), v.data, es);
    } else if (value != 0.0) {
      if (x.dtype == DataType::kFloat) {
        float f = static_cast<float>(value);
        std::memcpy(fill.data(), &f, 4);
      } else {
        compute_error(ctx, "a non-zero pad value needs a float input");
      }
    }
    if (rank == 0) {
      std::memcpy(y.data, x.data, es);
      return;
    }
    // Row by row along the last axis: the middle of a row is one memcpy, only the
    // borders are filled element by element.
    std::vector<int64_t> strides(rank, 1);
    for (int64_t i = rank - 2; i >= 0; --i) strides[i] = strides[i + 1] * x.dims[i + 1];
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    int64_t ow = dims[rank - 1], iw = x.dims[rank - 1], left = pads[rank - 1];
    int64_t rows = ow ? y.numel() / ow : 0;
    auto source = [&](int64_t i, int64_t n) -> int64_t {  // -1: outside, constant mode
      if (i >= 0 && i < n) return i;
      if (mode_ == "constant") return -1;
      if (mode_ == "edge") return i < 0 ? 0 : n - 1;
      int64_t period = 2 * (n - 1);  // reflect, without repeating the edge
      i = ((i % period) + period) % period;
      return i >= n ? period - i : i;
    };
    for (int64_t r = 0; r < rows; ++r) {
      int64_t rem = r, off = 0;
      bool outside = false;
      for (int64_t d = rank - 2; d >= 0 && !outside; --d) {
        int64_t i = source(rem % dims[d] - pads[d], x.dims[d]);
        rem /= dims[d];
        if (i < 0) outside = true;
        else off += i * strides[d];
      }
      uint8_t* out = py + r * ow * es;
      if (outside) {
        for (int64_t o = 0; o < ow; ++o) std::memcpy(out + o * es, fill.data(), es);
        continue;
      }
      const uint8_t* in = px + off * es;
      int64_t begin = std::clamp<int64_t>(left, 0, ow), end = std::clamp<int64_t>(left + iw, 0, ow);
      if (end > begin) std::memcpy(out + begin * es, in + (begin - left) * es, (end - begin) * es);
      // Only the borders: visiting the copied middle too cost M-LSD's Pads (rows of
      // 160 with one padded column) a branch per element.
      auto border = [&](int64_t o) {
        int64_t i = source(o - left, iw);
        std::memcpy(out + o * es, i < 0 ? fill.data() : in + i * es, es);
      };
      if (end > begin) {
        for (int64_t o = 0; o < begin; ++o) border(o);
        for (int64_t o = end; o < ow; ++o) border(o);
      } else {
        for (int64_t o = 0; o < ow; ++o) border(o);
      }
    }
  }

 private:
  bool legacy_;
  std::string mode_;
  std::vector<int64_t> attr_pads_;
  float attr_value_ = 0;
};

}  // namespace

std::vector<KernelDef> pad_kernels() {
  return {onnx_op("Pad", 1, make_kernel<Pad>)};
}

}  // namespace pare::rt::kernels
