// Transpose against a naive loop over every output index, for permutations
// that reduce to a batch of 2-D transposes once axes that stay together (or
// have size 1) are merged (the tiled path) and for ones that do not (the
// general path), with 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "tests/support/one_node.h"

namespace pare::rt {
namespace {

std::vector<float> naive_transpose(const std::vector<float>& x, const std::vector<int64_t>& dims,
                                   const std::vector<int64_t>& perm, std::vector<int64_t>& out_dims) {
  size_t rank = dims.size();
  std::vector<int64_t> in_strides(rank, 1);
  for (size_t i = rank - 1; i-- > 0;) in_strides[i] = in_strides[i + 1] * dims[i + 1];
  out_dims.clear();
  for (int64_t a : perm) out_dims.push_back(dims[a]);
  std::vector<float> y(x.size());
  for (size_t o = 0; o < y.size(); ++o) {
    int64_t rem = static_cast<int64_t>(o), off = 0;
    for (size_t d = rank; d-- > 0;) {
      off += (rem % out_dims[d]) * in_strides[perm[d]];
      rem /= out_dims[d];
    }
    y[o] = x[off];
  }
  return y;
}

TEST(Transpose, MatchesANaiveLoopOnEveryPath) {
  struct Case {
    std::vector<int64_t> dims, perm;
  };
  std::vector<Case> cases = {
      {{1, 4, 37, 41}, {0, 2, 3, 1}},    // NCHW -> NHWC (M-LSD's output)
      {{1, 45, 33, 3}, {0, 3, 1, 2}},    // NHWC -> NCHW (BlazeFace's input: three columns, split_three)
      {{2, 7, 5, 3}, {0, 3, 1, 2}},      // the same for two images
      {{3, 5, 17, 19}, {0, 1, 3, 2}},    // a batch of 15 2-D transposes
      {{20, 35}, {1, 0}},                // plain 2-D, tiles cut at both ends
      {{2, 1, 9, 1, 7}, {0, 4, 3, 2, 1}},  // size-1 axes between and around
      {{2, 3, 4, 5}, {1, 0, 3, 2}},      // two swaps: the general path
      {{2, 3, 4}, {2, 0, 1}},            // a rotation: [3x4] and [2] swap (one 2-D transpose)
      {{4, 0, 3}, {2, 1, 0}},            // empty
  };
  for (const auto& c : cases) {
    int64_t n = 1;
    for (int64_t d : c.dims) n *= d;
    std::vector<float> x(static_cast<size_t>(n));
    std::iota(x.begin(), x.end(), 0.0f);
    std::vector<int64_t> want_dims;
    std::vector<float> want = naive_transpose(x, c.dims, c.perm, want_dims);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "dims " << c.dims.size() << " perm " << c.perm[0] << c.perm[1] << " threads " << threads);
      auto y = testing::run_one_node("Transpose", {ir::Tensor::from<float>(c.dims, x)},
                                     {ir::Attribute::of_ints("perm", c.perm)}, {.threads = threads})[0];
      EXPECT_EQ(y.dims(), want_dims);
      EXPECT_EQ(y.as_float(), want);
    }
  }
}

}  // namespace
}  // namespace pare::rt
