// Arithmetic with constants, HardSwish spelled out in nodes and an unfolded
// BatchNormalization, fused into the Conv (or float Add) before them (Epilogue::Step,
// Epilogue::Kind::kMulClip, Epilogue::channel_mul): the same bits
// as the nodes run one by one, on every instruction set and thread count, and
// fused only where no other reader needs the values in between.
#include <gtest/gtest.h>

#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

// x -> Conv -> the nodes `add` appends -> y.
struct ConvThen {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;
  ir::Value* last = nullptr;
  int names = 0;

  ConvThen(std::vector<int64_t> xd, std::vector<int64_t> wd, int64_t group = 1) {
    model.opsets = {{"", 13}};
    ir::Graph& g = *model.graph;
    ir::Value* x = g.add_value("x");
    x->dtype = ir::DataType::kFloat;
    x->shape = ir::Shape::of(xd);
    g.inputs.push_back(x);
    int64_t xn = 1, wn = 1;
    for (int64_t d : xd) xn *= d;
    for (int64_t d : wd) wn *= d;
    feed["x"] = ir::Tensor::from<float>(xd, testing::uniform_floats(xn, 31, -4, 4));
    ir::Value* w = g.add_constant("w", ir::Tensor::from<float>(wd, testing::uniform_floats(wn, 32, -1, 1)));
    ir::Value* b = g.add_constant("b", ir::Tensor::from<float>({wd[0]}, testing::uniform_floats(wd[0], 33, -1, 1)));
    ir::Node* conv = g.add_node("Conv", {x, w, b}, {"c"});
    conv->attrs = {ir::Attribute::of_int("group", group), ir::Attribute::of_ints("pads", {1, 1, 1, 1})};
    last = conv->output(0);
  }
  ir::Value* constant(std::vector<int64_t> dims, float v) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return model.graph->add_constant("k" + std::to_string(names++), ir::Tensor::from<float>(dims, std::vector<float>(n, v)));
  }
  // op(last, c) or op(c, last).
  void arith(const std::string& op, float c, bool constant_first = false, std::vector<int64_t> dims = {1}) {
    ir::Value* k = constant(dims, c);
    std::vector<ir::Value*> in = constant_first ? std::vector<ir::Value*>{k, last} : std::vector<ir::Value*>{last, k};
    last = model.graph->add_node(op, in, {"v" + std::to_string(names++)})->output(0);
  }
  // x * Clip(x + 3, 0, 6) / 6, as PP-OCRv4 det spells HardSwish.
  void spelled_hardswish(bool mul_x_first = true) {
    ir::Graph& g = *model.graph;
    ir::Value* x = last;
    ir::Value* added = g.add_node("Add", {x, constant({}, 3.0f)}, {"v" + std::to_string(names++)})->output(0);
    ir::Value* clipped =
        g.add_node("Clip", {added, constant({}, 0.0f), constant({}, 6.0f)}, {"v" + std::to_string(names++)})->output(0);
    std::vector<ir::Value*> in = mul_x_first ? std::vector<ir::Value*>{x, clipped} : std::vector<ir::Value*>{clipped, x};
    last = g.add_node("Mul", in, {"v" + std::to_string(names++)})->output(0);
    arith("Div", 6.0f, false, {});
  }
  void relu() { last = model.graph->add_node("Relu", {last}, {"v" + std::to_string(names++)})->output(0); }
  // BatchNormalization over `channels` channels with random parameters (variances positive).
  void batch_norm(int64_t channels, float epsilon = 1e-3f) {
    ir::Graph& g = *model.graph;
    std::vector<ir::Value*> in = {last};
    for (int i = 0; i < 4; ++i) {
      auto v = testing::uniform_floats(static_cast<size_t>(channels), 50 + names, i == 3 ? 0.1f : -2.0f, 2.0f);
      in.push_back(g.add_constant("bn" + std::to_string(names++), ir::Tensor::from<float>({channels}, v)));
    }
    ir::Node* bn = g.add_node("BatchNormalization", in, {"v" + std::to_string(names++)});
    bn->attrs = {ir::Attribute::of_float("epsilon", epsilon)};
    last = bn->output(0);
  }
  void finish() { model.graph->outputs = {last}; }

  struct Result {
    ir::Tensor y;
    int64_t kernels = 0;
  };
  Result run(bool fuse, Isa isa, int threads = 1) {
    SessionOptions options{threads, fuse};
    options.isa = isa;
    Session s(model, options);
    Result r{s.run(feed)[0], 0};
    r.kernels = s.last_stats().kernels_run;
    return r;
  }
};

