// The integer Conv of QDQ groups (kernels/qconv.cc, qgemm.cc, qdq_groups.cc)
// against its oracle, the literal QDQ nodes run one by one in float
// (SessionOptions::fuse = false): every output within one quantization step,
// over odd shapes (channels not multiples of 8 or 6, stride 2, pads, groups,
// dilation, depthwise 3x3/5x5), zero points 0 and not, uint8 and int8
// activations, Relu and Clip folded. The integer GEMM against its triple loop;
// every runnable Isa (portable, AVX2, AVX-512, VNNI's byte GEMM and its direct
// stride-1 convolution) bit-identical;
// 1 and 2 threads bit-identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "lib/runtime/kernels/qgemm.h"
#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

using ir::DataType;

struct Case {
  std::vector<int64_t> x, w;  // x [N, C, H, W], w [M, C/group, kh, kw]
  int64_t group = 1, stride = 1, pad = 0, dilation = 1;
};

struct Quant {
  DataType type;
  float x_zero_point, y_zero_point;
};

// x -> Q -> DQ -> Conv(DQ(W_q), b) [-> act] -> Q -> y_q -> DQ -> y, as quantize(int8, calib=...) writes it.
struct QdqConv {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;
  float y_scale = 0.05f;

  QdqConv(const Case& c, const Quant& q, const std::string& act, bool bias = true, bool pad = false) {
    model.opsets = {{"", 13}};
    ir::Graph& g = *model.graph;
    ir::Value* x = g.add_value("x");
    x->dtype = DataType::kFloat;
    x->shape = ir::Shape::of(c.x);
    g.inputs.push_back(x);
    int64_t xn = 1, wn = 1;
    for (int64_t d : c.x) xn *= d;
    for (int64_t d : c.w) wn *= d;
    feed["x"] = ir::Tensor::from<float>(c.x, testing::uniform_floats(xn, 21, -2, 3));
    auto zp = [&](const std::string& name, float v) {
      return q.type == DataType::kUint8 ? g.add_constant(name, ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(v)))
                                        : g.add_constant(name, ir::Tensor::scalar<int8_t>(static_cast<int8_t>(v)));
    };
    ir::Value* sx = g.add_constant("sx", ir::Tensor::scalar<float>(0.021f));
    ir::Value* zx = zp("zx", q.x_zero_point);
    ir::Node* qx = g.add_node("QuantizeLinear", {x, sx, zx}, {"x_q"});
    ir::Node* dqx = g.add_node("DequantizeLinear", {qx->output(0), sx, zx}, {"x_dq"});
    // Full-range int8 weights, with a few at +-127 and -128 to reach the extremes.
    std::vector<int8_t> wq(wn);
    auto wr = testing::uniform_floats(wn, 22, -128, 127.99f);
    for (int64_t i = 0; i < wn; ++i) wq[i] = static_cast<int8_t>(std::floor(wr[i]));
    wq[0] = 127;
    if (wn > 1) wq[1] = -128;
    std::vector<float> ws(c.w[0]);
    auto wsr = testing::uniform_floats(c.w[0], 23, 0.001f, 0.004f);
    std::copy(wsr.begin(), wsr.end(), ws.begin());
    ir::Value* wv = g.add_constant("w_q", ir::Tensor::from<int8_t>(c.w, wq));
    ir::Value* wsv = g.add_constant("w_s", ir::Tensor::from<float>({c.w[0]}, ws));
    ir::Node* dqw = g.add_node("DequantizeLinear", {wv, wsv}, {"w"});
    dqw->attrs = {ir::Attribute::of_int("axis", 0)};
    std::vector<ir::Value*> conv_in = {dqx->output(0), dqw->output(0)};
    if (bias)
      conv_in.push_back(g.add_constant("b", ir::Tensor::from<float>({c.w[0]}, testing::uniform_floats(c.w[0], 24, -1, 1))));
    ir::Node* conv = g.add_node("Conv", conv_in, {"c"});
    conv->attrs = {ir::Attribute::of_int("group", c.group), ir::Attribute::of_ints("strides", {c.stride, c.stride}),
                   ir::Attribute::of_ints("pads", {c.pad, c.pad, c.pad, c.pad}),
                   ir::Attribute::of_ints("dilations", {c.dilation, c.dilation})};
    ir::Value* pre_q = conv->output(0);
    if (act == "Relu") {
      pre_q = g.add_node("Relu", {pre_q}, {"a"})->output(0);
    } else if (act == "Clip") {
      ir::Value* lo = g.add_constant("lo", ir::Tensor::scalar<float>(-0.5f));
      ir::Value* hi = g.add_constant("hi", ir::Tensor::scalar<float>(2.0f));
      pre_q = g.add_node("Clip", {pre_q, lo, hi}, {"a"})->output(0);
    }
    if (pad) {  // as M-LSD before a stride-2 depthwise Conv (here uneven on purpose)
      ir::Value* pads = g.add_constant("pads", ir::Tensor::from<int64_t>({8}, {0, 0, 1, 0, 0, 0, 2, 3}));
      pre_q = g.add_node("Pad", {pre_q, pads}, {"padded"})->output(0);
    }
    ir::Value* sy = g.add_constant("sy", ir::Tensor::scalar<float>(y_scale));
    ir::Value* zy = zp("zy", q.y_zero_point);
    ir::Node* qy = g.add_node("QuantizeLinear", {pre_q, sy, zy}, {"y_q"});
    ir::Node* dqy = g.add_node("DequantizeLinear", {qy->output(0), sy, zy}, {"y"});
    g.outputs.push_back(dqy->output(0));
  }

  // y_q as int32 values, and whether the integer kernel computed it (the
  // DequantizeLinear of x_q, which only the Conv reads, was then dropped).
  std::vector<int32_t> run(SessionOptions options, bool* integer = nullptr) {
    Session s(model, options);
    auto out = s.run_capture(feed, {"y_q"});
    if (integer) {
      const auto& nodes = s.last_stats().nodes;
      *integer = std::none_of(nodes.begin(), nodes.end(), [](const ir::Node* n) { return n->output(0)->name() == "x_dq"; });
    }
    std::vector<int32_t> v;
    for (double d : out.at("y_q").as_double()) v.push_back(static_cast<int32_t>(d));
    return v;
  }
};

