// Convolutions with wide output rows read the input rows in place (Conv's
// rows_conv and packed_gemm_rows; with a column stride above 1, one copy of
// the row per kernel column) instead of copying an im2col matrix.
// Their outputs must be the im2col path's bits: each output the chain bias,
// then + w * x for k = (c, ki, kj) in order, one fused multiply-add per term on
// the AVX2 and AVX-512 paths and a multiply then an add on the portable one.
// That chain is written out here, with padding as zeros, and compared exactly.
#include <gtest/gtest.h>

#include <cmath>

#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

struct Case {
  int64_t c, h, w, m, kh, kw, group, sh, dh, dw, pt, pl, pb, pr;
  int64_t sw = 1;  // above 1: the ring holds a copy per kernel column
};

// The output of `k` as the im2col path computes it, on the given Isa.
std::vector<float> chain(const Case& k, const std::vector<float>& x, const std::vector<float>& wt,
                         const std::vector<float>& b, Isa isa, int64_t& oh, int64_t& ow) {
  oh = (k.h + k.pt + k.pb - (k.kh - 1) * k.dh - 1) / k.sh + 1;
  ow = (k.w + k.pl + k.pr - (k.kw - 1) * k.dw - 1) / k.sw + 1;
  int64_t cg = k.c / k.group, mg = k.m / k.group;
  std::vector<float> y(static_cast<size_t>(k.m * oh * ow));
  for (int64_t m = 0; m < k.m; ++m)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        float acc = b[m];
        int64_t grp = m / mg;
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t i = 0; i < k.kh; ++i)
            for (int64_t j = 0; j < k.kw; ++j) {
              int64_t iy = oy * k.sh - k.pt + i * k.dh, ix = ox * k.sw - k.pl + j * k.dw;
              bool inside = iy >= 0 && iy < k.h && ix >= 0 && ix < k.w;
              float xv = inside ? x[((grp * cg + c) * k.h + iy) * k.w + ix] : 0.0f;
              float wv = wt[((m * cg + c) * k.kh + i) * k.kw + j];
              if (has_avx2(isa)) {
                acc = std::fma(wv, xv, acc);
              } else {
                volatile float p = wv * xv;  // rounded on its own, whatever the compiler would contract
                acc = acc + p;
              }
            }
        y[(m * oh + oy) * ow + ox] = acc;
      }
  return y;
}

TEST(ConvRows, WideConvolutionsGiveTheIm2colBits) {
  std::vector<Case> cases = {
      {5, 7, 40, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    // 3x3, same padding
      {96, 4, 35, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   // det's channels, K = 864 (12 outputs: not Winograd's)
      {3, 9, 50, 7, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},     // 5x5
      {4, 10, 45, 6, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1},    // row stride 2, column stride 1
      {4, 11, 41, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},    // dilation 2
      {8, 6, 37, 12, 3, 3, 2, 1, 1, 1, 1, 0, 1, 3},    // grouped, uneven padding
      {2, 5, 33, 3, 1, 3, 1, 1, 1, 1, 0, 0, 0, 0},     // 1x3, no padding (ow = 31: the im2col path)
      {6, 3, 64, 9, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0},     // 3x1, rows only
      {3, 12, 128, 24, 5, 5, 1, 2, 1, 1, 1, 1, 2, 2, 2},  // BlazeFace's first: 5x5, stride 2, TF padding
      {4, 9, 70, 32, 3, 3, 1, 2, 1, 1, 0, 0, 1, 1, 2},    // M-LSD's first: padded after only
      {5, 8, 110, 7, 3, 3, 1, 1, 1, 2, 1, 3, 1, 2, 3},    // column stride 3, dilation 2
  };
  for (const Case& k : cases) {
    ir::Model model;
    model.opsets = {{"", 13}};
    ir::Graph& g = *model.graph;
    ir::Value* xv = g.add_value("x");
    xv->dtype = ir::DataType::kFloat;
    xv->shape = ir::Shape::of({1, k.c, k.h, k.w});
    g.inputs.push_back(xv);
    auto x = testing::uniform_floats(static_cast<size_t>(k.c * k.h * k.w), 41, -2, 2);
    auto wt = testing::uniform_floats(static_cast<size_t>(k.m * (k.c / k.group) * k.kh * k.kw), 42, -1, 1);
    auto b = testing::uniform_floats(static_cast<size_t>(k.m), 43, -1, 1);
    ir::Value* w = g.add_constant("w", ir::Tensor::from<float>({k.m, k.c / k.group, k.kh, k.kw}, wt));
    ir::Value* bv = g.add_constant("b", ir::Tensor::from<float>({k.m}, b));
    ir::Node* conv = g.add_node("Conv", {xv, w, bv}, {"y"});
    conv->attrs = {ir::Attribute::of_int("group", k.group), ir::Attribute::of_ints("strides", {k.sh, k.sw}),
                   ir::Attribute::of_ints("dilations", {k.dh, k.dw}),
                   ir::Attribute::of_ints("pads", {k.pt, k.pl, k.pb, k.pr})};
    g.outputs.push_back(conv->output(0));
    std::map<std::string, ir::Tensor> feed = {{"x", ir::Tensor::from<float>({1, k.c, k.h, k.w}, x)}};
    for (Isa isa : runnable_isas())
      for (int threads : {1, 2}) {
        SCOPED_TRACE(::testing::Message() << isa_name(isa) << " threads " << threads << " c " << k.c << " k " << k.kh
                                          << "x" << k.kw << " group " << k.group << " sh " << k.sh << " d " << k.dh);
        SessionOptions options{threads};
        options.isa = isa;
        auto got = Session(model, options).run(feed)[0].as_float();
        int64_t oh, ow;
        auto want = chain(k, x, wt, b, isa, oh, ow);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;
      }
  }
}

}  // namespace
}  // namespace pare::rt
