#include "passes/kernel_sums.h"

#include <cmath>

namespace pare::passes {

int64_t conv_kernel_taps(const ir::Value* v) {
  if (!v || !v->is_constant() || v->uses().empty() || v->constant().rank() < 3) return 0;
  for (const ir::Use& u : v->uses())
    if (u.index != 1 || u.node->op_type != "Conv" || !u.node->domain.empty()) return 0;
  int64_t taps = 1;
  const auto& d = v->constant().dims();
  for (size_t i = 2; i < d.size(); ++i) taps *= d[i];
  return taps >= 2 ? taps : 0;
}

std::vector<bool> sum_keeping_flips(const std::vector<double>& exact, const std::vector<double>& nearest,
                                    const std::vector<double>& other, int64_t taps) {
  std::vector<bool> flip(exact.size(), false);
  if (taps < 2) return flip;
  for (size_t start = 0; start + static_cast<size_t>(taps) <= exact.size(); start += static_cast<size_t>(taps)) {
    double residual = 0;  // exact sum minus stored sum
    for (size_t i = start; i < start + static_cast<size_t>(taps); ++i) residual += exact[i] - nearest[i];
    for (;;) {
      size_t best = exact.size();
      double best_residual = std::fabs(residual);
      for (size_t i = start; i < start + static_cast<size_t>(taps); ++i) {
        if (flip[i] || other[i] == nearest[i]) continue;
        double r = std::fabs(residual - (other[i] - nearest[i]));
        if (r < best_residual) best = i, best_residual = r;
      }
      if (best == exact.size()) break;
      residual -= other[best] - nearest[best];
      flip[best] = true;
    }
  }
  return flip;
}

}  // namespace pare::passes
