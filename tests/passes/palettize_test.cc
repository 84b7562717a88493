// palettize(bits=N) and quantize(int4, weights-only): the clustering, the
// stored forms rebuilt by hand against what the graph computes, sizes of the
// download on real models, ONNX Runtime agreeing with pare's runner, the
// default keep-float rule, determinism and refusals (through the CLI too).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "formats/onnx/onnx.h"
#include "lib/base/fp16.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/size.h"
#include "lib/metrics/storage.h"
#include "passes/palettize.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

using testing::run_pipeline;
using testing::worst_sqnr;

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.1f);
  std::vector<float> v(n);
  for (float& f : v) f = d(rng);
  return v;
}

TEST(Palettize, FewDistinctValuesAreKeptExactly) {
  std::vector<float> v = {0.5f, -1.0f, 0.5f, 2.0f, -1.0f, 0.25f};
  Palette p = palettize_values(v, 2);
  EXPECT_EQ(p.table, (std::vector<float>{-1.0f, 0.25f, 0.5f, 2.0f}));
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(p.table[p.index[i]], v[i]);
}

TEST(Palettize, TableIsSortedIndicesNearestAndBetterThanAUniformGrid) {
  auto v = gaussian(5000, 3);
  for (int bits : {2, 4, 6, 8}) {
    SCOPED_TRACE(bits);
    Palette p = palettize_values(v, bits);
    ASSERT_LE(p.table.size(), size_t{1} << bits);
    EXPECT_TRUE(std::is_sorted(p.table.begin(), p.table.end()));
    EXPECT_EQ(std::adjacent_find(p.table.begin(), p.table.end()), p.table.end());
    double err = 0, grid_err = 0;
    float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
    float step = (hi - lo) / static_cast<float>((1 << bits) - 1);
    for (size_t i = 0; i < v.size(); ++i) {
      // Nearest: no other entry is closer.
      for (float t : p.table) ASSERT_LE(std::fabs(p.table[p.index[i]] - v[i]), std::fabs(t - v[i]));
      err += std::pow(p.table[p.index[i]] - v[i], 2);
      grid_err += std::pow(lo + std::nearbyint((v[i] - lo) / step) * step - v[i], 2);
    }
    // k-means puts entries where the weights are: less error than evenly spaced levels.
    EXPECT_LT(err, grid_err);
  }
}

const char* kConvModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, IN, 6, 6] x) => (float[1, 8, 4, 4] y) <float[8, IN, 3, 3] w = {WEIGHTS}> {
    h = Relu(x)
    y = Conv(h, w)
  })";

// A 3x3 Conv from `in` channels to 8 with weights w.
std::string conv_model_text(const std::vector<float>& w, int in = 4) {
  std::string weights;
  for (size_t i = 0; i < w.size(); ++i) weights += (i ? ", " : "") + fmt::format("{:.9g}", w[i]);
  std::string t = kConvModel;
  for (size_t at; (at = t.find("IN")) != std::string::npos;) t.replace(at, 2, std::to_string(in));
  t.replace(t.find("WEIGHTS"), 7, weights);
  return t;
}

// The 8 x 4 x 3 x 3 weights of conv_model_text, channel c scaled by 2^c / 16:
// channels of very different sizes, as BatchNorm folding leaves them.
std::vector<float> widening_channels(uint32_t seed) {
  auto w = gaussian(8 * 4 * 9, seed);
  for (int c = 0; c < 8; ++c)
    for (int i = 0; i < 36; ++i) w[c * 36 + i] *= static_cast<float>(1 << c) / 16.0f;
  return w;
}