std::vector<Case> odd_cases() {
  return {
      {{1, 7, 19, 23}, {13, 7, 3, 3}, 1, 1, 1},        // im2col, odd everything
      {{2, 9, 17, 18}, {11, 9, 1, 1}, 1, 1, 0},        // 1x1, two images
      {{1, 5, 15, 16}, {7, 5, 3, 3}, 1, 2, 1},         // stride 2
      {{1, 6, 14, 13}, {5, 6, 3, 3}, 1, 1, 2, 2},      // dilation 2
      {{1, 8, 11, 13}, {12, 4, 3, 3}, 2, 2, 1},        // grouped
      {{1, 6, 21, 40}, {6, 1, 3, 3}, 6, 2, 1},         // depthwise 3x3 stride 2
      {{1, 5, 20, 37}, {5, 1, 5, 5}, 5, 1, 2},         // depthwise 5x5 stride 1
      {{1, 3, 13, 17}, {3, 1, 3, 3}, 3, 1, 0},         // depthwise without padding
      {{1, 4, 12, 11}, {4, 1, 3, 3}, 4, 1, 2, 2},      // depthwise, dilation 2
      {{1, 13, 70, 66}, {13, 1, 3, 3}, 13, 1, 1},      // depthwise over several chunks of channels
      {{1, 3, 64, 70}, {16, 3, 3, 3}, 1, 2, 1},        // a first layer: several pixel blocks
      {{1, 300, 3, 5}, {7, 300, 1, 1}, 1, 1, 0},       // long K, few pixels
      {{1, 4, 9, 17}, {4, 1, 3, 3}, 4, 1, 1},          // depthwise 3x3, a row of 16 and one more
      {{1, 3, 8, 33}, {3, 1, 3, 3}, 3, 2, 0},          // depthwise 3x3 stride 2 without padding, odd width
      {{1, 2, 5, 3}, {2, 1, 3, 3}, 2, 2, 1},           // depthwise 3x3 stride 2 on a tiny plane
      {{1, 3, 11, 35}, {3, 1, 5, 5}, 3, 2, 2},         // depthwise 5x5 stride 2
      {{1, 6, 2, 50}, {6, 1, 5, 5}, 6, 1, 2},          // depthwise 5x5 over a plane two rows high, as the classifier's
      {{1, 4, 9, 30}, {4, 1, 7, 7}, 4, 1, 3},          // depthwise 7x7: taps 4-6 of each row in a second quad
      {{1, 9, 8, 8}, {9, 1, 3, 3}, 9, 1, 1},           // depthwise on an 8x8 plane (on VNNI, the plane as one row)
      // Dense stride-1 kernels read in place on VNNI (QConv::direct):
      {{1, 16, 9, 70}, {10, 16, 5, 5}, 1, 1, 2},       // 5x5, rows of three 16-pixel tiles and a part
      {{2, 5, 6, 48}, {6, 5, 1, 3}, 1, 1, 0},          // 1x3, two images, rows of exactly 48
      {{1, 33, 12, 9}, {25, 33, 3, 3}, 1, 1, 0},       // no padding, channels one past whole quads
      {{1, 12, 23, 21}, {9, 12, 3, 3}, 1, 1, 5, 5},    // dilation 5, padding beyond the input, as M-LSD's
      {{1, 8, 9, 40}, {7, 8, 3, 2}, 1, 1, 1, 2},       // 3x2 at dilation 2 (rows and columns)
      {{1, 3, 37, 71}, {24, 3, 5, 5}, 1, 2, 2},       // a first layer, 5x5 at stride 2 (BlazeFace's)
      {{1, 6, 17, 50}, {5, 6, 3, 3}, 1, 3, 1},         // stride 3 (laid out without vectors)
      {{1, 9, 21, 44}, {6, 9, 3, 3}, 1, 2, 2, 2},      // stride 2 at dilation 2
  };
}

