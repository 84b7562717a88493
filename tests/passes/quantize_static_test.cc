// quantize(int8, calib=...): QDQ structure, each option, calibration methods,
// bad calibration data, determinism, and the real models in ONNX Runtime.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "formats/onnx/onnx.h"
#include "lib/base/error.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/size.h"
#include "lib/runtime/session.h"
#include "passes/calibrate.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

constexpr const char* kNet = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, 2, 6, 6] x) => (float[1, 4, 4, 4] y)
  <float[4, 2, 3, 3] w = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0, -1.1, 1.2, 1.3, -1.4, 1.5, 1.6, -1.7, 1.8,
                          0.2, 0.1, -0.3, 0.5, 0.4, -0.6, 0.8, 0.7, -0.9, 1.1, 1.0, -1.2, 1.4, 1.3, -1.5, 1.7, 1.6, -1.8,
                          -0.1, 0.2, 0.3, -0.4, 0.5, 0.6, -0.7, 0.8, 0.9, -1.0, 1.1, 1.2, -1.3, 1.4, 1.5, -1.6, 1.7, 1.8,
                          0.3, 0.2, 0.1, -0.1, -0.2, -0.3, 0.4, 0.5, 0.6, -0.4, -0.5, -0.6, 0.7, 0.8, 0.9, -0.7, -0.8, -0.9},
   float[4] b = {0.5, -0.5, 0.25, 0.0}>
  {
    c = Conv<kernel_shape = [3, 3]>(x, w, b)
    r = Relu(c)
    y = Add(r, c)
  })";

std::vector<Sample> samples(const ir::Model& m, int n, uint64_t seed = 1) {
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) {
    auto t = testing::seeded_inputs(m, {}, seed + i);
    out.push_back({{"x", t[0]}});
  }
  return out;
}

std::map<std::string, int64_t> quantize(ir::Model& m, const std::string& options, std::vector<Sample> calib) {
  PassContext ctx;
  ctx.load_samples = [calib](const std::string& dir, const std::vector<std::string>& inputs) {
    if (dir != "CAL") throw Error(dir + ": not a folder of samples");
    return calib;
  };
  return Pipeline::parse("quantize(int8, calib=CAL" + options + ")").run(m, ctx, true).back().stats;
}

std::vector<const ir::Node*> nodes_of(const ir::Graph& g, const std::string& op) {
  std::vector<const ir::Node*> out;
  for (const auto& n : g.nodes())
    if (n->op_type == op) out.push_back(n.get());
  return out;
}

// The activation QuantizeLinear feeding `op`'s input `slot` (through its DequantizeLinear).
const ir::Node* quantizer_of(const ir::Graph& g, const std::string& op, size_t slot) {
  const ir::Node* n = nodes_of(g, op).at(0);
  const ir::Node* dq = n->input(slot)->producer();
  if (!dq || dq->op_type != "DequantizeLinear") return nullptr;
  return dq->input(0)->producer();
}

TEST(QuantizeStatic, InsertsQdqForActivationsAndIntegerWeights) {
  ir::Model m = testing::model_from_text(kNet);
  ir::Model original = testing::model_from_text(kNet);
  auto calib = samples(m, 4);
  auto stats = quantize(m, "", calib);
  EXPECT_EQ(stats["activations_quantized"], 3);  // x (Conv), r and c (Add)
  EXPECT_EQ(stats["weights_quantized"], 1);
  EXPECT_EQ(stats.count("biases_quantized"), 0u);
  EXPECT_EQ(nodes_of(*m.graph, "QuantizeLinear").size(), 3u);
  const ir::Node* conv = nodes_of(*m.graph, "Conv")[0];
  const ir::Node* wdq = conv->input(1)->producer();
  ASSERT_EQ(wdq->op_type, "DequantizeLinear");
  EXPECT_EQ(wdq->input(0)->constant().dtype(), ir::DataType::kInt8);
  EXPECT_EQ(wdq->input(1)->constant().numel(), 4);  // per channel
  // The bias stays a float constant: runtimes derive the int32 bias from the scales.
  ASSERT_TRUE(conv->input(2)->is_constant());
  EXPECT_EQ(conv->input(2)->constant().dtype(), ir::DataType::kFloat);
  const ir::Node* q = quantizer_of(*m.graph, "Conv", 0);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->input(2)->constant().dtype(), ir::DataType::kUint8);
  EXPECT_NO_THROW(formats::onnx::check_model(m));

  // Close to float on the calibration data (the literal QDQ semantics).
  rt::Session a(original), b(m);
  metrics::OutputDiffAccumulator acc("y");
  for (const auto& s : calib) acc.add(a.run(s)[0], b.run(s)[0]);
  EXPECT_GT(acc.result().sqnr_db, 25.0);
}

