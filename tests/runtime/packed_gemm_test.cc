// The optimised Conv paths against their references: packed_gemm against the
// plain triple loop over odd shapes and every epilogue; Conv with a fused
// activation against the same model run node by node; outputs bit-identical
// with 1 and 2 threads; capture of a value that fusion removed. Each runs the
// portable kernels and, where the CPU has AVX2 and FMA, the dispatched AVX2 ones.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lib/runtime/epilogue.h"
#include "lib/runtime/kernels/packed_gemm.h"
#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

std::vector<float> wide_random_floats(size_t n, uint64_t seed) { return testing::uniform_floats(n, seed, -4, 4); }

std::vector<Epilogue> every_epilogue() {
  using K = Epilogue::Kind;
  std::vector<Epilogue> all = {{K::kNone}, {K::kRelu}, {K::kClip, -1.0f, 2.5f}, {K::kHardSigmoid, 0.2f, 0.5f},
                               {K::kHardSwish}, {K::kLeakyRelu, 0.1f, 0}, {K::kSigmoid}};
  for (K kind : {K::kNone, K::kRelu, K::kSigmoid}) {  // with a uint8 and an int8 QDQ round trip
    Epilogue u8{kind};
    u8.round_trip = true;
    u8.scale = 0.03f;
    u8.zero_point = 128;
    u8.qmax = 255;
    Epilogue s8 = u8;
    s8.zero_point = -3;
    s8.qmin = -128;
    s8.qmax = 127;
    all.push_back(u8);
    all.push_back(s8);
  }
  return all;
}

TEST(PackedGemm, MatchesTheReferenceOverOddShapes) {
  for (Isa isa : runnable_isas())
    for (int64_t m : {1, 5, 6, 7, 13})
      for (int64_t k : {0, 1, 3, 27, 130, 600})  // 600: three blocks of K; 0: the bias alone
        for (int64_t n : {1, 15, 16, 17, 40})
          for (const Epilogue& e : every_epilogue()) {
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " m=" << m << " k=" << k << " n=" << n << " epilogue " << int(e.kind));
            int64_t lda = k + 2, ldb = n + 3, ldc = n + 1;  // strides wider than the matrices
            auto a = wide_random_floats(m * lda, 1), b = wide_random_floats(k * ldb, 2), bias = wide_random_floats(m, 3);
            std::vector<float> want(m * ldc, 7.0f), got(m * ldc, 7.0f);
            kernels::gemm_reference(a.data(), m, k, lda, b.data(), ldb, n, bias.data(), e, want.data(), ldc);
            kernels::PackedA packed = kernels::pack_a(a.data(), m, k, lda);
            kernels::packed_gemm(packed, 0, packed.panels(), b.data(), ldb, n, bias.data(), e, got.data(), ldc, isa);
            for (int64_t i = 0; i < m * ldc; ++i)
              ASSERT_NEAR(got[i], want[i], 1e-4f * (1 + std::fabs(want[i]) + std::sqrt(float(k)))) << "element " << i;
            // B in column panels gives the very same bits.
            std::vector<float> panels((n + 15) / 16 * 16 * k, -1.0f), from_panels(m * ldc, 7.0f);
            kernels::pack_b_panels(b.data(), ldb, k, n, panels.data());
            kernels::packed_gemm_panels(packed, 0, packed.panels(), panels.data(), n, bias.data(), e, from_panels.data(),
                                        ldc, isa);
            ASSERT_EQ(from_panels, got);
          }
}

// Packed weights below float's smallest normal are zero (a multiply by one
// takes a microcode assist on x86: PP-OCRv4 rec's squeeze-excite convolutions
// ran 25x slower): the result is the reference's with those weights zeroed,
// and weights at the smallest normal stay.
TEST(PackedGemm, SubnormalWeightsCountAsZero) {
  const float tiny = std::numeric_limits<float>::denorm_min(), smallest = std::numeric_limits<float>::min();
  int64_t m = 7, k = 40, n = 17;
  auto a = wide_random_floats(m * k, 4), b = wide_random_floats(k * n, 5);
  std::vector<float> flushed = a;
  for (int64_t i = 0; i < m * k; i += 3) {
    a[i] = (i % 2 ? -1 : 1) * tiny * static_cast<float>(i + 1);  // subnormals of both signs
    flushed[i] = 0.0f;
  }
  a[1] = flushed[1] = smallest;
  Epilogue none{Epilogue::Kind::kNone};
  kernels::PackedA packed = kernels::pack_a(a.data(), m, k, k);
  EXPECT_EQ(packed.data[1 * kernels::kPanelRows], smallest);  // a[1] (row 0, column 1) is kept
  for (float v : packed.data) ASSERT_NE(std::fpclassify(v), FP_SUBNORMAL);
  for (Isa isa : runnable_isas()) {
    SCOPED_TRACE(isa_name(isa));
    std::vector<float> want(m * n), got(m * n);
    kernels::gemm_reference(flushed.data(), m, k, k, b.data(), n, n, nullptr, none, want.data(), n);
    kernels::packed_gemm(packed, 0, packed.panels(), b.data(), n, n, nullptr, none, got.data(), n, isa);
    for (int64_t i = 0; i < m * n; ++i) ASSERT_NEAR(got[i], want[i], 1e-4f * (1 + std::fabs(want[i]))) << i;
  }
}

