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
      dims[i] = x.dims[i] + pads[i] + pads[rank + i];
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
    std::vector<int64_t> strides(rank, 1);
    for (int64_t i = rank - 2; i >= 0; --i) strides[i] = strides[i + 1] * x.dims[i + 1];
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    for (int64_t o = 0; o < y.numel(); ++o) {
      int64_t rem = o, off = 0;
      bool outside = false;
      for (int64_t d = rank - 1; d >= 0; --d) {
        int64_t i = rem % dims[d] - pads[d];
        rem /= dims[d];
        int64_t n = x.dims[d];
        if (i < 0 || i >= n) {
          if (mode_ == "constant") {
            outside = true;
            break;
          }
          if (mode_ == "edge") i = i < 0 ? 0 : n - 1;
          else {  // reflect, without repeating the edge
            int64_t period = 2 * (n - 1);
            i = ((i % period) + period) % period;
            if (i >= n) i = period - i;
          }
        }
        off += i * strides[d];
      }
      std::memcpy(py + o * es, outside ? fill.data() : px + off * es, es);
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
  return {{"", "Pad", 1, kLatestOpset, [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Pad>(i); }, nullptr}};
}

}  // namespace pare::rt::kernels
