// fuse-bn: structure on small models, and equivalence (float rounding only) on
// the real models, checked with the runner.
#include <gtest/gtest.h>

#include <cmath>

#include "formats/onnx/onnx.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

// Max |a - b| relative to max |a|, over all outputs.
double relative_error(const std::vector<ir::Tensor>& a, const std::vector<ir::Tensor>& b) {
  double worst = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    auto x = a[k].as_double(), y = b[k].as_double();
    double scale = 1e-12;
    for (double v : x) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]) / scale);
  }
  return worst;
}

// fuse-bn on the model of `text`; the result must compute what the original did
// (float rounding only) on inputs seeded with `seed`.
testing::Rewrite fuse_bn(const std::string& text, uint64_t seed = 1) {
  testing::Rewrite r = testing::rewrite(text, "fuse-bn");
  auto inputs = testing::seeded_inputs(r.original, {}, seed);
  EXPECT_LT(relative_error(testing::run_model(r.original, inputs), testing::run_model(r.model, inputs)), 1e-6);
  return r;
}

constexpr const char* kConvBn = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, 2, 5, 5] x) => (float[1, 3, 3, 3] y)
  <float[3, 2, 3, 3] w = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0, -1.1, 1.2, 1.3, -1.4, 1.5, 1.6, -1.7, 1.8,
                          0.2, 0.1, -0.3, 0.5, 0.4, -0.6, 0.8, 0.7, -0.9, 1.1, 1.0, -1.2, 1.4, 1.3, -1.5, 1.7, 1.6, -1.8,
                          -0.1, 0.2, 0.3, -0.4, 0.5, 0.6, -0.7, 0.8, 0.9, -1.0, 1.1, 1.2, -1.3, 1.4, 1.5, -1.6, 1.7, 1.8},
   float[3] b = {0.5, -0.5, 0.25}, float[3] s = {1.5, 0.5, 2.0}, float[3] t = {0.1, 0.2, 0.3},
   float[3] mu = {0.3, -0.1, 0.0}, float[3] var = {0.9, 1.5, 0.25}> {
    c = Conv<kernel_shape = [3, 3]>(x, w, b)
    y = BatchNormalization<epsilon = 0.001>(c, s, t, mu, var)
  })";

TEST(FuseBn, ConvAndBatchNormBecomeOneConvComputingTheSame) {
  auto [original, m, stats] = fuse_bn(kConvBn);
  EXPECT_EQ(stats["fused"], 1);
  EXPECT_EQ(testing::op_types(*m.graph), std::vector<std::string>{"Conv"});
  EXPECT_EQ(m.graph->outputs[0]->name(), "y");
  EXPECT_EQ(m.graph->nodes()[0]->output(0)->name(), "y");
  EXPECT_EQ(m.graph->constants().size(), 2u);  // the fused W and b; the BN parameters are gone
}

TEST(FuseBn, GemmAndBatchNorm) {
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[4, 3] x) => (float[4, 2] y)
    <float[2, 3] w = {1.0, 2.0, 3.0, -1.0, 0.5, 0.25}, float[2] c = {0.5, -1.0},
     float[2] s = {2.0, 0.5}, float[2] t = {0.0, 1.0}, float[2] mu = {1.0, 2.0}, float[2] var = {4.0, 0.25}> {
      g1 = Gemm<transB = 1, beta = 0.5>(x, w, c)
      y = BatchNormalization(g1, s, t, mu, var)
    })";
  auto [original, m, stats] = fuse_bn(text);
  EXPECT_EQ(stats["fused"], 1);
  EXPECT_EQ(testing::op_types(*m.graph), std::vector<std::string>{"Gemm"});
}

TEST(FuseBn, LeavesSharedOutputsAndTrainingModeAlone) {
  ir::Model shared = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 1, 3, 3] x) => (float[1, 1, 3, 3] y, float[1, 1, 3, 3] c)
    <float[1, 1, 1, 1] w = {2.0}, float[1] s = {1.0}, float[1] t = {0.0}, float[1] mu = {0.0}, float[1] var = {1.0}> {
      c = Conv(x, w)
      y = BatchNormalization(c, s, t, mu, var)
    })");
  auto stats = testing::run_pipeline(shared, "fuse-bn");
  EXPECT_EQ(stats["fused"], 0);
  EXPECT_EQ(stats["skipped"], 1);
  ir::Model training = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 15]>
    g (float[1, 1, 3, 3] x) => (float[1, 1, 3, 3] y)
    <float[1, 1, 1, 1] w = {2.0}, float[1] s = {1.0}, float[1] t = {0.0}, float[1] mu = {0.0}, float[1] var = {1.0}> {
      c = Conv(x, w)
      y = BatchNormalization<training_mode = 1>(c, s, t, mu, var)
    })");
  EXPECT_EQ(testing::run_pipeline(training, "fuse-bn")["fused"], 0);
}

