#include "lib/runtime/kernels/qconcat.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "lib/runtime/kernels/qlut.h"

namespace pare::rt::kernels {
namespace {

bool same_params(const QTensorParams& a, const QTensorParams& b) {
  return a.type == b.type && a.scale == b.scale && a.zero_point == b.zero_point;
}

class QConcat : public Kernel {
 public:
  QConcat(const KernelInit& init, const QConcatSpec& s) : spec_(s), axis_(init.attr_int("axis", 1)), isa_(init.isa) {
    if (s.y.type != DataType::kUint8 && s.y.type != DataType::kInt8) init.reject("quantized Concat: not 8-bit");
    for (size_t i = 0; i < s.inputs.size(); ++i) {
      const QTensorParams& p = s.inputs[i];
      constants_.emplace_back();
      if (p.type == DataType::kFloat) {
        const ir::Tensor* c = i < init.constant_inputs.size() ? init.constant_inputs[i] : nullptr;
        if (c && c->dtype() == DataType::kFloat) {
          auto v = c->span<float>();
          constants_.back().resize(v.size());
          quantize_floats(v.data(), static_cast<int64_t>(v.size()), constants_.back().data());
        }
        tables_.emplace_back();
        continue;
      }
      if (p.type != DataType::kUint8 && p.type != DataType::kInt8) init.reject("quantized Concat: not 8-bit");
      QLutSpec lut;  // no activation: the table is QuantizeLinear(DequantizeLinear(b))
      lut.x = p;
      lut.y = s.y;
      tables_.push_back(same_params(p, s.y) ? std::vector<uint8_t>{} : qlut_table(lut));
    }
  }

  void compute(KernelContext& ctx) override {
    if (ctx.num_inputs() != spec_.inputs.size()) compute_error(ctx, "quantized Concat: inputs changed");
    const TensorView& first = *ctx.input(0);
    int64_t rank = static_cast<int64_t>(first.rank());
    if (rank == 0) compute_error(ctx, "cannot concatenate scalars");
    int64_t axis = normalize_axis(axis_, rank);
    std::vector<int64_t> dims = first.dims;
    dims[axis] = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const TensorView& x = *ctx.input(i);
      if (x.dtype != spec_.inputs[i].type || static_cast<int64_t>(x.rank()) != rank)
        compute_error(ctx, "quantized Concat: an input of another type or rank");
      for (int64_t d = 0; d < rank; ++d)
        if (d != axis && x.dims[d] != first.dims[d]) compute_error(ctx, "inputs differ outside the axis");
      dims[axis] += x.dims[axis];
    }
    TensorView& y = ctx.allocate_output(0, spec_.y.type, dims);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= dims[d];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= dims[d];
    auto* py = static_cast<uint8_t*>(y.data);
    int64_t row = dims[axis] * inner, at = 0;  // at: the input's first byte within an output row
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const TensorView& x = *ctx.input(i);
      int64_t part = x.dims[axis] * inner;
      const auto* px = static_cast<const uint8_t*>(x.data);
      const std::vector<uint8_t>& table = tables_[i];
      if (spec_.inputs[i].type == DataType::kFloat) {
        const std::vector<uint8_t>& bytes = constants_[i];
        bool known = static_cast<int64_t>(bytes.size()) == outer * part;  // quantized when built
        for (int64_t o = 0; o < outer; ++o) {
          if (known) std::memcpy(py + o * row + at, bytes.data() + o * part, static_cast<size_t>(part));
          else quantize_floats(static_cast<const float*>(x.data) + o * part, part, py + o * row + at);
        }
      } else {
        for (int64_t o = 0; o < outer; ++o) copy(ctx, px + o * part, py + o * row + at, part, table, isa_);
      }
      at += part;
    }
  }

 private:
  // n bytes through the table (a copy without one; 64 a step with VBMI,
  // lookup_bytes), in chunks over the threads.
  static void copy(const KernelContext& ctx, const uint8_t* src, uint8_t* dst, int64_t n,
                   const std::vector<uint8_t>& table, Isa isa) {
    constexpr int64_t kChunk = 65536;
    ctx.parallel_for((n + kChunk - 1) / kChunk, [&, src, dst](int64_t c0, int64_t c1) {
      int64_t b = c0 * kChunk, e = std::min(n, c1 * kChunk);
      if (table.empty()) return static_cast<void>(std::memcpy(dst + b, src + b, static_cast<size_t>(e - b)));
      lookup_bytes(table.data(), src + b, dst + b, e - b, isa);
    });
  }

  // QuantizeLinear's formula with y's parameters (quant.cc), into bytes.
  void quantize_floats(const float* x, int64_t n, uint8_t* out) const {
    bool u8 = spec_.y.type == DataType::kUint8;
    float lo = u8 ? 0.0f : -128.0f, hi = u8 ? 255.0f : 127.0f, zp = static_cast<float>(spec_.y.zero_point);
    for (int64_t k = 0; k < n; ++k)
      out[k] = static_cast<uint8_t>(static_cast<int32_t>(quantize_linear(x[k], spec_.y.scale, zp, lo, hi)));
  }

  QConcatSpec spec_;
  int64_t axis_;
  std::vector<std::vector<uint8_t>> tables_;
  std::vector<std::vector<uint8_t>> constants_;  // float constant inputs, quantized when built
  Isa isa_;
};

}  // namespace

std::unique_ptr<Kernel> make_qconcat(const KernelInit& init, const QConcatSpec& spec) {
  return std::make_unique<QConcat>(init, spec);
}

}  // namespace pare::rt::kernels
