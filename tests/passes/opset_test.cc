// opset: each rewrite keeps the model's results (runner before and after, on
// the same inputs), the result passes ONNX's checker at the new opset, and the
// real opset-9 classifier upgraded to 13 runs the same in ONNX Runtime.
#include <gtest/gtest.h>

#include "formats/onnx/onnx.h"
#include "lib/base/error.h"
#include "passes/opset.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes()) n += node->op_type == op;
  return n;
}

// Every op family whose signature changed between opsets 9 and 13, in one model.
constexpr const char* kOpset9 = R"(
  <ir_version: 4, opset_import: ["" : 9]>
  g (float[2, 3, 4] x) => (float[2, 3, 4] soft, float[2, 2, 3] sl, float[2, 3, 6] pad, float[3, 4] sq,
                          float[2, 1, 4] s1, float[2, 2, 4] s2)
  {
    c = Clip<min = -0.5, max = 0.75>(x)
    soft = Softmax<axis = 1>(c)
    sl = Slice<starts = [0, 1], ends = [2, 3], axes = [1, 2]>(x)
    pad = Pad<pads = [0, 0, 1, 0, 0, 1], value = 0.5>(x)
    u = Unsqueeze<axes = [0]>(x)
    first = Slice<starts = [0], ends = [1], axes = [1]>(u)
    sq = Squeeze<axes = [0, 1]>(first)
    s1, s2 = Split<axis = 1, split = [1, 2]>(x)
  })";

TEST(Opset, RewritesKeepEveryResultFromNineToThirteen) {
  ir::Model m = testing::model_from_text(kOpset9);
  auto inputs = testing::seeded_inputs(m, {}, 7);
  auto before = testing::run_model(m, inputs);
  EXPECT_EQ(upgrade_opset(m, 13), 8);  // Clip, Softmax, 2 Slice, Pad, Unsqueeze, Squeeze, Split
  EXPECT_EQ(m.opset(""), 13);
  EXPECT_NO_THROW(formats::onnx::check_model(m));
  // Softmax on axis 1 of a rank-3 tensor flattened the tail before 13: spelled out now.
  EXPECT_EQ(count_op(*m.graph, "Flatten"), 1);
  auto after = testing::run_model(m, inputs);
  ASSERT_EQ(before.size(), after.size());
  for (size_t k = 0; k < before.size(); ++k) EXPECT_TRUE(before[k].same_content(after[k])) << "output " << k;
}

TEST(Opset, SoftmaxOnTheLastAxisOnlyGainsAnExplicitAxis) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 4, opset_import: ["" : 11]>
    g (float[2, 5] x) => (float[2, 5] y) { y = Softmax(x) })");
  upgrade_opset(m, 13);
  ASSERT_EQ(m.graph->nodes().size(), 1u);
  EXPECT_EQ(m.graph->nodes()[0]->attr_int("axis", -99), 1);
}

TEST(Opset, RefusesWhatItCannotCarryOver) {
  ir::Model up = testing::model_from_text(R"(
    <ir_version: 4, opset_import: ["" : 9]>
    g (float[1, 1, 2, 2] x, float[4] s) => (float[1, 1, 4, 4] y) { y = Upsample(x, s) })");
  try {
    upgrade_opset(up, 13);
    FAIL() << "Upsample was upgraded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Upsample"), std::string::npos) << e.what();
  }
  ir::Model newer = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y) { y = Relu(x) })");
  EXPECT_THROW(upgrade_opset(newer, 11), Error);
  EXPECT_THROW(Pipeline::parse("opset(version=22)"), Error);
  // BatchNormalization's training outputs exist only with training_mode=1 from 14.
  ir::Model bn = testing::model_from_text(R"(
    <ir_version: 7, opset_import: ["" : 13]>
    g (float[1, 2, 2, 2] x, float[2] s, float[2] b, float[2] m, float[2] v) => (float[1, 2, 2, 2] y, float[2] rm) {
      y, rm = BatchNormalization(x, s, b, m, v)
    })");
  try {
    upgrade_opset(bn, 14);
    FAIL() << "a BatchNormalization with training outputs was upgraded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training outputs"), std::string::npos) << e.what();
  }
}

TEST(Opset, RealClassifierFromNineToThirteenAndFourteenAgreesWithOnnxRuntime) {
  for (int version : {13, 14}) {
    SCOPED_TRACE(version);
    std::string path = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
    ir::Model m = formats::onnx::load_model(path);
    ASSERT_EQ(m.opset(""), 9);
    auto inputs = testing::seeded_inputs(m, testing::dims_for(path), 3);
    auto before = testing::run_model(m, inputs);
    PassContext ctx;
    auto stats = Pipeline::parse("opset(version=" + std::to_string(version) + ")").run(m, ctx, true).back().stats;
    EXPECT_EQ(m.opset(""), version);
    EXPECT_EQ(stats["from"], 9);
    EXPECT_GT(stats["nodes_rewritten"], 0);
    EXPECT_NO_THROW(formats::onnx::check_model(m));
    auto after = testing::run_model(m, inputs);
    EXPECT_TRUE(before[0].same_content(after[0]));

    std::string out = testing::temp_dir() + "/cls" + std::to_string(version) + ".onnx";
    formats::onnx::save_model(m, out);
    auto ort = testing::run_ort(out, inputs);
    auto a = ort[0].as_double(), b = after[0].as_double();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
  }
}

}  // namespace
}  // namespace pare::passes