// bias=int32: DQ(round(b / (sx*sw[c])), sx*sw[c]), the bias an integer kernel adds.
// A nearest Resize's quantized output shares its input's scale and zero point
// (the same constants), so a runtime moves the bytes.
TEST(QuantizeStatic, NearestResizeSharesItsInputsParameters) {
  constexpr const char* kMovers = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 6, 6] x) => (float[1, 2, 6, 6] y)
    <float[2, 2, 1, 1] w = {0.5, -0.25, 0.75, 1.0}, float[4] sc = {1.0, 1.0, 2.0, 2.0}>
    {
      c = Conv<kernel_shape = [1, 1]>(x, w)
      p = MaxPool<kernel_shape = [2, 2], strides = [2, 2]>(c)
      r = Resize<mode = "nearest">(p, , sc)
      y = Conv<kernel_shape = [1, 1]>(r, w)
    })";
  ir::Model m = testing::model_from_text(kMovers);
  auto stats = quantize(m, "", samples(m, 4));
  EXPECT_EQ(stats["activations_sharing_input_params"], 1);
  const ir::Node* pool_q = quantizer_of(*m.graph, "MaxPool", 0);
  const ir::Node* resize_q = quantizer_of(*m.graph, "Resize", 0);
  const ir::Node* conv_q = nodes_of(*m.graph, "Conv").at(1)->input(0)->producer()->input(0)->producer();
  ASSERT_TRUE(pool_q && resize_q && conv_q);
  for (size_t i : {1, 2}) {
    EXPECT_EQ(conv_q->input(i), resize_q->input(i)) << "the Resize's output has its input's constants";
    EXPECT_NE(resize_q->input(i), pool_q->input(i)) << "the MaxPool's output has its own";
  }
  // The runner moves the bytes, and they are the literal nodes' bytes.
  auto feed = samples(m, 1, 9)[0];
  rt::Session literal(m, rt::SessionOptions{1, false}), integer(m, rt::SessionOptions{1, true});
  EXPECT_EQ(integer.run(feed)[0].as_double(), literal.run(feed)[0].as_double());
  integer.run(feed);
  std::string moved = nodes_of(*m.graph, "Resize")[0]->input(0)->name();
  for (const ir::Node* n : integer.last_stats().nodes) EXPECT_NE(n->output(0)->name(), moved) << "the Resize read floats";
}

TEST(QuantizeStatic, Int32BiasHasTheAccumulatorScale) {
  ir::Model m = testing::model_from_text(kNet);
  ir::Model original = testing::model_from_text(kNet);
  auto calib = samples(m, 4);
  auto stats = quantize(m, ", bias=int32", calib);
  EXPECT_EQ(stats["biases_quantized"], 1);
  const ir::Node* conv = nodes_of(*m.graph, "Conv")[0];
  const ir::Node* bdq = conv->input(2)->producer();
  ASSERT_NE(bdq, nullptr);
  ASSERT_EQ(bdq->op_type, "DequantizeLinear");
  EXPECT_EQ(bdq->input(0)->constant().dtype(), ir::DataType::kInt32);
  auto bscale = bdq->input(1)->constant().as_double();
  auto wscale = conv->input(1)->producer()->input(1)->constant().as_double();
  float sx = static_cast<float>(quantizer_of(*m.graph, "Conv", 0)->input(1)->constant().as_double()[0]);
  ASSERT_EQ(bscale.size(), wscale.size());
  for (size_t c = 0; c < bscale.size(); ++c) EXPECT_FLOAT_EQ(bscale[c], sx * static_cast<float>(wscale[c]));
  auto original_bias = original.graph->nodes()[0]->input(2)->constant().as_double();
  auto q = bdq->input(0)->constant().as_int64();
  for (size_t c = 0; c < q.size(); ++c) EXPECT_NEAR(q[c] * bscale[c], original_bias[c], 0.5 * bscale[c] + 1e-7);
  EXPECT_NO_THROW(formats::onnx::check_model(m));
  PassContext ctx;
  EXPECT_THROW(Pipeline::parse("quantize(int8, weights-only, bias=int32)").run(m, ctx, false), Error);
}