// The weights the stored graph decodes equal the table lookups done here by
// hand (per group of output channels; with channel-scale, lookups in a table of
// weights divided by their channel's float16 max |w|, times that scale), so the
// Conv outputs agree exactly.
TEST(Palettize, StoredFormComputesTheNaiveReconstruction) {
  auto w = widening_channels(5);
  for (bool channel_scale : {false, true})
    for (int64_t group : {0, 2, 3}) {
      SCOPED_TRACE(fmt::format("group={} channel-scale={}", group, channel_scale));
      ir::Model m = testing::model_from_text(conv_model_text(w));
      auto stats = run_pipeline(m, fmt::format("palettize(bits=3, group={}, channel-scale={})", group, channel_scale));
      EXPECT_EQ(stats["palettized"], 1);
      std::vector<float> scale(8, 1.0f), shape = w;
      if (channel_scale)
        for (int c = 0; c < 8; ++c) {
          float m = 0;
          for (int i = 0; i < 36; ++i) m = std::max(m, std::fabs(w[c * 36 + i]));
          scale[c] = half_to_float(float_to_half(m));
          for (int i = 0; i < 36; ++i) shape[c * 36 + i] = w[c * 36 + i] / scale[c];
        }
      std::vector<float> naive(w.size());
      int64_t g = group ? group : 8;
      for (int64_t start = 0; start < 8; start += g) {
        int64_t end = std::min<int64_t>(8, start + g);
        std::vector<float> part(shape.begin() + start * 36, shape.begin() + end * 36);
        Palette p = palettize_values(part, 3);
        for (size_t i = 0; i < part.size(); ++i) {
          // With channel scales the table is stored as float16.
          float v = channel_scale ? half_to_float(float_to_half(p.table[p.index[i]])) : p.table[p.index[i]];
          naive[start * 36 + i] = channel_scale ? v * scale[start + static_cast<int64_t>(i) / 36] : v;
        }
      }
      ir::Model expect = testing::model_from_text(conv_model_text(naive));
      auto inputs = testing::seeded_inputs(expect, {});
      auto got = testing::run_model(m, inputs), want = testing::run_model(expect, inputs);
      auto a = got[0].span<float>(), b = want[0].span<float>();
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << i;
      auto storage = metrics::storage_by_tensor(m);
      ASSERT_FALSE(storage.empty());
      EXPECT_EQ(storage[0].name, "w");
      EXPECT_EQ(storage[0].form, "palette-3bit");
      std::string out = testing::temp_dir() + "/p.onnx";
      formats::onnx::save_model(m, out);
      EXPECT_EQ(worst_sqnr(testing::run_ort(out, inputs), testing::run_model(m, inputs)) > 100, true);
    }
}

// One table for channels of different sizes spends its entries on the widest;
// scaled per channel, every channel gets them all (what channel-scale is for).
TEST(Palettize, ChannelScaleKeepsNarrowChannels) {
  auto w = widening_channels(9);
  ir::Model original = testing::model_from_text(conv_model_text(w));
  auto inputs = testing::seeded_inputs(original, {});
  auto expected = testing::run_model(original, inputs);
  auto want = expected[0].span<float>();
  auto narrow_error = [&](bool channel_scale) {  // relative squared error of output channel 0, the narrowest
    ir::Model m = testing::model_from_text(conv_model_text(w));
    run_pipeline(m, fmt::format("palettize(bits=3, channel-scale={})", channel_scale));
    auto got = testing::run_model(m, inputs);
    auto y = got[0].span<float>();
    double err = 0, sig = 0;
    for (int i = 0; i < 16; ++i) err += (y[i] - want[i]) * (y[i] - want[i]), sig += want[i] * want[i];
    return err / sig;
  };
  EXPECT_LT(narrow_error(true), 0.1 * narrow_error(false));
}

