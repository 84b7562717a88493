// Ops that are a copy or a cast at inference: Dropout and CastLike.
//
// Dropout in inference (no training_mode, or training_mode false, or ratio 0)
// passes its input through and, when asked, a mask of all true; with
// training_mode true and a ratio above 0 it would need random numbers, which the
// runner refuses (results must be reproducible). CastLike casts to the type of
// its second input (numbers, float16 and bool; strings are refused).
// MACs: 0.
#include <cstring>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

class Dropout : public Kernel {
 public:
  explicit Dropout(const KernelInit& init) : ratio_from_input_(init.opset >= 12), ratio_(init.attr_float("ratio", 0.5f)) {
    if (init.opset < 7 && init.attr_int("is_test", 0) == 0)
      init.reject("training mode (is_test 0) needs random numbers, which the runner does not draw");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    double ratio = ratio_;
    bool training = false;
    if (ratio_from_input_) {
      if (const TensorView* r = ctx.input(1)) ratio = r->numel() == 1 ? get(*r, 0) : -1;
      if (const TensorView* t = ctx.input(2)) training = t->numel() == 1 && get(*t, 0) != 0;
    }
    if (ratio < 0 || ratio >= 1) compute_error(ctx, "ratio must be a scalar in [0, 1)");
    if (training && ratio > 0) compute_error(ctx, "training mode with a ratio above 0 needs random numbers, which the runner does not draw");
    TensorView& y = ctx.allocate_output(0, x.dtype, x.dims);
    std::memcpy(y.data, x.data, x.byte_size());
    if (ctx.num_outputs() > 1) {
      TensorView& mask = ctx.allocate_output(1, DataType::kBool, x.dims);
      std::fill(mask.as<bool>(), mask.as<bool>() + mask.numel(), true);
    }
  }

 private:
  bool ratio_from_input_;
  float ratio_;
};

class CastLike : public Kernel {
 public:
  explicit CastLike(const KernelInit&) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    DataType to = required(ctx, 1).dtype;
    if (!is_numeric(x.dtype) || !is_numeric(to))
      compute_error(ctx, fmt::format("cast from {} to {} is not supported", ir::name(x.dtype), ir::name(to)));
    TensorView& y = ctx.allocate_output(0, to, x.dims);
    if (x.dtype == to) {
      std::memcpy(y.data, x.data, x.byte_size());
      return;
    }
    bool exact_ints = !is_real(x.dtype) && !is_real(to);
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (exact_ints) {
        put_int(y, i, get_int(x, i));
      } else {
        double v = get(x, i);
        // float -> integer casts truncate, and NaN must not reach an integer conversion.
        if (!is_real(to) && to != DataType::kBool && !std::isfinite(v)) v = 0;
        put(y, i, v);
      }
    }
  }
};

}  // namespace

std::vector<KernelDef> passthrough_kernels() {
  return {
      onnx_op("Dropout", 1, make_kernel<Dropout>),
      onnx_op("CastLike", 15, make_kernel<CastLike>),
  };
}

}  // namespace pare::rt::kernels
