// prune(mode=channel): which filters go, how every consumer follows (BN,
// residual Add, squeeze-excitation Mul, depthwise Conv, Concat, ConstantOfShape
// padding, Flatten+Gemm), what blocks a channel space, and on the real models:
// at least 20% fewer Conv MACs and parameters at sparsity 0.25, a model the ONNX
// checker accepts, and ONNX Runtime and pare's runner agreeing on it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "formats/onnx/onnx.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "passes/pipeline.h"
#include "passes/prune_channels.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

// The pruned model still runs, its first output has `dims`, and it is valid ONNX.
void expect_valid_with_output(const ir::Model& m, const std::vector<int64_t>& dims) {
  EXPECT_EQ(testing::run_model(m, testing::seeded_inputs(m, {}))[0].dims(), dims);
  EXPECT_NO_THROW(formats::onnx::check_model(m));
}

const ir::Tensor& constant(const ir::Model& m, const std::string& name) {
  const ir::Value* v = m.graph->find_value(name);
  EXPECT_NE(v, nullptr) << name;
  return v->constant();
}
std::vector<float> values(const ir::Model& m, const std::string& name) { return constant(m, name).as_float(); }
std::vector<int64_t> dims(const ir::Model& m, const std::string& name) { return constant(m, name).dims(); }

using F = std::vector<float>;
using D = std::vector<int64_t>;

// Filters 1 and 3 of w1 are zero, with zero bias, and the BN maps 0 to 0 on them
// (mean 0, B 0): removing them changes nothing downstream.
constexpr const char* kConvBnReluConv = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, 2, 3, 3] x) => (float[1, 3, 3, 3] y)
  <float[4, 2, 1, 1] w1 = {1.0, -2.0, 0.0, 0.0, 0.5, 3.0, 0.0, 0.0}, float[4] b1 = {0.1, 0.0, -0.2, 0.0},
   float[4] s = {1.5, 2.0, 0.5, 3.0}, float[4] t = {0.1, 0.0, -0.3, 0.0}, float[4] mu = {0.2, 0.0, -0.1, 0.0},
   float[4] var = {1.0, 0.5, 2.0, 0.25},
   float[3, 4, 1, 1] w2 = {1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 2.0, -3.0, 0.25, 7.0, -1.0, 9.0}> {
    c1 = Conv<kernel_shape = [1, 1]>(x, w1, b1)
    bn = BatchNormalization(c1, s, t, mu, var)
    r = Relu(bn)
    y = Conv<kernel_shape = [1, 1]>(r, w2)
  })";

TEST(PruneChannels, ConvBnReluConvLosesTheSmallestFiltersEverywhere) {
  auto [original, m, stats] = testing::rewrite(kConvBnReluConv, "prune(sparsity=0.5, mode=channel)");
  EXPECT_EQ(stats["channels_removed"], 2);
  EXPECT_EQ(stats["spaces_pruned"], 1);
  EXPECT_EQ(stats["spaces_blocked"], 1);  // the second Conv writes the graph output
  EXPECT_EQ(stats["blocked.graph output"], 1);
  EXPECT_EQ(stats["layer.c1"], 2);  // channels kept; an unnamed node reports under its output's name
  EXPECT_EQ(stats["layer.y"], 3);
  EXPECT_EQ(dims(m, "w1"), (D{2, 2, 1, 1}));
  EXPECT_EQ(values(m, "w1"), (F{1.0f, -2.0f, 0.5f, 3.0f}));  // filters 0 and 2
  EXPECT_EQ(values(m, "b1"), (F{0.1f, -0.2f}));
  EXPECT_EQ(values(m, "s"), (F{1.5f, 0.5f}));
  EXPECT_EQ(values(m, "t"), (F{0.1f, -0.3f}));
  EXPECT_EQ(values(m, "mu"), (F{0.2f, -0.1f}));
  EXPECT_EQ(values(m, "var"), (F{1.0f, 2.0f}));
  EXPECT_EQ(dims(m, "w2"), (D{3, 2, 1, 1}));
  EXPECT_EQ(values(m, "w2"), (F{1.0f, 3.0f, -1.0f, 2.0f, 0.25f, -1.0f}));
  EXPECT_EQ(m.graph->outputs[0]->shape->str(), "[1,3,3,3]");
  // The removed channels were exactly zero: the runner gives the same bits.
  auto inputs = testing::seeded_inputs(original, {});
  auto before = testing::run_model(original, inputs), after = testing::run_model(m, inputs);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].dims(), (D{1, 3, 3, 3}));
  EXPECT_TRUE(before[0].same_content(after[0]));
  EXPECT_NO_THROW(formats::onnx::check_model(m));
}

