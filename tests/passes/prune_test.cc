// prune(mode=magnitude): exact sparsity per layer and globally, skips, ties,
// bad options, and the download gain on the real models.
#include <gtest/gtest.h>

#include <cmath>

#include "formats/onnx/onnx.h"
#include "lib/metrics/size.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

std::string weights(int n, double scale) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(scale * ((i * 37) % n + 1) * (i % 2 ? -1 : 1));
  return s;
}

// Two Gemm layers: w1 with small magnitudes, w2 with large ones.
ir::Model two_layers() {
  return testing::model_from_text("<ir_version: 8, opset_import: [\"\" : 13]>\n"
                                  "g (float[1, 8] x) => (float[1, 8] y) <float[8, 8] w1 = {" + weights(64, 0.01) +
                                  "}, float[8, 8] w2 = {" + weights(64, 1.0) +
                                  "}> { h = MatMul(x, w1) \n y = Gemm<transB = 1>(h, w2) }");
}

int zeros(const ir::Model& m, const std::string& name) {
  auto v = m.graph->find_value(name)->constant().as_float();
  return static_cast<int>(std::count(v.begin(), v.end(), 0.0f));
}

TEST(Prune, PerLayerSparsityIsExact) {
  ir::Model m = two_layers();
  auto stats = testing::run_pipeline(m, "prune(sparsity=0.25)");
  EXPECT_EQ(zeros(m, "w1"), 16);
  EXPECT_EQ(zeros(m, "w2"), 16);
  EXPECT_EQ(stats["weights_zeroed"], 32);
  EXPECT_EQ(stats["layers"], 2);
  // The zeros are the smallest magnitudes: every kept |w| >= every zeroed one's.
  ir::Model original = two_layers();
  auto before = original.graph->find_value("w2")->constant().as_float();
  auto after = m.graph->find_value("w2")->constant().as_float();
  float max_zeroed = 0, min_kept = 1e30f;
  for (size_t i = 0; i < before.size(); ++i) {
    if (after[i] == 0) max_zeroed = std::max(max_zeroed, std::fabs(before[i]));
    else min_kept = std::min(min_kept, std::fabs(before[i]));
  }
  EXPECT_LE(max_zeroed, min_kept);
}

TEST(Prune, GlobalScopeTakesFromTheSmallestLayerFirst) {
  ir::Model m = two_layers();
  testing::run_pipeline(m, "prune(sparsity=0.5, scope=global)");
  EXPECT_EQ(zeros(m, "w1"), 64);  // all of w1 is smaller than any of w2
  EXPECT_EQ(zeros(m, "w2"), 0);
}

TEST(Prune, SkipsMinSizeAndTies) {
  ir::Model m = two_layers();
  m.graph->nodes()[1]->name = "head";
  testing::run_pipeline(m, "prune(sparsity=0.5, skip=hea*)");
  EXPECT_EQ(zeros(m, "w1"), 32);
  EXPECT_EQ(zeros(m, "w2"), 0);
  ir::Model small = two_layers();
  EXPECT_THROW(testing::run_pipeline(small, "prune(min-size=65)"), Error);  // nothing left to prune
  // All-equal magnitudes: exactly half go, the earlier ones first.
  std::string equal;
  for (int i = 0; i < 64; ++i) equal += (i ? ", " : "") + std::string(i % 2 ? "-0.5" : "0.5");
  ir::Model ties = testing::model_from_text(
      "<ir_version: 8, opset_import: [\"\" : 13]>\ng (float[1, 8] x) => (float[1, 8] y) <float[8, 8] w = {" + equal +
      "}> { y = MatMul(x, w) }");
  testing::run_pipeline(ties, "prune(sparsity=0.5)");
  auto w = ties.graph->find_value("w")->constant().as_float();
  EXPECT_EQ(std::count(w.begin(), w.end(), 0.0f), 32);
  EXPECT_EQ(w[0], 0.0f);
  EXPECT_NE(w[63], 0.0f);
}

TEST(Prune, RejectsSparsityOutsideTheRange) {
  for (const char* p : {"prune(sparsity=1)", "prune(sparsity=-0.1)", "prune(sparsity=2)"})
    EXPECT_THROW(Pipeline::parse(p), Error) << p;
  EXPECT_NO_THROW(Pipeline::parse("prune(sparsity=0)"));
}

TEST(Prune, HalfTheWeightsCutTheDownloadByAThirdOrMore) {
  for (const std::string& path : testing::real_models()) {
    ir::Model m = formats::onnx::load_model(path);
    int64_t before = metrics::deflate_size(formats::onnx::serialize_model(m));
    testing::run_pipeline(m, "prune(sparsity=0.5)");
    int64_t after = metrics::deflate_size(formats::onnx::serialize_model(m));
    EXPECT_LE(after, before * 0.7) << path;
    EXPECT_NO_THROW(formats::onnx::check_model(m)) << path;
  }
}

}  // namespace
}  // namespace pare::passes
