// Conv, ConvTranspose, MatMul and Gemm against naive loops written here, over odd
// sizes and every attribute variant, with 1 and 2 threads (bit-identical); Conv and
// pooling attributes that make no window are errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "lib/runtime/session.h"
#include "tests/support/errors.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

std::vector<float> random_floats(size_t n, uint64_t seed) { return testing::uniform_floats(n, seed, -1, 1); }

int64_t product(const std::vector<int64_t>& d) {
  int64_t p = 1;
  for (int64_t x : d) p *= x;
  return p;
}

// A one-node model: inputs by (name, dims, constant?) and attributes.
struct OneNode {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;
  OneNode(const std::string& op, const std::vector<std::pair<std::vector<int64_t>, bool>>& inputs,
          std::vector<ir::Attribute> attrs, int64_t opset = 13) {
    model.opsets = {{"", opset}};
    ir::Graph& g = *model.graph;
    std::vector<ir::Value*> ins;
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto [dims, constant] = inputs[i];
      ir::Tensor t = ir::Tensor::from<float>(dims, random_floats(static_cast<size_t>(product(dims)), 100 + i));
      std::string name = "in" + std::to_string(i);
      if (constant) {
        ins.push_back(g.add_constant(name, t));
      } else {
        ir::Value* v = g.add_value(name);
        v->dtype = ir::DataType::kFloat;
        v->shape = ir::Shape::of(dims);
        g.inputs.push_back(v);
        ins.push_back(v);
        feed[name] = t;
      }
    }
    ir::Node* n = g.add_node(op, ins, {"y"});
    n->attrs = std::move(attrs);
    g.outputs.push_back(n->output(0));
  }
  ir::Tensor run(int threads = 1, std::optional<Isa> isa = std::nullopt) {
    SessionOptions options{threads};
    options.isa = isa;
    return Session(model, options).run(feed)[0];
  }
  std::vector<float> input(size_t i) const {
    const ir::Value* v = model.graph->find_value("in" + std::to_string(i));
    return (v->is_constant() ? v->constant() : feed.at(v->name())).as_float();
  }
};

void expect_close(const ir::Tensor& got, const std::vector<float>& want, const std::vector<int64_t>& dims) {
  ASSERT_EQ(got.dims(), dims);
  auto g = got.as_float();
  ASSERT_EQ(g.size(), want.size());
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], want[i], 1e-4f * (1 + std::fabs(want[i]))) << "element " << i;
}

// The error of compiling and running `t`, or "" when it runs.
std::string error_of(OneNode& t) {
  return testing::error_of([&] { t.run(); });
}

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
};

std::vector<float> naive_conv(const ConvCase& k, const std::vector<float>& x, const std::vector<float>& wt,
                              const std::vector<float>& b, int64_t oh, int64_t ow) {
  std::vector<float> y(k.n * k.m * oh * ow);
  int64_t cg = k.c / k.group, mg = k.m / k.group;
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t m = 0; m < k.m; ++m)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double acc = b.empty() ? 0 : b[m];
          int64_t g = m / mg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t i = 0; i < k.kh; ++i)
              for (int64_t j = 0; j < k.kw; ++j) {
                int64_t iy = oy * k.sh - k.pt + i * k.dh, ix = ox * k.sw - k.pl + j * k.dw;
                if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
                acc += x[((n * k.c + g * cg + c) * k.h + iy) * k.w + ix] * wt[((m * cg + c) * k.kh + i) * k.kw + j];
              }
          y[((n * k.m + m) * oh + oy) * ow + ox] = static_cast<float>(acc);
        }
  return y;
}

