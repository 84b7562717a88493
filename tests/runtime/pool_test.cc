// MaxPool with dilation 1 runs separably (rows, then columns; pool.cc), and a
// 2x2 stride-2 pool with every window inside in one pass. Here both are
// compared bit for bit with the per-window loop written out: from -inf,
// std::max in row-major order, so that of equal values (+0 and -0 here) the
// first wins and a NaN is passed over, over pads, strides, ceil_mode, auto_pad
// and 1-D pools.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "tests/support/one_node.h"

namespace pare::rt {
namespace {

struct PoolCase {
  int64_t c, h, w, kh, kw, sh, sw, pt, pl, pb, pr;
  bool ceil;
};

std::vector<float> naive_max_pool(const PoolCase& k, const std::vector<float>& x, int64_t oh, int64_t ow) {
  std::vector<float> y;
  for (int64_t c = 0; c < k.c; ++c)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < k.kh; ++i)
          for (int64_t j = 0; j < k.kw; ++j) {
            int64_t iy = oy * k.sh - k.pt + i, ix = ox * k.sw - k.pl + j;
            if (iy >= 0 && iy < k.h && ix >= 0 && ix < k.w) m = std::max(m, x[(c * k.h + iy) * k.w + ix]);
          }
        y.push_back(m);
      }
  return y;
}

int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe, bool ceil) {
  int64_t span = in + pb + pe - k;
  int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
  if (ceil && (out - 1) * s >= in + pb) --out;
  return out;
}

TEST(MaxPool, SeparableEqualsThePerWindowLoopBitForBit) {
  std::vector<PoolCase> cases = {
      {1, 160, 160, 3, 3, 1, 1, 1, 1, 1, 1, false},  // M-LSD's heat map: 3x3, same padding
      {28, 64, 64, 2, 2, 2, 2, 0, 0, 0, 0, false},   // BlazeFace's: 2x2 stride 2
      {3, 7, 9, 2, 2, 2, 2, 0, 0, 0, 0, false},      // 2x2 stride 2, odd sizes: the last row and column unread
      {3, 7, 9, 2, 2, 2, 2, 0, 0, 0, 0, true},       // the same with ceil_mode: windows overhang, separable
      {3, 9, 11, 3, 5, 2, 3, 1, 2, 0, 1, false},     // uneven kernel, strides and pads
      {2, 7, 8, 3, 3, 2, 2, 0, 0, 0, 0, true},       // ceil_mode: the last windows overhang
      {2, 5, 6, 1, 1, 1, 1, 0, 0, 0, 0, false},      // 1x1
      {1, 4, 3, 4, 3, 1, 1, 2, 1, 1, 2, false},      // windows wider than the input
  };
  std::mt19937_64 rng(9);
  // Ties, both zeros and a NaN.
  const float values[] = {-1.0f, -0.0f, 0.0f, 0.5f, 2.0f, std::numeric_limits<float>::quiet_NaN()};
  for (const auto& k : cases) {
    SCOPED_TRACE(::testing::Message() << "c " << k.c << " " << k.h << "x" << k.w << " k " << k.kh << "x" << k.kw);
    std::vector<float> x(static_cast<size_t>(k.c * k.h * k.w));
    for (auto& v : x) v = values[rng() % 6];
    std::vector<ir::Attribute> attrs = {
        ir::Attribute::of_ints("kernel_shape", {k.kh, k.kw}), ir::Attribute::of_ints("strides", {k.sh, k.sw}),
        ir::Attribute::of_ints("pads", {k.pt, k.pl, k.pb, k.pr}), ir::Attribute::of_int("ceil_mode", k.ceil ? 1 : 0)};
    int64_t oh = pool_out_size(k.h, k.kh, k.sh, k.pt, k.pb, k.ceil), ow = pool_out_size(k.w, k.kw, k.sw, k.pl, k.pr, k.ceil);
    std::vector<float> want = naive_max_pool(k, x, oh, ow);
    for (int threads : {1, 2}) {
      ir::Tensor y = testing::run_one_node("MaxPool", {ir::Tensor::from<float>({1, k.c, k.h, k.w}, x)}, attrs,
                                           {.threads = threads, .opset = 13})[0];
      ASSERT_EQ(y.dims(), (std::vector<int64_t>{1, k.c, oh, ow}));
      auto got = y.as_float();
      ASSERT_EQ(got.size(), want.size());
      EXPECT_EQ(std::memcmp(got.data(), want.data(), sizeof(float) * want.size()), 0) << "threads " << threads;
    }
  }
}

}  // namespace
}  // namespace pare::rt
