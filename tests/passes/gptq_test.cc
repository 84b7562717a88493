// GPTQ's error-compensating rounding (passes/gptq.h): with uncorrelated inputs
// it is nearest rounding; with correlated ones it lowers the layer's output
// error below nearest rounding's, choosing only values the caller offers. The
// measured moments are each layer's input patches as the runner sees them:
// w^T H w is the sum of the layer's squared outputs (Conv with pads, strides,
// dilations, groups, auto_pad, 1-D; MatMul; Gemm with transA). gptq= on
// palettes, int4, int8 and float16 lowers a model's output error on its
// samples, deterministically.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "formats/onnx/onnx.h"
#include "lib/runtime/session.h"
#include "passes/gptq.h"
#include "passes/pipeline.h"
#include "tests/support/errors.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

// A grid of step `step`: what a caller's table might offer.
double on_grid(double v, double step) { return step * std::nearbyint(v / step); }

double output_error(const Eigen::MatrixXd& q, const Eigen::MatrixXd& w, const Eigen::MatrixXd& h) {
  Eigen::MatrixXd d = q - w;
  return (d * h * d.transpose()).trace();
}

TEST(Gptq, UncorrelatedInputsRoundToNearest) {
  std::mt19937 rng(3);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd w(5, 12), h = Eigen::MatrixXd::Zero(12, 12);
  for (Eigen::Index i = 0; i < w.size(); ++i) w(i) = normal(rng);
  for (Eigen::Index j = 0; j < 12; ++j) h(j, j) = 0.5 + j;  // act order reverses the columns
  h(3, 3) = 0;                                              // an input never seen
  Eigen::MatrixXd q = w;
  ASSERT_TRUE(gptq_round(q, h, [](int64_t, int64_t, double v) { return on_grid(v, 0.3); }));
  for (Eigen::Index i = 0; i < w.size(); ++i) EXPECT_NEAR(q(i), on_grid(w(i), 0.3), 1e-12) << i;
}

TEST(Gptq, CorrelatedInputsLoseLessThanNearest) {
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  const int samples = 400, k = 24, rows = 8;
  // Inputs sharing a few factors, as neighbouring pixels and channels do.
  Eigen::MatrixXd z(samples, 6), mix(6, k), x, w(rows, k);
  for (Eigen::Index i = 0; i < z.size(); ++i) z(i) = normal(rng);
  for (Eigen::Index i = 0; i < mix.size(); ++i) mix(i) = normal(rng);
  x = z * mix;
  for (Eigen::Index i = 0; i < x.size(); ++i) x(i) += 0.1 * normal(rng);
  for (Eigen::Index i = 0; i < w.size(); ++i) w(i) = normal(rng);
  Eigen::MatrixXd h = x.transpose() * x / samples;
  Eigen::MatrixXd nearest = w.unaryExpr([](double v) { return on_grid(v, 0.5); }), q = w;
  std::vector<std::pair<int64_t, int64_t>> asked;
  ASSERT_TRUE(gptq_round(q, h, [&](int64_t r, int64_t c, double v) {
    asked.emplace_back(r, c);
    return on_grid(v, 0.5);
  }));
  EXPECT_EQ(asked.size(), static_cast<size_t>(rows * k));  // every element once
  for (Eigen::Index i = 0; i < q.size(); ++i) EXPECT_NEAR(q(i), on_grid(q(i), 0.5), 1e-12);  // only grid values
  double e_nearest = output_error(nearest, w, h), e_gptq = output_error(q, w, h);
  EXPECT_LT(e_gptq, 0.5 * e_nearest) << e_nearest << " -> " << e_gptq;
  EXPECT_NE(q, nearest);
}

std::string numbers(int count, double scale, int seed) {
  std::string out;
  for (int i = 0; i < count; ++i) out += (i ? ", " : "") + std::to_string(scale * std::sin(1.7 * i + seed));
  return out;
}