std::vector<Quant> quant_kinds() {
  return {{DataType::kUint8, 0, 0}, {DataType::kUint8, 131, 97}, {DataType::kInt8, 0, 0}, {DataType::kInt8, -9, 14}};
}

std::string label(const Case& c) {
  return ::testing::PrintToString(c.x) + " w" + ::testing::PrintToString(c.w) + " g" + std::to_string(c.group) + " s" +
         std::to_string(c.stride) + " p" + std::to_string(c.pad) + " d" + std::to_string(c.dilation);
}

TEST(QConv, WithinOneStepOfTheLiteralNodes) {
  for (Isa isa : runnable_isas())
    for (const Case& c : odd_cases())
      for (const Quant& q : quant_kinds())
        for (const std::string act : {"", "Relu", "Clip"}) {
          SCOPED_TRACE(::testing::Message() << isa_name(isa) << " " << label(c) << " " << ir::name(q.type) << " zp "
                                            << q.x_zero_point << "/" << q.y_zero_point << " act '" << act << "'");
          QdqConv t(c, q, act);
          SessionOptions literal{1, false}, integer{1, true};
          literal.isa = integer.isa = isa;
          bool ran = false;
          auto want = t.run(literal), got = t.run(integer, &ran);
          ASSERT_TRUE(ran) << "the integer kernel did not compute the group";
          ASSERT_EQ(got.size(), want.size());
          int off = 0;
          for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_LE(std::abs(got[i] - want[i]), 1) << "element " << i;
            off += got[i] != want[i];
          }
          // A step is a rounding at a .5 boundary: rare.
          EXPECT_LE(off, static_cast<int>(got.size() / 50 + 2));
        }
}

TEST(QConv, FoldsAPadOfZerosIntoItsOutput) {
  for (Isa isa : runnable_isas())
    for (const Case& c : {Case{{1, 7, 9, 10}, {5, 7, 1, 1}}, Case{{1, 6, 12, 11}, {6, 1, 3, 3}, 6, 2, 1}})
      for (const Quant& q : quant_kinds()) {
        SCOPED_TRACE(::testing::Message() << isa_name(isa) << " " << label(c) << " " << ir::name(q.type));
        QdqConv t(c, q, "Clip", true, true);
        SessionOptions literal{1, false}, integer{1, true};
        literal.isa = integer.isa = isa;
        bool ran = false;
        auto want = t.run(literal), got = t.run(integer, &ran);
        ASSERT_TRUE(ran);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) ASSERT_LE(std::abs(got[i] - want[i]), 1) << "element " << i;
      }
}

TEST(QConv, WithoutBiasAndWithIntegerOff) {
  Case c{{1, 7, 9, 10}, {5, 7, 3, 3}, 1, 1, 1};
  QdqConv t(c, {DataType::kUint8, 128, 128}, "Relu", false);
  bool ran = true;
  SessionOptions off{1, true};
  off.integer = false;
  auto want = t.run(SessionOptions{1, false}), fused_float = t.run(off, &ran);
  EXPECT_FALSE(ran) << "integer = false runs the group in float";
  auto got = t.run(SessionOptions{1, true}, &ran);
  EXPECT_TRUE(ran);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_LE(std::abs(got[i] - want[i]), 1) << i;
    ASSERT_LE(std::abs(fused_float[i] - want[i]), 1) << i;
  }
}

TEST(QConv, PathsAndThreadCountsGiveTheSameBits) {
  for (const Case& c : odd_cases())
    for (const Quant& q : {Quant{DataType::kUint8, 131, 97}, Quant{DataType::kInt8, -9, 14}}) {
      SCOPED_TRACE(label(c) + " " + std::string(ir::name(q.type)));
      QdqConv t(c, q, "Relu");
      std::vector<std::vector<int32_t>> results;
      for (Isa isa : runnable_isas())
        for (int threads : {1, 2}) {
          SessionOptions o{threads, true};
          o.isa = isa;
          results.push_back(t.run(o));
        }
      for (size_t i = 1; i < results.size(); ++i) ASSERT_EQ(results[i], results[0]) << "run " << i;
    }
}