TEST(PruneChannels, L2NormCanRankDifferentlyFromL1) {
  // Filter 0 = {1, 1, 1, 1} (L1 4, L2 2); filter 1 = {3, 0, 0, 0} (L1 3, L2 3).
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, 2, 2] x) => (float[1, 1, 2, 2] y)
    <float[2, 4, 1, 1] w1 = {1.0, 1.0, 1.0, 1.0, 3.0, 0.0, 0.0, 0.0}, float[1, 2, 1, 1] w2 = {5.0, 6.0}> {
      c = Conv(x, w1)
      y = Conv(c, w2)
    })";
  ir::Model l1 = testing::model_from_text(text), l2 = testing::model_from_text(text);
  testing::run_pipeline(l1, "prune(sparsity=0.5, mode=channel)");
  testing::run_pipeline(l2, "prune(sparsity=0.5, mode=channel, norm=l2)");
  EXPECT_EQ(values(l1, "w1"), (F{1.0f, 1.0f, 1.0f, 1.0f}));
  EXPECT_EQ(values(l1, "w2"), (F{5.0f}));
  EXPECT_EQ(values(l2, "w1"), (F{3.0f, 0.0f, 0.0f, 0.0f}));
  EXPECT_EQ(values(l2, "w2"), (F{6.0f}));
}

TEST(PruneChannels, ResidualAddPrunesBothSourcesAtTheSameIndices) {
  // Normalised L1 per filter: wa {1.11, 0.11, 2.22, 0.56}, wb {0.19, 0.09, 1.86, 1.86}.
  // Each alone would drop {1, 3} and {1, 0}; together channels 1 and 0 are the weakest.
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 2, 2] x) => (float[1, 1, 2, 2] y)
    <float[4, 2, 1, 1] wa = {1.0, 1.0, 0.1, 0.1, 2.0, -2.0, 0.5, 0.5},
     float[4, 2, 1, 1] wb = {0.2, 0.0, 0.1, 0.0, 1.0, 1.0, 1.0, -1.0},
     float[1, 4, 1, 1] wc = {1.0, 2.0, 3.0, 4.0}> {
      a = Conv(x, wa)
      b = Conv(x, wb)
      s = Add(a, b)
      r = Relu(s)
      y = Conv(r, wc)
    })";
  ir::Model m = testing::model_from_text(text);
  auto stats = testing::run_pipeline(m, "prune(sparsity=0.5, mode=channel)");
  EXPECT_EQ(stats["channels_removed"], 2);
  EXPECT_EQ(stats["filters_removed"], 4);
  EXPECT_EQ(values(m, "wa"), (F{2.0f, -2.0f, 0.5f, 0.5f}));
  EXPECT_EQ(values(m, "wb"), (F{1.0f, 1.0f, 1.0f, -1.0f}));
  EXPECT_EQ(values(m, "wc"), (F{3.0f, 4.0f}));
  expect_valid_with_output(m, D{1, 1, 2, 2});
}

TEST(PruneChannels, SqueezeExcitationMulUnitesTheGateWithItsInput) {
  // Space A: c (w0) and the gate e (w2) are multiplied channel by channel;
  // channels 0 and 2 are the weakest of w0 + w2. Space B: the squeeze (w1), 2 channels.
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 4, 4] x) => (float[1, 1, 4, 4] y)
    <float[4, 2, 1, 1] w0 = {0.1, 0.1, 1.0, 1.0, 0.2, 0.2, 2.0, 2.0},
     float[2, 4, 1, 1] w1 = {1.0, 2.0, 3.0, 4.0, 0.1, 0.2, 0.3, 0.4}, float[2] b1 = {0.5, -0.5},
     float[4, 2, 1, 1] w2 = {0.1, 0.0, 1.0, 0.0, 0.1, 0.0, 1.0, 0.0},
     float[1, 4, 1, 1] w3 = {1.0, 2.0, 3.0, 4.0}> {
      c = Conv(x, w0)
      r = Relu(c)
      p = GlobalAveragePool(r)
      q = Conv(p, w1, b1)
      q2 = Relu(q)
      e = Conv(q2, w2)
      gate = Sigmoid(e)
      m = Mul(r, gate)
      y = Conv(m, w3)
    })";
  ir::Model m = testing::model_from_text(text);
  auto stats = testing::run_pipeline(m, "prune(sparsity=0.5, mode=channel)");
  EXPECT_EQ(stats["spaces_pruned"], 2);
  EXPECT_EQ(stats["channels_removed"], 3);
  EXPECT_EQ(values(m, "w0"), (F{1.0f, 1.0f, 2.0f, 2.0f}));  // filters 1 and 3
  EXPECT_EQ(dims(m, "w1"), (D{1, 2, 1, 1}));                // squeeze: filter 0 kept, inputs 1 and 3
  EXPECT_EQ(values(m, "w1"), (F{2.0f, 4.0f}));
  EXPECT_EQ(values(m, "b1"), (F{0.5f}));
  EXPECT_EQ(dims(m, "w2"), (D{2, 1, 1, 1}));                // excite: filters 1 and 3, input 0
  EXPECT_EQ(values(m, "w2"), (F{1.0f, 1.0f}));
  EXPECT_EQ(values(m, "w3"), (F{2.0f, 4.0f}));
  expect_valid_with_output(m, D{1, 1, 4, 4});
}