// sum over the data of y^2 per output channel against w^T H w, for a model of
// one layer `op` whose weight `w` has `rows` output channels of `cols`.
void expect_moments_fit(const std::string& text, int rows, int cols, int groups, bool transposed) {
  SCOPED_TRACE(text);
  ir::Model m = testing::model_from_text(text);
  std::vector<Sample> samples;
  for (uint64_t s = 1; s <= 2; ++s) samples.push_back({{"x", testing::seeded_inputs(m, {}, s)[0]}});
  const ir::Value* w = m.graph->find_value("w");
  InputMoments moments(m, {w}, samples);
  const auto* h = moments.moments_of("w");
  ASSERT_NE(h, nullptr);
  ASSERT_EQ(h->size(), static_cast<size_t>(groups));
  std::vector<double> want(static_cast<size_t>(rows), 0.0);
  for (const Sample& s : samples) {
    ir::Tensor y = testing::run_model(m, {s.at("x")})[0];
    auto v = y.as_double();
    // Conv: [N, O, ...]; MatMul and Gemm: rows of O.
    int64_t inner = transposed ? 1 : y.numel() / y.dims()[0] / rows;
    for (size_t i = 0; i < v.size(); ++i) want[static_cast<size_t>(static_cast<int64_t>(i) / inner % rows)] += v[i] * v[i];
  }
  auto wv = w->constant().as_double();
  for (int o = 0; o < rows; ++o) {
    Eigen::VectorXd row(cols);
    for (int c = 0; c < cols; ++c) row(c) = transposed ? wv[static_cast<size_t>(c * rows + o)] : wv[static_cast<size_t>(o * cols + c)];
    double got = row.dot((*h)[static_cast<size_t>(o / (rows / groups))] * row);
    EXPECT_NEAR(got, want[static_cast<size_t>(o)], 1e-4 * std::max(1.0, want[static_cast<size_t>(o)])) << "output " << o;
  }
}

TEST(Gptq, MomentsAreTheLayersInputPatches) {
  auto conv = [](const std::string& x, const std::string& wdims, int count, const std::string& attrs) {
    return "<ir_version: 8, opset_import: [\"\" : 13]>\ng (float" + x + " x) => (float y) <float" + wdims + " w = {" +
           numbers(count, 0.4, 1) + "}> {\n  y = Conv " + attrs + " (x, w)\n}";
  };
  expect_moments_fit(conv("[2, 4, 7, 9]", "[6, 2, 3, 2]", 72,
                          "<strides = [2, 1], pads = [1, 0, 0, 1], dilations = [1, 2], group = 2>"),
                     6, 12, 2, false);
  expect_moments_fit(conv("[1, 3, 5, 5]", "[4, 3, 3, 3]", 108, "<strides = [2, 2], auto_pad = \"SAME_UPPER\">"), 4, 27, 1,
                     false);
  expect_moments_fit(conv("[1, 3, 10]", "[2, 3, 3]", 18, "<pads = [1, 1]>"), 2, 9, 1, false);
  expect_moments_fit(conv("[1, 3, 6, 6]", "[3, 1, 3, 3]", 27, "<group = 3, pads = [1, 1, 1, 1]>"), 3, 9, 3, false);
  expect_moments_fit("<ir_version: 8, opset_import: [\"\" : 13]>\ng (float[2, 3, 5] x) => (float y) <float[5, 4] w = {" +
                         numbers(20, 0.5, 2) + "}> {\n  y = MatMul(x, w)\n}",
                     4, 5, 1, true);
  expect_moments_fit("<ir_version: 8, opset_import: [\"\" : 13]>\ng (float[5, 3] x) => (float y) <float[4, 5] w = {" +
                         numbers(20, 0.5, 3) + "}> {\n  y = Gemm <transA = 1, transB = 1> (x, w)\n}",
                     4, 5, 1, false);
}