// int4 blocks along the input channels: rebuilt by hand (scale = max|block| / 7
// rounded to float16, q = round(w / scale) in [-8, 7]) against the runner's
// DequantizeLinear(block_size) of the stored model. 6 input channels in blocks
// of 4 leave a short last block of 2 (ONNX's ceil rule), which ORT runs too.
TEST(QuantizeInt4, StoredFormComputesTheNaiveReconstruction) {
  struct Case {
    int in, block;
  };
  for (Case c : {Case{4, 2}, Case{6, 4}})
    for (const std::string scales : {"float16", "float32"}) {
      SCOPED_TRACE(fmt::format("in={} block={} scales={}", c.in, c.block, scales));
      auto w = gaussian(static_cast<size_t>(8 * c.in * 9), 7);
      ir::Model m = testing::model_from_text(conv_model_text(w, c.in));
      auto stats = run_pipeline(m, fmt::format("quantize(int4, weights-only, block={}, scales={})", c.block, scales));
      EXPECT_EQ(stats["quantized_int4"], 1);
      EXPECT_EQ(m.opset(""), 21);
      EXPECT_NO_THROW(formats::onnx::check_model(m));
      std::vector<float> naive(w.size());
      for (int o = 0; o < 8; ++o)
        for (int start = 0; start < c.in; start += c.block)
          for (int r = 0; r < 9; ++r) {
            int end = std::min(c.in, start + c.block);
            auto at = [&](int ch) { return (o * c.in + ch) * 9 + r; };
            float s = 0;
            for (int ch = start; ch < end; ++ch) s = std::max(s, std::fabs(w[at(ch)]));
            s /= 7.0f;
            if (scales == "float16") s = half_to_float(float_to_half(s));
            for (int ch = start; ch < end; ++ch) {
              float v = std::clamp(std::nearbyint(w[at(ch)] / s), -8.0f, 7.0f) * s;
              naive[at(ch)] = scales == "float16" ? half_to_float(float_to_half(v)) : v;
            }
          }
      ir::Model expect = testing::model_from_text(conv_model_text(naive, c.in));
      auto inputs = testing::seeded_inputs(expect, {});
      auto got = testing::run_model(m, inputs), want = testing::run_model(expect, inputs);
      auto a = got[0].span<float>(), b = want[0].span<float>();
      for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << i;
      EXPECT_EQ(metrics::storage_by_tensor(m)[0].form, "int4-block");
      std::string out = testing::temp_dir() + "/q4.onnx";
      formats::onnx::save_model(m, out);
      // Lossless save and load of the packed int4 tensor.
      ir::Model back = formats::onnx::load_model(out);
      EXPECT_EQ(formats::onnx::serialize_model(back), formats::onnx::serialize_model(m));
      EXPECT_GT(worst_sqnr(testing::run_ort(out, inputs), testing::run_model(m, inputs)), 100);
    }
}