TEST(PruneChannels, DepthwiseConvFollowsAndItsGroupShrinks) {
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 1, 5, 5] x) => (float[1, 1, 5, 5] y)
    <float[4, 1, 1, 1] w1 = {4.0, 0.5, 3.0, 0.25},
     float[4, 1, 3, 3] wd = {1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2,
                             3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4},
     float[4] bd = {0.1, 0.2, 0.3, 0.4}, float[1, 4, 1, 1] w2 = {1.0, 2.0, 3.0, 4.0}> {
      c = Conv(x, w1)
      d = Conv<group = 4, pads = [1, 1, 1, 1]>(c, wd, bd)
      y = Conv(d, w2)
    })";
  ir::Model m = testing::model_from_text(text);
  testing::run_pipeline(m, "prune(sparsity=0.5, mode=channel)");
  EXPECT_EQ(values(m, "w1"), (F{4.0f, 3.0f}));
  EXPECT_EQ(dims(m, "wd"), (D{2, 1, 3, 3}));
  EXPECT_EQ(values(m, "wd")[9], 3.0f);
  EXPECT_EQ(values(m, "bd"), (F{0.1f, 0.3f}));
  EXPECT_EQ(values(m, "w2"), (F{1.0f, 3.0f}));
  EXPECT_EQ(m.graph->nodes()[1]->attr_int("group", 0), 2);
  expect_valid_with_output(m, D{1, 1, 5, 5});
}

TEST(PruneChannels, ConcatPlacesEachInputsChannelsAndConsumersFollowTheOffsets) {
  // a: filter 0 weak; b: filters 1 and 3 weak. wc reads [a0 a1 b0 b1 b2 b3].
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 2, 2] x) => (float[1, 1, 2, 2] y)
    <float[2, 2, 1, 1] wa = {0.1, 0.1, 1.0, 1.0},
     float[4, 2, 1, 1] wb = {1.0, 1.0, 0.1, 0.1, 2.0, 2.0, 0.2, 0.2},
     float[1, 6, 1, 1] wc = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}> {
      a = Conv(x, wa)
      b = Conv(x, wb)
      c = Concat<axis = 1>(a, b)
      y = Conv(c, wc)
    })";
  ir::Model m = testing::model_from_text(text);
  auto stats = testing::run_pipeline(m, "prune(sparsity=0.5, mode=channel)");
  EXPECT_EQ(stats["channels_removed"], 3);
  EXPECT_EQ(values(m, "wa"), (F{1.0f, 1.0f}));
  EXPECT_EQ(values(m, "wb"), (F{1.0f, 1.0f, 2.0f, 2.0f}));
  EXPECT_EQ(values(m, "wc"), (F{2.0f, 3.0f, 5.0f}));
  expect_valid_with_output(m, D{1, 1, 2, 2});
}