TEST(Conv, MatchesNaiveLoops) {
  std::vector<ConvCase> cases = {
      {1, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},      // im2col, padded
      {2, 4, 13, 9, 6, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},     // 1x1: plain GEMM
      {1, 6, 11, 11, 6, 3, 3, 6, 2, 2, 1, 1, 1, 1, 1, 1},    // depthwise, strided
      {1, 8, 9, 9, 8, 5, 5, 8, 1, 1, 1, 1, 2, 2, 2, 2},      // depthwise 5x5
      {1, 4, 9, 13, 8, 3, 3, 2, 1, 2, 2, 1, 2, 0, 1, 3},     // grouped, dilated, asymmetric pads
      {1, 3, 1, 17, 4, 1, 5, 1, 1, 2, 1, 2, 0, 2, 0, 1},     // 1-D as H == 1
      {1, 130, 5, 5, 70, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // a large GEMM (3x2: Winograd takes 3x3)
      {1, 5, 13, 7, 5, 3, 3, 5, 1, 1, 1, 1, 1, 1, 1, 1},     // depthwise 3x3 fast path
      {1, 4, 6, 2, 4, 3, 3, 4, 1, 1, 1, 1, 0, 1, 2, 1},      // 3x3, narrower than the kernel's reach
      {1, 4, 9, 10, 4, 3, 3, 4, 2, 2, 1, 1, 0, 0, 1, 1},     // 3x3 stride 2, padded after only (TF style)
      {2, 3, 1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},      // 1x1 input, all border
      {1, 1, 70, 80, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},    // 5600 columns: several column blocks
      {1, 6, 12, 11, 6, 5, 5, 6, 2, 2, 1, 1, 2, 2, 1, 2},    // depthwise 5x5 stride 2, asymmetric pads
      {1, 3, 4, 3, 3, 5, 5, 3, 1, 1, 1, 1, 2, 2, 2, 2},      // depthwise 5x5, input narrower than the kernel
      {1, 7, 2, 96, 7, 5, 5, 7, 1, 1, 1, 1, 2, 2, 2, 2},     // PP-OCR's: 5x5 over two rows, three tap rows in padding
      {1, 5, 9, 97, 5, 3, 3, 5, 2, 1, 1, 1, 1, 1, 1, 1},     // depthwise stride (2, 1): a whole group of 64 and a part
      {1, 4, 7, 150, 4, 5, 5, 4, 2, 2, 1, 1, 2, 2, 2, 2},    // depthwise 5x5 stride 2 over wide rows
      {1, 3, 5, 40, 3, 3, 3, 3, 1, 2, 1, 1, 0, 0, 1, 1},     // depthwise stride (1, 2), padded after only
      {1, 2, 3, 70, 2, 3, 3, 2, 1, 1, 1, 1, 3, 4, 3, 4},     // depthwise, pads past the kernel: rows of bias only
      {1, 3, 9, 11, 4, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1},     // im2col, stride 2
      {1, 2, 8, 9, 3, 3, 3, 1, 1, 1, 1, 3, 0, 4, 1, 0},      // im2col, dilated columns, pads wider than a tap
  };
  for (Isa isa : runnable_isas())  // the portable kernels and, where the CPU has them, the AVX2 ones
    for (const auto& k : cases) {
      SCOPED_TRACE(::testing::Message() << isa_name(isa) << " c=" << k.c << " m=" << k.m << " k=" << k.kh << "x" << k.kw
                                      << " g=" << k.group);
      OneNode t("Conv", {{{k.n, k.c, k.h, k.w}, false}, {{k.m, k.c / k.group, k.kh, k.kw}, true}, {{k.m}, true}},
                {ir::Attribute::of_int("group", k.group), ir::Attribute::of_ints("strides", {k.sh, k.sw}),
                 ir::Attribute::of_ints("dilations", {k.dh, k.dw}), ir::Attribute::of_ints("pads", {k.pt, k.pl, k.pb, k.pr})});
      int64_t oh = (k.h + k.pt + k.pb - k.dh * (k.kh - 1) - 1) / k.sh + 1;
      int64_t ow = (k.w + k.pl + k.pr - k.dw * (k.kw - 1) - 1) / k.sw + 1;
      ir::Tensor y = t.run(1, isa);
      expect_close(y, naive_conv(k, t.input(0), t.input(1), t.input(2), oh, ow), {k.n, k.m, oh, ow});
      EXPECT_TRUE(y.same_content(t.run(2, isa))) << "threads change the result";
    }
}

// The AVX2 and AVX-512 depthwise rows make each output the same chain of fused
// multiply-adds (depthwise.h), so they give the same bits.
TEST(Conv, DepthwiseRowsGiveTheSameBitsOnAvx2AndAvx512) {
  auto isas = runnable_isas();
  if (std::find(isas.begin(), isas.end(), Isa::kAvx512) == isas.end()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::vector<ConvCase> cases = {
      {1, 7, 2, 96, 7, 5, 5, 7, 1, 1, 1, 1, 2, 2, 2, 2},
      {1, 5, 9, 97, 5, 3, 3, 5, 2, 1, 1, 1, 1, 1, 1, 1},
      {1, 4, 7, 150, 4, 5, 5, 4, 2, 2, 1, 1, 2, 2, 2, 2},
      {1, 3, 21, 37, 3, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1},
  };
  for (const auto& k : cases) {
    OneNode t("Conv", {{{k.n, k.c, k.h, k.w}, false}, {{k.m, k.c / k.group, k.kh, k.kw}, true}, {{k.m}, true}},
              {ir::Attribute::of_int("group", k.group), ir::Attribute::of_ints("strides", {k.sh, k.sw}),
               ir::Attribute::of_ints("pads", {k.pt, k.pl, k.pb, k.pr})});
    EXPECT_TRUE(t.run(1, Isa::kAvx2Fma).same_content(t.run(1, Isa::kAvx512))) << "w " << k.w;
  }
}

TEST(Conv, AutoPadSameUpperMatchesExplicitPads) {
  OneNode same("Conv", {{{1, 2, 8, 7}, false}, {{3, 2, 3, 3}, true}},
               {ir::Attribute::of_string("auto_pad", "SAME_UPPER"), ir::Attribute::of_ints("strides", {2, 2})});
  // in 8 -> out 4: total pad (4-1)*2+3-8 = 1 -> 0 before, 1 after; in 7 -> out 4: total 2 -> 1, 1.
  OneNode explicit_pads("Conv", {{{1, 2, 8, 7}, false}, {{3, 2, 3, 3}, true}},
                        {ir::Attribute::of_ints("pads", {0, 1, 1, 1}), ir::Attribute::of_ints("strides", {2, 2})});
  EXPECT_TRUE(same.run().same_content(explicit_pads.run()));
}

TEST(Conv, RejectsWhatItCannotRunAtCompileTime) {
  OneNode bad("Conv", {{{1, 2, 4, 4}, false}, {{3, 2, 3, 3}, true}}, {ir::Attribute::of_string("auto_pad", "SOMETIMES")});
  try {
    Session s(bad.model);
    FAIL() << "an invalid auto_pad compiled";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(Conv, opset 13): auto_pad 'SOMETIMES'"), std::string::npos) << e.what();
  }
  // 3-D convolutions run on the N-D reference kernel (kernels/reference_nd.cc), tested in coverage_test.cc.
  OneNode three_d("Conv", {{{1, 2, 4, 4, 4}, false}, {{3, 2, 3, 3, 3}, true}}, {ir::Attribute::of_string("auto_pad", "SOMETIMES")});
  EXPECT_THROW(Session s(three_d.model), Error);
}

TEST(Conv, ListsNeedAValuePerSpatialAxisAndTheBiasOnePerChannel) {
  using ir::Attribute;
  auto conv = [](std::vector<Attribute> attrs, bool constant_w = true, int64_t biases = 4) {
    OneNode t("Conv", {{{1, 3, 8, 8}, false}, {{4, 3, 3, 3}, constant_w}, {{biases}, true}}, std::move(attrs));
    return error_of(t);
  };
  const std::string at_compile = "node (unnamed) (Conv, opset 13): ", at_run = "node (unnamed) (Conv): ";
  EXPECT_EQ(conv({Attribute::of_ints("pads", {1, 1})}), at_compile + "pads must have 4 values for 2 spatial axes, has 2");
  EXPECT_EQ(conv({Attribute::of_ints("pads", {1})}), at_compile + "pads must have 4 values for 2 spatial axes, has 1");
  EXPECT_EQ(conv({Attribute::of_ints("strides", {2})}), at_compile + "strides must have 2 values for 2 spatial axes, has 1");
  EXPECT_EQ(conv({Attribute::of_ints("dilations", {1, 1, 1})}),
            at_compile + "dilations must have 2 values for 2 spatial axes, has 3");
  EXPECT_EQ(conv({Attribute::of_ints("kernel_shape", {3})}),
            at_compile + "kernel_shape [3] does not match the weights' [3,3]");
  EXPECT_EQ(conv({Attribute::of_ints("pads", {1, -1, 1, 1})}), at_compile + "pads must not be negative");
  // With W computed, the lists are checked when its shape is known.
  EXPECT_EQ(conv({Attribute::of_ints("pads", {1, 1})}, false), at_run + "pads must have 4 values for 2 spatial axes, has 2");
  EXPECT_EQ(conv({Attribute::of_ints("kernel_shape", {2, 2})}, false),
            at_run + "kernel_shape [2,2] does not match the weights' [3,3]");
  EXPECT_EQ(conv({}, true, 7), at_run + "the bias must be float32 [4], one value per output channel; it is float [7]");
  EXPECT_EQ(conv({Attribute::of_ints("pads", {1, 1, 1, 1}), Attribute::of_ints("strides", {2, 1})}, false), "");
}

TEST(ConvTranspose, OutputPaddingMustBeBelowTheStrideOrDilation) {
  using ir::Attribute;
  auto deconv = [](std::vector<int64_t> strides, std::vector<int64_t> dilations, std::vector<int64_t> output_padding,
                   int64_t biases = 2) {
    OneNode t("ConvTranspose", {{{1, 3, 5, 4}, false}, {{3, 2, 3, 3}, true}, {{biases}, true}},
              {Attribute::of_ints("strides", strides), Attribute::of_ints("dilations", dilations),
               Attribute::of_ints("output_padding", output_padding)});
    return error_of(t);
  };
  const std::string at_compile = "node (unnamed) (ConvTranspose, opset 13): ";
  const std::string too_big = " must be at least 0 and less than the stride or dilation of its axis";
  EXPECT_EQ(deconv({2, 2}, {1, 1}, {2, 1}), at_compile + "output_padding [2,1]" + too_big);
  EXPECT_EQ(deconv({1, 1}, {1, 1}, {0, 1}), at_compile + "output_padding [0,1]" + too_big);
  EXPECT_EQ(deconv({2, 2}, {1, 1}, {-1, 0}), at_compile + "output_padding [-1,0]" + too_big);
  EXPECT_EQ(deconv({2, 2}, {1, 1}, {1}), at_compile + "output_padding must have 2 values for 2 spatial axes, has 1");
  EXPECT_EQ(deconv({2, 2}, {1, 1}, {1, 1}, 3),
            "node (unnamed) (ConvTranspose): the bias must be float32 [2], one value per output channel; it is float [3]");
  EXPECT_EQ(deconv({2, 2}, {1, 1}, {1, 1}), "");
  EXPECT_EQ(deconv({1, 1}, {2, 2}, {1, 1}), "");  // below the dilation
}

TEST(Pool, WindowsMustBeNonEmptyAndStepForward) {
  using ir::Attribute;
  auto pool = [](const std::string& op, std::vector<Attribute> attrs) {
    OneNode t(op, {{{1, 3, 8, 8}, false}}, std::move(attrs));
    return error_of(t);
  };
  Attribute k2 = Attribute::of_ints("kernel_shape", {2, 2});
  const std::string avg = "node (unnamed) (AveragePool, opset 13): ", max = "node (unnamed) (MaxPool, opset 13): ";
  EXPECT_EQ(pool("AveragePool", {k2, Attribute::of_ints("strides", {0, 0})}), avg + "strides must be at least 1, got [0,0]");
  EXPECT_EQ(pool("AveragePool", {Attribute::of_ints("kernel_shape", {0, 0})}),
            avg + "kernel_shape must be at least 1, got [0,0]");
  EXPECT_EQ(pool("MaxPool", {Attribute::of_ints("kernel_shape", {-2, -2})}),
            max + "kernel_shape must be at least 1, got [-2,-2]");
  EXPECT_EQ(pool("MaxPool", {k2, Attribute::of_ints("dilations", {1, 0})}), max + "dilations must be at least 1, got [1,0]");
  EXPECT_EQ(pool("MaxPool", {k2, Attribute::of_ints("pads", {0, -1, 0, 0})}), max + "pads must be at least 0, got [0,-1,0,0]");
  EXPECT_EQ(pool("MaxPool", {k2, Attribute::of_ints("pads", {1, 1})}), max + "pads must have 4 values for 2 spatial axes, has 2");
  EXPECT_EQ(pool("AveragePool", {k2, Attribute::of_ints("strides", {2})}),
            avg + "strides must have 2 values for 2 spatial axes, has 1");
  EXPECT_EQ(pool("AveragePool", {k2, Attribute::of_ints("strides", {2, 2}), Attribute::of_ints("pads", {1, 1, 1, 1})}), "");
  EXPECT_EQ(pool("MaxPool", {k2, Attribute::of_ints("dilations", {2, 2})}), "");
}

// ConvTranspose against the scatter written out, over the paths: taps that
// tile the output (2x2 at stride 2: bias + one tap written once), taps that
// never meet but leave gaps (2x2 at stride 3, padded), overlapping taps (the
// whole column matrix), groups, weights computed at run time (Eigen), blocks
// of input rows across threads (bit-identical), on every Isa.
struct DeconvCase {
  std::vector<int64_t> x;  // [1, C, H, W]
  int64_t m, k, stride, pad, group;
  bool constant_weights;
};

TEST(ConvTranspose, EveryPathMatchesTheScatter) {
  std::vector<DeconvCase> cases = {
      {{1, 5, 7, 9}, 6, 2, 2, 0, 1, true},     // tiled (PP-OCRv4 det's upsampling)
      {{1, 4, 23, 100}, 3, 2, 2, 0, 1, true},  // tiled, several blocks of input rows
      {{1, 4, 6, 5}, 3, 2, 3, 1, 1, true},     // disjoint with gaps, padded
      {{1, 3, 5, 4}, 4, 3, 2, 1, 1, true},     // overlapping
      {{1, 6, 5, 7}, 4, 2, 2, 0, 2, true},     // two groups, tiled
      {{1, 5, 7, 9}, 6, 2, 2, 0, 1, false},    // computed weights
      {{1, 0, 4, 5}, 3, 2, 2, 0, 1, true},     // no input channels: the bias alone
  };
  for (const auto& d : cases)
    for (Isa isa : runnable_isas()) {
      SCOPED_TRACE(::testing::Message() << ::testing::PrintToString(d.x) << " m " << d.m << " k " << d.k << " s "
                                        << d.stride << " p " << d.pad << " g " << d.group << " " << isa_name(isa));
      int64_t c = d.x[1], h = d.x[2], w = d.x[3], mg = d.m / d.group, cg = c / d.group;
      OneNode t("ConvTranspose", {{d.x, false}, {{c, mg, d.k, d.k}, d.constant_weights}, {{d.m}, true}},
                {ir::Attribute::of_ints("strides", {d.stride, d.stride}),
                 ir::Attribute::of_ints("pads", {d.pad, d.pad, d.pad, d.pad}), ir::Attribute::of_int("group", d.group)});
      auto x = t.input(0), wt = t.input(1), b = t.input(2);
      int64_t oh = (h - 1) * d.stride + d.k - 2 * d.pad, ow = (w - 1) * d.stride + d.k - 2 * d.pad;
      std::vector<double> y(d.m * oh * ow);
      for (int64_t o = 0; o < d.m; ++o)
        for (int64_t i = 0; i < oh * ow; ++i) y[o * oh * ow + i] = b[o];
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t iy = 0; iy < h; ++iy)
          for (int64_t ix = 0; ix < w; ++ix)
            for (int64_t om = 0; om < mg; ++om)
              for (int64_t i = 0; i < d.k; ++i)
                for (int64_t j = 0; j < d.k; ++j) {
                  int64_t oy = iy * d.stride - d.pad + i, ox = ix * d.stride - d.pad + j, o = ci / cg * mg + om;
                  if (oy >= 0 && oy < oh && ox >= 0 && ox < ow)
                    y[(o * oh + oy) * ow + ox] += x[(ci * h + iy) * w + ix] * wt[((ci * mg + om) * d.k + i) * d.k + j];
                }
      expect_close(t.run(1, isa), std::vector<float>(y.begin(), y.end()), {1, d.m, oh, ow});
      EXPECT_TRUE(t.run(1, isa).same_content(t.run(2, isa)));
    }
}

TEST(ConvTranspose, MatchesNaiveScatter) {
  // x [1, 3, 5, 4], W [3, 2, 3, 3], stride 2, pads 1, output_padding 1.
  OneNode t("ConvTranspose", {{{1, 3, 5, 4}, false}, {{3, 2, 3, 3}, true}, {{2}, true}},
            {ir::Attribute::of_ints("strides", {2, 2}), ir::Attribute::of_ints("pads", {1, 1, 1, 1}),
             ir::Attribute::of_ints("output_padding", {1, 1})});
  int64_t oh = 2 * 4 + 1 + 3 - 2, ow = 2 * 3 + 1 + 3 - 2;
  auto x = t.input(0), w = t.input(1), b = t.input(2);
  std::vector<double> y(2 * oh * ow, 0);
  for (int64_t m = 0; m < 2; ++m)
    for (int64_t i = 0; i < oh * ow; ++i) y[m * oh * ow + i] = b[m];
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t iy = 0; iy < 5; ++iy)
      for (int64_t ix = 0; ix < 4; ++ix)
        for (int64_t m = 0; m < 2; ++m)
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j) {
              int64_t oy = iy * 2 - 1 + i, ox = ix * 2 - 1 + j;
              if (oy >= 0 && oy < oh && ox >= 0 && ox < ow)
                y[(m * oh + oy) * ow + ox] += x[(c * 5 + iy) * 4 + ix] * w[((c * 2 + m) * 3 + i) * 3 + j];
            }
  expect_close(t.run(), std::vector<float>(y.begin(), y.end()), {1, 2, oh, ow});
}