// Two layers whose inputs are correlated (a smooth image), stored with 2-bit
// palettes: gptq= lowers the output error on the samples it measured.
std::string two_convs() {
  return "<ir_version: 8, opset_import: [\"\" : 13]>\n"
         "g (float[1, 3, 8, 8] x) => (float[1, 4, 8, 8] y) <float[6, 3, 3, 3] w1 = {" + numbers(162, 0.3, 4) +
         "}, float[4, 6, 3, 3] w2 = {" + numbers(216, 0.2, 5) + "}> {\n"
         "  a = Conv <pads = [1, 1, 1, 1]> (x, w1)\n  r = Relu(a)\n  y = Conv <pads = [1, 1, 1, 1]> (r, w2)\n}";
}

std::vector<Sample> smooth_samples(int count) {
  std::vector<Sample> out;
  for (int s = 0; s < count; ++s) {
    std::vector<float> x(3 * 64);
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 64; ++i) x[c * 64 + i] = std::sin(0.3 * (i % 8) + 0.2 * (i / 8) + s + c) + 0.5f;
    out.push_back({{"x", ir::Tensor::from<float>({1, 3, 8, 8}, x)}});
  }
  return out;
}

// The squared difference of `stored`'s output from `original`'s over the samples.
double output_error(const ir::Model& original, const ir::Model& stored, const std::vector<Sample>& samples) {
  double total = 0;
  for (const Sample& s : samples) {
    auto a = testing::run_model(original, {s.at("x")})[0].as_double();
    auto b = testing::run_model(stored, {s.at("x")})[0].as_double();
    for (size_t i = 0; i < a.size(); ++i) total += (a[i] - b[i]) * (a[i] - b[i]);
  }
  return total;
}

TEST(Gptq, StoredWeightsLoseLessDeterministically) {
  ir::Model original = testing::model_from_text(two_convs());
  std::vector<Sample> samples = smooth_samples(6);
  auto run = [&](const std::string& pipeline, std::map<std::string, int64_t>* stats, int threads = 1) {
    ir::Model m = testing::model_from_text(two_convs());
    PassContext ctx;
    ctx.threads = threads;
    ctx.load_samples = [&](const std::string& dir, const std::vector<std::string>&) {
      EXPECT_EQ(dir, "samples");
      return samples;
    };
    auto steps = Pipeline::parse(pipeline).run(m, ctx, true);
    if (stats) *stats = steps.back().stats;
    return m;
  };
  auto error = [&](const ir::Model& m) { return output_error(original, m, samples); };
  for (std::string storage : {"palettize(bits=2, first=true", "quantize(int4, weights-only, block=2",
                              "quantize(int8, weights-only", "quantize(fp16"}) {
    SCOPED_TRACE(storage);
    std::map<std::string, int64_t> stats;
    ir::Model plain = run(storage + ")", nullptr);
    ir::Model rounded = run(storage + ", gptq=samples)", &stats);
    EXPECT_EQ(stats["gptq_rounded"], 2);
    EXPECT_LT(error(rounded), 0.7 * error(plain)) << error(plain) << " -> " << error(rounded);
    std::printf("%s: output error %g -> %g\n", storage.c_str(), error(plain), error(rounded));
    EXPECT_EQ(formats::onnx::serialize_model(rounded),
              formats::onnx::serialize_model(run(storage + ", gptq=samples)", nullptr)));
    // The layers' sums shared out over threads (PassContext::threads) give the same bytes.
    EXPECT_EQ(formats::onnx::serialize_model(rounded),
              formats::onnx::serialize_model(run(storage + ", gptq=samples)", nullptr, 3)));
    EXPECT_EQ(formats::onnx::serialize_model(run(storage + ", gptq=samples, correct=samples)", nullptr)),
              formats::onnx::serialize_model(run(storage + ", gptq=samples, correct=samples)", nullptr, 2)));
  }
}