TEST(PruneChannels, ZeroPaddingByConcatOfConstantOfShapeShrinksItsShape) {
  // BlazeFace's residual: Add(Conv(x), Concat(a, zeros)), the zeros from a ConstantOfShape.
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 2, 2] x) => (float[1, 1, 2, 2] y)
    <float[2, 2, 1, 1] wa = {0.1, 0.1, 1.0, 1.0}, int64[4] shape = {1, 2, 2, 2},
     float[4, 2, 1, 1] wb = {1.0, 1.0, 0.1, 0.1, 2.0, 2.0, 0.2, 0.2},
     float[1, 4, 1, 1] wc = {1.0, 2.0, 3.0, 4.0}> {
      a = Conv(x, wa)
      z = ConstantOfShape<value = float[1] {0.0}>(shape)
      p = Concat<axis = 1>(a, z)
      b = Conv(x, wb)
      s = Add(p, b)
      y = Conv(s, wc)
    })";
  ir::Model m = testing::model_from_text(text);
  testing::run_pipeline(m, "prune(sparsity=0.5, mode=channel)");
  // Groups: {a0, b0}, {a1, b1}, {z0, b2}, {z1, b3}; a keeps one, z keeps one.
  EXPECT_EQ(values(m, "wa"), (F{1.0f, 1.0f}));
  EXPECT_EQ(values(m, "wb"), (F{0.1f, 0.1f, 2.0f, 2.0f}));
  EXPECT_EQ(constant(m, "shape").as_int64(), (D{1, 1, 2, 2}));
  EXPECT_EQ(values(m, "wc"), (F{2.0f, 3.0f}));
  expect_valid_with_output(m, D{1, 1, 2, 2});
}

TEST(PruneChannels, FlattenThenGemmLosesTheWeightColumns) {
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 3, 3] x) => (float[1, 3] y)
    <float[4, 2, 1, 1] w = {3.0, 3.0, 0.1, 0.1, 2.0, 2.0, 0.2, 0.2},
     float[3, 4] wg = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0}, float[3] bg = {0.0, 1.0, 2.0}> {
      c = Conv(x, w)
      p = GlobalAveragePool(c)
      f = Flatten(p)
      y = Gemm<transB = 1>(f, wg, bg)
    })";
  ir::Model m = testing::model_from_text(text);
  testing::run_pipeline(m, "prune(sparsity=0.5, mode=channel)");
  EXPECT_EQ(values(m, "w"), (F{3.0f, 3.0f, 2.0f, 2.0f}));
  EXPECT_EQ(dims(m, "wg"), (D{3, 2}));
  EXPECT_EQ(values(m, "wg"), (F{1.0f, 3.0f, 5.0f, 7.0f, 9.0f, 11.0f}));
  EXPECT_EQ(values(m, "bg"), (F{0.0f, 1.0f, 2.0f}));
  expect_valid_with_output(m, D{1, 3});
}

TEST(PruneChannels, TiesKeepTheLowerIndex) {
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 1, 2, 2] x) => (float[1, 1, 2, 2] y)
    <float[4, 1, 1, 1] w1 = {1.0, -1.0, 1.0, -1.0}, float[1, 4, 1, 1] w2 = {1.0, 2.0, 3.0, 4.0}> {
      c = Conv(x, w1)
      y = Conv(c, w2)
    })";
  ir::Model m = testing::model_from_text(text);
  testing::run_pipeline(m, "prune(sparsity=0.5, mode=channel)");
  EXPECT_EQ(values(m, "w1"), (F{1.0f, -1.0f}));
  EXPECT_EQ(values(m, "w2"), (F{1.0f, 2.0f}));
  // sparsity 0 removes nothing and is no error.
  ir::Model same = testing::model_from_text(text);
  auto stats = testing::run_pipeline(same, "prune(sparsity=0, mode=channel)");
  EXPECT_EQ(stats["channels_removed"], 0);
  EXPECT_EQ(dims(same, "w1"), (D{4, 1, 1, 1}));
}

