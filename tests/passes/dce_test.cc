// dce on small models written in ONNX text, and on the real models.
#include <gtest/gtest.h>

#include "formats/onnx/onnx.h"
#include "lib/ir/verify.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

TEST(Dce, RemovesDeadChainsUnusedConstantsAndIdentities) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y)
    <float[2] unused_init = {1.0, 2.0}, float[2] w = {3.0, 4.0}> {
      k = Constant<value = float[2] {5.0, 6.0}>()
      dead1 = Relu(x)
      dead2 = Neg(dead1)
      i1 = Identity(x)
      i2 = Identity(i1)
      y = Add(i2, w)
    })");
  auto stats = testing::run_pipeline(m, "dce");
  EXPECT_EQ(testing::op_types(*m.graph), std::vector<std::string>{"Add"});
  EXPECT_EQ(m.graph->nodes()[0]->input(0)->name(), "x");
  EXPECT_EQ(stats["nodes_removed"], 2);
  EXPECT_EQ(stats["identities_removed"], 2);
  EXPECT_EQ(stats["constants_removed"], 2);  // unused_init and the Constant node k
  EXPECT_EQ(m.graph->constants().size(), 1u);
}

TEST(Dce, KeepsGraphOutputsAndTheirIdentities) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y, float[2] z) {
      y = Identity(x)
      z = Relu(y)
    })");
  auto stats = testing::run_pipeline(m, "dce");
  EXPECT_EQ(testing::op_types(*m.graph), (std::vector<std::string>{"Identity", "Relu"}));
  EXPECT_EQ(stats["nodes_removed"], 0);
}

TEST(Dce, CleansSubgraphsAndKeepsTheirCaptures) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (bool c, float[2] x) => (float[2] y) {
      a = Relu(x)
      unused = Neg(x)
      y = If(c) <
        then_branch = t () => (float[2] t_out) { t_dead = Abs(a)  t_out = Identity(a) },
        else_branch = e () => (float[2] e_out) { e_out = Neg(a) }
      >
    })");
  testing::run_pipeline(m, "dce");
  EXPECT_EQ(testing::op_types(*m.graph), (std::vector<std::string>{"Relu", "If"}));
  const ir::Node& if_node = *m.graph->nodes()[1];
  // t_out is the branch's output, so its Identity stays; the dead Abs goes.
  EXPECT_EQ(testing::op_types(*if_node.subgraphs()[0]), std::vector<std::string>{"Identity"});
  EXPECT_NO_THROW(ir::verify(m));
}

TEST(Dce, RealModelsLoseTheirUnusedInitializersAndStayValid) {
  for (const std::string& path : testing::real_models()) {
    ir::Model m = formats::onnx::load_model(path);
    size_t before = m.graph->constants().size();
    auto stats = testing::run_pipeline(m, "dce");
    EXPECT_EQ(m.graph->constants().size(), before - stats["constants_removed"]) << path;
    EXPECT_NO_THROW(formats::onnx::check_model(m)) << path;
    // A second run finds nothing more to do.
    auto again = testing::run_pipeline(m, "dce");
    EXPECT_EQ(again["nodes_removed"] + again["constants_removed"] + again["identities_removed"], 0) << path;
  }
  // BlazeFace ships unused initializers (a known fact of that export).
  ir::Model face = formats::onnx::load_model(testing::testdata_model("face_detection_front_128x128_barracuda.onnx"));
  EXPECT_GT(testing::run_pipeline(face, "dce")["constants_removed"], 0);
}

}  // namespace
}  // namespace pare::passes
