// Loss ops: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12+/13+).
//
// Both reduce to one rule on log-probabilities L [N, C, d1..dk] and integer
// targets t [N, d1..dk]: loss[n, d] = -L[n, t[n,d], d] * w[t[n,d]] (w = 1 without
// weights), 0 where t == ignore_index; reduction 'none' keeps that shape, 'sum'
// adds it up, 'mean' divides the sum by the summed weights of the kept targets
// (by their count without weights). SoftmaxCrossEntropyLoss takes L =
// log_softmax(scores, axis 1) and may output it. Types: float, double, float16
// (computed in double, summed in index order, so thread counts do not matter).
// MACs: 0 (no multiply-accumulate worth counting).
#include <cmath>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

enum class Reduction { kNone, kSum, kMean };

Reduction parse_reduction(const KernelInit& init) {
  std::string r = init.attr_string("reduction", "mean");
  if (r == "none") return Reduction::kNone;
  if (r == "sum") return Reduction::kSum;
  if (r == "mean") return Reduction::kMean;
  init.reject(fmt::format("reduction '{}' is not one of none, sum, mean", r));
}

struct LossAttrs {
  Reduction reduction;
  bool has_ignore;
  int64_t ignore_index;
  explicit LossAttrs(const KernelInit& init)
      : reduction(parse_reduction(init)),
        has_ignore(init.node.has_attr("ignore_index")),
        ignore_index(init.attr_int("ignore_index", 0)) {}
};

// Writes the loss output from log-probabilities `logp` laid out as [N, C, D].
void nll(KernelContext& ctx, const LossAttrs& a, const std::vector<double>& logp, const std::vector<int64_t>& in_dims,
         const TensorView& target, const TensorView* weight, DataType out_type) {
  if (in_dims.size() < 2) compute_error(ctx, "the input must have at least 2 dims [N, C, ...]");
  int64_t n = in_dims[0], c = in_dims[1], d = product(in_dims, 2, in_dims.size());
  std::vector<int64_t> want(in_dims);
  want.erase(want.begin() + 1);
  if (target.dims != want)
    compute_error(ctx, fmt::format("target shape [{}] should be [{}]", fmt::join(target.dims, ","), fmt::join(want, ",")));
  if (target.dtype != DataType::kInt32 && target.dtype != DataType::kInt64) compute_error(ctx, "target must be int32 or int64");
  if (weight && (weight->rank() != 1 || weight->dims[0] != c))
    compute_error(ctx, fmt::format("weight must have shape [{}]", c));
  std::vector<double> loss(static_cast<size_t>(n * d));
  double weight_sum = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      int64_t t = get_int(target, i * d + j);
      if (a.has_ignore && t == a.ignore_index) continue;  // loss and weight stay 0
      if (t < 0 || t >= c) compute_error(ctx, fmt::format("target {} is out of range [0, {})", t, c));
      double w = weight ? get(*weight, t) : 1.0;
      loss[i * d + j] = -logp[(i * c + t) * d + j] * w;
      weight_sum += w;
    }
  if (a.reduction == Reduction::kNone) {
    TensorView& y = ctx.allocate_output(0, out_type, want);
    for (size_t k = 0; k < loss.size(); ++k) put(y, static_cast<int64_t>(k), loss[k]);
    return;
  }
  double sum = 0;
  for (double v : loss) sum += v;
  // numpy's mean counts every element when nothing is weighted or ignored.
  if (a.reduction == Reduction::kMean) sum /= (weight || a.has_ignore) ? weight_sum : static_cast<double>(loss.size());
  TensorView& y = ctx.allocate_output(0, out_type, {});
  put(y, 0, sum);
}

// log_softmax(scores, axis 1) of scores laid out as [N, C, D].
std::vector<double> log_softmax(const KernelContext& ctx, const TensorView& x) {
  if (x.rank() < 2) compute_error(ctx, "scores must have at least 2 dims [N, C, ...]");
  int64_t n = x.dims[0], c = x.dims[1], d = product(x.dims, 2, x.rank());
  std::vector<double> logp(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < c; ++k) m = std::max(m, get(x, (i * c + k) * d + j));
      for (int64_t k = 0; k < c; ++k) s += std::exp(get(x, (i * c + k) * d + j) - m);
      for (int64_t k = 0; k < c; ++k) logp[(i * c + k) * d + j] = get(x, (i * c + k) * d + j) - m - std::log(s);
    }
  return logp;
}

// NegativeLogLikelihoodLoss reads log-probabilities; SoftmaxCrossEntropyLoss
// (from_scores) computes them from scores first and may output them.
class Loss : public Kernel {
 public:
  Loss(const KernelInit& init, bool from_scores) : a_(init), from_scores_(from_scores) {}
  void compute(KernelContext& ctx) override {
    const TensorView& x = required(ctx, 0);
    check_real(ctx, x);
    std::vector<double> logp;
    if (from_scores_) {
      logp = log_softmax(ctx, x);
    } else {
      logp.resize(static_cast<size_t>(x.numel()));
      for (int64_t i = 0; i < x.numel(); ++i) logp[i] = get(x, i);
    }
    nll(ctx, a_, logp, x.dims, required(ctx, 1), ctx.input(2), x.dtype);
    if (from_scores_ && ctx.num_outputs() > 1) {
      TensorView& lp = ctx.allocate_output(1, x.dtype, x.dims);
      for (int64_t i = 0; i < x.numel(); ++i) put(lp, i, logp[i]);
    }
  }

 private:
  LossAttrs a_;
  bool from_scores_;
};

}  // namespace

std::vector<KernelDef> loss_kernels() {
  return {
      onnx_op("NegativeLogLikelihoodLoss", 12, make_kernel<Loss, false>),
      onnx_op("SoftmaxCrossEntropyLoss", 12, make_kernel<Loss, true>),
  };
}

}  // namespace pare::rt::kernels