TEST(MatMul, BroadcastsBatchesAndPromotesVectors) {
  OneNode t("MatMul", {{{2, 1, 3, 7}, false}, {{4, 7, 5}, false}}, {});
  auto a = t.input(0), b = t.input(1);
  std::vector<float> y(2 * 4 * 3 * 5);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t c = 0; c < 5; ++c) {
          double acc = 0;
          for (int64_t k = 0; k < 7; ++k) acc += a[(i * 3 + r) * 7 + k] * b[(j * 7 + k) * 5 + c];
          y[((i * 4 + j) * 3 + r) * 5 + c] = static_cast<float>(acc);
        }
  expect_close(t.run(), y, {2, 4, 3, 5});
  OneNode v("MatMul", {{{7}, false}, {{7, 3}, false}}, {});
  EXPECT_EQ(v.run().dims(), std::vector<int64_t>{3});
}

// A MatMul of few rows (at most 48: PP-OCRv4 rec's time steps times 6625
// classes) runs on the packed GEMM: against the loop over odd shapes (a
// single row, rows across a panel's six, columns across a 256-column block,
// an empty K: zeros),
// with a constant B as in models, on every Isa, 1 and 2 threads bit-identical.
TEST(MatMul, FewRowsMatchTheLoopOnEveryPath) {
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{1, 7, 5}, {6, 120, 661}, {13, 33, 300}, {48, 5, 17}, {3, 0, 5}})
    for (Isa isa : runnable_isas()) {
      SCOPED_TRACE(::testing::Message() << m << "x" << k << "x" << n << " " << isa_name(isa));
      OneNode t("MatMul", {{{1, m, k}, false}, {{k, n}, true}}, {});
      auto a = t.input(0), b = t.input(1);
      std::vector<float> y(m * n);
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
          double acc = 0;
          for (int64_t i = 0; i < k; ++i) acc += a[r * k + i] * b[i * n + c];
          y[r * n + c] = static_cast<float>(acc);
        }
      expect_close(t.run(1, isa), y, {1, m, n});
      EXPECT_TRUE(t.run(1, isa).same_content(t.run(2, isa)));
    }
}

TEST(Gemm, TransposesScalesAndBroadcastsC) {
  OneNode t("Gemm", {{{7, 5}, false}, {{13, 7}, true}, {{13}, true}},
            {ir::Attribute::of_int("transA", 1), ir::Attribute::of_int("transB", 1), ir::Attribute::of_float("alpha", 0.5f),
             ir::Attribute::of_float("beta", 2.0f)});
  auto a = t.input(0), b = t.input(1), c = t.input(2);
  std::vector<float> y(5 * 13);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 13; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < 7; ++k) acc += a[k * 5 + i] * b[j * 7 + k];
      y[i * 13 + j] = static_cast<float>(0.5 * acc + 2.0 * c[j]);
    }
  expect_close(t.run(), y, {5, 13});
  EXPECT_TRUE(t.run(1).same_content(t.run(2)));
}

}  // namespace
}  // namespace pare::rt