TEST(QuantizeStatic, OptionsChangeWhatTheyShould) {
  auto calib = samples(testing::model_from_text(kNet), 4);
  {  // int8 activations, symmetric: zero point 0 of type int8
    ir::Model m = testing::model_from_text(kNet);
    quantize(m, ", int8-activations, symmetric", calib);
    const ir::Node* q = quantizer_of(*m.graph, "Conv", 0);
    EXPECT_EQ(q->input(2)->constant().dtype(), ir::DataType::kInt8);
    EXPECT_EQ(q->input(2)->constant().as_int64()[0], 0);
  }
  {  // uint8 symmetric: zero point 128
    ir::Model m = testing::model_from_text(kNet);
    quantize(m, ", symmetric", calib);
    EXPECT_EQ(quantizer_of(*m.graph, "Conv", 0)->input(2)->constant().as_int64()[0], 128);
  }
  {  // one weight scale
    ir::Model m = testing::model_from_text(kNet);
    quantize(m, ", per-channel=false", calib);
    EXPECT_EQ(nodes_of(*m.graph, "Conv")[0]->input(1)->producer()->input(1)->constant().numel(), 1);
  }
  {  // skip-ops keeps Add's inputs float
    ir::Model m = testing::model_from_text(kNet);
    auto stats = quantize(m, ", skip-ops=Add", calib);
    EXPECT_EQ(stats["activations_quantized"], 1);
    EXPECT_EQ(quantizer_of(*m.graph, "Add", 0), nullptr);
  }
  {  // skip= by node-name glob keeps the Conv's input, weight and bias float
    ir::Model m = testing::model_from_text(kNet);
    for (const auto& n : m.graph->nodes())
      if (n->op_type == "Conv") n->name = "backbone/conv_first";
    auto stats = quantize(m, ", skip=backbone/*", calib);
    EXPECT_EQ(stats["weights_quantized"], 0);
    EXPECT_EQ(stats["activations_quantized"], 2);  // the Add's two inputs only
    const ir::Node* conv = nodes_of(*m.graph, "Conv")[0];
    EXPECT_TRUE(conv->input(1)->is_constant());
    EXPECT_EQ(quantizer_of(*m.graph, "Conv", 0), nullptr);
  }
  {  // percentile= reaches the calibration: a lower percentile gives a smaller input scale
    ir::Model hi = testing::model_from_text(kNet), lo = testing::model_from_text(kNet);
    quantize(hi, ", percentile=100", calib);
    quantize(lo, ", percentile=90", calib);
    float s_hi = quantizer_of(*hi.graph, "Conv", 0)->input(1)->constant().as_float()[0];
    float s_lo = quantizer_of(*lo.graph, "Conv", 0)->input(1)->constant().as_float()[0];
    EXPECT_LT(s_lo, s_hi);
  }
}

TEST(QuantizeStatic, TensorsComputedFromConstantsGetNoQdq) {
  // BlazeFace pads channels with Concat(x, ConstantOfShape(...)): the zeros are a constant in disguise.
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 2, 2] x) => (float[1, 4, 2, 2] y)
    <int64[4] shape = {1, 2, 2, 2}> {
      zeros = ConstantOfShape(shape)
      y = Concat<axis = 1>(x, zeros)
    })";
  ir::Model m = testing::model_from_text(text);
  auto stats = quantize(m, "", samples(m, 2));
  EXPECT_EQ(stats["activations_quantized"], 1);  // x only
  EXPECT_EQ(nodes_of(*m.graph, "QuantizeLinear").size(), 1u);
}