// Sequentially (the default), the second layer is rounded on its input as the
// first layer's stored weights make it, aiming at the float output: less
// output error than both layers rounded on the float model's inputs. The
// first layer, with nothing stored above it, is rounded alike either way.
TEST(Gptq, SequentialRoundingAimsAtTheFloatOutput) {
  ir::Model original = testing::model_from_text(two_convs());
  std::vector<Sample> samples = smooth_samples(6);
  auto run = [&](const std::string& pipeline) {
    ir::Model m = testing::model_from_text(two_convs());
    PassContext ctx;
    ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return samples; };
    Pipeline::parse(pipeline).run(m, ctx, true);
    return m;
  };
  auto error = [&](const ir::Model& m) { return output_error(original, m, samples); };
  auto first_output = [&](const ir::Model& m) {  // the first layer's, as its stored weights compute it
    rt::Session session(m);
    return session.run_capture(samples[0], {"a"}).at("a").as_float();
  };
  for (std::string storage : {"palettize(bits=2, first=true, gptq=samples", "quantize(int4, weights-only, block=2, gptq=samples"}) {
    SCOPED_TRACE(storage);
    ir::Model parallel = run(storage + ", sequential=false)"), sequential = run(storage + ")");
    std::printf("%s: output error %g on the float inputs, %g sequentially\n", storage.c_str(), error(parallel),
                error(sequential));
    EXPECT_LT(error(sequential), 0.9 * error(parallel));
    EXPECT_EQ(first_output(sequential), first_output(parallel));
    EXPECT_NE(first_output(sequential), first_output(original));
  }
}

// Static int8: every layer aims at the float output from its quantized input
// (the layers above stored, its own input through its Q/DQ pair).
TEST(Gptq, StaticInt8AimsFromTheQuantizedInputs) {
  ir::Model original = testing::model_from_text(two_convs());
  std::vector<Sample> samples = smooth_samples(6);
  auto run = [&](const std::string& pipeline, std::map<std::string, int64_t>* stats) {
    ir::Model m = testing::model_from_text(two_convs());
    PassContext ctx;
    ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return samples; };
    auto steps = Pipeline::parse(pipeline).run(m, ctx, true);
    if (stats) *stats = steps.back().stats;
    return m;
  };
  std::map<std::string, int64_t> stats;
  ir::Model plain = run("quantize(int8, calib=samples)", nullptr);
  ir::Model rounded = run("quantize(int8, calib=samples, gptq=samples)", &stats);
  EXPECT_EQ(stats["gptq_rounded"], 2);
  double before = output_error(original, plain, samples), after = output_error(original, rounded, samples);
  std::printf("static int8: output error %g -> %g\n", before, after);
  EXPECT_LT(after, 0.9 * before);
}

// Moments the caller measured once on the same model (PassContext::known_moments;
// pare tune's one-layer variants) give the same bytes as the pass measuring
// them itself, and only for their own folder. A sequential pass over more than
// one layer measures its own: it needs the layers' inputs, which they lack.
TEST(Gptq, KnownMomentsGiveTheSameModel) {
  ir::Model original = testing::model_from_text(two_convs());
  std::vector<Sample> samples = smooth_samples(4);
  std::vector<ir::Value*> constants = original.graph->constants();
  InputMoments known(original, std::vector<const ir::Value*>(constants.begin(), constants.end()), samples);
  for (const char* storage : {"palettize(bits=2, first=true, gptq=samples, sequential=false)",
                              "quantize(int4, weights-only, block=2, gptq=samples, sequential=false)"}) {
    SCOPED_TRACE(storage);
    auto run = [&](bool with_known) {
      ir::Model m = testing::model_from_text(two_convs());
      PassContext ctx;
      int loads = 0;
      ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return ++loads, samples; };
      if (with_known) ctx.known_moments = [&](const std::string& dir) { return dir == "samples" ? &known : nullptr; };
      Pipeline::parse(storage).run(m, ctx, true);
      EXPECT_EQ(loads, with_known ? 0 : 1);
      return formats::onnx::serialize_model(m);
    };
    EXPECT_EQ(run(true), run(false));
  }
  ir::Model m = testing::model_from_text(two_convs());
  PassContext ctx;
  int loads = 0;
  ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return ++loads, samples; };
  ctx.known_moments = [&](const std::string&) { return &known; };
  Pipeline::parse("palettize(bits=2, first=true, gptq=samples)").run(m, ctx, true);
  EXPECT_EQ(loads, 1);
}

