// `pare inspect --json` agrees with an independent count (the onnx Python
// package, tests/tools/independent_count.py) on every real model.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lib/base/atomic_file.h"
#include "lib/metrics/size.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

using nlohmann::json;

class Inspect : public ::testing::TestWithParam<std::string> {};

TEST_P(Inspect, AgreesWithAnIndependentCount) {
  auto pare = testing::run_command({testing::pare_bin(), "inspect", "--json", GetParam()});
  ASSERT_EQ(pare.exit_code, 0) << pare.err;
  auto independent = testing::run_command(
      {"/usr/bin/python3", std::string(PARE_SOURCE_DIR) + "/tests/tools/independent_count.py", GetParam()});
  ASSERT_EQ(independent.exit_code, 0) << independent.err;
  json p = json::parse(pare.out), q = json::parse(independent.out);
  EXPECT_EQ(p["parameters"], q["parameters"]);
  EXPECT_EQ(p["weight_bytes"], q["weight_bytes"]);
  EXPECT_EQ(p["ops"], q["ops"]);
  EXPECT_EQ(p["nodes"], q["nodes"]);
  EXPECT_EQ(p["nodes_total"], q["nodes_total"]);
  // Where the independent count could size every Conv, pare's Conv MACs agree.
  if (!q["conv_macs"].is_null() && p["macs"].is_object()) {
    EXPECT_EQ(p["macs"].value("Conv", int64_t{0}), q["conv_macs"].get<int64_t>());
  }
  // Sizes: the file as it is, and its deflate size computed here again.
  std::string bytes = read_file(GetParam());
  EXPECT_EQ(p["file_bytes"], static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(p["download_bytes"], metrics::deflate_size(bytes));
  EXPECT_LT(p["download_bytes"].get<int64_t>(), p["file_bytes"].get<int64_t>());
  for (const char* key : {"inputs", "outputs", "opsets", "macs", "ir_version", "producer"})
    EXPECT_TRUE(p.contains(key)) << key;
}

TEST(InspectMacs, KnownForStaticModelsAndFixedDims) {
  auto face = testing::run_command(
      {testing::pare_bin(), "inspect", "--json", testing::testdata_model("face_detection_front_128x128_barracuda.onnx")});
  json f = json::parse(face.out);
  ASSERT_TRUE(f["macs"].is_object()) << f.dump();
  // All of BlazeFace's arithmetic is in its convolutions.
  EXPECT_GT(f["macs"]["total"].get<int64_t>(), 0);
  EXPECT_EQ(f["macs"]["total"], f["macs"]["Conv"]);
  auto dyn = testing::run_command(
      {testing::pare_bin(), "inspect", "--json", testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx")});
  json d = json::parse(dyn.out);
  EXPECT_TRUE(d["macs"].is_null());
  EXPECT_NE(d["macs_unknown_reason"].get<std::string>().find("--dim"), std::string::npos);
  auto bad = testing::run_command({testing::pare_bin(), "inspect", "--dim", "batch", testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx")});
  EXPECT_EQ(bad.exit_code, 2);
}

INSTANTIATE_TEST_SUITE_P(Models, Inspect, ::testing::ValuesIn(testing::real_models()),
                         [](const auto& info) { return testing::test_name_for(info.param); });

}  // namespace
}  // namespace pare
