// pare shrink --data --report: fidelity figures on sample folders, and a JSON
// report that is byte-identical across runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lib/base/atomic_file.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

TEST(ShrinkReport, FidelityOnSamplesAndDeterministicJson) {
  std::string cls = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  std::string dir = testing::temp_dir();
  for (int s = 0; s < 3; ++s) {  // three samples of 2 text lines each, in sub-folders
    auto c = testing::run_command({testing::pare_bin(), "run", cls, "--dim", "p2o.DynamicDimension.0=2", "--dim",
                                   "p2o.DynamicDimension.1=48", "--dim", "p2o.DynamicDimension.2=192", "--seed",
                                   std::to_string(s + 1), "--save-inputs", dir + "/data/s" + std::to_string(s)});
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }
  std::string reports[2];
  for (int k = 0; k < 2; ++k) {
    std::string report = dir + "/r" + std::to_string(k) + ".json";
    auto c = testing::run_command({testing::pare_bin(), "shrink", cls, "-o", dir + "/q.onnx", "--passes",
                                   "fuse-bn, quantize(int8, weights-only)", "--data", dir + "/data", "--report", report});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_NE(c.out.find("top-1 agreement"), std::string::npos) << c.out;
    reports[k] = read_file(report);
  }
  EXPECT_EQ(reports[0], reports[1]);
  auto j = nlohmann::json::parse(reports[0]);
  EXPECT_EQ(j["data"]["samples"], 3);
  EXPECT_EQ(j["input"], cls);  // as given on the command line
  ASSERT_EQ(j["fidelity"].size(), 1u);
  const auto& f = j["fidelity"][0];
  EXPECT_GT(f["sqnr_db"].get<double>(), 10.0);
  EXPECT_GT(f["cosine"].get<double>(), 0.99);
  EXPECT_GE(f["top1_agreement"].get<double>(), 0.5);
  EXPECT_LE(f["top1_agreement"].get<double>(), 1.0);
  EXPECT_LT(j["after"]["file_bytes"].get<int64_t>(), j["before"]["file_bytes"].get<int64_t>() / 3);
  EXPECT_EQ(j["after"]["weight_bytes"].contains("int8"), true);
  EXPECT_EQ(j["passes"].size(), 2u);
  // The classifier's batch and width are symbolic: its MACs are counted at the
  // samples' shapes, as `pare inspect` counts them with those dims given.
  auto inspect = testing::run_command({testing::pare_bin(), "inspect", "--json", cls, "--dim",
                                       "p2o.DynamicDimension.0=2", "--dim", "p2o.DynamicDimension.1=48", "--dim",
                                       "p2o.DynamicDimension.2=192"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  int64_t at_samples = nlohmann::json::parse(inspect.out)["macs"]["total"];
  EXPECT_GT(at_samples, 0);
  EXPECT_EQ(j["before"]["macs"], at_samples) << j["before"].dump();
  EXPECT_EQ(j["after"]["macs"], at_samples);
  // A dim given on the command line still wins over the samples' (batch 1 halves
  // the count), and latency is timed at those shapes too (without them it
  // stopped at the first symbolic dim).
  auto dim = testing::run_command({testing::pare_bin(), "shrink", cls, "-o", dir + "/q1.onnx", "--passes", "fuse-bn",
                                   "--data", dir + "/data", "--dim", "p2o.DynamicDimension.0=1", "--latency", "2",
                                   "--report", dir + "/r1.json"});
  ASSERT_EQ(dim.exit_code, 0) << dim.err;
  nlohmann::json r1 = nlohmann::json::parse(read_file(dir + "/r1.json"));
  EXPECT_EQ(r1["before"]["macs"], at_samples / 2);
  EXPECT_TRUE(r1.contains("latency")) << r1.dump();
  // Without samples nothing sizes the width: latency cannot be timed, and the
  // command fails before it writes the model (it used to time after the write).
  auto unsized = testing::run_command({testing::pare_bin(), "shrink", cls, "-o", dir + "/q3.onnx", "--passes",
                                       "fuse-bn", "--latency", "2"});
  EXPECT_EQ(unsized.exit_code, 2) << unsized.err;
  EXPECT_NE(unsized.err.find("DynamicDimension"), std::string::npos) << unsized.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/q3.onnx")) << "a failed timing leaves no output";
  // A sample that does not fit the model is one clear error.
  std::filesystem::create_directories(dir + "/bad");
  write_file_atomic(dir + "/bad/wrong.npy", read_file(dir + "/data/s0/input_0.pb"));
  auto bad = testing::run_command({testing::pare_bin(), "shrink", cls, "-o", dir + "/q2.onnx", "--data", dir + "/bad"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("wrong.npy"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/q2.onnx")) << "the model is written only after the data checks";
}

// The JSON report of `pare shrink MODEL --passes PASSES`, written to a new folder.
nlohmann::json shrink_report(const std::string& model, const std::string& passes) {
  std::string dir = testing::temp_dir();
  auto c = testing::run_command(
      {testing::pare_bin(), "shrink", model, "-o", dir + "/out.onnx", "--passes", passes, "--report", dir + "/r.json"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  return nlohmann::json::parse(read_file(dir + "/r.json"));
}

// --threads runs the samples (evaluation, calib=, correct=, gptq=) on more
// threads; the model and the report's figures are the same bytes.
TEST(ShrinkReport, ThreadsChangeNoByte) {
  std::string cls = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  std::string dir = testing::temp_dir();
  for (int s = 0; s < 2; ++s) {
    auto c = testing::run_command({testing::pare_bin(), "run", cls, "--input-shape", "x=2x3x48x192", "--seed",
                                   std::to_string(s + 7), "--save-inputs", dir + "/data/s" + std::to_string(s)});
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }
  for (std::string pipeline : {"fold, fuse-bn, quantize(int8, calib=DATA)",
                               "fold, fuse-bn, quantize(int8, weights-only, gptq=DATA, correct=DATA)"}) {
    while (pipeline.find("DATA") != std::string::npos) pipeline.replace(pipeline.find("DATA"), 4, dir + "/data");
    SCOPED_TRACE(pipeline);
    std::string out[2], report[2];
    for (int t = 0; t < 2; ++t) {
      std::string name = dir + "/t" + std::to_string(t + 1);
      auto c = testing::run_command({testing::pare_bin(), "shrink", cls, "-o", name + ".onnx", "--passes", pipeline,
                                     "--data", dir + "/data", "--threads", std::to_string(t + 1), "--report",
                                     name + ".json", "-q"});
      ASSERT_EQ(c.exit_code, 0) << c.err;
      out[t] = read_file(name + ".onnx");
      report[t] = read_file(name + ".json");
    }
    EXPECT_TRUE(out[0] == out[1]);
    nlohmann::json r1 = nlohmann::json::parse(report[0]), r2 = nlohmann::json::parse(report[1]);
    EXPECT_NE(r1["output"], r2["output"]);
    r1.erase("output");
    r2.erase("output");
    EXPECT_TRUE(r1 == r2) << "the reports differ beyond their output paths";
    EXPECT_GT(r1["fidelity"][0]["sqnr_db"].get<double>(), 10.0);
  }
  auto bad = testing::run_command({testing::pare_bin(), "shrink", cls, "-o", dir + "/t0.onnx", "--threads", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir + "/t0.onnx"));
}

TEST(ShrinkReport, TrimRecordsAndMacsBeforeAndAfter) {
  auto j = shrink_report(testing::testdata_model("face_detection_front_128x128_barracuda.onnx"),
                         "trim(pre), prune(sparsity=0.25, mode=channel)");
  // BlazeFace's only preprocessing is its NHWC -> NCHW Transpose.
  EXPECT_EQ(j["trimmed"]["pre.input:0"]["layout"], "NHWC");
  EXPECT_EQ(j["trimmed"]["pre.input:0"]["removed"][0], "Transpose");
  int64_t before = j["before"]["macs"], after = j["after"]["macs"];
  EXPECT_LT(after, before * 4 / 5);  // channel pruning at 25% removes well over a fifth of the MACs
  EXPECT_GT(j["passes"][1]["stats"]["channels_removed"].get<int64_t>(), 0);
  EXPECT_FALSE(j.contains("latency")) << "latency only when asked: it is the part that varies";
}

TEST(ShrinkReport, WeightBytesByLayerFollowQuantizedWeightsToTheirConv) {
  auto j = shrink_report(testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
                         "fuse-bn, quantize(int8, weights-only)");
  for (const char* side : {"before", "after"}) {
    int64_t sum = 0;
    for (const auto& l : j[side]["layers"]) sum += l["bytes"].get<int64_t>();
    EXPECT_EQ(sum, j[side]["weight_bytes"]["total"].get<int64_t>()) << side << ": every weight byte is in one layer";
  }
  // The int8 weight and its scales count for the Conv, not for DequantizeLinear.
  const auto& top = j["after"]["layers"][0];
  EXPECT_EQ(top["op"], "Conv");
  for (const auto& l : j["after"]["layers"]) EXPECT_NE(l["op"], "DequantizeLinear");
  EXPECT_EQ(j["after"]["parameters_by_dtype"].contains("int8"), true);
}

TEST(ShrinkReport, AnUnwritableReportPathIsCheckedBeforeAnyWork) {
  std::string dir = testing::temp_dir();
  std::string face = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  for (const char* flag : {"--report", "--markdown", "--html"}) {
    auto c = testing::run_command({testing::pare_bin(), "shrink", face, "-o", dir + "/m.onnx", flag, dir + "/no/such/r"});
    EXPECT_EQ(c.exit_code, 2) << flag;
    EXPECT_NE(c.err.find("output folder"), std::string::npos) << c.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/m.onnx")) << flag << ": the model must not be written";
  }
}

TEST(ShrinkReport, LatencyIsItsOwnSectionInEveryRendering) {
  std::string dir = testing::temp_dir();
  std::string face = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  auto c = testing::run_command({testing::pare_bin(), "shrink", face, "-o", dir + "/l.onnx", "--passes", "dce",
                                 "--latency", "3", "--report", dir + "/l.json", "--markdown", dir + "/l.md", "--html",
                                 dir + "/l.html"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto j = nlohmann::json::parse(read_file(dir + "/l.json"));
  EXPECT_EQ(j["latency"]["runs"], 3);
  EXPECT_GT(j["latency"]["before"]["median_ms"].get<double>(), 0.0);
  EXPECT_GE(j["latency"]["after"]["median_ms"].get<double>(), j["latency"]["after"]["min_ms"].get<double>());
  EXPECT_NE(read_file(dir + "/l.md").find("## Latency"), std::string::npos);
  EXPECT_NE(read_file(dir + "/l.html").find("id=\"latency-after-median\""), std::string::npos);
}

}  // namespace
}  // namespace pare
