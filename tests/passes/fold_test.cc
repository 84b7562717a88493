// fold: folds constant subgraphs with the runner's kernels, refuses growth, and
// leaves outputs unchanged on the real models.
#include <gtest/gtest.h>

#include "formats/onnx/onnx.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

TEST(Fold, FoldsShapeArithmeticAndKeepsNames) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2, 6] x) => (float[2, 3, 2] y, int64[3] shape_out)
    <int64[2] a = {2, 3}, int64[1] b = {2}> {
      shape_out = Concat<axis = 0>(a, b)
      y = Reshape(x, shape_out)
    })");
  auto stats = testing::run_pipeline(m, "fold");
  EXPECT_EQ(stats["folded"], 1);
  ASSERT_EQ(m.graph->nodes().size(), 1u);
  ir::Value* s = m.graph->find_value("shape_out");
  ASSERT_TRUE(s && s->is_constant());
  EXPECT_EQ(s->constant().as_int64(), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_TRUE(s->is_graph_output());
  EXPECT_EQ(stats["constants_removed"], 2);  // a and b fed only the fold
}

TEST(Fold, RefusesGrowthAndNondeterminism) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1] x) => (float[64, 64] big, float[2] r)
    <int64[2] shape = {64, 64}> {
      big = ConstantOfShape<value = float[1] {1.0}>(shape)
      r = RandomUniform<shape = [2]>()
    })");
  auto stats = testing::run_pipeline(m, "fold");
  EXPECT_EQ(stats["refused_growth"], 1);
  EXPECT_EQ(stats["folded"], 0);
  EXPECT_EQ(m.graph->nodes().size(), 2u);
}

TEST(Fold, RealModelsKeepTheirOutputs) {
  int folded_total = 0;
  for (const std::string& path : testing::real_models()) {
    ir::Model original = formats::onnx::load_model(path);
    ir::Model m = formats::onnx::load_model(path);
    auto stats = testing::run_pipeline(m, "fold");
    folded_total += static_cast<int>(stats["folded"]);
    EXPECT_LE(m.graph->nodes().size(), original.graph->nodes().size());
    auto inputs = testing::seeded_inputs(original, testing::dims_for(path));
    rt::Session a(original), b(m);
    std::map<std::string, ir::Tensor> feed;
    for (size_t i = 0; i < inputs.size(); ++i) feed[a.input_names()[i]] = inputs[i];
    auto ya = a.run(feed), yb = b.run(feed);
    for (size_t k = 0; k < ya.size(); ++k) EXPECT_TRUE(ya[k].same_content(yb[k])) << path << " output " << k;
    EXPECT_NO_THROW(formats::onnx::check_model(m)) << path;
  }
  EXPECT_GT(folded_total, 0);  // the classifier and M-LSD both carry foldable shape arithmetic
}

}  // namespace
}  // namespace pare::passes
