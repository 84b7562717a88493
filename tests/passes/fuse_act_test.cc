// fuse-act: the spelled-out hard-swish and hard-sigmoid forms become one op (two
// before opset 14), computing the same up to float rounding; anything that does
// not match exactly is left alone.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "formats/onnx/onnx.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

double max_abs_diff(const ir::Tensor& a, const ir::Tensor& b) {
  auto x = a.as_double(), y = b.as_double();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
  return worst;
}

// Inputs from -6 to 6: every piece of the activation (0, the ramp, identity).
ir::Tensor ramp() {
  std::vector<float> v(48);
  for (size_t i = 0; i < v.size(); ++i) v[i] = -6.0f + 12.0f * static_cast<float>(i) / 47.0f;
  return ir::Tensor::from<float>({1, 3, 4, 4}, v);
}

void expect_same_function(const char* text, const std::vector<std::string>& fused_ops, const std::string& stat) {
  ir::Model m = testing::model_from_text(text), original = testing::model_from_text(text);
  auto stats = testing::run_pipeline(m, "fuse-act");
  EXPECT_EQ(stats[stat], 1) << text;
  EXPECT_EQ(testing::op_types(*m.graph), fused_ops) << text;
  EXPECT_EQ(m.graph->outputs[0]->name(), "y");
  EXPECT_TRUE(m.graph->constants().empty()) << "the constants 3 and 6 went with their nodes";
  EXPECT_NO_THROW(formats::onnx::check_model(m));
  EXPECT_LT(max_abs_diff(testing::run_model(original, {ramp()})[0], testing::run_model(m, {ramp()})[0]), 1e-6) << text;
}

TEST(FuseAct, HardSwishInEverySpelling) {
  // paddle2onnx at opset 9: Clip bounds as attributes, division last.
  expect_same_function(R"(
    <ir_version: 7, opset_import: ["" : 9]>
    g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y) <float three = {3.0}, float six = {6.0}> {
      a = Add(x, three)
      c = Clip<min = 0.0, max = 6.0>(a)
      m = Mul(x, c)
      y = Div(m, six)
    })",
                       {"HardSigmoid", "Mul"}, "hard_swish");
  // opset 13: Clip bounds as inputs, the gate's 1/6 before the product, operands swapped.
  expect_same_function(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y)
    <float three = {3.0}, float zero = {0.0}, float six = {6.0}, float sixth = {0.16666667}> {
      a = Add(three, x)
      c = Clip(a, zero, six)
      h = Mul(sixth, c)
      y = Mul(h, x)
    })",
                       {"HardSigmoid", "Mul"}, "hard_swish");
  // opset 14 has HardSwish.
  expect_same_function(R"(
    <ir_version: 8, opset_import: ["" : 14]>
    g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y) <float three = {3.0}, float zero = {0.0}, float six = {6.0}> {
      a = Add(x, three)
      c = Clip(a, zero, six)
      m = Mul(c, x)
      y = Div(m, six)
    })",
                       {"HardSwish"}, "hard_swish");
  // The gate alone: relu6(x + 3) / 6.
  expect_same_function(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y) <float three = {3.0}, float zero = {0.0}, float six = {6.0}> {
      a = Add(x, three)
      c = Clip(a, zero, six)
      y = Div(c, six)
    })",
                       {"HardSigmoid"}, "hard_sigmoid");
}

