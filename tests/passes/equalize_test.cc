// equalize: cross-layer range equalization keeps the function (to float
// rounding) and leaves each channel's two weight ranges equal.
#include <gtest/gtest.h>

#include <cmath>

#include "lib/metrics/compare.h"
#include "passes/pipeline.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

// Conv1 (4 channels, ranges 1e-3 .. 10) -> Clip(0, 6) -> Conv2 (1x1).
std::string pair_model() {
  std::string w1, w2;
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < 9; ++i) w1 += (w1.empty() ? "" : ", ") + std::to_string(std::pow(10.0, c - 3) * ((i % 5) - 2) / 2.0);
  for (int o = 0; o < 3; ++o)
    for (int c = 0; c < 4; ++c) w2 += (w2.empty() ? "" : ", ") + std::to_string(0.5 + 0.25 * o - 0.3 * c);
  return "<ir_version: 8, opset_import: [\"\" : 13]>\n"
         "g (float[1, 1, 6, 6] x) => (float[1, 3, 4, 4] y) <float[4, 1, 3, 3] w1 = {" + w1 +
         "}, float[4] b1 = {0.1, -0.2, 0.3, 0.05}, float[3, 4, 1, 1] w2 = {" + w2 +
         "}, float lo = {0.0}, float hi = {6.0}> {\n"
         "  h = Conv(x, w1, b1)\n  a = Clip(h, lo, hi)\n  y = Conv(a, w2)\n}";
}

TEST(Equalize, KeepsTheFunctionAndEqualizesRanges) {
  ir::Model m = testing::model_from_text(pair_model());
  ir::Model original = testing::model_from_text(pair_model());
  PassContext ctx;
  auto stats = Pipeline::parse("equalize").run(m, ctx, /*verify_each=*/true).back().stats;
  EXPECT_EQ(stats["pairs"], 1);
  for (uint64_t seed : {1, 2, 3}) {
    auto inputs = testing::seeded_inputs(original, {}, seed);
    // Scale the inputs so some channels reach the clip.
    std::vector<float> x = inputs[0].as_float();
    for (float& f : x) f *= 50.0f;
    inputs[0] = ir::Tensor::from<float>(inputs[0].dims(), x);
    metrics::OutputDiffAccumulator acc("y");
    acc.add(testing::run_model(original, inputs)[0], testing::run_model(m, inputs)[0]);
    EXPECT_GT(acc.result().sqnr_db, 120.0);  // float rounding only
  }
  // Each channel's range in Conv1's output rows now equals its range in Conv2's input columns.
  const ir::Node* conv1 = nullptr;
  const ir::Node* conv2 = nullptr;
  for (const auto& n : m.graph->nodes())
    if (n->op_type == "Conv") (conv1 ? conv2 : conv1) = n.get();
  ASSERT_TRUE(conv1 && conv2);
  auto w1 = conv1->input(1)->constant().span<float>(), w2 = conv2->input(1)->constant().span<float>();
  for (int c = 0; c < 4; ++c) {
    float r1 = 0, r2 = 0;
    for (int i = 0; i < 9; ++i) r1 = std::max(r1, std::fabs(w1[c * 9 + i]));
    for (int o = 0; o < 3; ++o) r2 = std::max(r2, std::fabs(w2[o * 4 + c]));
    EXPECT_NEAR(r1 / r2, 1.0, 1e-5) << c;
  }
}

}  // namespace
}  // namespace pare::passes
