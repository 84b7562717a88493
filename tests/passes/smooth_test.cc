// quantize(int8, calib=, smooth=A): activation smoothing keeps the function,
// lets channels far below their tensor's range keep their steps, and refuses
// what it does not apply to.
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/onnx/onnx.h"
#include "lib/base/error.h"
#include "lib/metrics/compare.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"
#include "passes/smooth.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

// x -> 1x1 Conv scaling its channels by 50, 1 and 0.02 -> depthwise 3x3 -> Add
// (doubling) -> 1x1 Conv that weighs the channels back (0.02, 1, 50): every
// channel matters equally to y, but the tensors between hold them at ranges
// 2500x apart.
constexpr const char* kSpread = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, 3, 8, 8] x) => (float[1, 2, 6, 6] y)
  <float[3, 3, 1, 1] wa = {50, 0, 0, 0, 1, 0, 0, 0, 0.02},
   float[3, 1, 3, 3] wd = {0.1, 0.2, 0.1, 0.2, 0.4, 0.2, 0.1, 0.2, 0.1,
                           -0.1, 0.3, 0.1, 0.2, 0.5, -0.2, 0.1, 0.2, 0.1,
                           0.2, 0.1, -0.1, 0.1, 0.6, 0.1, -0.1, 0.1, 0.2},
   float[2, 3, 1, 1] wb = {0.02, 1, 50, 0.01, -1, 40}>
  {
    a = Conv(x, wa)
    d = Conv<kernel_shape = [3, 3], group = 3>(a, wd)
    e = Add(d, d)
    y = Conv(e, wb)
  })";

std::vector<Sample> samples(const ir::Model& m, int n, uint64_t seed) {
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) out.push_back({{"x", testing::seeded_inputs(m, {}, seed + i)[0]}});
  return out;
}

double sqnr_against(const ir::Model& original, const ir::Model& m, const std::vector<Sample>& data) {
  metrics::OutputDiffAccumulator acc("y");
  for (const auto& s : data) acc.add(testing::run_model(original, {s.at("x")})[0], testing::run_model(m, {s.at("x")})[0]);
  return acc.result().sqnr_db;
}

double static_int8_sqnr(const std::string& options) {
  ir::Model original = testing::model_from_text(kSpread), m = testing::model_from_text(kSpread);
  auto calib = samples(m, 4, 1);
  PassContext ctx;
  ctx.load_samples = [calib](const std::string&, const std::vector<std::string>&) { return calib; };
  Pipeline::parse("quantize(int8, calib=CAL, min-size=1" + options + ")").run(m, ctx, true);
  return sqnr_against(original, m, samples(original, 4, 100));
}

TEST(Smooth, KeepsTheFunction) {
  ir::Model original = testing::model_from_text(kSpread), m = testing::model_from_text(kSpread);
  auto calib = samples(m, 3, 1);
  std::vector<ir::Node*> layers;
  for (ir::Node* n : m.graph->nodes_snapshot()) layers.push_back(n);
  PassContext ctx;
  // Every layer's input and output (y, the graph output, keeps its name).
  Smoothed smoothed = smooth_activations(m, layers, layers, calib, 0.5, ctx);
  EXPECT_EQ(smoothed.muls.size(), 6u);
  EXPECT_EQ(smoothed.restored.size(), 3u);
  EXPECT_EQ(ctx.stats["activations_smoothed"], 3);
  EXPECT_EQ(ctx.stats["outputs_smoothed"], 3);
  for (const ir::Node* mul : smoothed.muls) EXPECT_EQ(mul->op_type, "Mul");
  ASSERT_EQ(m.graph->outputs.size(), 1u);
  EXPECT_EQ(m.graph->outputs[0]->name(), "y");
  EXPECT_GT(sqnr_against(original, m, samples(original, 3, 50)), 100.0);  // float rounding only
}

TEST(Smooth, LetsSmallChannelsKeepTheirSteps) {
  double plain = static_int8_sqnr(""), smoothed = static_int8_sqnr(", smooth=0.5");
  std::printf("static int8: %.1f dB, smoothed %.1f dB\n", plain, smoothed);
  EXPECT_GT(smoothed, plain + 15.0);
}