TEST(QuantizeStatic, CalibrationMethodsClipOutliersDifferently) {
  // 100000 values of an exponential distribution (inverse CDF on a grid): a long
  // thin tail, as ReLU activations have. Max = ln(100000) = 11.5.
  const int n = 100000;
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(-std::log(1.0 - (i + 0.5) / n));
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[100000] x) => (float[100000] y) { y = Relu(x) })");
  std::vector<Sample> s = {{{"x", ir::Tensor::from<float>({n}, v)}}};
  CalibrationOptions o;
  o.method = CalibrationMethod::kMinMax;
  float minmax = calibrate(m, s, {"y"}, o).at("y").hi;
  o.method = CalibrationMethod::kPercentile;
  o.percentile = 99.0;
  float pct = calibrate(m, s, {"y"}, o).at("y").hi;
  o.method = CalibrationMethod::kEntropy;
  float entropy = calibrate(m, s, {"y"}, o).at("y").hi;
  std::printf("exponential: minmax %.3f, percentile(99) %.3f, entropy %.3f\n", minmax, pct, entropy);
  EXPECT_NEAR(minmax, std::log(2.0 * n), 1e-3);
  EXPECT_NEAR(pct, std::log(100.0), 0.02);  // the 99th percentile of Exp(1)
  EXPECT_LT(entropy, 0.9 * minmax);
  EXPECT_GT(entropy, pct);
  EXPECT_EQ(calibrate(m, s, {"y"}, o).at("y").lo, 0.0f);
  // The KL search on its own: a histogram decaying over 2048 bins clips its tail,
  // while one that is flat (every range quantizes it equally well) keeps it all.
  std::vector<double> decay(2048), flat(2048, 10.0);
  for (int i = 0; i < 2048; ++i) decay[i] = std::floor(1e6 * std::exp(-i / 100.0));
  double t = entropy_threshold(decay, 1.0);
  EXPECT_GT(t, 128.0);
  EXPECT_LT(t, 1800.0);
  EXPECT_EQ(entropy_threshold(flat, 1.0), 2048.0);
}

