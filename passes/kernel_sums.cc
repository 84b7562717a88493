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

namespace {

// The flips of one group by trying every subset (small kernels: 3x3 is 512),
// the smallest sum error first, then the fewest flips.
void best_subset(const std::vector<double>& delta, double residual, std::vector<bool>& flip, size_t start) {
  size_t n = delta.size();
  uint32_t best = 0;
  double best_error = std::fabs(residual);
  int best_count = 0;
  for (uint32_t mask = 1; mask < (1u << n); ++mask) {
    double moved = 0;
    int count = 0;
    for (size_t i = 0; i < n; ++i)
      if (mask & (1u << i)) moved += delta[i], ++count;
    double error = std::fabs(residual - moved);
    if (error < best_error || (error == best_error && count < best_count)) best = mask, best_error = error, best_count = count;
  }
  for (size_t i = 0; i < n; ++i) flip[start + i] = (best >> i) & 1u;
}

// The same one flip at a time (larger kernels): the flip that brings the sum closest, while one does.
void greedy(const std::vector<double>& delta, double residual, std::vector<bool>& flip, size_t start) {
  for (;;) {
    size_t best = delta.size();
    double best_residual = std::fabs(residual);
    for (size_t i = 0; i < delta.size(); ++i) {
      if (flip[start + i] || delta[i] == 0) continue;
      double r = std::fabs(residual - delta[i]);
      if (r < best_residual) best = i, best_residual = r;
    }
    if (best == delta.size()) return;
    residual -= delta[best];
    flip[start + best] = true;
  }
}

}  // namespace

std::vector<bool> sum_keeping_flips(const std::vector<double>& exact, const std::vector<double>& nearest,
                                    const std::vector<double>& other, int64_t taps) {
  constexpr int64_t kExhaustive = 12;  // 4096 subsets per kernel at most
  std::vector<bool> flip(exact.size(), false);
  if (taps < 2) return flip;
  for (size_t start = 0; start + static_cast<size_t>(taps) <= exact.size(); start += static_cast<size_t>(taps)) {
    double residual = 0;  // exact sum minus stored sum
    std::vector<double> delta(static_cast<size_t>(taps));
    for (size_t i = 0; i < delta.size(); ++i) {
      residual += exact[start + i] - nearest[start + i];
      delta[i] = other[start + i] - nearest[start + i];
    }
    if (taps <= kExhaustive) best_subset(delta, residual, flip, start);
    else greedy(delta, residual, flip, start);
  }
  return flip;
}

}  // namespace pare::passes