// An input's Mul reads the float tensor and feeds the QuantizeLinear; an
// output's Mul reads the layer's quantized output, dequantized.
TEST(Smooth, QuantizesWhereTheRangesAreEven) {
  ir::Model m = testing::model_from_text(kSpread);
  auto calib = samples(m, 2, 1);
  PassContext ctx;
  ctx.load_samples = [calib](const std::string&, const std::vector<std::string>&) { return calib; };
  auto stats = Pipeline::parse("quantize(int8, calib=CAL, min-size=1, smooth=0.5)").run(m, ctx, true).back().stats;
  EXPECT_EQ(stats["activations_smoothed"], 3);
  // d, which the Add quantizes; a is read by a Conv, which smooths its own input, and y by nothing.
  EXPECT_EQ(stats["outputs_smoothed"], 1);
  int inputs = 0, outputs = 0;
  for (const auto& n : m.graph->nodes()) {
    if (n->op_type != "Mul") continue;
    const ir::Node* p = n->input(0)->producer();
    ASSERT_FALSE(n->output(0)->uses().empty());
    const ir::Node* reader = n->output(0)->uses()[0].node;
    if (reader->op_type == "QuantizeLinear") {
      ++inputs;
      EXPECT_TRUE(!p || p->op_type == "Conv" || p->op_type == "Add") << "an input's Mul reads the float tensor";
    } else {
      ++outputs;
      ASSERT_TRUE(p);
      EXPECT_EQ(p->op_type, "DequantizeLinear");
      EXPECT_EQ(p->input(0)->producer()->op_type, "QuantizeLinear");
      EXPECT_EQ(p->input(0)->producer()->input(0)->producer()->op_type, "Conv");
    }
  }
  EXPECT_EQ(inputs, 3);
  EXPECT_EQ(outputs, 1);
}

TEST(Smooth, IsDeterministic) {
  auto run = [] {
    ir::Model m = testing::model_from_text(kSpread);
    auto calib = samples(m, 3, 1);
    PassContext ctx;
    ctx.load_samples = [calib](const std::string&, const std::vector<std::string>&) { return calib; };
    Pipeline::parse("quantize(int8, calib=CAL, min-size=1, smooth=0.5, gptq=CAL)").run(m, ctx, true);
    return formats::onnx::serialize_model(m);
  };
  EXPECT_EQ(run(), run());
}

// The smoothed static int8 models of the committed CNNs run in ONNX Runtime as
// in pare's runner (literal QDQ on both sides), and ORT still fuses their
// convolutions into integer kernels.
TEST(Smooth, RealModelsRunInOnnxRuntimeAsInTheRunner) {
  for (const std::string& path : {testing::kCls, testing::kFace}) {
    std::string name = std::filesystem::path(path).filename().string();
    SCOPED_TRACE(name);
    ir::Model m = formats::onnx::load_model(path);
    auto dims = testing::dims_for(path);
    std::vector<Sample> calib = testing::seeded_samples(m, dims, 1, 3);
    PassContext ctx;
    ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return calib; };
    auto steps = Pipeline::parse("fold, fuse-bn, fuse-act, dce, quantize(int8, calib=seeded, smooth=0.5), strip").run(m, ctx, true);
    EXPECT_GT(steps[4].stats["activations_smoothed"], 0);
    std::string out = testing::temp_dir() + "/" + name;
    formats::onnx::save_model(m, out);
    auto inputs = testing::seeded_inputs(m, dims, 9);
    rt::SessionOptions literal_nodes;
    literal_nodes.integer = false;
    rt::Session s(m, literal_nodes);
    Sample feed;
    for (size_t k = 0; k < inputs.size(); ++k) feed[s.input_names()[k]] = inputs[k];
    auto ours = s.run(feed);
    auto theirs = testing::run_ort(out, inputs, 1, "disabled");
    ASSERT_EQ(ours.size(), theirs.size());
    for (size_t k = 0; k < ours.size(); ++k) {
      metrics::OutputDiffAccumulator acc("out");
      acc.add(theirs[k], ours[k]);
      std::printf("  output %zu: runner vs ORT SQNR %.1f dB\n", k, acc.result().sqnr_db);
      EXPECT_GT(acc.result().sqnr_db, 25.0) << "output " << k;  // as QuantizeStatic's real models
    }
    EXPECT_GT(testing::ort_optimized_ops(out)["QLinearConv"], 0);
  }
}

TEST(Smooth, BadOptionsAreClearErrors) {
  ir::Model m = testing::model_from_text(kSpread);
  PassContext ctx;
  auto expect_error = [&](const std::string& pipeline, const std::string& part) {
    try {
      Pipeline::parse(pipeline).run(m, ctx, false);
      ADD_FAILURE() << pipeline << " did not fail";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error("quantize(int8, calib=CAL, smooth=1.5)", "smooth");
  expect_error("quantize(int8, calib=CAL, smooth=-0.5)", "smooth");
  expect_error("quantize(int8, calib=CAL, smooth=half)", "smooth");
  expect_error("quantize(int8, weights-only, smooth=0.5)", "smooth= is for static int8");
  expect_error("quantize(fp16, smooth=0.5)", "smooth= is for static int8");
}

}  // namespace
}  // namespace pare::passes