TEST(PruneChannels, BlockedSpacesStayUntouched) {
  // A Conv writing the graph output: nothing to prune, and the error says why.
  ir::Model out = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 2, 2] x) => (float[1, 4, 2, 2] y)
    <float[4, 2, 1, 1] w = {1.0, 1.0, 0.1, 0.1, 2.0, 2.0, 0.2, 0.2}> { y = Conv(x, w) })");
  try {
    testing::run_pipeline(out, "prune(sparsity=0.5, mode=channel)");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nothing to prune by channel"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("graph output"), std::string::npos) << e.what();
  }
  EXPECT_EQ(dims(out, "w"), (D{4, 2, 1, 1}));
  // A Concat read by a Transpose blocks both of its inputs' spaces.
  const char* transposed = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 2, 2] x) => (float[1, 2, 2, 4] y)
    <float[2, 2, 1, 1] wa = {0.1, 0.1, 1.0, 1.0}, float[2, 2, 1, 1] wb = {1.0, 1.0, 0.1, 0.1}> {
      a = Conv(x, wa)
      b = Conv(x, wb)
      c = Concat<axis = 1>(a, b)
      y = Transpose<perm = [0, 2, 3, 1]>(c)
    })";
  ir::Model tm = testing::model_from_text(transposed);
  EXPECT_THROW(testing::run_pipeline(tm, "prune(sparsity=0.5, mode=channel)"), Error);
  // A Reshape blocks one space, the other is still pruned.
  ir::Model mixed = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 2, 2] x) => (float[1, 8] y)
    <float[4, 2, 1, 1] w1 = {1.0, 1.0, 0.1, 0.1, 2.0, 2.0, 0.2, 0.2},
     float[2, 4, 1, 1] w2 = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0}, int64[2] shape = {1, 8}> {
      c = Conv(x, w1)
      r = Relu(c)
      d = Conv(r, w2)
      y = Reshape(d, shape)
    })");
  auto stats = testing::run_pipeline(mixed, "prune(sparsity=0.5, mode=channel)");
  EXPECT_EQ(stats["spaces_pruned"], 1);
  EXPECT_EQ(stats["spaces_blocked"], 1);
  EXPECT_EQ(stats["blocked.Reshape"], 1);
  EXPECT_EQ(dims(mixed, "w1"), (D{2, 2, 1, 1}));
  EXPECT_EQ(dims(mixed, "w2"), (D{2, 2, 1, 1}));  // its output channels stay, its inputs follow w1
  EXPECT_EQ(values(mixed, "w2"), (F{1.0f, 3.0f, 5.0f, 7.0f}));
  // Skipped nodes block their channels.
  ir::Model skipped = testing::model_from_text(kConvBnReluConv);
  skipped.graph->nodes()[0]->name = "stem";
  try {
    testing::run_pipeline(skipped, "prune(sparsity=0.5, mode=channel, skip=st*)");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nothing to prune by channel"), std::string::npos) << e.what();
  }
  EXPECT_EQ(dims(skipped, "w1"), (D{4, 2, 1, 1}));
}

// Two spaces in a chain: c1's channels (read by c2) and c2's (read by c3).
constexpr const char* kTwoSpaces = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, 2, 2, 2] x) => (float[1, 1, 2, 2] y)
  <float[4, 2, 1, 1] w1 = {1.0, 1.0, 0.1, 0.1, 2.0, -2.0, 0.5, 0.5},
   float[2, 4, 1, 1] w2 = {1.0, 2.0, 3.0, 4.0, 0.1, 0.2, 0.3, 0.4},
   float[1, 2, 1, 1] w3 = {1.0, 2.0}> {
    a = Conv(x, w1)
    r = Relu(a)
    b = Conv(r, w2)
    y = Conv(b, w3)
  })";

TEST(PruneChannels, OnlyPrunesTheSpacesItsLayersStart) {
  ir::Model listed = testing::model_from_text(kTwoSpaces);
  EXPECT_EQ(prunable_channel_spaces(listed), (std::vector<std::vector<std::string>>{{"a"}, {"b"}}));

  ir::Model m = testing::model_from_text(kTwoSpaces);
  auto stats = testing::run_pipeline(m, "prune(sparsity=0.5, mode=channel, only=a)");
  EXPECT_EQ(stats["spaces_pruned"], 1);
  EXPECT_EQ(dims(m, "w1"), (D{2, 2, 1, 1}));  // a's space: its filters and c2's inputs
  EXPECT_EQ(dims(m, "w2"), (D{2, 2, 1, 1}));
  EXPECT_EQ(dims(m, "w3"), (D{1, 2, 1, 1}));  // b's space untouched
  expect_valid_with_output(m, D{1, 1, 2, 2});

  ir::Model none = testing::model_from_text(kTwoSpaces);
  try {
    testing::run_pipeline(none, "prune(sparsity=0.5, mode=channel, only=y)");  // y writes the output: no space
    ADD_FAILURE() << "pruned with only= matching no space's source";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only="), std::string::npos) << e.what();
  }
}

TEST(PruneChannels, OptionsAreChecked) {
  for (const char* p : {"prune(mode=channel, sparsity=1)", "prune(mode=channel, sparsity=-0.5)",
                        "prune(mode=channel, norm=l3)", "prune(mode=structured)"})
    EXPECT_THROW(Pipeline::parse(p), Error) << p;
  EXPECT_NO_THROW(Pipeline::parse("prune(channel, l2)"));  // bare choice words
  EXPECT_EQ(Pipeline::parse("prune(channel)").str(),
            "prune(sparsity=0.5,mode=channel,norm=l1,scope=layer,min-size=64)");
}