TEST(Palettize, DefaultRuleKeepsDepthwiseAndFirstConvFloat) {
  ir::Model m = formats::onnx::load_model(testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
  auto stats = run_pipeline(m, "fold, fuse-bn, dce, palettize(bits=4, kept=float32)");
  EXPECT_GT(stats["palettized"], 10);
  EXPECT_GT(stats["kept_depthwise"], 5);
  EXPECT_EQ(stats["kept_first"], 1);
  int depthwise = 0, first = 0, palettes = 0, unexplained = 0;
  for (const auto& s : metrics::storage_by_tensor(m)) {
    depthwise += s.float_reason == "weight, depthwise";
    first += s.float_reason == "weight, first layer";
    palettes += s.form == "palette-4bit";
    unexplained += s.float_reason == "weight";
  }
  // storage_by_tensor knows no table size: the pass's "small for its table" reads as plain "weight".
  EXPECT_EQ(unexplained, stats["kept_small"]);
  EXPECT_EQ(depthwise, stats["kept_depthwise"]);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(palettes, stats["palettized"]);
  ir::Model all = formats::onnx::load_model(testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
  auto all_stats = run_pipeline(all, "fold, fuse-bn, dce, palettize(bits=4, depthwise=true, first=true)");
  EXPECT_EQ(all_stats["palettized"], stats["palettized"] + stats["kept_depthwise"] + stats["kept_first"]);
  // depthwise=auto (the default) palettizes depthwise kernels from 6 bits up; depthwise=false keeps them there too.
  std::map<std::string, std::map<std::string, int64_t>> six;
  for (const std::string dw : {"auto", "false"}) {
    ir::Model m6 = formats::onnx::load_model(testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
    six[dw] = run_pipeline(m6, "fold, fuse-bn, dce, palettize(bits=6, depthwise=" + dw + ")");
  }
  EXPECT_GT(six["false"]["kept_depthwise"], 5);
  EXPECT_EQ(six["auto"]["kept_depthwise"], 0);
  EXPECT_EQ(six["auto"]["palettized"], six["false"]["palettized"] + six["false"]["kept_depthwise"]);
  // By default the kept kernels are stored as per-channel int8; kept=float16 as float16.
  for (const std::string kept : {"int8", "float16"}) {
    ir::Model k = formats::onnx::load_model(testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
    auto k_stats = run_pipeline(k, kept == "int8" ? "fold, fuse-bn, dce, palettize(bits=4)"
                                                  : "fold, fuse-bn, dce, palettize(bits=4, kept=float16)");
    int stored = 0;
    for (const auto& s : metrics::storage_by_tensor(k)) stored += s.form == (kept == "int8" ? "int8-dq" : "float16") && s.input == 1;
    EXPECT_EQ(stored, k_stats["kept_depthwise"] + k_stats["kept_first"]) << kept;
  }
}

TEST(Palettize, IsDeterministic) {
  std::string path = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  for (const std::string q : {"palettize(bits=4)", "palettize(bits=6, group=2)", "quantize(int4, weights-only, block=32)"}) {
    std::string bytes[2];
    for (auto& b : bytes) {
      ir::Model m = formats::onnx::load_model(path);
      run_pipeline(m, "fold, fuse-bn, fuse-act, dce, " + q + ", strip");
      b = formats::onnx::serialize_model(m);
    }
    EXPECT_EQ(bytes[0], bytes[1]) << q;
  }
}

TEST(Palettize, BadOptionsAreOneLineAndExitTwo) {
  std::string model = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  std::string out = testing::temp_dir() + "/bad.onnx";
  struct Bad {
    std::string passes, says;
  };
  for (const Bad& b : std::vector<Bad>{
           {"palettize(bits=1)", "option 'bits' must be in [2, 8], got 1"},
           {"palettize(bits=9)", "option 'bits' must be in [2, 8], got 9"},
           {"palettize(bits=4, group=100000)", "group=100000 is larger than the"},
           {"quantize(int4, weights-only, block=3)", "block=3 must be even"},
           {"quantize(int4, weights-only, block=1000000)", "larger than the input channels of every weight"},
           {"quantize(int4, block=32)", "int4 is weights-only"},
           {"quantize(int8, weights-only, bits=1)", "option 'bits' must be in [2, 8], got 1"},
           {"quantize(int8, weights-only, bits=9)", "option 'bits' must be in [2, 8], got 9"},
       }) {
    SCOPED_TRACE(b.passes);
    auto c = testing::run_command({testing::pare_bin(), "shrink", model, "-o", out, "--passes", b.passes});
    EXPECT_EQ(c.exit_code, 2);
    EXPECT_EQ(c.err.rfind("pare: error: ", 0), 0u) << c.err;
    EXPECT_NE(c.err.find(b.says), std::string::npos) << c.err;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

// if-any: a palettize whose only= selects no weight that qualifies keeps the
// model as it is (pare tune's configurations, where channel pruning may take a
// layer's weight below min-size) instead of failing.
TEST(Palettize, IfAnyKeepsAModelWithNothingToPalettize) {
  std::string path = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  ir::Model plain = formats::onnx::load_model(path), tolerant = formats::onnx::load_model(path);
  EXPECT_THROW(run_pipeline(plain, "palettize(bits=4, only=no-such-node)"), Error);
  auto stats = run_pipeline(tolerant, "palettize(bits=4, if-any, only=no-such-node)");
  EXPECT_EQ(stats["palettized"], 0);
  EXPECT_EQ(formats::onnx::serialize_model(tolerant), formats::onnx::serialize_model(formats::onnx::load_model(path)));
}

// Download bytes (raw deflate of the file, level 9) against the original file's,
// with `fold, fuse-bn, fuse-act, dce, <q>, strip`; every output runs in ONNX
// Runtime close to pare's runner. The bounds are the palettization issue's
// targets where they hold (4-bit <= 15% on the models over 1 MB and <= 20% on
// the classifier, 6-bit <= 20% on those over 1 MB and <= 25% on the
// classifier, int4 <= 17% on the recogniser); where they do not, the bound
// sits just above the measured figure, so a regression still fails, and
// docs/quantization.md says which targets are missed: BlazeFace (4-bit 25.8%
// for 20%, 6-bit 35.7% for 25%). det's 6-bit download is 19.97%: at the bound.
// M-LSD 512 large is measured in the docs only (80 s per shrink).
struct SizeCase {
  std::string model;
  double max_p4, max_p6, max_int4;  // download fractions; <= 0: not asserted
};

std::vector<SizeCase> size_cases() {
  return {{testing::testdata_model("face_detection_front_128x128_barracuda.onnx"), 0.265, 0.36, 0},
          {testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"), 0.20, 0.25, 0},
          {testing::fetched_model("ch_PP-OCRv4_det_infer.onnx"), 0.15, 0.20, 0},
          {testing::fetched_model("ch_PP-OCRv4_rec_infer.onnx"), 0.15, 0.20, 0.17},
          {testing::fetched_model("mlsd_320x320_tiny.onnx"), 0.15, 0.20, 0}};
}

TEST(Palettize, DownloadTargetsOnRealModelsAndOrtAgrees) {
  for (const SizeCase& c : size_cases()) {
    SCOPED_TRACE(c.model);
    ir::Model original = formats::onnx::load_model(c.model);
    double original_download = static_cast<double>(metrics::measure_file(c.model).download_bytes);
    auto inputs = testing::seeded_inputs(original, testing::dims_for(c.model));
    for (const std::string q : {"palettize(bits=4)", "palettize(bits=6)", "quantize(int4, weights-only, block=32)"}) {
      double limit = q == "palettize(bits=4)" ? c.max_p4 : q == "palettize(bits=6)" ? c.max_p6 : c.max_int4;
      if (limit <= 0) continue;
      SCOPED_TRACE(q);
      ir::Model m = formats::onnx::load_model(c.model);
      run_pipeline(m, "fold, fuse-bn, fuse-act, dce, " + q + ", strip");
      std::string out = testing::temp_dir() + "/s.onnx";
      formats::onnx::save_model(m, out);
      double ratio = static_cast<double>(metrics::measure_file(out).download_bytes) / original_download;
      std::printf("%s %s: download %.1f%% of the original's\n", testing::test_name_for(c.model).c_str(), q.c_str(),
                  100 * ratio);
      EXPECT_LE(ratio, limit);
      // ORT decodes the same weights and then computes in float as the runner
      // does, so the stored model agrees with pare's runner as the original does:
      // 100 dB and more on most, 60 dB on PP-OCRv4 det's saturated sigmoid over
      // random input, 35 dB on M-LSD (its scores are peak-picked: last-bit ties
      // flip peaks, tests/models/runner_vs_ort_test.cc). Bound: 50 dB, or 10 dB
      // below the original's agreement where that is lower. (Before tables had
      // channel scales, palettized det agreed only to 21 dB: the 4-bit model was
      // far from the float one, 3.5 dB on pages, and amplified rounding.)
      auto ours = testing::run_model(m, inputs);
      auto ort = testing::run_ort(out, inputs);
      double agree = worst_sqnr(ort, ours);
      double original_agree = worst_sqnr(testing::run_ort(c.model, inputs), testing::run_model(original, inputs));
      std::printf("  ORT vs pare %.1f dB; on the original %.1f dB\n", agree, original_agree);
      EXPECT_GT(agree, std::min(50.0, original_agree - 10.0));
    }
  }
}

}  // namespace
}  // namespace pare::passes
