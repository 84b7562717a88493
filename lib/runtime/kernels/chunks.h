// Loops whose elements are independent, split over the session's threads in
// fixed chunks: each element is computed alone, so any split gives the same bits
// and the chunk size only has to be large enough to pay for a task.
#pragma once

#include <algorithm>
#include <cstdint>

#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

// Runs fn(i0, i1) over chunks of [0, n).
template <typename F>
void for_chunks(const KernelContext& ctx, int64_t n, const F& fn) {
  constexpr int64_t kChunk = 16384;
  ctx.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t b, int64_t e) { fn(b * kChunk, std::min(n, e * kChunk)); });
}

// y[i] = f(x[i]) for i in [0, n).
template <typename In, typename Out, typename F>
void map_flat(const KernelContext& ctx, const In* x, Out* y, int64_t n, const F& f) {
  for_chunks(ctx, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = f(x[i]);
  });
}

}  // namespace pare::rt::kernels