// correct= and gptq= on one folder share one run per sample (pare tune's
// verifications ran each twice): the same bytes as two folders measured apart,
// with one load of the samples instead of two.
TEST(Gptq, CorrectAndGptqOnOneFolderShareTheRuns) {
  std::vector<Sample> samples = smooth_samples(4);
  for (const char* storage : {"palettize(bits=2, first=true, ", "quantize(int4, weights-only, block=2, ",
                              "quantize(int8, weights-only, "}) {
    SCOPED_TRACE(storage);
    auto run = [&](const std::string& options, int expected_loads) {
      ir::Model m = testing::model_from_text(two_convs());
      PassContext ctx;
      int loads = 0;
      ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return ++loads, samples; };
      auto steps = Pipeline::parse(storage + options + ")").run(m, ctx, true);
      EXPECT_EQ(loads, expected_loads) << options;
      EXPECT_EQ(steps.back().stats["gptq_rounded"], 2) << options;
      bool corrects = options.find("correct=") != std::string::npos;
      EXPECT_EQ(steps.back().stats["bias_corrected"] > 0, corrects) << options;
      return formats::onnx::serialize_model(m);
    };
    std::string shared = run("correct=s, gptq=s, sequential=false", 1);
    EXPECT_EQ(shared, run("correct=a, gptq=b, sequential=false", 2));
    EXPECT_NE(shared, run("gptq=s, sequential=false", 1)) << "the correction changes the biases";
  }
}

// A sample holding NaN gives its layers no moments: they are stored as
// without gptq= (counted gptq_unmeasured), never from NaN.
TEST(Gptq, NonFiniteSamplesLeaveNearestRounding) {
  std::vector<Sample> samples = smooth_samples(3);
  std::vector<float> x = samples[1].at("x").as_float();
  x[5] = std::nanf("");
  samples[1]["x"] = ir::Tensor::from<float>({1, 3, 8, 8}, x);
  const std::string one_conv = "<ir_version: 8, opset_import: [\"\" : 13]>\ng (float[1, 3, 8, 8] x) => (float y) "
                               "<float[6, 3, 3, 3] w = {" + numbers(162, 0.3, 4) + "}> {\n  y = Conv(x, w)\n}";
  auto run = [&](const std::string& pipeline, std::map<std::string, int64_t>* stats) {
    ir::Model m = testing::model_from_text(one_conv);
    PassContext ctx;
    ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return samples; };
    auto steps = Pipeline::parse(pipeline).run(m, ctx, true);
    if (stats) *stats = steps.back().stats;
    return formats::onnx::serialize_model(m);
  };
  std::map<std::string, int64_t> stats;
  EXPECT_EQ(run("quantize(int8, weights-only, gptq=s)", &stats), run("quantize(int8, weights-only)", nullptr));
  EXPECT_EQ(stats["gptq_unmeasured"], 1);
  EXPECT_EQ(stats["gptq_rounded"], 0);
}

TEST(Gptq, OptionsAreChecked) {
  ir::Model m = testing::model_from_text(two_convs());
  PassContext ctx;  // no sample reader
  std::string message =
      testing::error_of([&] { Pipeline::parse("palettize(bits=4, gptq=somewhere)").run(m, ctx, true); });
  EXPECT_NE(message.find("gptq=somewhere"), std::string::npos) << message;
  message = testing::error_of(
      [&] { Pipeline::parse("quantize(int8, calib=a, gptq=somewhere, sequential=false)").run(m, ctx, true); });
  EXPECT_NE(message.find("layer after layer"), std::string::npos) << message;
}

}  // namespace
}  // namespace pare::passes
