// Rounding that keeps convolution kernels' sums (passes/kernel_sums.h) and
// empirical bias correction (passes/bias_correct.h): each stored weight stays
// within one step of its value, each kernel's sum comes closest to the float
// one, a flat input's response follows; with correct=, every layer's output
// mean over the samples is the float model's again (Conv, Gemm, MatMul + Add),
// for fp16, int8, int4 and palettes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lib/base/fp16.h"
#include "formats/onnx/onnx.h"
#include "lib/metrics/compare.h"
#include "passes/bias_correct.h"
#include "passes/kernel_sums.h"
#include "passes/pipeline.h"
#include "tests/support/errors.h"
#include "tests/support/ort.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

TEST(KernelSums, EachGroupComesClosestWithinOneStep) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-3, 3);
  const int64_t taps = 9;
  std::vector<double> exact, nearest, other;
  for (int i = 0; i < 50 * taps; ++i) {
    double x = u(rng);
    double r = std::nearbyint(x);
    exact.push_back(x);
    nearest.push_back(r);
    other.push_back(x > r ? r + 1 : x < r ? r - 1 : r);
  }
  auto flip = sum_keeping_flips(exact, nearest, other, taps);
  int better = 0;
  for (size_t g = 0; g < exact.size(); g += taps) {
    double want = 0, naive = 0, kept = 0;
    for (size_t i = g; i < g + taps; ++i) {
      double stored = flip[i] ? other[i] : nearest[i];
      EXPECT_LE(std::fabs(stored - exact[i]), 1.0);  // within one step
      want += exact[i], naive += nearest[i], kept += stored;
    }
    EXPECT_LE(std::fabs(kept - want), std::fabs(naive - want) + 1e-12);
    EXPECT_LE(std::fabs(kept - want), 0.5 + 1e-12);  // integer steps: the closest sum is within half a step
    better += std::fabs(kept - want) < std::fabs(naive - want) - 1e-9;
  }
  EXPECT_GT(better, 10);  // the naive sums were often off by more than half a step
}

// Two depthwise kernels whose rounding errors add up: channel 0's taps sit
// 0.003 from float16 values (its step there is 2^-7), all on one side;
// channel 1's sit 0.4 steps from int8 values (scale 12.7 / 127 = 0.1).
const std::vector<std::vector<float>> kKernels = {
    {12.003f, 12.003f, 12.003f, 12.003f, -11.997f, -11.997f, -11.997f, -11.997f, 0.5f},
    {12.7f, 5.04f, 5.04f, 5.04f, -3.96f, -3.96f, -3.96f, -3.96f, -12.3f}};

std::string edge_model() {
  std::string w;
  for (const auto& k : kKernels)
    for (float f : k) w += (w.empty() ? "" : ", ") + fmt::format("{:.4f}", f);
  return "<ir_version: 8, opset_import: [\"\" : 13]>\n"
         "g (float[1, 2, 6, 6] x) => (float[1, 2, 4, 4] y) <float[2, 1, 3, 3] w = {" + w + "}> {\n"
         "  y = Conv <group = 2> (x, w)\n}";
}

TEST(KernelSums, Fp16AndInt8KeepAKernelsFlatResponse) {
  for (const std::string storage : {"quantize(fp16)", "quantize(int8, weights-only)"}) {
    SCOPED_TRACE(storage);
    bool fp16 = storage == "quantize(fp16)";
    size_t c = fp16 ? 0 : 1;  // the channel built for this storage
    ir::Model original = testing::model_from_text(edge_model()), m = testing::model_from_text(edge_model());
    auto stats = testing::run_pipeline(m, storage);
    EXPECT_GT(stats["kernel_sum_flips"], 0);
    // A flat input: each output is its kernel's sum times the input value.
    std::vector<float> ones(72, 1.0f);
    std::vector<ir::Tensor> in = {ir::Tensor::from<float>({1, 2, 6, 6}, ones)};
    auto want = testing::run_model(original, in)[0].as_double(), got = testing::run_model(m, in)[0].as_double();
    double naive = 0, exact = 0, scale = 12.7 / 127;
    for (float f : kKernels[c]) {
      exact += f;
      naive += fp16 ? half_to_float(float_to_half(f)) : std::nearbyint(f / scale) * scale;
    }
    size_t at = c * 16;  // the first output of channel c
    EXPECT_LT(std::fabs(got[at] - want[at]), std::fabs(naive - exact) / 4) << got[at] << " vs " << want[at];
  }
}

// x -> Conv(no bias) -> Relu -> MatMul -> Add(c) -> Gemm(transB, with C): three
// layers whose inputs have non-zero means.
std::string three_layers() {
  std::string wc, wm, wg;
  for (int i = 0; i < 4 * 3; ++i) wc += (i ? ", " : "") + std::to_string(0.37 * std::sin(1.3 * i) + 0.011);
  for (int i = 0; i < 4 * 5; ++i) wm += (i ? ", " : "") + std::to_string(0.29 * std::cos(0.7 * i) + 0.007);
  for (int i = 0; i < 3 * 5; ++i) wg += (i ? ", " : "") + std::to_string(0.41 * std::sin(2.1 * i + 1));
  return "<ir_version: 8, opset_import: [\"\" : 13]>\n"
         "g (float[1, 3, 4, 4] x) => (float[16, 3] y) <float[4, 3, 1, 1] wc = {" + wc +
         "}, float[4, 5] wm = {" + wm + "}, float[5] cm = {0.1, -0.2, 0.3, 0.0, 0.05}, float[3, 5] wg = {" + wg +
         "}, float[3] cg = {0.5, -0.5, 0.25}, int64[2] flat = {16, 4}> {\n"
         "  c = Conv(x, wc)\n  r = Relu(c)\n  t = Transpose <perm = [0, 2, 3, 1]> (r)\n  f = Reshape(t, flat)\n"
         "  m = MatMul(f, wm)\n  a = Add(m, cm)\n  y = Gemm <transB = 1> (a, wg, cg)\n}";
}