TEST(QuantizeStatic, BadCalibrationDataIsAClearError) {
  auto message = [](const std::string& options, std::vector<Sample> calib) {
    ir::Model m = testing::model_from_text(kNet);
    try {
      quantize(m, options, std::move(calib));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ir::Model m = testing::model_from_text(kNet);
  EXPECT_NE(message("", {}).find("holds no samples"), std::string::npos);
  // A sample with the wrong shape.
  std::vector<Sample> wrong = {{{"x", ir::Tensor::zeros(ir::DataType::kFloat, {1, 3, 6, 6})}}};
  std::string e = message("", wrong);
  EXPECT_NE(e.find("calibration sample 1 of 1"), std::string::npos) << e;
  // No calib= at all.
  try {
    Pipeline::parse("quantize(int8)");
    ir::Model m2 = testing::model_from_text(kNet);
    PassContext ctx;
    Pipeline::parse("quantize(int8)").run(m2, ctx, false);
    FAIL() << "static int8 without calib ran";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("calib=DIR"), std::string::npos) << err.what();
  }
  PassContext ctx;
  EXPECT_THROW(Pipeline::parse("quantize(int8, weights-only, calib=x)").run(m, ctx, false), Error);
}

TEST(QuantizeStatic, IsDeterministic) {
  auto calib = samples(testing::model_from_text(kNet), 3);
  ir::Model a = testing::model_from_text(kNet), b = testing::model_from_text(kNet);
  quantize(a, ", method=entropy", calib);
  quantize(b, ", method=entropy", calib);
  EXPECT_EQ(formats::onnx::serialize_model(a), formats::onnx::serialize_model(b));
}

// Every real CNN: at most 30% of the original file, valid, and the same in ONNX
// Runtime (literal QDQ) as in pare's runner computing the QDQ nodes literally.
// pare's integer kernels (fixed-point Adds, as ONNX Runtime's QLinearAdd) are
// held to ONNX Runtime's own int8 kernels instead: as close to the float model
// as they are. Calibrated and compared on seeded inputs; strip runs last.
TEST(QuantizeStatic, RealModelsRunInOnnxRuntimeAsInTheRunner) {
  const std::set<std::string> cnns = {"ch_PP-OCRv4_det_infer.onnx", "mlsd_320x320_tiny.onnx",
                                      "ch_ppocr_mobile_v2.0_cls_infer.onnx",
                                      "face_detection_front_128x128_barracuda.onnx"};
  for (const std::string& path : testing::real_models()) {
    std::string name = std::filesystem::path(path).filename().string();
    if (!cnns.count(name)) continue;
    SCOPED_TRACE(name);
    ir::Model m = formats::onnx::load_model(path);
    auto dims = testing::dims_for(path);
    // Seeds 9-11 (the comparison below pools them; one input is noisy).
    std::vector<std::vector<ir::Tensor>> float_outputs;
    for (uint64_t seed = 9; seed <= 11; ++seed)
      float_outputs.push_back(testing::run_model(m, testing::seeded_inputs(m, dims, seed)));
    std::vector<Sample> calib = testing::seeded_samples(m, dims, 1, 3);
    PassContext ctx;
    ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return calib; };
    Pipeline::parse("fold, fuse-bn, fuse-act, dce, quantize(int8, calib=seeded), strip").run(m, ctx, false);
    std::string out = testing::temp_dir() + "/" + name;
    formats::onnx::save_model(m, out);
    double fraction = static_cast<double>(metrics::measure_file(out).file_bytes) /
                      static_cast<double>(metrics::measure_file(path).file_bytes);
    std::printf("%s: static int8 file %.1f%% of the original\n", name.c_str(), 100 * fraction);
    EXPECT_LE(fraction, 0.30);
    auto inputs = testing::seeded_inputs(m, dims, 9);
    rt::SessionOptions literal_nodes;
    literal_nodes.integer = false;
    rt::Session s(m, literal_nodes), integer(m);
    Sample feed;
    for (size_t k = 0; k < inputs.size(); ++k) feed[s.input_names()[k]] = inputs[k];
    auto ours = s.run(feed);
    auto theirs = testing::run_ort(out, inputs, 1, "disabled");
    ASSERT_EQ(ours.size(), theirs.size());
    // Against the float model, pare's integer kernels and ONNX Runtime's, pooled
    // over three inputs. BlazeFace's outputs 1 and 3 keep 13-19 dB in both (a
    // step in one residual Add moves them that much: ONNX Runtime's QLinearAdd
    // against its own literal nodes, 18 dB), hence a margin of 3 dB.
    std::vector<metrics::OutputDiffAccumulator> ours_acc, theirs_acc;
    for (size_t k = 0; k < ours.size(); ++k) {
      ours_acc.emplace_back("out");
      theirs_acc.emplace_back("out");
    }
    for (uint64_t seed = 9; seed <= 11; ++seed) {
      auto in = testing::seeded_inputs(m, dims, seed);
      Sample f;
      for (size_t k = 0; k < in.size(); ++k) f[s.input_names()[k]] = in[k];
      auto a = integer.run(f), b = testing::run_ort(out, in, 1, "all");
      for (size_t k = 0; k < ours.size(); ++k) {
        ours_acc[k].add(float_outputs[seed - 9][k], a[k]);
        theirs_acc[k].add(float_outputs[seed - 9][k], b[k]);
      }
    }
    for (size_t k = 0; k < ours.size(); ++k) {
      double ours_db = ours_acc[k].result().sqnr_db, theirs_db = theirs_acc[k].result().sqnr_db;
      std::printf("  output %zu: against float, integer kernels %.1f dB, ORT's %.1f dB\n", k, ours_db, theirs_db);
      // PP-OCRv4 det's saturated sigmoid on noise: 0-7 dB in both, no measure (below).
      if (name != "ch_PP-OCRv4_det_infer.onnx") EXPECT_GE(ours_db, theirs_db - 3.0) << "output " << k;
      // Float sums in a different order can move a value across a rounding
      // boundary of one QuantizeLinear; the step then propagates. Measured:
      // >= 37 dB on every output but PP-OCRv4 det's (saturated sigmoid on noise)
      // with -march=native; the portable x86-64-v2 build (no FMA, so other
      // roundings than ORT's kernels) gave 29.3 dB on the classifier, 33.9 dB on
      // M-LSD tiny (AMD EPYC, 2026-12-02), hence 25 dB.
      metrics::OutputDiffAccumulator acc("out");
      acc.add(theirs[k], ours[k]);
      auto d = acc.result();
      std::printf("  output %zu: runner vs ORT SQNR %.1f dB\n", k, d.sqnr_db);
      ASSERT_EQ(ours[k].dims(), theirs[k].dims());
      if (name != "ch_PP-OCRv4_det_infer.onnx") {
        EXPECT_GT(d.sqnr_db, 25.0) << "output " << k;
      }
    }
  }
}

