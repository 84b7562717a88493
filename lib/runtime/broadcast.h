// Numpy-style broadcasting iteration, shared by every op that broadcasts
// (binary arithmetic, comparisons, Where, PRelu, Expand, Clip with tensors).
//
// The output is walked row by row (the last dimension); each input keeps its own
// strides, with 0 where it is broadcast, so no input is ever materialised.
// Rows are split over threads; each output element is computed once, by one
// thread, so results do not depend on the thread count.
#pragma once

#include <array>
#include <tuple>
#include <vector>

#include "lib/runtime/kernel.h"

namespace pare::rt {

// Strides of `dims` seen from an output of rank `rank` with shape `out` (0 where broadcast).
inline std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& dims, const std::vector<int64_t>& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  size_t offset = out.size() - dims.size();
  for (size_t i = dims.size(); i-- > 0;) {
    strides[offset + i] = dims[i] == 1 ? 0 : stride;
    stride *= dims[i];
  }
  return strides;
}

// Calls fn(out_index, offsets...) for every output element; `fn` gets the flat
// output index and each input's flat offset. N inputs of arbitrary shapes.
template <size_t N, typename F>
void for_each_broadcast(const KernelContext& ctx, const std::vector<int64_t>& out,
                        const std::array<const std::vector<int64_t>*, N>& in_dims, F&& fn) {
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  if (total == 0) return;
  std::array<std::vector<int64_t>, N> strides;
  for (size_t k = 0; k < N; ++k) strides[k] = broadcast_strides(*in_dims[k], out);
  int64_t inner = out.empty() ? 1 : out.back();
  int64_t rows = total / inner;
  size_t rank = out.size();
  ctx.parallel_for(rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      std::array<int64_t, N> base{};
      int64_t rem = r;
      for (size_t d = rank >= 1 ? rank - 1 : 0; d-- > 0;) {
        int64_t idx = rem % out[d];
        rem /= out[d];
        for (size_t k = 0; k < N; ++k) base[k] += idx * strides[k][d];
      }
      std::array<int64_t, N> step{};
      for (size_t k = 0; k < N; ++k) step[k] = rank ? strides[k][rank - 1] : 0;
      int64_t o = r * inner;
      for (int64_t i = 0; i < inner; ++i) {
        std::array<int64_t, N> off;
        for (size_t k = 0; k < N; ++k) off[k] = base[k] + i * step[k];
        std::apply([&](auto... offs) { fn(o + i, offs...); }, off);
      }
    }
  });
}

// The operand shapes of numpy's matmul (MatMul, MatMulInteger, QLinearMatMul):
// A [..., m, k] times B [..., k, n], the leading (batch) dims broadcast; a rank-1
// A is the row [1, k] and a rank-1 B the column [k, 1], and neither extra dim
// appears in the output. Both operands must have rank 1 or more.
struct MatMulShape {
  std::vector<int64_t> a_batch, b_batch;
  int64_t m = 0, k = 0, n = 0;
  int64_t b_k = 0;  // B's inner dim, which the caller holds equal to k
  bool a_vec = false, b_vec = false;

  MatMulShape(std::vector<int64_t> ad, std::vector<int64_t> bd) : a_vec(ad.size() == 1), b_vec(bd.size() == 1) {
    if (a_vec) ad.insert(ad.begin(), 1);
    if (b_vec) bd.push_back(1);
    m = ad[ad.size() - 2], k = ad.back(), n = bd.back(), b_k = bd[bd.size() - 2];
    a_batch.assign(ad.begin(), ad.end() - 2);
    b_batch.assign(bd.begin(), bd.end() - 2);
  }
  // The output's dims after the broadcast `batch`.
  std::vector<int64_t> out_dims(std::vector<int64_t> batch) const {
    if (!a_vec) batch.push_back(m);
    if (!b_vec) batch.push_back(n);
    return batch;
  }
};

}  // namespace pare::rt
