// pare dedupe: BlazeFace's scores and boxes subtasks share one trunk.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

using testing::kFace;
using testing::kCls;

using testing::pare;

// pare dedupe A B into a new folder, which must succeed: the folder, and what it printed.
std::pair<std::string, std::string> dedupe(const std::string& a, const std::string& b) {
  std::string out = testing::temp_dir() + "/bundle";
  auto c = pare({"dedupe", a, b, "-o", out});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  return {out, c.out};
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
  auto [out, said] = dedupe(scores, boxes);
  EXPECT_NE(said.find("reproduces its model exactly"), std::string::npos) << said;
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
  std::string again = dedupe(scores, boxes).first;
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
  EXPECT_NE(c.err.find("nothing to share"), std::string::npos) << c.err;
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

// Two models that read different inputs (so no computation is shared) but hold
// the same 32x32 weight, as two heads may hold one embedding table.
std::pair<std::string, std::string> same_weight_models() {
  std::string values;
  for (int i = 0; i < 32 * 32; ++i) values += (i ? ", " : "") + std::to_string((i * 37 % 101) / 50.0 - 1.0);
  std::string w = "  w = Constant <value = float[32,32] {" + values + "}> ()\n";
  std::string dir = testing::temp_dir();
  std::string a = dir + "/a.onnx", b = dir + "/b.onnx";
  formats::onnx::save_model(testing::model_from_text("<ir_version: 8, opset_import: [\"\" : 13]>\n"
                                                     "g (float[1,32] x) => (float[1,32] y) {\n" + w +
                                                     "  y = MatMul (x, w)\n}"),
                            a);
  formats::onnx::save_model(testing::model_from_text("<ir_version: 8, opset_import: [\"\" : 13]>\n"
                                                     "g (float[2,32] u) => (float[2,32] z) {\n" + w +
                                                     "  m = MatMul (u, w)\n  z = Relu (m)\n}"),
                            b);
  return {a, b};
}

TEST(Dedupe, WeightsSeveralHeadsHoldGoInOneSharedFile) {
  auto [a, b] = same_weight_models();
  auto [out, said] = dedupe(a, b);
  EXPECT_NE(said.find("weights.data: 1 tensor(s)"), std::string::npos) << said;
  EXPECT_FALSE(fs::exists(out + "/trunk.onnx")) << "nothing is computed alike";
  ASSERT_TRUE(fs::exists(out + "/weights.data"));
  EXPECT_EQ(fs::file_size(out + "/weights.data"), 32u * 32u * 4u);  // the weight once
  auto m = nlohmann::json::parse(read_file(out + "/manifest.json"));
  EXPECT_TRUE(m["trunk"].is_null());
  EXPECT_EQ(m["shared_tensors"], 1);
  EXPECT_EQ(m["weights"]["sha256"], sha256_hex(read_file(out + "/weights.data")));
  int64_t after = static_cast<int64_t>(fs::file_size(out + "/weights.data") + fs::file_size(out + "/a.onnx") +
                                       fs::file_size(out + "/b.onnx"));
  EXPECT_EQ(m["bytes_after"], after);
  EXPECT_LT(after, m["bytes_before"].get<int64_t>());
  // Each head, loaded from the folder (its weight read from weights.data), gives
  // its model's outputs bit for bit in pare's runner and within tolerance in ONNX Runtime.
  for (const auto& [original, head] : {std::pair{a, out + "/a.onnx"}, std::pair{b, out + "/b.onnx"}}) {
    SCOPED_TRACE(head);
    EXPECT_LT(fs::file_size(head), 1024u) << "the weight is not inline";
    ir::Model om = formats::onnx::load_model(original), hm = formats::onnx::load_model(head);
    auto inputs = testing::seeded_inputs(om, {});
    auto want = testing::run_model(om, inputs), got = testing::run_model(hm, inputs);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].same_content(want[0]));
    auto ort = testing::run_ort(head, inputs);
    auto x = ort[0].span<float>(), y = got[0].span<float>();
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], 1e-4 + 1e-4 * std::abs(y[i]));
  }
  // Nothing computed alike and no weight alike: nothing to share.
  auto c = pare({"dedupe", a, kCls, "-o", testing::temp_dir() + "/none"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("nothing to share"), std::string::npos) << c.err;
}

}  // namespace
}  // namespace pare
