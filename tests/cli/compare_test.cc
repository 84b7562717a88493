// pare compare A B: the same facts as a shrink report, for two existing models.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lib/base/atomic_file.h"
#include "lib/metrics/size.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

using testing::kCls;
const std::vector<std::string> kDims = {"--dim", "p2o.DynamicDimension.0=1", "--dim", "p2o.DynamicDimension.1=48",
                                        "--dim", "p2o.DynamicDimension.2=192"};

struct CompareFixture {
  std::string dir, small, data;
};

const CompareFixture& compare_fixture() {
  static CompareFixture f = [] {
    CompareFixture x;
    x.dir = testing::temp_dir();
    x.small = x.dir + "/small.onnx";
    x.data = x.dir + "/data";
    auto c = testing::run_command({testing::pare_bin(), "shrink", kCls, "-o", x.small, "--passes",
                                   "quantize(int8, weights-only)", "-q"});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    testing::save_seeded_samples(kCls, x.data, 3, kDims);
    return x;
  }();
  return f;
}

testing::Command compare(std::vector<std::string> extra) {
  std::vector<std::string> args = {testing::pare_bin(), "compare", kCls, compare_fixture().small};
  args.insert(args.end(), kDims.begin(), kDims.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return testing::run_command(args);
}

TEST(Compare, ReportsSizesMacsAndFidelityOfBAgainstA) {
  const CompareFixture& f = compare_fixture();
  auto c = compare({"--data", f.data, "--json", f.dir + "/c.json", "-q"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto j = nlohmann::json::parse(read_file(f.dir + "/c.json"));
  EXPECT_EQ(j["before"]["file_bytes"], metrics::measure_file(kCls).file_bytes);
  EXPECT_EQ(j["after"]["file_bytes"], metrics::measure_file(f.small).file_bytes);
  EXPECT_EQ(j["before"]["macs"], j["after"]["macs"]);  // weights-only int8 computes the same ops
  EXPECT_GT(j["before"]["macs"].get<int64_t>(), 1000000);
  ASSERT_EQ(j["fidelity"].size(), 1u);
  EXPECT_FALSE(j["fidelity"][0]["identical"].get<bool>());
  EXPECT_GT(j["fidelity"][0]["sqnr_db"].get<double>(), 10.0);
  // The spread over the 3 samples: its loudest sample alone keeps the SQNR it names.
  const auto& spread = j["fidelity"][0]["spread"];
  ASSERT_TRUE(spread.is_object()) << j["fidelity"][0].dump();
  EXPECT_LE(spread["sqnr_low_db"].get<double>(), spread["sqnr_high_db"].get<double>());
  EXPECT_GE(spread["loudest_share"].get<double>(), 1.0 / 3);
  EXPECT_LE(spread["loudest_share"].get<double>(), 1.0);
  std::string loudest = spread["loudest_sample"];
  ASSERT_TRUE(std::filesystem::is_directory(f.data + "/" + loudest)) << loudest;
  std::string alone = f.dir + "/alone";
  std::filesystem::create_directories(alone);
  std::filesystem::copy(f.data + "/" + loudest, alone + "/" + loudest);
  ASSERT_EQ(compare({"--data", alone, "--json", f.dir + "/alone.json", "-q"}).exit_code, 0);
  auto a = nlohmann::json::parse(read_file(f.dir + "/alone.json"));
  EXPECT_NEAR(a["fidelity"][0]["sqnr_db"].get<double>(), spread["loudest_sqnr_db"].get<double>(), 1e-9);
  EXPECT_FALSE(a["fidelity"][0].contains("spread"));  // one sample: nothing to resample
  // With labels, the change of accuracy over resamples brackets the measured one.
  write_file_atomic(f.dir + "/labels.txt", "1 0\n2 1\n3 0\n");
  ASSERT_EQ(compare({"--data", f.data, "--labels", f.dir + "/labels.txt", "--json", f.dir + "/l.json", "-q"}).exit_code, 0);
  auto acc = nlohmann::json::parse(read_file(f.dir + "/l.json"))["accuracy"];
  double change = acc["after"].get<double>() - acc["before"].get<double>();
  EXPECT_LE(acc["change_low"].get<double>(), change + 1e-12);
  EXPECT_GE(acc["change_high"].get<double>(), change - 1e-12);
  // Deterministic.
  ASSERT_EQ(compare({"--data", f.data, "--json", f.dir + "/c2.json", "-q"}).exit_code, 0);
  EXPECT_EQ(read_file(f.dir + "/c.json"), read_file(f.dir + "/c2.json"));
  // A model against itself is identical.
  std::vector<std::string> self = {testing::pare_bin(), "compare", kCls, kCls, "--data", f.data, "--json",
                                   f.dir + "/self.json"};
  ASSERT_EQ(testing::run_command(self).exit_code, 0);
  auto self_json = nlohmann::json::parse(read_file(f.dir + "/self.json"));
  EXPECT_TRUE(self_json["fidelity"][0]["identical"].get<bool>());
  EXPECT_FALSE(self_json["fidelity"][0].contains("spread"));  // no error to spread
}

TEST(Compare, BudgetsOnBBothWays) {
  const CompareFixture& f = compare_fixture();
  int64_t bytes = metrics::measure_file(f.small).file_bytes;
  EXPECT_EQ(compare({"--max-bytes", std::to_string(bytes)}).exit_code, 0);
  auto over = compare({"--max-bytes", std::to_string(bytes - 1), "--html", f.dir + "/c.html"});
  EXPECT_EQ(over.exit_code, 1);
  EXPECT_NE(over.err.find("pare: check failed: " + f.small + ": bytes"), std::string::npos) << over.err;
  EXPECT_TRUE(std::filesystem::exists(f.dir + "/c.html"));
  auto sqnr = compare({"--data", f.data, "--min-sqnr", "200"});
  EXPECT_EQ(sqnr.exit_code, 1);
  EXPECT_NE(sqnr.err.find("SQNR"), std::string::npos) << sqnr.err;
  // Fidelity budgets need data: bad usage.
  EXPECT_EQ(compare({"--min-sqnr", "20"}).exit_code, 2);
}

TEST(Compare, ModelsThatCannotBeComparedAreOneLineErrors) {
  const CompareFixture& f = compare_fixture();
  std::string other = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  auto c = testing::run_command({testing::pare_bin(), "compare", kCls, other, "--data", f.data});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
  auto missing = testing::run_command({testing::pare_bin(), "compare", kCls, f.dir + "/nope.onnx"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.onnx"), std::string::npos);
}

}  // namespace
}  // namespace pare
