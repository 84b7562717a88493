// A second labeled task for the storage modes: PP-OCRv4 rec reading text lines
// rendered here (random words of letters and digits, DejaVu Sans), judged by
// character accuracy against the rendered text: 1 - edit distance / length,
// summed over the lines, after greedy CTC decoding with the recogniser's own
// dictionary (ppocr_keys_v1.txt from the same npm package, fetched and pinned
// by scripts/fetch_models.sh). The float model must read the lines well for the
// task to mean anything; the stored models are compared with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "formats/onnx/onnx.h"
#include "lib/base/strings.h"
#include "lib/runtime/session.h"
#include "tests/support/models.h"
#include "passes/pipeline.h"
#include "tests/support/passes.h"
#include "tests/support/text_lines.h"

namespace pare {
namespace {

constexpr int kLines = 200, kCorrectionLines = 64, kWidth = 320, kHeight = 48;

struct Line {
  std::string text;
  ir::Tensor image;  // 1x3x48x320, (x / 255 - 0.5) / 0.5 as PP-OCR feeds its recogniser
};

// Upright lines short enough to fit 320 pixels at the largest font size, the
// words of line i drawn from seed `seed + i`.
std::vector<Line> render_lines(int count, uint64_t seed) {
  std::vector<Line> out;
  for (int i = 0; i < count; ++i) {
    testing::TextLineStyle style;
    style.width = kWidth;
    style.height = kHeight;
    style.font_px = static_cast<float>(24 + i % 5);
    style.x_offset = 4 + i % 7;
    style.paper = static_cast<uint8_t>(235 + i % 21);
    style.ink = static_cast<uint8_t>(i % 40);
    std::string text = testing::random_words(seed + static_cast<uint64_t>(i), 4, 14);
    std::vector<uint8_t> rgb = testing::render_text_line(text, style);
    std::vector<float> chw(3 * kHeight * kWidth);
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < kHeight * kWidth; ++p) chw[c * kHeight * kWidth + p] = (rgb[p * 3 + c] / 255.0f - 0.5f) / 0.5f;
    out.push_back({text, ir::Tensor::from<float>({1, 3, kHeight, kWidth}, chw)});
  }
  return out;
}

// The lines every mode is judged on.
const std::vector<Line>& lines() {
  static std::vector<Line> all = render_lines(kLines, 1000);
  return all;
}

// Other lines (other words, from seeds the judged lines do not use): the
// samples on which correct= measures each layer's input means.
std::vector<passes::Sample> correction_samples(const std::string& input) {
  static const std::vector<Line> rendered = render_lines(kCorrectionLines, 50000);  // once, when first asked for
  std::vector<passes::Sample> out;
  for (const Line& l : rendered) out.push_back({{input, l.image}});
  return out;
}

// Class 0 is CTC's blank, 1..N the dictionary's lines, N + 1 a space.
std::vector<std::string> dictionary() {
  std::ifstream in(testing::fetched_model("ppocr_keys_v1.txt"));
  std::vector<std::string> keys;
  for (std::string line; std::getline(in, line);) keys.push_back(line);
  return keys;
}

std::string ctc_greedy(const ir::Tensor& probs, const std::vector<std::string>& keys) {
  int64_t steps = probs.dims()[1], classes = probs.dims()[2];
  auto p = probs.span<float>();
  std::string text;
  int64_t previous = 0;
  for (int64_t t = 0; t < steps; ++t) {
    const float* row = p.data() + t * classes;
    int64_t best = std::max_element(row, row + classes) - row;
    if (best != 0 && best != previous)
      text += best <= static_cast<int64_t>(keys.size()) ? keys[best - 1] : std::string(" ");
    previous = best;
  }
  return text;
}

// Character accuracy of `model` over the rendered lines.
double character_accuracy(const ir::Model& model, const std::vector<std::string>& keys) {
  rt::Session session(model);
  size_t errors = 0, length = 0;
  for (const Line& l : lines()) {
    auto out = session.run({{session.input_names()[0], l.image}});
    errors += edit_distance(ctc_greedy(out[0], keys), l.text);
    length += l.text.size();
  }
  return 1.0 - static_cast<double>(errors) / static_cast<double>(length);
}

// The float model's accuracy, once per test process.
double float_accuracy(const std::vector<std::string>& keys) {
  static double fp32 = [&] {
    double a = character_accuracy(formats::onnx::load_model(testing::fetched_model("ch_PP-OCRv4_rec_infer.onnx")), keys);
    std::printf("recogniser, float32: character accuracy %.4f on %d lines\n", a, kLines);
    return a;
  }();
  return fp32;
}

// The character accuracy of the recogniser after
// `fold, fuse-bn, fuse-act, dce, <passes>, strip`, with `lines` naming the
// correction lines.
double accuracy_after(const std::string& passes, const std::vector<std::string>& keys) {
  std::string path = testing::fetched_model("ch_PP-OCRv4_rec_infer.onnx");
  ir::Model stored = formats::onnx::load_model(path);
  std::string input = stored.graph->inputs[0]->name();
  passes::PassContext ctx;
  ctx.load_samples = [&](const std::string& dir, const std::vector<std::string>&) {
    EXPECT_EQ(dir, "lines");
    return correction_samples(input);
  };
  passes::Pipeline::parse("fold, fuse-bn, fuse-act, dce, " + passes + ", strip").run(stored, ctx, true);
  double after = character_accuracy(stored, keys);
  std::printf("recogniser, %s: character accuracy %.4f\n", passes.c_str(), after);
  return after;
}

// Loads the dictionary and checks that the float model reads the lines, which
// every comparison below rests on.
class RecognitionAccuracy : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = dictionary();
    ASSERT_GT(keys_.size(), 6000u);
    fp32_ = float_accuracy(keys_);
    ASSERT_GT(fp32_, 0.9) << "the float recogniser should read rendered lines";
  }
  double accuracy(const std::string& passes) { return accuracy_after(passes, keys_); }
  std::vector<std::string> keys_;
  double fp32_ = 0;
};

