// The optimizer ops of domain ai.onnx.preview.training: Adagrad, Momentum, Adam.
// Each updates N tensors at once: inputs R (learning rate), T (update count),
// then the N tensors X, their gradients G and the optimizer's state tensors;
// outputs the new X and the new states. Deterministic arithmetic (no random
// numbers), in double per element, written in each tensor's float type.
// They matter to pare only as ops a model may hold; MACs: 0.
#include <cmath>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

enum class Optimizer { kAdagrad, kMomentum, kAdam };

class Optimize : public Kernel {
 public:
  Optimize(const KernelInit& init, Optimizer kind) : kind_(kind) {
    norm_ = init.attr_float("norm_coefficient", 0.0f);
    if (kind == Optimizer::kAdagrad) {
      decay_ = init.attr_float("decay_factor", 0.0f);
      epsilon_ = init.attr_float("epsilon", 1e-6f);
    } else if (kind == Optimizer::kMomentum) {
      alpha_ = init.attr_float("alpha", 0.0f);
      beta_ = init.attr_float("beta", 0.0f);
      std::string mode = init.attr_string("mode", "");
      if (mode != "standard" && mode != "nesterov") init.reject(fmt::format("mode '{}' is not standard or nesterov", mode));
      nesterov_ = mode == "nesterov";
    } else {
      alpha_ = init.attr_float("alpha", 0.9f);
      beta_ = init.attr_float("beta", 0.999f);
      epsilon_ = init.attr_float("epsilon", 1e-6f);
      norm_post_ = init.attr_float("norm_coefficient_post", 0.0f);
    }
  }
  void compute(KernelContext& ctx) override {
    size_t groups = kind_ == Optimizer::kAdam ? 4 : 3;  // X, G and one or two states
    if (ctx.num_inputs() < 2 || (ctx.num_inputs() - 2) % groups != 0) compute_error(ctx, "inputs must be R, T, then X, G and states per tensor");
    size_t n = (ctx.num_inputs() - 2) / groups;
    const TensorView& r_t = required(ctx, 0);
    const TensorView& t_t = required(ctx, 1);
    if (r_t.numel() != 1 || t_t.numel() != 1) compute_error(ctx, "R and T must be scalars");
    double r = get(r_t, 0);
    int64_t t = get_int(t_t, 0);
    for (size_t i = 0; i < n; ++i) {
      const TensorView& x = required(ctx, 2 + i);
      const TensorView& g = required(ctx, 2 + n + i);
      const TensorView& s1 = required(ctx, 2 + 2 * n + i);
      const TensorView* s2 = kind_ == Optimizer::kAdam ? &required(ctx, 2 + 3 * n + i) : nullptr;
      if (!is_real(x.dtype) || g.dims != x.dims || s1.dims != x.dims || (s2 && s2->dims != x.dims))
        compute_error(ctx, "X, G and the states must be float tensors of one shape");
      TensorView& xo = ctx.allocate_output(i, x.dtype, x.dims);
      TensorView& s1o = ctx.allocate_output(n + i, s1.dtype, x.dims);
      TensorView* s2o = s2 ? &ctx.allocate_output(2 * n + i, s2->dtype, x.dims) : nullptr;
      for (int64_t k = 0; k < x.numel(); ++k) {
        double xv = get(x, k), gv = norm_ * xv + get(g, k), sv = get(s1, k);
        if (kind_ == Optimizer::kAdagrad) {
          double lr = r / (1 + static_cast<double>(t) * decay_), h = sv + gv * gv;
          put(xo, k, xv - lr * gv / (std::sqrt(h) + epsilon_));
          put(s1o, k, h);
        } else if (kind_ == Optimizer::kMomentum) {
          double v = alpha_ * sv + (t > 0 ? beta_ : 1.0) * gv;
          put(xo, k, nesterov_ ? xv - r * (gv + alpha_ * v) : xv - r * v);
          put(s1o, k, v);
        } else {
          double v = alpha_ * sv + (1 - alpha_) * gv, h = beta_ * get(*s2, k) + (1 - beta_) * gv * gv;
          double lr = t > 0 ? r * std::sqrt(1 - std::pow(beta_, static_cast<double>(t))) / (1 - std::pow(alpha_, static_cast<double>(t))) : r;
          put(xo, k, (1 - norm_post_) * (xv - lr * v / (std::sqrt(h) + epsilon_)));
          put(s1o, k, v);
          put(*s2o, k, h);
        }
      }
    }
  }

 private:
  Optimizer kind_;
  double norm_ = 0, decay_ = 0, epsilon_ = 0, alpha_ = 0, beta_ = 0, norm_post_ = 0;
  bool nesterov_ = false;
};

}  // namespace

std::vector<KernelDef> training_kernels() {
  return {
      {"ai.onnx.preview.training", "Adagrad", 1, kLatestOpset, make_kernel<Optimize, Optimizer::kAdagrad>, nullptr},
      {"ai.onnx.preview.training", "Momentum", 1, kLatestOpset, make_kernel<Optimize, Optimizer::kMomentum>, nullptr},
      {"ai.onnx.preview.training", "Adam", 1, kLatestOpset, make_kernel<Optimize, Optimizer::kAdam>, nullptr},
  };
}

}  // namespace pare::rt::kernels