std::vector<Sample> offset_samples(const ir::Model& m, int count) {
  std::vector<Sample> out;
  for (int s = 0; s < count; ++s) {
    auto in = testing::seeded_inputs(m, {}, static_cast<uint64_t>(s + 1));
    std::vector<float> x = in[0].as_float();
    for (float& f : x) f = 2.0f + 0.5f * f;  // mean 2: rounding shifts every output's mean
    out.push_back({{"x", ir::Tensor::from<float>(in[0].dims(), x)}});
  }
  return out;
}

// Per-column mean over the samples of (got - want) at the model's output.
std::vector<double> mean_error(const ir::Model& want, const ir::Model& got, const std::vector<Sample>& samples) {
  std::vector<double> err;
  for (const auto& s : samples) {
    auto a = testing::run_model(want, {s.at("x")})[0].as_double(), b = testing::run_model(got, {s.at("x")})[0].as_double();
    if (err.empty()) err.assign(3, 0.0);
    for (size_t i = 0; i < a.size(); ++i) err[i % 3] += (b[i] - a[i]) / static_cast<double>(a.size() / 3 * samples.size());
  }
  return err;
}

TEST(BiasCorrection, LayerMeansMatchTheFloatModelAgain) {
  ir::Model original = testing::model_from_text(three_layers());
  std::vector<Sample> samples = offset_samples(original, 6);
  // (float16 moves these means by less than 1e-4: M-LSD's test in tests/cli shows it at work.)
  for (const char* storage : {"quantize(int8, weights-only, min-size=4", "quantize(int4, weights-only, block=4, min-size=4",
                              "palettize(bits=2, min-size=4"}) {
    SCOPED_TRACE(storage);
    auto run = [&](const std::string& extra, std::map<std::string, int64_t>* stats) {
      ir::Model m = testing::model_from_text(three_layers());
      PassContext ctx;
      ctx.load_samples = [&](const std::string& dir, const std::vector<std::string>&) {
        EXPECT_EQ(dir, "samples");
        return samples;
      };
      auto steps = Pipeline::parse(std::string(storage) + extra + ")").run(m, ctx, true);
      if (stats) *stats = steps.back().stats;
      return m;
    };
    std::map<std::string, int64_t> stats;
    ir::Model plain = run("", nullptr), corrected = run(", correct=samples", &stats);
    EXPECT_EQ(stats["bias_corrected"], 3);  // the Conv (bias added), the MatMul's Add, the Gemm's C
    auto before = mean_error(original, plain, samples), after = mean_error(original, corrected, samples);
    double worst_before = 0, worst_after = 0;
    for (size_t c = 0; c < 3; ++c) worst_before = std::max(worst_before, std::fabs(before[c])), worst_after = std::max(worst_after, std::fabs(after[c]));
    EXPECT_GT(worst_before, 1e-4);
    // The correction is exact for a linear chain up to the Relu's clipping; well below the uncorrected shift.
    EXPECT_LT(worst_after, worst_before / 5) << worst_before << " -> " << worst_after;
  }
}

// Means the caller measured once on the same model (PassContext::known_means,
// from layer_input_means; pare tune's one-layer variants) give the same bytes
// as the pass measuring them itself, and only for their own folder; known
// means that lack a layer are measured again, whole.
TEST(BiasCorrection, KnownMeansGiveTheSameModel) {
  ir::Model original = testing::model_from_text(three_layers());
  std::vector<Sample> samples = offset_samples(original, 4);
  std::map<std::string, std::vector<double>> means = layer_input_means(original, samples);
  EXPECT_EQ(means.size(), 3u);  // the Conv's, the MatMul's and the Gemm's data inputs
  for (const char* storage : {"quantize(int8, weights-only, min-size=4, correct=samples)",
                              "palettize(bits=2, min-size=4, correct=samples)"}) {
    SCOPED_TRACE(storage);
    // Known means lacking a layer (smoothing gives layers inputs the caller did
    // not measure): the pass measures them all itself, so the bytes stay the same.
    std::map<std::string, std::vector<double>> partial = means;
    partial.erase(partial.begin());
    auto run = [&](const std::map<std::string, std::vector<double>>* known, int expected_loads) {
      ir::Model m = testing::model_from_text(three_layers());
      PassContext ctx;
      int loads = 0;
      ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return ++loads, samples; };
      if (known) ctx.known_means = [&](const std::string& dir) { return dir == "samples" ? known : nullptr; };
      Pipeline::parse(storage).run(m, ctx, true);
      EXPECT_EQ(loads, expected_loads);
      return formats::onnx::serialize_model(m);
    };
    std::string measured = run(nullptr, 1);
    EXPECT_EQ(run(&means, 0), measured);
    EXPECT_EQ(run(&partial, 1), measured);
  }
}

TEST(BiasCorrection, OptionsAreChecked) {
  auto message = [](const std::string& pipeline) {
    ir::Model m = testing::model_from_text(three_layers());
    PassContext ctx;  // no sample reader
    return testing::error_of([&] { Pipeline::parse(pipeline).run(m, ctx, true); });
  };
  EXPECT_NE(message("quantize(int8, calib=a, correct=b)").find("static int8 calibrates"), std::string::npos);
  EXPECT_NE(message("quantize(fp16, min-size=4, correct=somewhere)").find("correct=somewhere"), std::string::npos);
  EXPECT_NE(message("palettize(bits=4, min-size=4, correct=elsewhere)").find("correct=elsewhere"), std::string::npos);
}

}  // namespace
}  // namespace pare::passes