// The cases are separate tests so that ctest runs them side by side; the
// figures of modes no test asserts (int4 blocks, 8-bit palettes, grouped
// 4-bit tables...) are in docs/quantization.md, measured with these functions.

// float16 loses at most half a point and int8 weights at most one.
TEST_F(RecognitionAccuracy, Float16AndInt8WeightsKeepTheFloatAccuracy) {
  EXPECT_GE(accuracy("quantize(fp16)"), fp32_ - 0.005);
  EXPECT_GE(accuracy("quantize(int8, weights-only)"), fp32_ - 0.01);
}

// Plain palettes miss the palettization issue's bounds here (6-bit 76%, 4-bit
// 1%, against 92% in float: docs/quantization.md). Much of what they lose is
// each layer's mean shift (a recogniser's kernels cancel over the flat paper
// around the text): correct= takes it back, measured on other lines, and
// carries the low-bit palettes far above the plain ones (4-bit from 1% to 69%,
// 88% with the lines of pare_render_samples as correction samples: which lines
// correct matters at 4 bits; 256 lines instead of 64 change nothing).
TEST_F(RecognitionAccuracy, CorrectionCarriesLowBitPalettes) {
  EXPECT_GE(accuracy("palettize(bits=4, correct=lines)"), accuracy("palettize(bits=4)") + 0.5);
  EXPECT_GE(accuracy("palettize(bits=6, correct=lines)"), accuracy("palettize(bits=6)") + 0.05);
}

// 6-bit with a table per 16 channels and the correction keeps within half a
// point (92.3% here against 92.0%; asserted a point looser, as other CPUs
// round the float model differently and one run of 2,400 characters moves by
// points).
TEST_F(RecognitionAccuracy, GroupedSixBitPalettesWithCorrectionKeepTheFloatAccuracy) {
  EXPECT_GE(accuracy("palettize(bits=6, group=16, correct=lines)"), fp32_ - 0.015);
}

// GPTQ's index choice on the same 64 lines (gptq=, passes/gptq.h): with the
// correction, 6-bit keeps the float accuracy at one table per tensor (92.0%
// against 92.0%; asserted as the grouped one).
TEST_F(RecognitionAccuracy, GptqSixBitPalettesKeepTheFloatAccuracy) {
  EXPECT_GE(accuracy("palettize(bits=6, gptq=lines, correct=lines)"), fp32_ - 0.015);
}

// Rounded sequentially (gptq='s default: each layer on its input as the layers
// above it are stored, aiming at the float output), 4-bit with the correction
// keeps within half a point (91.6% against 92.0%; asserted as 6-bit is),
// where every layer rounded on the float model's inputs gave 88.6%.
TEST_F(RecognitionAccuracy, SequentialGptqFourBitPalettesKeepTheFloatAccuracy) {
  EXPECT_GE(accuracy("palettize(bits=4, gptq=lines, correct=lines)"), fp32_ - 0.015);
}

// GPTQ's index choice alone, every layer on the float model's inputs, carries
// 4 bits further than the correction (89% against 69% here).
TEST_F(RecognitionAccuracy, GptqIndexChoiceCarriesFourBitsFurtherThanTheCorrection) {
  EXPECT_GE(accuracy("palettize(bits=4, gptq=lines, sequential=false)"),
            accuracy("palettize(bits=4, correct=lines)") + 0.1);
}

}  // namespace
}  // namespace pare