// Every Isa and 1 or 2 threads: the fused chain's bits equal the nodes'; the
// fused run is one kernel, the literal one a kernel per node.
void expect_fused_exactly(ConvThen& t, bool fused_expected) {
  t.finish();
  for (Isa isa : runnable_isas()) {
    SCOPED_TRACE(isa_name(isa));
    ConvThen::Result fused = t.run(true, isa), literal = t.run(false, isa);
    EXPECT_TRUE(fused.y.same_content(literal.y)) << "the fused chain computes other floats";
    EXPECT_TRUE(fused.y.same_content(t.run(true, isa, 2).y)) << "threads change the result";
    if (fused_expected) EXPECT_EQ(fused.kernels, 1) << "not all of the chain was fused";
    else EXPECT_EQ(fused.kernels, literal.kernels) << "something was fused that must not be";
  }
}

TEST(EpilogueSteps, PpOcrDetChainFusesWithTheNodesBits) {
  // Dense (im2col and 1x1) and depthwise Convs: each applies the epilogue its own way.
  for (auto [xd, wd, group] : {std::tuple<std::vector<int64_t>, std::vector<int64_t>, int64_t>{{1, 7, 19, 37}, {13, 7, 3, 3}, 1},
                               {{1, 8, 20, 50}, {8, 1, 3, 3}, 8},
                               {{1, 300, 3, 5}, {7, 300, 3, 3}, 1}}) {
    SCOPED_TRACE(::testing::Message() << "group " << group << " c " << xd[1]);
    ConvThen t(xd, wd, group);
    t.arith("Mul", 1.7f, true);  // Mul(constant, conv), as the exporter writes it
    t.arith("Add", -0.3f);
    t.spelled_hardswish();
    t.arith("Mul", 0.9f, true);
    t.arith("Add", 0.05f);
    expect_fused_exactly(t, true);
  }
}

TEST(EpilogueSteps, EveryOperandOrderAndActivation) {
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE(variant);
    ConvThen t({1, 5, 11, 23}, {9, 5, 3, 3});
    t.arith("Sub", 0.25f, true);  // c - x
    t.arith("Div", 2.0f, true);   // c / x: some outputs are huge or infinite, the same in both
    if (variant == 0) t.relu();
    if (variant == 1) t.spelled_hardswish(false);
    t.arith("Sub", 1.5f);
    if (variant == 3) t.arith("Div", 3.0f);
    expect_fused_exactly(t, true);
  }
}

// An unfolded BatchNormalization after the Conv (the PP-OCR classifier has 35),
// then HardSwish spelled out: one kernel, the nodes' bits, grouped or depthwise.
TEST(EpilogueSteps, ABatchNormalizationFusesWithItsKernelsFactors) {
  for (auto [xd, wd, group] : {std::tuple<std::vector<int64_t>, std::vector<int64_t>, int64_t>{{1, 7, 19, 37}, {13, 7, 3, 3}, 1},
                               {{1, 8, 12, 40}, {12, 4, 3, 3}, 2},
                               {{1, 8, 20, 50}, {8, 1, 3, 3}, 8},
                               {{1, 16, 9, 11}, {24, 16, 1, 1}, 1}}) {
    SCOPED_TRACE(::testing::Message() << "group " << group << " c " << xd[1]);
    ConvThen t(xd, wd, group);
    t.batch_norm(wd[0]);
    t.spelled_hardswish();
    expect_fused_exactly(t, true);
    ConvThen alone(xd, wd, group);
    alone.batch_norm(wd[0], 1e-5f);
    expect_fused_exactly(alone, true);
  }
}