TEST(QGemm, MatchesTheTripleLoopOverOddShapes) {
  for (Isa isa : runnable_isas())
    for (int64_t m : {1, 5, 6, 7, 13})
      for (int64_t k : {1, 2, 3, 27, 301})
        for (int64_t n : {1, 15, 16, 17, 40}) {
          SCOPED_TRACE(::testing::Message() << isa_name(isa) << " m=" << m << " k=" << k << " n=" << n);
          auto ar = testing::uniform_floats(m * k, 31, -128, 127.99f), br = testing::uniform_floats(k * n, 32, -255, 255.99f);
          std::vector<int8_t> a(m * k);
          std::vector<int16_t> b(k * n);
          for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<int8_t>(std::floor(ar[i]));
          for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<int16_t>(std::floor(br[i]));
          kernels::Requant rq;
          for (int64_t r = 0; r < m; ++r) {
            rq.scale.push_back(0.0003f * static_cast<float>(r + 1));
            rq.offset.push_back(static_cast<float>(r) * 0.37f - 1.5f);
          }
          rq.zero_point = 7;
          rq.lo = -128;
          rq.hi = 127;
          int64_t ldc = n + 3;
          std::vector<uint8_t> want(m * ldc, 0xAB), got(m * ldc, 0xAB);
          kernels::qgemm_reference(a.data(), m, k, b.data(), n, rq, 0, want.data(), ldc);
          kernels::PackedQA packed = kernels::pack_qa(a.data(), m, k, k);
          std::vector<int16_t> panels(kernels::qb_panel_elements(packed.kp, n), -1);
          kernels::pack_qb(b.data(), n, k, n, panels.data());
          kernels::qgemm_panels(packed, 0, packed.panels(), panels.data(), n, rq, 0, got.data(), ldc, isa);
          ASSERT_EQ(got, want);  // exact sums, the same requantization: the same bytes, padding untouched
        }
}

TEST(QGemm, RequantizationRoundsHalfToEvenAndSaturates) {
  kernels::Requant rq{{0.5f}, {0.0f}, 3, 0, 255};
  EXPECT_EQ(rq.apply(1, 0), 3);    // 0.5 -> 0
  EXPECT_EQ(rq.apply(3, 0), 5);    // 1.5 -> 2
  EXPECT_EQ(rq.apply(-3, 0), 1);   // -1.5 -> -2
  EXPECT_EQ(rq.apply(-100, 0), 0);
  EXPECT_EQ(rq.apply(1000, 0), 255);
  EXPECT_EQ(rq.apply(2'000'000'000, 0), 255);  // a float beyond int32 still saturates
}

// The depthwise rows' requantization from int32 sums and from the same sums held
// as floats (the float depthwise kernel's on integer inputs): the same bytes on
// every runnable Isa, at odd lengths (the vector loop's tail), ties and saturation.
TEST(QGemm, RequantizingFloatSumsGivesTheIntegerSumsBytes) {
  kernels::Requant rq{{0.5f, 0.013f}, {0.0f, -3.25f}, 3, 0, 255};
  std::vector<int32_t> sums;
  for (int32_t v = -600; v <= 600; v += 7) sums.push_back(v);
  for (int32_t v : {1, 3, -3, (1 << 24) - 1, -(1 << 24) + 1}) sums.push_back(v);
  for (size_t n : {size_t{0}, size_t{5}, size_t{16}, size_t{17}, sums.size()})
    for (int64_t r : {0, 1})
      for (Isa isa : runnable_isas()) {
        std::vector<float> as_float(sums.begin(), sums.begin() + static_cast<std::ptrdiff_t>(n));
        std::vector<uint8_t> want(n, 0xAB), got(n, 0xCD);
        for (size_t j = 0; j < n; ++j) want[j] = static_cast<uint8_t>(rq.apply(sums[j], r));
        kernels::requantize_sums_row(as_float.data(), static_cast<int64_t>(n), rq, r, got.data(), isa);
        ASSERT_EQ(got, want) << n << " " << r << " " << isa_name(isa);
        kernels::requantize_row(sums.data(), static_cast<int64_t>(n), rq, r, got.data(), isa);
        ASSERT_EQ(got, want) << n << " " << r << " " << isa_name(isa);
      }
}

}  // namespace
}  // namespace pare::rt
