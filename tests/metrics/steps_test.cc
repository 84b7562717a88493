// Discontinuous steps before outputs (lib/metrics/steps.h): which outputs pass
// through one, and which continuous tensors fidelity is judged at instead.
#include <gtest/gtest.h>

#include "lib/metrics/compare.h"
#include "lib/metrics/steps.h"
#include "tests/support/text_model.h"

namespace pare::metrics {
namespace {

OutputSteps only_output(const std::string& text) {
  auto steps = output_steps(testing::model_from_text(text));
  EXPECT_EQ(steps.size(), 1u);
  return steps.empty() ? OutputSteps{} : steps[0];
}

const char* kHead = "<ir_version: 8, opset_import: [\"\" : 17]>\n";

TEST(OutputSteps, PeakPickingIsJudgedAtTheHeatMap) {
  // M-LSD's scores: the map times (map == MaxPool(map)), with a Reshape before the Equal.
  auto s = only_output(std::string(kHead) +
                       "g (float[1, 1, 8, 8] x) => (float[1, 64] y) <int64[2] shape = {1, 64}> {\n"
                       "  h = Relu(x)\n  map = Sigmoid(h)\n"
                       "  peak = MaxPool <kernel_shape = [3, 3], pads = [1, 1, 1, 1]> (map)\n"
                       "  flat = Reshape(map, shape)\n  flat_peak = Reshape(peak, shape)\n"
                       "  e = Equal(flat, flat_peak)\n  keep = Cast <to = 1> (e)\n  y = Mul(flat, keep)\n}");
  EXPECT_EQ(s.output, "y");
  EXPECT_EQ(s.steps, std::vector<std::string>{"Equal"});
  // The MaxPool of the map is a continuous function of the map alone: not listed.
  EXPECT_EQ(s.tensors, std::vector<std::string>{"map"});
}

TEST(OutputSteps, ArgMaxAndIntegerCastsAreSteps) {
  auto s = only_output(std::string(kHead) +
                       "g (float[2, 5] x) => (int64[2] y) {\n"
                       "  logits = Relu(x)\n  t = Transpose <perm = [1, 0]> (logits)\n"
                       "  back = Transpose <perm = [1, 0]> (t)\n  y = ArgMax <axis = 1, keepdims = 0> (back)\n}");
  EXPECT_EQ(s.steps, std::vector<std::string>{"ArgMax"});
  EXPECT_EQ(s.tensors, std::vector<std::string>{"logits"});  // the Transposes only move elements

  auto c = only_output(std::string(kHead) +
                       "g (float[4] x) => (float[4] y) {\n"
                       "  a = Relu(x)\n  i = Cast <to = 7> (a)\n  y = Cast <to = 1> (i)\n}");
  EXPECT_EQ(c.steps, std::vector<std::string>{"Cast"});
  EXPECT_EQ(c.tensors, std::vector<std::string>{"a"});
}

TEST(OutputSteps, TheLastStepBeforeTheOutputCounts) {
  // Round in the trunk, ArgMax at the end: the tensor before the ArgMax is the
  // last continuous one; the Round further back is not looked for.
  auto s = only_output(std::string(kHead) +
                       "g (float[2, 5] x) => (int64[2] y) {\n"
                       "  a = Relu(x)\n  r = Round(a)\n  b = Sigmoid(r)\n  y = ArgMax <axis = 1, keepdims = 0> (b)\n}");
  EXPECT_EQ(s.steps, std::vector<std::string>{"ArgMax"});
  EXPECT_EQ(s.tensors, std::vector<std::string>{"b"});
}

TEST(OutputSteps, TwoInputsOfOneStepAreBothKept) {
  // Neither is computed from the other alone (NonMaxSuppression's boxes and scores).
  auto s = only_output(std::string(kHead) +
                       "g (float[4] x) => (bool[4] y) {\n"
                       "  a = Relu(x)\n  b = Sigmoid(x)\n  y = Greater(a, b)\n}");
  EXPECT_EQ(s.steps, std::vector<std::string>{"Greater"});
  EXPECT_EQ(s.tensors, (std::vector<std::string>{"a", "b"}));
}

TEST(OutputSteps, ContinuousOutputsShapeArithmeticAndWeightDecodingHaveNone) {
  auto relu = only_output(std::string(kHead) + "g (float[4] x) => (float[4] y) {\n  y = Relu(x)\n}");
  EXPECT_TRUE(relu.steps.empty());
  EXPECT_TRUE(relu.tensors.empty());
  // A Cast of the input's shape, and palettized weights (a Cast of stored
  // indices, a Gather from the table) depend on no input values.
  auto shape = only_output(std::string(kHead) +
                           "g (float[1, 1, 4, 4] x) => (float[1, 1, 4, 4] y) <uint8[4] idx = {0, 1, 1, 0}, "
                           "float[2] table = {0.5, -0.5}, int64[4] wshape = {1, 1, 2, 2}> {\n"
                           "  s = Shape(x)\n  sf = Cast <to = 1> (s)\n  si = Cast <to = 7> (sf)\n"
                           "  i = Cast <to = 7> (idx)\n  flat = Gather(table, i)\n  w = Reshape(flat, wshape)\n"
                           "  c = Conv <pads = [0, 0, 1, 1]> (x, w)\n  y = Reshape(c, si)\n}");
  EXPECT_TRUE(shape.steps.empty());
  EXPECT_TRUE(shape.tensors.empty());
}

TEST(OutputSteps, QuantizeLinearIsNotAStep) {
  auto s = only_output(std::string(kHead) +
                       "g (float[4] x) => (float[4] y) <float scale = {0.1}, uint8 zero = {128}> {\n"
                       "  a = Relu(x)\n  q = QuantizeLinear(a, scale, zero)\n  y = DequantizeLinear(q, scale, zero)\n}");
  EXPECT_TRUE(s.steps.empty());
}

TEST(OutputSteps, AStepOnTheInputItselfHasNothingToCompare) {
  auto s = only_output(std::string(kHead) + "g (float[2, 5] x) => (int64[2] y) {\n  y = ArgMax <axis = 1, keepdims = 0> (x)\n}");
  EXPECT_EQ(s.steps, std::vector<std::string>{"ArgMax"});
  EXPECT_TRUE(s.tensors.empty());
}

TEST(Judged, OutputsWithTensorsBeforeStepsAreJudgedThere) {
  OutputDiff plain{"a", 30};
  OutputDiff stepped{"b", -2};
  stepped.steps = {"Equal"};
  stepped.before_steps = {OutputDiff{"map", 25}};
  auto j = judged({plain, stepped});
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].name, "a");
  EXPECT_EQ(j[1].name, "map");
  EXPECT_EQ(j[1].sqnr_db, 25);
}

}  // namespace
}  // namespace pare::metrics
