// True accuracy on a real labeled task: the PP-OCR text-direction classifier
// (upright = 0, rotated 180 degrees = 1) on text-line images rendered here with
// DejaVu Sans, calibrated on one set and evaluated on another. Static int8 must
// stay within 1 point of float32, and ONNX Runtime must agree with pare's runner
// on the quantized model.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/runtime/session.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_lines.h"

namespace pare {
namespace {

// 1000 lines: one line is 0.1 point, so the 1-point bound is not at the mercy of
// a few borderline lines (with 200, two flips were a point).
constexpr int kCalib = 32, kEval = 1000;

struct TextSets {
  std::string dir, calib, eval;
};

const TextSets& text_sets() {
  static TextSets sets = [] {
    TextSets s;
    s.dir = testing::temp_dir();
    s.calib = s.dir + "/calib";
    s.eval = s.dir + "/eval";
    testing::write_text_direction_set(s.calib, kCalib, 100);
    testing::write_text_direction_set(s.eval, kEval, 7);
    return s;
  }();
  return sets;
}

// The classifier's own preprocessing: 192x48 RGB, (x/255 - 0.5) / 0.5.
std::vector<std::string> image_flags() { return {"--image-size", "192x48", "--mean", "0.5", "--std", "0.5"}; }

nlohmann::json shrink(const std::string& passes, const std::string& out) {
  const TextSets& s = text_sets();
  std::string cls = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  std::vector<std::string> args = {testing::pare_bin(), "shrink", cls, "-o", out, "--passes", passes,
                                   "--data", s.eval, "--labels", s.eval + "/labels.txt", "--report", out + ".json"};
  for (const auto& f : image_flags()) args.push_back(f);
  auto c = testing::run_command(args);
  EXPECT_EQ(c.exit_code, 0) << c.err;
  return nlohmann::json::parse(read_file(out + ".json"));
}

TEST(Accuracy, StaticInt8OnTheTextDirectionClassifierStaysWithinOnePoint) {
  const TextSets& s = text_sets();
  std::string out = s.dir + "/cls_int8.onnx";
  auto report = shrink("fold, fuse-bn, fuse-act, dce, quantize(int8, calib=" + s.calib + ")", out);
  double before = report["accuracy"]["before"], after = report["accuracy"]["after"];
  std::printf("text direction: float32 %.4f, static int8 %.4f on %d rendered lines\n", before, after, kEval);
  EXPECT_GE(before, 0.9) << "the float model should read rendered text lines";
  EXPECT_LE(std::fabs(after - before), 0.01);
  // Measured: 97.8% of the lines get the same class from both models.
  EXPECT_GE(report["fidelity"][0]["top1_agreement"].get<double>(), 0.97);
  const nlohmann::json& quantize = report["passes"][4];  // fold, fuse-bn, fuse-act, dce, quantize
  for (const char* key : {"activations_quantized", "weights_quantized"})
    EXPECT_GT(quantize["stats"][key].get<int>(), 0) << key;
  EXPECT_EQ(quantize["stats"]["samples"], kCalib);
  // Per-layer error needs no labels; spot-check that it lists tensors worst first.
  std::vector<std::string> args = {testing::pare_bin(), "shrink",  testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
                                   "-o", s.dir + "/w8.onnx", "--passes", "quantize(int8, weights-only)", "--data", s.calib,
                                   "--per-layer", "--report", s.dir + "/w8.json"};
  for (const auto& f : image_flags()) args.push_back(f);
  auto c = testing::run_command(args);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto layers = nlohmann::json::parse(read_file(s.dir + "/w8.json"))["per_layer"];
  ASSERT_GT(layers.size(), 50u);
  for (size_t i = 1; i < layers.size(); ++i)
    EXPECT_LE(layers[i - 1]["sqnr_db"].get<double>(), layers[i]["sqnr_db"].get<double>());
}

TEST(Accuracy, OnnxRuntimeAgreesWithTheRunnerOnTheStaticInt8Classifier) {
  const TextSets& s = text_sets();
  std::string out = s.dir + "/cls_int8_ort.onnx";
  shrink("quantize(int8, calib=" + s.calib + ", method=minmax)", out);
  ir::Model m = formats::onnx::load_model(out);
  rt::Session session(m);
  formats::ImageOptions img;
  formats::parse_image_size("--image-size", "192x48", img);
  img.mean = {0.5f};
  img.std = {0.5f};
  auto set = formats::read_sample_set(s.eval, session.input_names(), img);
  // Literal QDQ (ORT without graph optimisations) and ORT's fused int8 kernels.
  for (const std::string opt : {"disabled", "all"}) {
    int agree = 0, n = 8;
    std::vector<double> per_sample;  // each sample's largest |difference| of probabilities
    for (int i = 0; i < n; ++i) {
      auto ours = session.run(set.samples[i])[0].as_double();
      auto theirs = testing::run_ort(out, {set.samples[i].begin()->second}, 1, opt)[0].as_double();
      ASSERT_EQ(ours.size(), theirs.size());
      size_t a = std::max_element(ours.begin(), ours.end()) - ours.begin();
      size_t b = std::max_element(theirs.begin(), theirs.end()) - theirs.begin();
      agree += a == b;
      double worst = 0;
      for (size_t k = 0; k < ours.size(); ++k) worst = std::max(worst, std::fabs(ours[k] - theirs[k]));
      per_sample.push_back(worst);
    }
    std::vector<double> sorted = per_sample;
    std::sort(sorted.begin(), sorted.end());
    double median = (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    std::printf("ORT (%s) vs runner: top-1 agree %d/%d, |diff| of probabilities per sample: median %.4f, max %.4f\n",
                opt.c_str(), agree, n, median, sorted.back());
    EXPECT_EQ(agree, n) << opt;
    // Both run the same QDQ graph; they differ only where a float sum lands on the
    // other side of a rounding boundary, and such a flip early in the network
    // grows layer by layer. Which samples it hits depends on the CPU's kernels
    // (on an AMD EPYC the worst of 8 lines moved by 0.16 where an Intel Xeon stayed
    // below 0.02), so the typical sample is held tight and the worst one loosely.
    EXPECT_LT(median, opt == "disabled" ? 0.02 : 0.05) << opt;
    EXPECT_LT(sorted.back(), 0.25) << opt;
  }
}

// Palettes and int4 on the same 1000 lines: 6-bit loses at most half a point of
// top-1 and 4-bit at most one point (the palettization issue's bounds); the other
// storage modes are printed for docs/quantization.md.
TEST(Accuracy, PalettesAndInt4OnTheTextDirectionClassifier) {
  const TextSets& s = text_sets();
  struct Mode {
    std::string passes;
    double max_drop;  // < 0: printed only
  };
  double before = -1;
  for (const Mode& m : std::vector<Mode>{{"quantize(fp16)", -1},
                                         {"quantize(int8, weights-only)", -1},
                                         {"quantize(int4, weights-only, block=32)", -1},
                                         {"palettize(bits=8)", -1},
                                         {"palettize(bits=6)", 0.005},
                                         // One table for every channel (channel-scale=false) loses 8 points here
                                         // (86.1%): printed, so docs/quantization.md can say what the scales buy.
                                         {"palettize(bits=4)", 0.01},
                                         {"palettize(bits=4, channel-scale=false)", -1},
                                         {"palettize(bits=2)", -1}}) {
    SCOPED_TRACE(m.passes);
    std::string out = s.dir + "/cls_palette.onnx";
    auto report = shrink("fold, fuse-bn, fuse-act, dce, " + m.passes + ", strip", out);
    double b = report["accuracy"]["before"], after = report["accuracy"]["after"];
    if (before < 0) before = b;
    EXPECT_EQ(b, before);
    std::printf("text direction, %s: float32 %.4f, stored %.4f (file %lld, download %lld bytes)\n", m.passes.c_str(), b,
                after, static_cast<long long>(report["after"]["file_bytes"].get<int64_t>()),
                static_cast<long long>(report["after"]["download_bytes"].get<int64_t>()));
    if (m.max_drop >= 0) EXPECT_GE(after, b - m.max_drop);
  }
}

// --min-accuracy and --max-top1-drop both ways, around the figures a first run
// measured. With labels the top-1 drop is the accuracy lost (lines the original
// got right and the model wrong, which is at least the net drop); without, the
// disagreement with the original (which counts every flipped line).
TEST(Accuracy, AccuracyAndTopOneBudgetsBothWays) {
  const TextSets& s = text_sets();
  std::string out = s.dir + "/budget.onnx";
  auto report = shrink("prune(sparsity=0.5)", out);
  double acc = report["accuracy"]["after"];
  double drop = 100.0 * report["accuracy"]["lost"].get<double>();
  double net = 100.0 * (report["accuracy"]["before"].get<double>() - acc);
  double disagreement = 100.0 * (1.0 - report["fidelity"][0]["top1_agreement"].get<double>());
  ASSERT_LT(acc, 1.0);
  ASSERT_GT(net, 0.0) << "pruning half the weights should cost accuracy";
  EXPECT_GE(drop, net - 1e-9);
  ASSERT_GT(disagreement, drop + 0.02) << "some lines should flip both ways";
  auto run = [&](const std::string& flag, double limit, bool labels = true) {
    std::vector<std::string> args = {testing::pare_bin(), "shrink", testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
                                     "-o", out, "--passes", "prune(sparsity=0.5)", "--data", s.eval,
                                     flag, fmt::format("{}", limit)};
    if (labels) args.insert(args.end(), {"--labels", s.eval + "/labels.txt"});
    for (const auto& f : image_flags()) args.push_back(f);
    return testing::run_command(args);
  };
  EXPECT_EQ(run("--min-accuracy", acc - 0.001).exit_code, 0);
  auto low = run("--min-accuracy", acc + 0.001);
  EXPECT_EQ(low.exit_code, 1);
  EXPECT_NE(low.err.find("pare: check failed: " + out + ": accuracy"), std::string::npos) << low.err;
  EXPECT_EQ(run("--max-top1-drop", drop + 0.01).exit_code, 0);
  auto high = run("--max-top1-drop", drop - 0.01);
  EXPECT_EQ(high.exit_code, 1);
  EXPECT_NE(high.err.find("top-1 drop"), std::string::npos) << high.err;
  EXPECT_EQ(run("--max-top1-drop", disagreement + 0.01, false).exit_code, 0);
  EXPECT_EQ(run("--max-top1-drop", disagreement - 0.01, false).exit_code, 1);
}

}  // namespace
}  // namespace pare