// The AVX-512 tiles (three, two or one 16-column tile at a time, the last one
// masked) against the AVX2 tile, bit for bit, in both layouts of B, with every
// epilogue and blocks of K resumed.
TEST(PackedGemm, Avx512GivesTheAvx2Bits) {
  if (cpu_isa() < Isa::kAvx512) GTEST_SKIP() << "this CPU has no AVX-512";
  for (int64_t m : {1, 6, 7, 13})
    for (int64_t k : {1, 5, 64, 600})
      for (int64_t n : {1, 16, 17, 31, 32, 33, 47, 48, 49, 65, 100})
        for (const Epilogue& e : every_epilogue()) {
          SCOPED_TRACE(::testing::Message() << "m=" << m << " k=" << k << " n=" << n << " epilogue " << int(e.kind));
          int64_t lda = k + 1, ldb = n + 5, ldc = n + 2;
          auto a = wide_random_floats(m * lda, 21), b = wide_random_floats(k * ldb, 22), bias = wide_random_floats(m, 23);
          kernels::PackedA packed = kernels::pack_a(a.data(), m, k, lda);
          std::vector<float> panels((n + 15) / 16 * 16 * k);
          kernels::pack_b_panels(b.data(), ldb, k, n, panels.data());
          std::vector<std::vector<float>> plain, paneled;
          for (Isa isa : {Isa::kAvx2Fma, Isa::kAvx512}) {
            plain.emplace_back(m * ldc, 7.0f);
            paneled.emplace_back(m * ldc, 7.0f);
            kernels::packed_gemm(packed, 0, packed.panels(), b.data(), ldb, n, bias.data(), e, plain.back().data(), ldc,
                                 isa);
            kernels::packed_gemm_panels(packed, 0, packed.panels(), panels.data(), n, bias.data(), e,
                                        paneled.back().data(), ldc, isa);
          }
          ASSERT_EQ(plain[1], plain[0]);
          ASSERT_EQ(paneled[1], paneled[0]);
        }
}

TEST(PackedGemm, PanelRangesComputeTheirRowsOnly) {
  int64_t m = 20, k = 9, n = 21;
  auto a = wide_random_floats(m * k, 4), b = wide_random_floats(k * n, 5);
  kernels::PackedA packed = kernels::pack_a(a.data(), m, k, k);
  for (Isa isa : runnable_isas()) {
    std::vector<float> whole(m * n), parts(m * n, 0.0f);
    kernels::packed_gemm(packed, 0, packed.panels(), b.data(), n, n, nullptr, Epilogue{}, whole.data(), n, isa);
    kernels::packed_gemm(packed, 0, 2, b.data(), n, n, nullptr, Epilogue{}, parts.data(), n, isa);
    kernels::packed_gemm(packed, 2, packed.panels(), b.data(), n, n, nullptr, Epilogue{}, parts.data(), n, isa);
    EXPECT_EQ(whole, parts) << isa_name(isa);  // the blocking never changes a result
  }
}

