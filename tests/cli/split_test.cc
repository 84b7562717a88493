// pare split at a tensor in the middle of every real model: the parts chain to
// the original outputs exactly (split checks it before writing), ONNX's checker
// accepts each part, and the manifest's sizes and sha256 match the files.
// pare extract keeps one output's subtask. Bad cut points are one-line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

std::vector<std::string> dim_args(const std::string& model) {
  std::vector<std::string> out;
  for (const auto& [name, size] : testing::dims_for(model)) out.insert(out.end(), {"--dim", name + "=" + std::to_string(size)});
  return out;
}

class Split : public ::testing::TestWithParam<std::string> {};

TEST_P(Split, AtTheMiddleTensorChainsExactly) {
  const std::string model = GetParam();
  ir::Model m = formats::onnx::load_model(model);
  const ir::Node& middle = *m.graph->nodes()[m.graph->nodes().size() / 2];
  std::string dir = testing::temp_dir() + "/parts";
  std::vector<std::string> args = {testing::pare_bin(), "split", model, "--at", middle.output(0)->name(), "-o", dir};
  auto dims = dim_args(model);
  args.insert(args.end(), dims.begin(), dims.end());
  auto c = testing::run_command(args);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("reproduce the original outputs exactly"), std::string::npos);
  auto manifest = nlohmann::json::parse(read_file(dir + "/manifest.json"));
  ASSERT_EQ(manifest["parts"].size(), 2u);
  for (const auto& part : manifest["parts"]) {
    std::string bytes = read_file(dir + "/" + part["file"].get<std::string>());
    EXPECT_EQ(part["bytes"].get<size_t>(), bytes.size());
    EXPECT_EQ(part["sha256"].get<std::string>(), sha256_hex(bytes));
    EXPECT_LT(part["download_bytes"].get<int64_t>(), part["bytes"].get<int64_t>());
    EXPECT_NO_THROW(formats::onnx::check_model(formats::onnx::load_model(dir + "/" + part["file"].get<std::string>())));
  }
  // The cut tensor is part0's output and part1's input.
  auto has = [](const nlohmann::json& list, const std::string& name) {
    for (const auto& v : list)
      if (v["name"] == name) return true;
    return false;
  };
  EXPECT_TRUE(has(manifest["parts"][0]["outputs"], middle.output(0)->name()));
  EXPECT_TRUE(has(manifest["parts"][1]["inputs"], middle.output(0)->name()));
}

INSTANTIATE_TEST_SUITE_P(Models, Split, ::testing::ValuesIn(testing::real_models()),
                         [](const auto& info) { return testing::test_name_for(info.param); });

TEST(Extract, KeepsOneSubtask) {
  std::string face = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  std::string out = testing::temp_dir() + "/scores.onnx";
  auto c = testing::run_command({testing::pare_bin(), "extract", face, "--outputs", "Identity:0,Identity_1:0", "-o", out});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ir::Model m = formats::onnx::load_model(out);
  ASSERT_EQ(m.graph->outputs.size(), 2u);
  EXPECT_LT(m.graph->nodes().size(), formats::onnx::load_model(face).graph->nodes().size());
  // The extracted outputs are computed exactly as in the full model.
  auto inputs = testing::seeded_inputs(m, {});
  auto full = testing::run_ort(face, inputs), part = testing::run_ort(out, inputs);
  EXPECT_TRUE(full[0].same_content(part[0]));
  EXPECT_TRUE(full[1].same_content(part[1]));
}

TEST(Split, BadCutPointsAreOneLineErrors) {
  std::string face = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  std::string dir = testing::temp_dir() + "/parts";
  auto c = testing::run_command({testing::pare_bin(), "split", face, "--at", "Identity:9", "-o", dir});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("there is no tensor named 'Identity:9' (did you mean"), std::string::npos) << c.err;
  c = testing::run_command({testing::pare_bin(), "split", face, "--at", "input:0", "-o", dir});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("nothing before it"), std::string::npos) << c.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/part0.onnx"));
}

}  // namespace
}  // namespace pare