TEST(FuseBn, RealModelsLoseTheirBatchNormsNotTheirOutputs) {
  std::string cls = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  ir::Model original = formats::onnx::load_model(cls);
  ir::Model m = formats::onnx::load_model(cls);
  auto stats = testing::run_pipeline(m, "fuse-bn");
  EXPECT_EQ(stats["fused"], 35);  // every BatchNormalization of the classifier follows a Conv
  for (const auto& n : m.graph->nodes()) EXPECT_NE(n->op_type, "BatchNormalization");
  EXPECT_EQ(m.graph->nodes().size(), original.graph->nodes().size() - 35);
  EXPECT_NO_THROW(formats::onnx::check_model(m));
  for (const std::string& path : testing::real_models()) {
    ir::Model a = formats::onnx::load_model(path), b = formats::onnx::load_model(path);
    testing::run_pipeline(b, "fuse-bn");
    auto inputs = testing::seeded_inputs(a, testing::dims_for(path));
    // Folding the BN changes the order of float operations only.
    EXPECT_LT(relative_error(testing::run_model(a, inputs), testing::run_model(b, inputs)), 1e-4) << path;
  }
}

}  // namespace
}  // namespace pare::passes

namespace pare::passes {
namespace {

// PP-LCNetV3's learnable affine blocks: Conv -> Mul(scalar) -> Add(per-channel), and Sub/Div.
constexpr const char* kConvAffine = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, 2, 4, 4] x) => (float[1, 3, 2, 2] y, float[1, 3, 2, 2] z, float[1, 3, 2, 2] v)
  <float[3, 2, 3, 3] w = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0, -1.1, 1.2, 1.3, -1.4, 1.5, 1.6, -1.7, 1.8,
                          0.2, 0.1, -0.3, 0.5, 0.4, -0.6, 0.8, 0.7, -0.9, 1.1, 1.0, -1.2, 1.4, 1.3, -1.5, 1.7, 1.6, -1.8,
                          -0.1, 0.2, 0.3, -0.4, 0.5, 0.6, -0.7, 0.8, 0.9, -1.0, 1.1, 1.2, -1.3, 1.4, 1.5, -1.6, 1.7, 1.8},
   float[3] b = {0.5, -0.5, 0.25}, float s = {1.5}, float[1, 3, 1, 1] t = {0.1, 0.2, 0.3}, float[3, 1, 1] d = {2.0, 4.0, 8.0},
   float[2] last = {1.0, 2.0}>
  {
    c = Conv<kernel_shape = [3, 3], pads = [0, 0, 0, 0]>(x, w, b)
    m = Mul(s, c)
    y = Add(m, t)
    c2 = Conv<kernel_shape = [3, 3]>(x, w, b)
    q = Sub(c2, t)
    z = Div(q, d)
    c3 = Conv<kernel_shape = [3, 3]>(x, w, b)
    v = Add(c3, last)
  })";

TEST(FuseBn, ElementwiseAffineStepsAfterAConvFoldIntoIt) {
  auto [original, m, stats] = fuse_bn(kConvAffine, 2);
  EXPECT_EQ(stats["fused_mul"], 1);
  EXPECT_EQ(stats["fused_add"], 1);
  EXPECT_EQ(stats["fused_sub"], 1);
  EXPECT_EQ(stats["fused_div"], 1);
  // A [2] constant broadcasts along the last axis, not the channels: not folded.
  EXPECT_EQ(testing::op_types(*m.graph), (std::vector<std::string>{"Conv", "Conv", "Conv", "Add"}));
  for (const auto& v : m.graph->values()) EXPECT_EQ(v->name().find("_bn_bn"), std::string::npos) << v->name();
}

}  // namespace
}  // namespace pare::passes