// The dispatch itself: a session runs what it was asked for, limited to the CPU,
// and the two paths compute the same Conv (within rounding: FMA rounds once).
TEST(Isa, SessionsRunTheRequestedKernelsAndThePathsAgree) {
  EXPECT_EQ(usable_isa(Isa::kBaseline), Isa::kBaseline);
  EXPECT_EQ(usable_isa(Isa::kAvx2Fma), std::min(Isa::kAvx2Fma, cpu_isa())) << "AVX2 is never used on a CPU without it";
  EXPECT_EQ(usable_isa(Isa::kAvx512), std::min(Isa::kAvx512, cpu_isa())) << "AVX-512 is never used on a CPU without it";
  EXPECT_EQ(usable_isa(Isa::kAvx512Vnni), cpu_isa()) << "VNNI is never used on a CPU without it";
  EXPECT_EQ(runnable_isas().back(), cpu_isa());
  ir::Model model;
  model.opsets = {{"", 14}};
  ir::Graph& g = *model.graph;
  ir::Value* x = g.add_value("x");
  x->dtype = ir::DataType::kFloat;
  x->shape = ir::Shape::of({1, 12, 30, 33});
  g.inputs.push_back(x);
  // 12 input channels: the direct GEMM (Winograd, from 16, has its own test).
  ir::Value* w = g.add_constant("w", ir::Tensor::from<float>({25, 12, 3, 3}, wide_random_floats(25 * 12 * 9, 12)));
  ir::Node* conv = g.add_node("Conv", {x, w}, {"y"});
  conv->attrs = {ir::Attribute::of_ints("pads", {1, 1, 1, 1})};
  g.outputs.push_back(conv->output(0));
  std::map<std::string, ir::Tensor> feed = {{"x", ir::Tensor::from<float>({1, 12, 30, 33}, wide_random_floats(11880, 13))}};
  std::vector<std::vector<float>> results;
  for (Isa isa : runnable_isas()) {
    SessionOptions options;
    options.isa = isa;
    Session s(model, options);
    EXPECT_EQ(s.isa(), isa);
    results.push_back(s.run(feed)[0].as_float());
  }
  if (results.size() < 2) GTEST_SKIP() << "this CPU has no AVX2 and FMA: only the portable kernels can run";
  ASSERT_EQ(results[0].size(), results[1].size());
  int differ = 0;
  for (size_t i = 0; i < results[0].size(); ++i) {
    ASSERT_NEAR(results[1][i], results[0][i], 1e-4f * (1 + std::fabs(results[0][i]))) << "element " << i;
    differ += results[1][i] != results[0][i];
  }
  EXPECT_GT(differ, 0) << "the AVX2 path ran: its fused multiply-adds round differently somewhere";
  for (size_t i = 2; i < results.size(); ++i)  // kAvx512Vnni runs kAvx512's float tile
    EXPECT_EQ(results[i], results[1]) << isa_name(runnable_isas()[i]) << " computes the AVX2 tile's bits";
}

TEST(Isa, PareCpuAcceptsBaselineAvx2AndAutoOnly) {
  EXPECT_EQ(parse_isa_request("baseline"), Isa::kBaseline);
  EXPECT_EQ(parse_isa_request("avx2"), Isa::kAvx2Fma);
  EXPECT_EQ(parse_isa_request("auto"), std::nullopt);
  EXPECT_EQ(parse_isa_request(""), std::nullopt);
  try {
    parse_isa_request("avx512");
    FAIL() << "an unknown PARE_CPU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("PARE_CPU is 'avx512'"), std::string::npos) << e.what();
  }
}

TEST(Epilogue, VectorAndScalarFormsAgree) {
  auto x = wide_random_floats(37, 6);
  x[3] = -0.0f;
  x[4] = 0.0f;
  for (Isa isa : runnable_isas())
    for (const Epilogue& e : every_epilogue()) {
      std::vector<float> v = x;
      e.apply(v.data(), static_cast<int64_t>(v.size()), isa);
      for (size_t i = 0; i < x.size(); ++i)
        EXPECT_EQ(v[i], e.apply(x[i])) << isa_name(isa) << " " << int(e.kind) << (e.round_trip ? " with QDQ" : "")
                                       << " at " << i;
    }
}

// x -> Conv(W, B) -> activation -> y, with W and B constant.
struct ConvAct {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;
  ConvAct(const std::string& act, std::vector<int64_t> xd, std::vector<int64_t> wd, int64_t group, int64_t stride,
          int64_t pad, int64_t opset = 14) {
    model.opsets = {{"", opset}};
    ir::Graph& g = *model.graph;
    ir::Value* x = g.add_value("x");
    x->dtype = ir::DataType::kFloat;
    x->shape = ir::Shape::of(xd);
    g.inputs.push_back(x);
    int64_t xn = 1, wn = 1;
    for (int64_t d : xd) xn *= d;
    for (int64_t d : wd) wn *= d;
    feed["x"] = ir::Tensor::from<float>(xd, wide_random_floats(xn, 7));
    ir::Value* w = g.add_constant("w", ir::Tensor::from<float>(wd, wide_random_floats(wn, 8)));
    ir::Value* b = g.add_constant("b", ir::Tensor::from<float>({wd[0]}, wide_random_floats(wd[0], 9)));
    ir::Node* conv = g.add_node("Conv", {x, w, b}, {"c"});
    conv->attrs = {ir::Attribute::of_int("group", group), ir::Attribute::of_ints("strides", {stride, stride}),
                   ir::Attribute::of_ints("pads", {pad, pad, pad, pad})};
    std::vector<ir::Value*> ins = {conv->output(0)};
    if (act == "Clip") {
      ins.push_back(g.add_constant("lo", ir::Tensor::scalar<float>(0.0f)));
      ins.push_back(g.add_constant("hi", ir::Tensor::scalar<float>(6.0f)));
    }
    ir::Node* a = g.add_node(act, ins, {"y"});
    if (act == "HardSigmoid") a->attrs = {ir::Attribute::of_float("alpha", 0.1666f)};
    g.outputs.push_back(a->output(0));
  }
  ir::Tensor run(int threads, bool fuse, Isa isa = cpu_isa()) {
    SessionOptions options{threads, fuse};
    options.isa = isa;
    return Session(model, options).run(feed)[0];
  }
};

