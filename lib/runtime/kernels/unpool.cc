// MaxUnpool: scatters the values of a MaxPool back to the flat positions its
// Indices output recorded, zeros elsewhere. The output shape is output_shape
// when given, else (in - 1) * stride + kernel - pads per spatial axis.
// Indices are flat over the whole unpooled tensor, as MaxPool writes them; one
// out of range is an error. With output_shape, elements keep their coordinates.
// MACs: 0.
#include <cstring>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

class MaxUnpool : public Kernel {
 public:
  explicit MaxUnpool(const KernelInit& init)
      : kernel_(init.attr_ints("kernel_shape")), strides_(init.attr_ints("strides")), pads_(init.attr_ints("pads")) {
    if (kernel_.empty()) init.reject("kernel_shape is required");
    if ((!strides_.empty() && strides_.size() != kernel_.size()) || (!pads_.empty() && pads_.size() != 2 * kernel_.size()))
      init.reject("strides and pads must match kernel_shape");
  }
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    const TensorView& ind = required(ctx, 1);
    size_t sp = kernel_.size();
    if (x.rank() != sp + 2) compute_error(ctx, "X must have kernel_shape's spatial rank + 2");
    if (ind.dims != x.dims || ind.dtype != DataType::kInt64) compute_error(ctx, "I must be int64 of X's shape");
    // Indices address the unpooled shape MaxPool saw; an explicit output_shape
    // (MaxPool's input may have been larger) keeps each element's coordinates.
    std::vector<int64_t> inferred{x.dims[0], x.dims[1]};
    for (size_t i = 0; i < sp; ++i) {
      int64_t s = strides_.empty() ? 1 : strides_[i], pb = pads_.empty() ? 0 : pads_[i], pe = pads_.empty() ? 0 : pads_[i + sp];
      inferred.push_back((x.dims[2 + i] - 1) * s + kernel_[i] - pb - pe);
    }
    std::vector<int64_t> dims = inferred;
    if (const TensorView* os = ctx.input(2); os && os->numel() > 0) {
      dims = read_ints(*os);
      if (dims.size() != x.rank()) compute_error(ctx, "output_shape must have X's rank");
      for (size_t i = 0; i < dims.size(); ++i)
        if (dims[i] < inferred[i]) compute_error(ctx, "output_shape is smaller than the unpooled shape");
    }
    TensorView& y = ctx.allocate_output(0, x.dtype, dims);
    std::memset(y.data, 0, y.byte_size());
    int64_t total = product(inferred, 0, inferred.size());
    auto ys = strides_of(dims), is = strides_of(inferred);
    for (int64_t k = 0; k < x.numel(); ++k) {
      int64_t j = ind.as<int64_t>()[k];
      if (j < 0 || j >= total) compute_error(ctx, fmt::format("index {} is out of range for an output of {} elements", j, total));
      int64_t to = 0;
      for (size_t d = 0; d < dims.size(); ++d) to += (j / is[d]) % inferred[d] * ys[d];
      copy_element(x, k, y, to);
    }
  }

 private:
  std::vector<int64_t> kernel_, strides_, pads_;
};

}  // namespace

std::vector<KernelDef> unpool_kernels() {
  return {
      onnx_op("MaxUnpool", 9, make_kernel<MaxUnpool>),
  };
}

}  // namespace pare::rt::kernels