TEST(FuseAct, LeavesAloneWhatDoesNotMatchExactly) {
  const char* cases[] = {
      // relu5, not relu6
      R"(<ir_version: 8, opset_import: ["" : 13]>
      g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y) <float three = {3.0}, float zero = {0.0}, float five = {5.0}> {
        a = Add(x, three)  c = Clip(a, zero, five)  y = Div(c, five) })",
      // the Clip's output is also a graph output
      R"(<ir_version: 8, opset_import: ["" : 13]>
      g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y, float[1, 3, 4, 4] c)
      <float three = {3.0}, float zero = {0.0}, float six = {6.0}> {
        a = Add(x, three)  c = Clip(a, zero, six)  y = Div(c, six) })",
      // the sum feeds something else too
      R"(<ir_version: 8, opset_import: ["" : 13]>
      g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y, float[1, 3, 4, 4] z)
      <float three = {3.0}, float zero = {0.0}, float six = {6.0}> {
        a = Add(x, three)  c = Clip(a, zero, six)  y = Div(c, six)  z = Relu(a) })",
      // a [1, 1, 1, 1] constant would broadcast a [3, 4] x to rank 4
      R"(<ir_version: 8, opset_import: ["" : 13]>
      g (float[3, 4] x) => (float[1, 1, 3, 4] y) <float[1, 1, 1, 1] three = {3.0}, float zero = {0.0}, float six = {6.0}> {
        a = Add(x, three)  c = Clip(a, zero, six)  y = Div(c, six) })",
      // x * relu6(x + 3) without the division is not hard-swish
      R"(<ir_version: 8, opset_import: ["" : 13]>
      g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y) <float three = {3.0}, float zero = {0.0}, float six = {6.0}> {
        a = Add(x, three)  c = Clip(a, zero, six)  y = Mul(x, c) })",
  };
  for (const char* text : cases) {
    ir::Model m = testing::model_from_text(text);
    auto before = testing::op_types(*m.graph);
    auto stats = testing::run_pipeline(m, "fuse-act");
    EXPECT_EQ(testing::op_types(*m.graph), before) << text;
    EXPECT_EQ(stats.count("hard_swish") + stats.count("hard_sigmoid"), 0u) << text;
  }
  // A product with another tensor is an SE-style gate: only the gate is fused.
  ir::Model se = testing::model_from_text(R"(<ir_version: 8, opset_import: ["" : 13]>
      g (float[1, 3, 4, 4] x, float[1, 3, 4, 4] v) => (float[1, 3, 4, 4] y)
      <float three = {3.0}, float zero = {0.0}, float six = {6.0}> {
        a = Add(x, three)  c = Clip(a, zero, six)  h = Div(c, six)  y = Mul(v, h) })");
  auto stats = testing::run_pipeline(se, "fuse-act");
  EXPECT_EQ(stats["hard_sigmoid"], 1);
  EXPECT_EQ(stats.count("hard_swish"), 0u);
  EXPECT_EQ(testing::op_types(*se.graph), (std::vector<std::string>{"HardSigmoid", "Mul"}));
}

// PP-OCR's classifier (opset 9) and detector (opset 11) spell out every
// hard-swish; after fuse-act they compute the same (float rounding) in the runner
// and in ONNX Runtime.
TEST(FuseAct, RealModelsComputeTheSame) {
  const std::map<std::string, int64_t> expected = {{"ch_ppocr_mobile_v2.0_cls_infer.onnx", 18},
                                                   {"ch_PP-OCRv4_det_infer.onnx", 24}};
  for (const std::string& path : testing::real_models()) {
    std::string name = std::filesystem::path(path).filename().string();
    if (!expected.count(name)) continue;
    SCOPED_TRACE(name);
    ir::Model m = formats::onnx::load_model(path);
    auto inputs = testing::seeded_inputs(m, testing::dims_for(path), 4);
    auto before = testing::run_model(m, inputs);
    size_t nodes = m.graph->nodes().size();
    auto stats = testing::run_pipeline(m, "fuse-act");
    EXPECT_EQ(stats["hard_swish"], expected.at(name));
    EXPECT_EQ(stats["nodes_removed"], 2 * expected.at(name));
    EXPECT_EQ(m.graph->nodes().size(), nodes - 2 * expected.at(name));
    EXPECT_NO_THROW(formats::onnx::check_model(m));
    std::string out = testing::temp_dir() + "/" + name;
    formats::onnx::save_model(m, out);
    auto after = testing::run_model(m, inputs), ort = testing::run_ort(out, inputs);
    for (size_t k = 0; k < before.size(); ++k) {
      auto a = before[k].as_double(), b = after[k].as_double(), o = ort[k].as_double();
      double scale = 1.0;
      for (double v : a) scale = std::max(scale, std::fabs(v));
      // The fused model against the original (rounding of the one-step form), and
      // ORT against the runner on the fused model (the project's runner tolerance:
      // rtol 1e-4, atol 1e-5 scaled to the output's range).
      EXPECT_LT(max_abs_diff(before[k], after[k]) / scale, 1e-4) << "output " << k;
      for (size_t i = 0; i < b.size(); ++i)
        ASSERT_LE(std::fabs(b[i] - o[i]), 1e-5 * scale + 1e-4 * std::fabs(o[i])) << "output " << k << " element " << i;
    }
  }
}

}  // namespace
}  // namespace pare::passes
