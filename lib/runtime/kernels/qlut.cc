#include "lib/runtime/kernels/qlut.h"

#include <algorithm>
#include <cmath>

namespace pare::rt::kernels {

std::vector<uint8_t> qlut_table(const QLutSpec& s) {
  std::vector<uint8_t> table(256);
  float qmin = s.y.type == DataType::kUint8 ? 0.0f : -128.0f, qmax = s.y.type == DataType::kUint8 ? 255.0f : 127.0f;
  for (int b = 0; b < 256; ++b) {
    int32_t x = s.x.type == DataType::kUint8 ? b : static_cast<int8_t>(static_cast<uint8_t>(b));
    float v = static_cast<float>(x - s.x.zero_point) * s.x.scale;                              // DequantizeLinear
    v = s.activation.activate(v);                                                              // the activation
    float q = std::clamp(std::nearbyint(v / s.y.scale) + static_cast<float>(s.y.zero_point), qmin, qmax);  // QuantizeLinear
    table[b] = static_cast<uint8_t>(static_cast<int32_t>(q));
  }
  return table;
}

namespace {

class QLut : public Kernel {
 public:
  QLut(const KernelInit& init, const QLutSpec& s) : spec_(s) {
    for (const QTensorParams* p : {&s.x, &s.y})
      if (p->type != DataType::kUint8 && p->type != DataType::kInt8) init.reject("quantized activation: not 8-bit");
    table_ = s.table.size() == 256 ? s.table : qlut_table(s);
  }

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != spec_.x.type) compute_error(ctx, "quantized input of another type");
    TensorView& y = ctx.allocate_output(0, spec_.y.type, x.dims);
    const auto* px = static_cast<const uint8_t*>(x.data);
    auto* py = static_cast<uint8_t*>(y.data);
    const uint8_t* t = table_.data();
    int64_t n = x.numel();
    constexpr int64_t kChunk = 65536;
    ctx.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t c0, int64_t c1) {
      // Locals: a byte store may alias anything, so pointers read through the
      // closure were reloaded after every element (3x slower).
      const uint8_t *src = px, *table = t;
      uint8_t* dst = py;
      for (int64_t i = c0 * kChunk, end = std::min(n, c1 * kChunk); i < end; ++i) dst[i] = table[src[i]];
    });
  }

 private:
  QLutSpec spec_;
  std::vector<uint8_t> table_;
};

}  // namespace

std::unique_ptr<Kernel> make_qlut(const KernelInit& init, const QLutSpec& spec) {
  return std::make_unique<QLut>(init, spec);
}

}  // namespace pare::rt::kernels