TEST(EpilogueSteps, WhatOtherNodesReadOrBroadcastsStaysUnfused) {
  {  // a per-channel constant broadcasts along channels: not a step
    ConvThen t({1, 4, 9, 9}, {6, 4, 3, 3});
    t.arith("Mul", 2.0f, false, {1, 6, 1, 1});
    expect_fused_exactly(t, false);
  }
  {  // the Add's output is also a graph output: the Conv writes it (the Add fused), Relu runs on its own
    ConvThen t({1, 4, 9, 9}, {6, 4, 3, 3});
    t.arith("Add", 2.0f);
    ir::Value* kept = t.last;
    t.relu();
    t.finish();
    t.model.graph->outputs.push_back(kept);
    for (Isa isa : runnable_isas())
      for (bool fuse : {true, false}) {
        SessionOptions options{1, fuse}, literal_options{1, false};
        options.isa = literal_options.isa = isa;
        Session s(t.model, options);
        auto got = s.run(t.feed), literal = Session(t.model, literal_options).run(t.feed);
        ASSERT_EQ(got.size(), 2u);
        EXPECT_TRUE(got[0].same_content(literal[0]) && got[1].same_content(literal[1])) << isa_name(isa);
        EXPECT_EQ(s.last_stats().kernels_run, fuse ? 2 : 3) << isa_name(isa);
      }
  }
  {  // a BatchNormalization whose mean is computed at run time (an input): not fused
    ConvThen t({1, 4, 9, 9}, {6, 4, 3, 3});
    ir::Graph& g = *t.model.graph;
    ir::Value* mean = g.add_value("mean");
    mean->dtype = ir::DataType::kFloat;
    mean->shape = ir::Shape::of({6});
    g.inputs.push_back(mean);
    t.feed["mean"] = ir::Tensor::from<float>({6}, testing::uniform_floats(6, 60, -1, 1));
    ir::Value* one = t.constant({6}, 1.0f);
    t.last = g.add_node("BatchNormalization", {t.last, one, t.constant({6}, 0.5f), mean, one}, {"bn"})->output(0);
    expect_fused_exactly(t, false);
  }
  {  // Clip's upper bound is a node's output, not known when the Conv is compiled: no kMulClip
    ConvThen t({1, 4, 9, 9}, {6, 4, 3, 3});
    ir::Graph& g = *t.model.graph;
    ir::Value* x = t.last;
    ir::Value* added = g.add_node("Add", {x, t.constant({}, 3.0f)}, {"a"})->output(0);
    ir::Value* hi = g.add_node("Abs", {t.constant({}, 6.0f)}, {"hi"})->output(0);
    ir::Value* clipped = g.add_node("Clip", {added, t.constant({}, 0.0f), hi}, {"cl"})->output(0);
    t.last = g.add_node("Mul", {x, clipped}, {"m"})->output(0);
    expect_fused_exactly(t, false);
  }
}

// x + y -> Relu (a residual connection, as BlazeFace's), then a step: the
// Add's kernel computes the chain with the nodes' bits, same shapes or broadcast.
TEST(EpilogueSteps, AResidualAddTakesTheActivationAfterIt) {
  for (bool broadcast : {false, true}) {
    ir::Model model;
    model.opsets = {{"", 13}};
    ir::Graph& g = *model.graph;
    std::vector<int64_t> xd = {1, 4, 5, 38}, yd = broadcast ? std::vector<int64_t>{1, 4, 1, 38} : xd;
    std::map<std::string, ir::Tensor> feed;
    std::vector<ir::Value*> in;
    for (auto [name, dims] : {std::pair{"x", xd}, std::pair{"y", yd}}) {
      ir::Value* v = g.add_value(name);
      v->dtype = ir::DataType::kFloat;
      v->shape = ir::Shape::of(dims);
      g.inputs.push_back(v);
      in.push_back(v);
      int64_t n = dims[0] * dims[1] * dims[2] * dims[3];
      feed[name] = ir::Tensor::from<float>(dims, testing::uniform_floats(n, 70 + in.size(), -2, 2));
    }
    ir::Value* sum = g.add_node("Add", in, {"sum"})->output(0);
    sum->dtype = ir::DataType::kFloat;
    ir::Value* r = g.add_node("Relu", {sum}, {"r"})->output(0);
    ir::Value* k = g.add_constant("k", ir::Tensor::from<float>({}, std::vector<float>{0.5f}));
    g.outputs = {g.add_node("Mul", {r, k}, {"y_out"})->output(0)};
    for (Isa isa : runnable_isas())
      for (int threads : {1, 2}) {
        SCOPED_TRACE(::testing::Message() << isa_name(isa) << " threads " << threads << " broadcast " << broadcast);
        SessionOptions fused_options{threads, true}, literal_options{threads, false};
        fused_options.isa = literal_options.isa = isa;
        Session fused(model, fused_options), literal(model, literal_options);
        auto a = fused.run(feed), b = literal.run(feed);
        EXPECT_TRUE(a[0].same_content(b[0])) << "the fused chain computes other floats";
        EXPECT_EQ(fused.last_stats().kernels_run, 1);
        EXPECT_EQ(literal.last_stats().kernels_run, 3);
      }
  }
}

}  // namespace
}  // namespace pare::rt
