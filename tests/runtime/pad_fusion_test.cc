// A zero Pad before a Conv is done by the Conv's kernel (pad_fusion.h): the
// same bits as the Pad and the Conv run one after the other, on every
// instruction set and thread count; the Pad still appears in the run's
// nodes with its padded shape; and a Pad that is not zero padding of the
// spatial axes, or whose output another node reads, runs as a node.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

struct PadThenConv {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;
  ir::Node* pad = nullptr;
  ir::Node* conv = nullptr;

  // x (1 x c x h x w) -> Pad(pads, value) -> Conv(kernel k, stride s, group, conv_pads) -> Relu -> y.
  // With pads_from_concat, the pads are a Concat of two constants, as tf2onnx writes them.
  PadThenConv(int64_t c, int64_t h, int64_t w, int64_t m, int64_t k, int64_t s, int64_t group,
              std::vector<int64_t> pads, float value, std::vector<int64_t> conv_pads, bool pads_from_concat) {
    int64_t conv_channels = c + pads[1] + pads[5];  // what the Conv reads
    model.opsets = {{"", 13}};
    ir::Graph& g = *model.graph;
    ir::Value* x = g.add_value("x");
    x->dtype = ir::DataType::kFloat;
    x->shape = ir::Shape::of({1, c, h, w});
    g.inputs.push_back(x);
    feed["x"] = ir::Tensor::from<float>({1, c, h, w}, testing::uniform_floats(c * h * w, 41, -3, 3));
    ir::Value* p;
    if (pads_from_concat) {
      std::vector<int64_t> first(pads.begin(), pads.begin() + 4), second(pads.begin() + 4, pads.end());
      ir::Value* a = g.add_constant("pads_a", ir::Tensor::from<int64_t>({4}, first));
      ir::Value* b = g.add_constant("pads_b", ir::Tensor::from<int64_t>({4}, second));
      ir::Node* cat = g.add_node("Concat", {a, b}, {"pads"});
      cat->attrs = {ir::Attribute::of_int("axis", 0)};
      p = cat->output(0);
    } else {
      p = g.add_constant("pads", ir::Tensor::from<int64_t>({8}, pads));
    }
    pad = g.add_node("Pad", {x, p, g.add_constant("value", ir::Tensor::scalar<float>(value))}, {"padded"});
    int64_t cg = conv_channels / group;
    ir::Value* wv = g.add_constant("w", ir::Tensor::from<float>({m, cg, k, k}, testing::uniform_floats(m * cg * k * k, 42, -1, 1)));
    ir::Value* bv = g.add_constant("b", ir::Tensor::from<float>({m}, testing::uniform_floats(m, 43, -1, 1)));
    conv = g.add_node("Conv", {pad->output(0), wv, bv}, {"conv"});
    conv->attrs = {ir::Attribute::of_int("group", group), ir::Attribute::of_ints("strides", {s, s})};
    if (!conv_pads.empty()) conv->attrs.push_back(ir::Attribute::of_ints("pads", conv_pads));
    g.outputs.push_back(g.add_node("Relu", {conv->output(0)}, {"y"})->output(0));
  }
};

std::vector<float> run(const PadThenConv& t, SessionOptions o, RunStats* stats = nullptr) {
  Session s(t.model, o);
  auto y = s.run(t.feed)[0].as_float();
  if (stats) *stats = s.last_stats();
  return y;
}