// Every Conv of the classifier runs as an integer kernel in ONNX Runtime (the
// ones before HardSigmoid too, whose input static int8 quantizes for that), and
// float biases cost none: ORT derives the int32 bias from the scales at load and
// fuses each Conv group into QLinearConv exactly as when the file stores the
// int32 bias (bias=int32).
TEST(QuantizeStatic, OnnxRuntimeFusesConvWithFloatBiasesAsWithInt32Biases) {
  std::string path = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  std::map<std::string, std::map<std::string, int>> ops;
  for (const std::string bias : {"float", "int32"}) {
    ir::Model m = formats::onnx::load_model(path);
    auto dims = testing::dims_for(path);
    rt::Session probe(m);
    std::vector<Sample> calib;
    for (uint64_t seed = 1; seed <= 2; ++seed) {
      auto t = testing::seeded_inputs(m, dims, seed);
      calib.push_back({{probe.input_names()[0], t[0]}});
    }
    PassContext ctx;
    ctx.load_samples = [&](const std::string&, const std::vector<std::string>&) { return calib; };
    Pipeline::parse("fold, fuse-bn, quantize(int8, calib=seeded, bias=" + bias + ")").run(m, ctx, false);
    std::string out = testing::temp_dir() + "/cls_" + bias + ".onnx";
    formats::onnx::save_model(m, out);
    ops[bias] = testing::ort_optimized_ops(out);
  }
  std::printf("QLinearConv after ORT's optimisations: float bias %d, int32 bias %d\n", ops["float"]["QLinearConv"],
              ops["int32"]["QLinearConv"]);
  EXPECT_EQ(ops["float"]["QLinearConv"], 53);  // the classifier's 53 Conv
  EXPECT_EQ(ops["float"]["Conv"] + ops["float"]["FusedConv"], 0);
  EXPECT_EQ(ops["float"]["QLinearConv"], ops["int32"]["QLinearConv"]);
}

// PP-OCRv4 rec (opset 9) has a Softmax with a negative axis on a tensor whose
// rank the file does not record: raising it to opset 13 needs that rank, which
// now comes from one run on a calibration sample. The model quantizes, runs, and
// the file records no more shapes than the plain opset upgrade gives.
TEST(QuantizeStatic, TakesTheRanksAnOpsetUpgradeNeedsFromARun) {
  std::string path = testing::fetched_model("ch_PP-OCRv4_rec_infer.onnx");
  ir::Model m = formats::onnx::load_model(path);
  auto dims = testing::dims_for(path);
  std::vector<Sample> calib;
  for (uint64_t s = 1; s <= 2; ++s) calib.push_back({{"x", testing::seeded_inputs(m, dims, s)[0]}});
  ir::Model reference = formats::onnx::load_model(path);
  auto stats = quantize(m, "", calib);
  EXPECT_EQ(stats["opset_upgraded_from"], 9);
  EXPECT_GT(stats["activations_quantized"], 100);
  size_t shaped = 0;
  for (const auto& n : m.graph->nodes())
    for (const ir::Value* v : n->outputs()) shaped += v && v->shape && !v->shape->dims.empty() && !v->shape->dims[0].is_known() &&
                                                 v->shape->dims[0].symbol.empty();
  EXPECT_EQ(shaped, 0u) << "rank-only shapes lent for the upgrade were left in the model";
  rt::Session a(reference), b(m);
  auto ya = a.run(calib[0]), yb = b.run(calib[0]);
  ASSERT_EQ(ya.size(), yb.size());
  EXPECT_EQ(ya[0].dims(), yb[0].dims());
}

}  // namespace
}  // namespace pare::passes
