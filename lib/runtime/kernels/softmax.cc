// Softmax and LogSoftmax, float32, numerically stable (the row maximum is
// subtracted first).
// Before opset 13 the input is coerced to 2-D at `axis` (default 1) and the
// softmax runs over the flattened trailing block; from 13 on it runs over the
// single `axis` (default -1).
#include <cmath>

#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

class Softmax : public Kernel {
 public:
  Softmax(const KernelInit& init, bool log)
      : log_(log), legacy_(init.opset < 13), axis_(init.attr_int("axis", init.opset < 13 ? 1 : -1)) {}

  void compute(KernelContext& ctx) override {
    const TensorView& x = *ctx.input(0);
    if (x.dtype != DataType::kFloat) compute_error(ctx, "only float32 is supported");
    int64_t rank = static_cast<int64_t>(x.rank());
    int64_t axis = normalize_axis(axis_, rank);
    int64_t outer = 1, len = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) {
      if (i < axis) outer *= x.dims[i];
      else if (i == axis || legacy_) len *= x.dims[i];
      else inner *= x.dims[i];
    }
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, x.dims);
    const float* px = x.as<float>();
    float* py = y.as<float>();
    if (inner == 1 && !log_) {
      ctx.parallel_for(outer, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) contiguous_row(px + r * len, len, py + r * len);
      });
      return;
    }
    ctx.parallel_for(outer * inner, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        int64_t o = r / inner, in = r % inner;
        const float* xs = px + o * len * inner + in;
        float* ys = py + o * len * inner + in;
        float m = -INFINITY;
        for (int64_t i = 0; i < len; ++i) m = std::max(m, xs[i * inner]);
        double sum = 0;
        for (int64_t i = 0; i < len; ++i) sum += std::exp(xs[i * inner] - m);
        if (log_) {
          float ls = static_cast<float>(std::log(sum));
          for (int64_t i = 0; i < len; ++i) ys[i * inner] = xs[i * inner] - m - ls;
        } else {
          float inv = static_cast<float>(1.0 / sum);
          for (int64_t i = 0; i < len; ++i) ys[i * inner] = std::exp(xs[i * inner] - m) * inv;
        }
      }
    });
  }

 private:
  // Softmax over a contiguous row: each exp computed once and kept in y, the
  // sum in eight interleaved double lanes (one chain of dependent additions
  // and every exp computed twice took PP-OCRv4 rec's softmax over 6625
  // classes 8x ONNX Runtime's time).
  static void contiguous_row(const float* x, int64_t len, float* y) {
    float m = -INFINITY;
    for (int64_t i = 0; i < len; ++i) m = std::max(m, x[i]);
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= len; i += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += y[i + l] = std::exp(x[i + l] - m);
    for (int l = 0; i < len; ++i, ++l) lanes[l] += y[i] = std::exp(x[i] - m);
    double sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    float inv = static_cast<float>(1.0 / sum);
    for (i = 0; i < len; ++i) y[i] *= inv;
  }

  bool log_, legacy_;
  int64_t axis_;
};

}  // namespace

std::vector<KernelDef> softmax_kernels() {
  return {
      onnx_op("Softmax", 1, make_kernel<Softmax, false>),
      onnx_op("LogSoftmax", 1, make_kernel<Softmax, true>),
  };
}

}  // namespace pare::rt::kernels
