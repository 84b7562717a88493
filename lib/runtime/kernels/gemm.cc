// Gemm and MatMul, float32, on Eigen's GEMM; a MatMul of few rows on the
// packed GEMM (packed_gemm.h).
//
// Gemm: Y = alpha * op(A) * op(B) + beta * C, op = transpose when transA/transB,
// C broadcast to [M, N] (scalar, [N], [M, 1], [1, N] or [M, N]).
// MatMul: numpy semantics: 1-D operands are promoted (and the added dim
// dropped), leading batch dims broadcast. Rows of the output are split over
// threads. MACs = M * N * K (times the batch for MatMul).
#include "lib/runtime/broadcast.h"
#include "lib/runtime/kernels/eigen_rows.h"
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/packed_gemm.h"

namespace pare::rt::kernels {
namespace {

class Gemm : public Kernel {
 public:
  explicit Gemm(const KernelInit& init)
      : trans_a_(init.attr_int("transA", 0) != 0),
        trans_b_(init.attr_int("transB", 0) != 0),
        alpha_(init.attr_float("alpha", 1.0f)),
        beta_(init.attr_float("beta", 1.0f)) {}

  void compute(KernelContext& ctx) override {
    const TensorView& a = *ctx.input(0);
    const TensorView& b = *ctx.input(1);
    const TensorView* c = ctx.input(2);
    if (a.dtype != DataType::kFloat || b.dtype != DataType::kFloat) compute_error(ctx, "only float32 is supported");
    if (c && c->dtype != DataType::kFloat)
      compute_error(ctx, fmt::format("the bias C is {}; only float32 is supported", ir::name(c->dtype)));
    if (a.rank() != 2 || b.rank() != 2) compute_error(ctx, "A and B must be 2-D");
    int64_t m = trans_a_ ? a.dims[1] : a.dims[0], k = trans_a_ ? a.dims[0] : a.dims[1];
    int64_t kb = trans_b_ ? b.dims[1] : b.dims[0], n = trans_b_ ? b.dims[0] : b.dims[1];
    if (k != kb) compute_error(ctx, fmt::format("inner dimensions differ ({} and {})", k, kb));
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, {m, n});
    ConstMap A(a.as<float>(), a.dims[0], a.dims[1]);
    ConstMap B(b.as<float>(), b.dims[0], b.dims[1]);
    float* py = y.as<float>();
    const float* pc = c ? c->as<float>() : nullptr;
    std::vector<int64_t> cdims = c ? c->dims : std::vector<int64_t>{};
    if (c && c->rank() > 2) compute_error(ctx, "C must have rank 2 or less");
    while (cdims.size() < 2) cdims.insert(cdims.begin(), 1);
    if (c && ((cdims[0] != 1 && cdims[0] != m) || (cdims[1] != 1 && cdims[1] != n)))
      compute_error(ctx, "C does not broadcast to [M, N]");
    for_row_blocks(ctx, m, [&](int64_t r0, int64_t r1) {
      Map Y(py + r0 * n, r1 - r0, n);
      if (!trans_a_ && !trans_b_) Y.noalias() = A.middleRows(r0, r1 - r0) * B;
      else if (!trans_a_ && trans_b_) Y.noalias() = A.middleRows(r0, r1 - r0) * B.transpose();
      else if (trans_a_ && !trans_b_) Y.noalias() = A.middleCols(r0, r1 - r0).transpose() * B;
      else Y.noalias() = A.middleCols(r0, r1 - r0).transpose() * B.transpose();
      if (alpha_ != 1.0f) Y *= alpha_;
      if (pc && beta_ != 0.0f)
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t j = 0; j < n; ++j)
            py[r * n + j] += beta_ * pc[(cdims[0] == 1 ? 0 : r) * cdims[1] + (cdims[1] == 1 ? 0 : j)];
    });
  }

 private:
  bool trans_a_, trans_b_;
  float alpha_, beta_;
};

class MatMul : public Kernel {
 public:
  explicit MatMul(const KernelInit& init) : isa_(init.isa) {}