TEST(ConvEpilogue, FusedActivationsMatchNodeByNode) {
  struct Shape {
    std::vector<int64_t> x, w;
    int64_t group, stride, pad;
  };
  std::vector<Shape> shapes = {
      {{1, 7, 19, 23}, {13, 7, 3, 3}, 1, 1, 1},     // im2col, odd everything
      {{2, 9, 17, 18}, {11, 9, 1, 1}, 1, 1, 0},     // 1x1 as a plain GEMM, two images
      {{1, 6, 21, 40}, {6, 1, 3, 3}, 6, 2, 1},      // depthwise 3x3 stride 2
      {{1, 5, 20, 37}, {5, 1, 5, 5}, 5, 1, 2},      // depthwise 5x5 stride 1
      {{1, 8, 33, 45}, {8, 1, 5, 5}, 8, 2, 2},      // depthwise 5x5 stride 2
      {{1, 8, 9, 70}, {8, 1, 3, 3}, 8, 1, 1},       // depthwise 3x3 stride 1, long rows
      {{1, 8, 11, 13}, {12, 4, 3, 3}, 2, 2, 1},     // grouped
      {{1, 3, 64, 70}, {16, 3, 3, 3}, 1, 2, 1},     // a first layer: several pixel blocks
      {{1, 300, 3, 5}, {7, 300, 1, 1}, 1, 1, 0},    // long K, few pixels
  };
  for (Isa isa : runnable_isas())
    for (const std::string act : {"Relu", "Clip", "HardSigmoid", "HardSwish", "LeakyRelu", "Sigmoid"})
      for (const auto& s : shapes) {
        SCOPED_TRACE(::testing::Message() << isa_name(isa) << " " << act << " x=" << s.x[1] << "x" << s.x[2] << "x" << s.x[3] << " w=" << s.w[0]
                                        << "x" << s.w[1] << "x" << s.w[2]);
        ConvAct t(act, s.x, s.w, s.group, s.stride, s.pad);
        ir::Tensor fused = t.run(1, true, isa), separate = t.run(1, false, isa);
        ASSERT_EQ(fused.dims(), separate.dims());
        auto f = fused.as_float(), p = separate.as_float();
        for (size_t i = 0; i < f.size(); ++i) ASSERT_NEAR(f[i], p[i], 1e-4f * (1 + std::fabs(p[i]))) << "element " << i;
        EXPECT_TRUE(fused.same_content(t.run(2, true, isa))) << "threads change the result";
      }
}

TEST(ConvEpilogue, RecordsBothNodesAndCapturesTheValueFusionRemoved) {
  ConvAct t("Relu", {1, 3, 8, 8}, {4, 3, 3, 3}, 1, 1, 1);
  Session s(t.model);
  auto got = s.run_capture(t.feed, {"c"});
  ASSERT_EQ(got.count("c"), 1u);
  auto c = got.at("c").as_float(), y = got.at("y").as_float();
  bool some_negative = false;
  for (size_t i = 0; i < c.size(); ++i) {
    some_negative |= c[i] < 0;
    EXPECT_EQ(y[i], c[i] > 0 ? c[i] : 0.0f);
  }
  EXPECT_TRUE(some_negative) << "the captured value is the Conv's, before Relu";
  s.run(t.feed);
  ASSERT_EQ(s.last_stats().nodes.size(), 2u);
  EXPECT_EQ(s.last_stats().nodes[1]->op_type, "Relu");
}