// --- the real models ---

// Worst element by |got - want| / (atol + rtol * |want|), atol scaled to the output's range.
double worst_ratio(const ir::Tensor& got, const ir::Tensor& want, double rtol, double atol) {
  auto g = got.as_double(), e = want.as_double();
  double range = 1;
  for (double x : e) range = std::max(range, std::fabs(x));
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    double r = std::fabs(g[i] - e[i]) / (atol * range + rtol * std::fabs(e[i]));
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

class PruneChannelsReal : public ::testing::TestWithParam<std::string> {};

TEST_P(PruneChannelsReal, QuarterOfTheChannelsCutMacsAndParametersByAFifthAndTheModelStillRuns) {
  const std::string path = GetParam();
  auto dims = testing::dims_for(path);
  ir::Model m = formats::onnx::load_model(path);
  PassContext ctx;
  Pipeline::parse("fold, fuse-bn, dce").run(m, ctx, true);
  metrics::MacStats macs_before = metrics::count_macs(m, dims);
  int64_t params_before = metrics::count_weights(m).parameters;
  ASSERT_TRUE(macs_before.known) << macs_before.reason;
  std::string once = formats::onnx::serialize_model(m);
  auto stats = Pipeline::parse("prune(sparsity=0.25, mode=channel)").run(m, ctx, true).back().stats;
  metrics::MacStats macs_after = metrics::count_macs(m, dims);
  int64_t params_after = metrics::count_weights(m).parameters;
  ASSERT_TRUE(macs_after.known) << macs_after.reason;
  int64_t conv_before = macs_before.by_op["Conv"], conv_after = macs_after.by_op["Conv"];
  std::printf("%s: Conv MACs %lld -> %lld (-%.1f%%), parameters %lld -> %lld (-%.1f%%); channels removed %lld, "
              "spaces pruned %lld, blocked %lld\n",
              testing::test_name_for(path).c_str(), static_cast<long long>(conv_before),
              static_cast<long long>(conv_after), 100.0 * (conv_before - conv_after) / conv_before,
              static_cast<long long>(params_before), static_cast<long long>(params_after),
              100.0 * (params_before - params_after) / params_before, static_cast<long long>(stats["channels_removed"]),
              static_cast<long long>(stats["spaces_pruned"]), static_cast<long long>(stats["spaces_blocked"]));
  for (const auto& [k, v] : stats)
    if (k.rfind("blocked.", 0) == 0) std::printf("  %s: %lld\n", k.c_str(), static_cast<long long>(v));
  EXPECT_LE(conv_after, conv_before * 0.8) << "Conv MACs";
  EXPECT_LE(params_after, params_before * 0.8) << "parameters";
  EXPECT_NO_THROW(formats::onnx::check_model(m));

  // Deterministic: the same input gives the same bytes.
  ir::Model again = formats::onnx::load_model_from_bytes(once, "again", "");
  PassContext ctx2;
  Pipeline::parse("prune(sparsity=0.25, mode=channel)").run(again, ctx2, true);
  EXPECT_EQ(formats::onnx::serialize_model(again), formats::onnx::serialize_model(m));

  // ONNX Runtime and pare's runner agree on the pruned model.
  std::string file = testing::temp_dir() + "/pruned.onnx";
  formats::onnx::save_model(m, file);
  ir::Model saved = formats::onnx::load_model(file);
  auto inputs = testing::seeded_inputs(saved, dims);
  auto reference = testing::run_ort(file, inputs);
  auto outputs = testing::run_model(saved, inputs);
  ASSERT_EQ(outputs.size(), reference.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    ASSERT_EQ(outputs[k].dims(), reference[k].dims()) << "output " << k;
    EXPECT_LE(worst_ratio(outputs[k], reference[k], 1e-4, 1e-5), 1.0) << "output " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, PruneChannelsReal,
                         ::testing::Values(testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
                                           testing::testdata_model("face_detection_front_128x128_barracuda.onnx"),
                                           testing::fetched_model("ch_PP-OCRv4_det_infer.onnx")),
                         [](const auto& info) { return testing::test_name_for(info.param); });

}  // namespace
}  // namespace pare::passes