TEST(PadFusion, TheConvDoesTheZeroPadWithTheSameBits) {
  struct Case {
    int64_t c, h, w, m, k, s, group;
    std::vector<int64_t> pads, conv_pads;
    bool concat;
  };
  std::vector<Case> cases = {
      {96, 21, 37, 96, 3, 2, 96, {0, 0, 0, 0, 0, 0, 1, 1}, {}, true},          // M-LSD's: depthwise, stride 2, after
      {8, 19, 40, 12, 3, 1, 1, {0, 0, 1, 2, 0, 0, 2, 1}, {1, 0, 0, 1}, false},  // both pads add up; rows read in place
      {6, 9, 11, 10, 5, 2, 1, {0, 0, 2, 2, 0, 0, 2, 2}, {}, false},            // im2col path
      {4, 7, 7, 4, 1, 1, 1, {0, 0, 1, 1, 0, 0, 1, 1}, {}, false},              // a 1x1 convolution now with pads
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << "c " << c.c << " k " << c.k << " group " << c.group);
    PadThenConv t(c.c, c.h, c.w, c.m, c.k, c.s, c.group, c.pads, 0.0f, c.conv_pads, c.concat);
    RunStats fused_stats, plain_stats;
    for (Isa isa : {Isa::kBaseline, Isa::kAvx2Fma, Isa::kAvx512})
      for (int threads : {1, 2}) {
        SessionOptions unfused{1, false};
        unfused.isa = isa;
        std::vector<float> plain = run(t, unfused, &plain_stats);
        SessionOptions o{threads};
        o.isa = isa;
        EXPECT_EQ(run(t, o, &fused_stats), plain) << "isa " << static_cast<int>(isa) << " threads " << threads;
      }
    // One kernel fewer: the Conv, Relu fused, Pad absorbed (and the Concat folded at compile time).
    EXPECT_EQ(fused_stats.kernels_run, 1);
    // The Pad is still reported, with the shape it would have had.
    auto at = std::find(fused_stats.nodes.begin(), fused_stats.nodes.end(), t.pad);
    ASSERT_NE(at, fused_stats.nodes.end());
    auto plain_at = std::find(plain_stats.nodes.begin(), plain_stats.nodes.end(), t.pad);
    ASSERT_NE(plain_at, plain_stats.nodes.end());
    EXPECT_EQ(fused_stats.shapes[at - fused_stats.nodes.begin()].outputs,
              plain_stats.shapes[plain_at - plain_stats.nodes.begin()].outputs);
    EXPECT_EQ(fused_stats.macs, plain_stats.macs);
  }
}

TEST(PadFusion, OtherPadsRunAsNodes) {
  // A non-zero value: the Conv cannot pad with it.
  PadThenConv value(4, 9, 9, 4, 3, 1, 1, {0, 0, 1, 1, 0, 0, 1, 1}, 0.5f, {}, false);
  // Padding the channels.
  PadThenConv channels(4, 9, 9, 4, 3, 1, 1, {0, 1, 0, 0, 0, 0, 0, 0}, 0.0f, {}, false);
  // A reflection.
  PadThenConv reflect(4, 9, 9, 4, 3, 1, 1, {0, 0, 1, 1, 0, 0, 1, 1}, 0.0f, {}, false);
  reflect.pad->attrs = {ir::Attribute::of_string("mode", "reflect")};
  // The padded tensor is also a graph output.
  PadThenConv read_twice(4, 9, 9, 4, 3, 1, 1, {0, 0, 1, 1, 0, 0, 1, 1}, 0.0f, {}, false);
  read_twice.model.graph->outputs.push_back(read_twice.pad->output(0));
  // Pads whose sum with the Conv's overflows int64: not absorbed, and the Pad's
  // own kernel refuses them with one line.
  PadThenConv huge(4, 9, 9, 4, 3, 1, 1, {0, 0, 1, INT64_MAX, 0, 0, 1, 1}, 0.0f, {1, 1, 1, 1}, false);
  try {
    run(huge, SessionOptions{1});
    ADD_FAILURE() << "pads of INT64_MAX ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pads overflow int64"), std::string::npos) << e.what();
  }
  for (PadThenConv* t : {&value, &channels, &reflect, &read_twice}) {
    RunStats stats;
    std::vector<float> fused = run(*t, SessionOptions{1}, &stats);
    EXPECT_EQ(stats.kernels_run, 2);  // the Pad, then the Conv with its Relu
    EXPECT_EQ(fused, run(*t, SessionOptions{1, false}));
  }
}

}  // namespace
}  // namespace pare::rt