  void compute(KernelContext& ctx) override {
    const TensorView& a = *ctx.input(0);
    const TensorView& b = *ctx.input(1);
    if (a.dtype != DataType::kFloat || b.dtype != DataType::kFloat) compute_error(ctx, "only float32 is supported");
    if (a.rank() == 0 || b.rank() == 0) compute_error(ctx, "MatMul operands must have rank 1 or more");
    MatMulShape s(a.dims, b.dims);
    int64_t m = s.m, k = s.k, n = s.n;
    if (s.b_k != k) compute_error(ctx, fmt::format("inner dimensions differ ({} and {})", k, s.b_k));
    std::vector<int64_t> batch = broadcast_shapes(s.a_batch, s.b_batch);
    TensorView& y = ctx.allocate_output(0, DataType::kFloat, s.out_dims(batch));
    int64_t batches = 1;
    for (int64_t d : batch) batches *= d;
    auto sa = offsets(s.a_batch, batch, m * k), sb = offsets(s.b_batch, batch, k * n);
    const float* pa = a.as<float>();
    const float* pb = b.as<float>();
    float* py = y.as<float>();
    // Split over batches when there are several, else over output rows.
    if (batches > 1) {
      ctx.parallel_for(batches, [&](int64_t b0, int64_t b1) {
        for (int64_t i = b0; i < b1; ++i) {
          Map Y(py + i * m * n, m, n);
          Y.noalias() = ConstMap(pa + sa[i], m, k) * ConstMap(pb + sb[i], k, n);
        }
      });
    } else if (m <= kFewRows) {
      few_rows(ctx, pa, m, k, pb, n, py);
    } else {
      for_row_blocks(ctx, m, [&](int64_t r0, int64_t r1) {
        Map Y(py + r0 * n, r1 - r0, n);
        Y.noalias() = ConstMap(pa + r0 * k, r1 - r0, k) * ConstMap(pb, k, n);
      });
    }
  }

 private:
  // A's rows packed on each run (a few KB; subnormals count as zero, as
  // pack_a says), B read where it lies, blocks of columns over threads
  // (packed_gemm_columns):
  // Eigen packed the whole of B on every run, which for PP-OCRv4 rec's last
  // MatMul (6 to 40 time steps times 120 -> 6625 classes) cost more than the
  // multiplies (0.46 ms, 2.6x ONNX Runtime's time).
  static constexpr int64_t kFewRows = 48;
  void few_rows(const KernelContext& ctx, const float* a, int64_t m, int64_t k, const float* b, int64_t n,
                float* y) const {
    packed_gemm_columns(ctx, pack_a(a, m, k, k), b, n, n, y, n, isa_);
  }

  Isa isa_;

  // Element offset of each output batch index in an operand with batch dims `dims`.
  static std::vector<int64_t> offsets(const std::vector<int64_t>& dims, const std::vector<int64_t>& batch,
                                      int64_t matrix) {
    int64_t total = 1;
    for (int64_t d : batch) total *= d;
    std::vector<int64_t> out(total);
    size_t shift = batch.size() - dims.size();
    for (int64_t i = 0; i < total; ++i) {
      int64_t rem = i, off = 0, stride = matrix;
      for (size_t d = batch.size(); d-- > 0;) {
        int64_t idx = rem % batch[d];
        rem /= batch[d];
        if (d >= shift) {
          int64_t size = dims[d - shift];
          if (size != 1) off += idx * stride;
          stride *= size;
        }
      }
      out[i] = off;
    }
    return out;
  }
};

int64_t gemm_macs(const ir::Node& n, const NodeShapes& s) {
  if (s.outputs.empty() || s.inputs.empty() || s.inputs[0].size() != 2) return 0;
  int64_t k = n.attr_int("transA", 0) ? s.inputs[0][0] : s.inputs[0][1];
  return s.outputs[0][0] * s.outputs[0][1] * k;
}

int64_t matmul_macs(const ir::Node&, const NodeShapes& s) {
  if (s.outputs.empty() || s.inputs.empty() || s.inputs[0].empty()) return 0;
  int64_t out = 1;
  for (int64_t d : s.outputs[0]) out *= d;
  return out * s.inputs[0].back();
}

}  // namespace

std::vector<KernelDef> gemm_kernels() {
  return {
      onnx_op("Gemm", 1, make_kernel<Gemm>, gemm_macs),
      onnx_op("MatMul", 1, make_kernel<MatMul>, matmul_macs),
  };
}

}  // namespace pare::rt::kernels