TEST(ConvEpilogue, AnActivationWithAnotherReaderIsNotFused) {
  // c feeds Relu and is a graph output too: Conv must still write c.
  ConvAct t("Relu", {1, 3, 8, 8}, {4, 3, 3, 3}, 1, 1, 1);
  t.model.graph->outputs.push_back(t.model.graph->find_value("c"));
  auto out = Session(t.model).run(t.feed);
  ASSERT_EQ(out.size(), 2u);
  auto y = out[0].as_float(), c = out[1].as_float();
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(y[i], c[i] > 0 ? c[i] : 0.0f);
}

// x -> Conv -> Relu -> QuantizeLinear -> DequantizeLinear -> y, as pare's static
// quantization writes it: the round trip fuses into the Conv's epilogue.
TEST(ConvEpilogue, AQdqRoundTripFusesWithinOneQuantizationStep) {
  for (auto type : {ir::DataType::kUint8, ir::DataType::kInt8}) {
    ConvAct t("Relu", {1, 5, 17, 19}, {9, 5, 3, 3}, 1, 1, 1);
    ir::Graph& g = *t.model.graph;
    float scale = 0.05f;
    ir::Value* s = g.add_constant("s", ir::Tensor::scalar<float>(scale));
    ir::Value* zp = type == ir::DataType::kUint8 ? g.add_constant("zp", ir::Tensor::scalar<uint8_t>(uint8_t{3}))
                                                 : g.add_constant("zp", ir::Tensor::scalar<int8_t>(int8_t{-7}));
    ir::Value* y = g.outputs[0];
    ir::Node* q = g.add_node("QuantizeLinear", {y, s, zp}, {"yq"});
    ir::Node* dq = g.add_node("DequantizeLinear", {q->output(0), s, zp}, {"ydq"});
    g.outputs = {dq->output(0)};
    ir::Tensor fused = t.run(1, true), literal = t.run(1, false);
    Session check(t.model);
    check.run(t.feed);
    EXPECT_EQ(check.last_stats().nodes.size(), 4u) << "Conv, Relu, QuantizeLinear and DequantizeLinear all counted";
    auto f = fused.as_float(), l = literal.as_float();
    ASSERT_EQ(f.size(), l.size());
    int differ = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      ASSERT_LE(std::fabs(f[i] - l[i]), scale * 1.001f) << "element " << i;  // at most one quantization step
      differ += f[i] != l[i];
    }
    EXPECT_LT(differ, static_cast<int>(f.size()) / 100) << "fused and literal round trips mostly agree exactly";
    EXPECT_TRUE(fused.same_content(t.run(2, true))) << "threads change the result";
  }
}

// Without a Conv before it, [Relu ->] QuantizeLinear -> DequantizeLinear runs as
// one epilogue kernel, with the literal nodes' exact results.
TEST(EpilogueKernel, RoundTripsMatchTheLiteralNodesExactly) {
  for (bool relu : {false, true}) {
    ir::Model m;
    m.opsets = {{"", 13}};
    ir::Graph& g = *m.graph;
    ir::Value* x = g.add_value("x");
    x->dtype = ir::DataType::kFloat;
    x->shape = ir::Shape::of({3, 50001});
    g.inputs.push_back(x);
    ir::Value* s = g.add_constant("s", ir::Tensor::scalar<float>(0.031f));
    ir::Value* zp = g.add_constant("zp", ir::Tensor::scalar<uint8_t>(uint8_t{100}));
    ir::Value* v = relu ? g.add_node("Relu", {x}, {"r"})->output(0) : x;
    ir::Node* q = g.add_node("QuantizeLinear", {v, s, zp}, {"q"});
    ir::Node* dq = g.add_node("DequantizeLinear", {q->output(0), s, zp}, {"y"});
    g.outputs.push_back(dq->output(0));
    std::map<std::string, ir::Tensor> feed = {{"x", ir::Tensor::from<float>({3, 50001}, wide_random_floats(150003, 11))}};
    ir::Tensor literal = Session(m, SessionOptions{1, false}).run(feed)[0];
    for (Isa isa : runnable_isas()) {
      SessionOptions one{1, true}, two{2, true};
      one.isa = two.isa = isa;
      Session fused(m, one);
      ir::Tensor a = fused.run(feed)[0];
      EXPECT_EQ(fused.last_stats().nodes.size(), relu ? 3u : 2u);
      EXPECT_TRUE(a.same_content(literal)) << isa_name(isa) << (relu ? " with Relu" : " alone");
      EXPECT_TRUE(a.same_content(Session(m, two).run(feed)[0])) << isa_name(isa);
    }
  }
}

}  // namespace
}  // namespace pare::rt
