#include "lib/runtime/kernels/epilogue_kernel.h"

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
    constexpr int64_t kChunk = 16384;  // each element's result is independent: any split gives the same bits
    ctx.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t b, int64_t e) {
      int64_t i0 = b * kChunk, i1 = std::min(n, e * kChunk);
      std::copy(px + i0, px + i1, py + i0);
      e_.apply(py + i0, i1 - i0, isa_);
    });
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
