// pare dedupe: BlazeFace's scores and boxes subtasks share one trunk.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

const std::string kFace = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
const std::string kCls = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");

testing::Command pare(std::vector<std::string> args) {
  args.insert(args.begin(), testing::pare_bin());
  return testing::run_command(args);
}

bool one_error_line(const std::string& err) { return std::regex_match(err, std::regex("pare: error: [^\\n]+\\n")); }

// The two subtasks of BlazeFace, extracted as a plan would.
std::pair<std::string, std::string> subtasks() {
  std::string dir = testing::temp_dir();
  std::string scores = dir + "/scores.onnx", boxes = dir + "/boxes.onnx";
  EXPECT_EQ(pare({"extract", kFace, "--outputs", "Identity:0,Identity_1:0", "-o", scores}).exit_code, 0);
  EXPECT_EQ(pare({"extract", kFace, "--outputs", "Identity_2:0,Identity_3:0", "-o", boxes}).exit_code, 0);
  return {scores, boxes};
}

TEST(Dedupe, WritesTrunkHeadsAndAManifestAtMostSixtyPercent) {
  auto [scores, boxes] = subtasks();
  std::string out = testing::temp_dir() + "/bundle";
  auto c = pare({"dedupe", scores, boxes, "-o", out});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("reproduces its model exactly"), std::string::npos) << c.out;
  auto m = nlohmann::json::parse(read_file(out + "/manifest.json"));
  int64_t before = static_cast<int64_t>(fs::file_size(scores) + fs::file_size(boxes));
  EXPECT_EQ(m["bytes_before"], before);
  int64_t after = 0;
  for (const std::string f : {"trunk.onnx", "scores.onnx", "boxes.onnx"}) after += fs::file_size(out + "/" + f);
  EXPECT_EQ(m["bytes_after"], after);
  EXPECT_LE(after * 100, before * 60) << after << " of " << before;
  EXPECT_EQ(m["trunk"]["sha256"], sha256_hex(read_file(out + "/trunk.onnx")));
  ASSERT_EQ(m["heads"].size(), 2u);
  EXPECT_EQ(m["heads"][1]["file"], "boxes.onnx");
  EXPECT_EQ(m["heads"][1]["sha256"], sha256_hex(read_file(out + "/boxes.onnx")));
  EXPECT_EQ(m["heads"][1]["outputs"], (nlohmann::json{"Identity_2:0", "Identity_3:0"}));
  for (const auto& [trunk_output, own] : m["heads"][0]["reads"].items())
    EXPECT_NE(std::find(m["trunk"]["outputs"].begin(), m["trunk"]["outputs"].end(), trunk_output),
              m["trunk"]["outputs"].end());
  // Deterministic: a second run writes the same bytes.
  std::string again = testing::temp_dir() + "/again";
  ASSERT_EQ(pare({"dedupe", scores, boxes, "-o", again}).exit_code, 0);
  for (const std::string f : {"trunk.onnx", "scores.onnx", "boxes.onnx", "manifest.json"})
    EXPECT_EQ(read_file(out + "/" + f), read_file(again + "/" + f)) << f;
}

TEST(Dedupe, RefusesWhatCannotBeShared) {
  auto [scores, boxes] = subtasks();
  std::string out = testing::temp_dir() + "/none";
  // Nothing alike: a face detector and a text classifier.
  auto c = pare({"dedupe", kFace, kCls, "-o", out});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_TRUE(one_error_line(c.err)) << c.err;
  EXPECT_NE(c.err.find("nothing alike"), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(out + "/trunk.onnx"));
  // One model.
  c = pare({"dedupe", scores, "-o", out});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_TRUE(one_error_line(c.err)) << c.err;
  // Two models with one file name would make one head file.
  std::string other = testing::temp_dir() + "/scores.onnx";
  fs::copy_file(boxes, other);
  c = pare({"dedupe", scores, other, "-o", out});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("scores.onnx"), std::string::npos) << c.err;
  // The output folder holding an input: its head would replace it.
  c = pare({"dedupe", scores, boxes, "-o", fs::path(scores).parent_path().string()});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_TRUE(one_error_line(c.err)) << c.err;
  EXPECT_TRUE(fs::exists(scores));
}

}  // namespace
}  // namespace pare
