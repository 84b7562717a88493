// Dense 3x3 stride-1 convolutions run by Winograd's F(4x4, 3x3)
// (lib/runtime/kernels/winograd.h). Their outputs differ from the direct sum by
// rounding, so they are compared with a reference in double precision, each
// output within a bound relative to the sum of its terms' magnitudes; threads
// and the AVX2 and AVX-512 tiles must give the same bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "lib/runtime/kernels/winograd.h"
#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

struct Case {
  int64_t c, h, w, m, pt, pl, pb, pr;
  bool relu = false;   // a Relu after the Conv (fused into its epilogue)
  int64_t batch = 1;   // images
};

ir::Model conv_model(const Case& k, const std::vector<float>& wt, const std::vector<float>& b) {
  ir::Model model;
  model.opsets = {{"", 13}};
  ir::Graph& g = *model.graph;
  ir::Value* xv = g.add_value("x");
  xv->dtype = ir::DataType::kFloat;
  xv->shape = ir::Shape::of({k.batch, k.c, k.h, k.w});
  g.inputs.push_back(xv);
  ir::Value* w = g.add_constant("w", ir::Tensor::from<float>({k.m, k.c, 3, 3}, wt));
  ir::Value* bv = g.add_constant("b", ir::Tensor::from<float>({k.m}, b));
  ir::Node* conv = g.add_node("Conv", {xv, w, bv}, {"y"});
  conv->attrs = {ir::Attribute::of_ints("pads", {k.pt, k.pl, k.pb, k.pr})};
  ir::Value* out = conv->output(0);
  if (k.relu) out = g.add_node("Relu", {out}, {"r"})->output(0);
  g.outputs.push_back(out);
  return model;
}

// The convolution in double, and per output the largest sum of its terms'
// magnitudes over its channel.
void reference(const Case& k, const std::vector<float>& x, const std::vector<float>& wt, const std::vector<float>& b,
               int64_t oh, int64_t ow, std::vector<double>& y, std::vector<double>& scale) {
  y.assign(static_cast<size_t>(k.batch * k.m * oh * ow), 0.0);
  scale.assign(y.size(), 0.0);
  // Output (n, m, oy, ox) is element `at`: one loop over all of them.
  for (int64_t at = 0; at < static_cast<int64_t>(y.size()); ++at) {
    int64_t ox = at % ow, oy = at / ow % oh, m = at / (oh * ow) % k.m, n = at / (oh * ow * k.m);
    double acc = b[m], mag = std::fabs(b[m]);
    for (int64_t c = 0; c < k.c; ++c)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          int64_t iy = oy - k.pt + i, ix = ox - k.pl + j;
          if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
          double term = double(wt[((m * k.c + c) * 3 + i) * 3 + j]) * x[((n * k.c + c) * k.h + iy) * k.w + ix];
          acc += term;
          mag += std::fabs(term);
        }
    y[at] = k.relu ? std::max(acc, 0.0) : acc;
    scale[at] = mag;
  }
  for (int64_t nm = 0; nm < k.batch * k.m; ++nm) {
    auto first = scale.begin() + nm * oh * ow, last = first + oh * ow;
    std::fill(first, last, *std::max_element(first, last));
  }
}

TEST(Winograd, OutputsAreTheConvolutionWithinRounding) {
  std::vector<Case> cases = {
      {16, 8, 8, 16, 1, 1, 1, 1},             // the smallest that qualifies, one tile row per block
      {64, 20, 20, 64, 1, 1, 1, 1, true},     // M-LSD's decoder, Relu fused
      {19, 13, 23, 17, 1, 1, 1, 1},           // odd sizes: partial tiles at the right and bottom
      {24, 9, 11, 29, 0, 0, 0, 0},            // no padding (output 7x9)
      {17, 6, 7, 20, 2, 0, 1, 3},             // uneven padding, more than the kernel's reach
      {16, 5, 700, 18, 1, 1, 1, 1},           // wide rows: tile rows split into column blocks
      {33, 1, 1, 16, 1, 1, 1, 1},             // a 1x1 map: one tile, mostly padding
      {96, 10, 36, 24, 1, 1, 1, 1},           // PP-OCRv4 det's channels, K = 96
      {18, 7, 9, 16, 1, 1, 1, 1, true, 3},    // three images through one set of buffers
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(::testing::Message() << "c " << k.c << " " << k.h << "x" << k.w << " m " << k.m << " pads " << k.pt
                                      << "," << k.pl << "," << k.pb << "," << k.pr);
    ASSERT_TRUE(kernels::winograd_applies(1, k.c, k.m, 3, 3, 1, 1, 1, 1));
    auto x = testing::uniform_floats(static_cast<size_t>(k.batch * k.c * k.h * k.w), 51, -2, 2);
    auto wt = testing::uniform_floats(static_cast<size_t>(k.m * k.c * 9), 52, -1, 1);
    auto b = testing::uniform_floats(static_cast<size_t>(k.m), 53, -1, 1);
    ir::Model model = conv_model(k, wt, b);
    std::map<std::string, ir::Tensor> feed = {{"x", ir::Tensor::from<float>({k.batch, k.c, k.h, k.w}, x)}};
    int64_t oh = k.h + k.pt + k.pb - 2, ow = k.w + k.pl + k.pr - 2;
    std::vector<double> want, scale;
    reference(k, x, wt, b, oh, ow, want, scale);
    std::vector<float> first;  // the first AVX2-or-wider run's outputs
    for (Isa isa : runnable_isas())
      for (int threads : {1, 2}) {
        SCOPED_TRACE(::testing::Message() << isa_name(isa) << " threads " << threads);
        SessionOptions options{threads};
        options.isa = isa;
        std::vector<ir::Tensor> outputs = Session(model, options).run(feed);
        ASSERT_EQ(outputs[0].dims(), (std::vector<int64_t>{k.batch, k.m, oh, ow}));
        auto got = outputs[0].as_float();
        // F(4x4, 3x3) rounds its transforms: a few 1e-6 of the terms' sums
        // in float (by tile, so an output of the bias alone in the padding
        // gets its neighbours' rounding); a wrong tap or tile would be off
        // by a term, 1e-3 and more of them.
        double worst = 0;
        for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]) / scale[i]);
        EXPECT_LT(worst, 1e-5);
        if (!has_avx2(isa)) continue;  // the plain tile rounds its products apart
        if (first.empty()) first = got;
        else ASSERT_EQ(got, first);
      }
  }
}

TEST(Winograd, AppliesToDense3x3StrideOneOnly) {
  EXPECT_TRUE(kernels::winograd_applies(1, 64, 64, 3, 3, 1, 1, 1, 1));
  EXPECT_FALSE(kernels::winograd_applies(1, 64, 64, 3, 3, 1, 1, 5, 5));  // dilated (M-LSD's): measured no faster
  EXPECT_FALSE(kernels::winograd_applies(2, 64, 64, 3, 3, 1, 1, 1, 1));  // grouped
  EXPECT_FALSE(kernels::winograd_applies(1, 64, 64, 3, 3, 2, 2, 1, 1));  // strided
  EXPECT_FALSE(kernels::winograd_applies(1, 64, 64, 5, 5, 1, 1, 1, 1));  // 5x5
  EXPECT_FALSE(kernels::winograd_applies(1, 64, 64, 3, 3, 1, 1, 2, 1));  // dilations differ
  EXPECT_FALSE(kernels::winograd_applies(1, 8, 64, 3, 3, 1, 1, 1, 1));   // few channels: direct is faster
}

}  // namespace
}  // namespace pare::rt
