#include "lib/runtime/kernels/epilogue_kernel.h"
#include "lib/runtime/kernels/chunks.h"

#include <algorithm>

namespace pare::rt::kernels {
namespace {

class EpilogueKernel : public Kernel {
 public:
  EpilogueKernel(const Epilogue& e, Isa isa) : e_(e), isa_(isa) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kFloat) compute_error(ctx, "only float32 is supported");
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, x.dims);
    const float* px = x.as<float>();
    float* py = y.as<float>();
    int64_t n = x.numel();
    // One pass, input to output (a copy first, then the epilogue in place, made
    // the copy 17% of an int8 detector's run).
    for_chunks(ctx, n, [&](int64_t i0, int64_t i1) { e_.apply_to(px + i0, py + i0, i1 - i0, isa_); });
  }

 private:
  Epilogue e_;
  Isa isa_;
};

}  // namespace

std::unique_ptr<Kernel> make_epilogue_kernel(const Epilogue& epilogue, Isa isa) {
  return std::make_unique<EpilogueKernel>(epilogue, isa);
}

}  // namespace pare::rt::kernels
