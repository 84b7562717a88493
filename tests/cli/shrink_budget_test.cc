// pare shrink budgets and size waterfall: each size/count limit holds just above
// the real value and fails just below it (the real values measured here with
// the library on a reference output), the fidelity budgets against SQNR,
// cosine and top-1 figures computed here with the runner, bad budget flags are
// one-line exit-2 errors, and the report's per-step sizes add up to the file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/metrics/budget.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::kCls;
const std::string kQuant = "quantize(int8, weights-only)";
const std::vector<std::string> kDims = {"--dim", "p2o.DynamicDimension.0=1", "--dim", "p2o.DynamicDimension.1=48",
                                        "--dim", "p2o.DynamicDimension.2=192"};

// The shared setup: seeded samples and the real figures of the quantized model.
struct BudgetFixture {
  std::string dir, data, reference;  // reference: the output of `shrink --passes kQuant`, no budgets
  int64_t bytes = 0, download = 0, params = 0, macs = 0;
  metrics::OutputDiff diff;  // original vs quantized on the samples
};

const BudgetFixture& budget_fixture() {
  static const BudgetFixture f = [] {
    BudgetFixture f;
    f.dir = testing::temp_dir();
    f.data = f.dir + "/data";
    testing::save_seeded_samples(kCls, f.data, 3, kDims);
    f.reference = f.dir + "/reference.onnx";
    auto c = testing::run_command({testing::pare_bin(), "shrink", kCls, "-o", f.reference, "--passes", kQuant});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    auto size = metrics::measure_file(f.reference);
    ir::Model original = formats::onnx::load_model(kCls), quantized = formats::onnx::load_model(f.reference);
    f.bytes = size.file_bytes;
    f.download = size.download_bytes;
    f.params = metrics::count_weights(quantized).parameters;
    auto macs = metrics::count_macs(quantized, testing::dims_for(kCls));
    EXPECT_TRUE(macs.known) << macs.reason;
    f.macs = macs.total;
    rt::Session a(original), b(quantized);
    auto set = formats::read_sample_set(f.data, a.input_names());
    EXPECT_EQ(set.samples.size(), 3u);
    metrics::OutputDiffAccumulator acc(a.output_names()[0]);
    for (const auto& s : set.samples) acc.add(a.run(s)[0], b.run(s)[0]);
    f.diff = acc.result();
    return f;
  }();
  return f;
}

testing::Command shrink(const std::string& out, std::vector<std::string> extra, const std::string& passes = kQuant) {
  std::vector<std::string> argv = {testing::pare_bin(), "shrink", kCls, "-o", out, "--passes", passes, "-q"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return testing::run_command(argv);
}

void expect_one_error_line(const testing::Command& c, const std::string& must_mention) {
  EXPECT_EQ(c.exit_code, 2) << c.out << c.err;
  EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: error: [^\\n]+\\n"))) << "stderr: " << c.err;
  EXPECT_NE(c.err.find(must_mention), std::string::npos) << "stderr: " << c.err;
}

struct SizeCase {
  std::string flag, what;
  int64_t value;
};

std::vector<SizeCase> size_cases() {
  const BudgetFixture& f = budget_fixture();
  return {{"--max-bytes", "bytes", f.bytes},
          {"--max-download-bytes", "download bytes", f.download},
          {"--max-params", "parameters", f.params},
          {"--max-macs", "MACs", f.macs}};
}

TEST(ShrinkBudget, SizeBudgetsHoldJustAbove) {
  std::string dir = testing::temp_dir(), out = dir + "/q.onnx";
  std::vector<std::string> args = kDims;
  for (const auto& c : size_cases()) {
    args.push_back(c.flag);
    args.push_back(std::to_string(c.value + 1));
  }
  args.push_back("--report");
  args.push_back(dir + "/r.json");
  auto c = shrink(out, args);
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_EQ(c.err, "");
  EXPECT_EQ(read_file(out), read_file(budget_fixture().reference)) << "budgets do not change the model";
  auto j = json::parse(read_file(dir + "/r.json"));
  ASSERT_EQ(j["budgets"].size(), 4u);
  auto cases = size_cases();
  for (size_t i = 0; i < cases.size(); ++i) {  // in the order the flags are declared
    EXPECT_EQ(j["budgets"][i]["what"], cases[i].what);
    EXPECT_EQ(j["budgets"][i]["value"], cases[i].value);
    EXPECT_EQ(j["budgets"][i]["limit"], cases[i].value + 1);
    EXPECT_EQ(j["budgets"][i]["ok"], true);
  }
}

TEST(ShrinkBudget, EachSizeBudgetFailsJustBelow) {
  for (const auto& sc : size_cases()) {
    SCOPED_TRACE(sc.flag);
    std::string dir = testing::temp_dir(), out = dir + "/q.onnx";
    std::vector<std::string> args = kDims;
    for (const std::string& x : std::vector<std::string>{sc.flag, std::to_string(sc.value - 1), std::string("--report"), dir + "/r.json"})
      args.push_back(x);
    auto c = shrink(out, args);
    EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
    std::string line = metrics::describe(metrics::BudgetFailure{sc.what, sc.value, sc.value - 1});
    EXPECT_EQ(c.err, "pare: check failed: " + out + ": " + line + "\n");
    EXPECT_FALSE(fs::exists(out)) << "a model over budget is not written (Make runs the rule again)";
    EXPECT_FALSE(fs::exists(dir + "/q.rejected.onnx"));
    EXPECT_NE(c.out.find("not written " + out + " (a budget does not hold)\n"), std::string::npos) << c.out;
    auto j = json::parse(read_file(dir + "/r.json"));
    ASSERT_EQ(j["budgets"].size(), 1u);
    EXPECT_EQ(j["budgets"][0]["ok"], false);
    EXPECT_EQ(j["budgets"][0]["value"], sc.value);
    EXPECT_EQ(j["rejected"], json({{"kept_at", nullptr}}));
  }
}

// --keep-failed keeps the model that would have been written, beside OUT; the
// report says where. A budget that holds writes OUT and no "rejected".
TEST(ShrinkBudget, KeepFailedKeepsTheRejectedModelBesideOut) {
  std::string dir = testing::temp_dir(), out = dir + "/q.onnx";
  std::vector<std::string> args = kDims;
  for (const char* x : {"--max-bytes", "1000", "--keep-failed", "--report"}) args.push_back(x);
  args.push_back(dir + "/r.json");
  auto c = shrink(out, args);
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_FALSE(fs::exists(out));
  ASSERT_TRUE(fs::exists(dir + "/q.rejected.onnx"));
  EXPECT_EQ(read_file(dir + "/q.rejected.onnx"), read_file(budget_fixture().reference));
  EXPECT_EQ(json::parse(read_file(dir + "/r.json"))["rejected"], json({{"kept_at", dir + "/q.rejected.onnx"}}));
  EXPECT_NE(c.out.find("the model is kept at " + dir + "/q.rejected.onnx"), std::string::npos) << c.out;

  auto held = shrink(out, {"--max-bytes", "10MB", "--keep-failed", "--report", dir + "/r.json"});
  EXPECT_EQ(held.exit_code, 0) << held.err;
  EXPECT_EQ(read_file(out), read_file(budget_fixture().reference));
  EXPECT_FALSE(json::parse(read_file(dir + "/r.json")).contains("rejected"));
}

// With external data the model is measured as written, then removed with its .data file.
TEST(ShrinkBudget, ExternalDataOverBudgetLeavesNeitherFile) {
  std::string dir = testing::temp_dir(), out = dir + "/q.onnx";
  auto c = shrink(out, {"--external-data", "--max-bytes", "1000"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".data"));
  c = shrink(out, {"--external-data", "--max-bytes", "1000", "--keep-failed"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_FALSE(fs::exists(out));
  ASSERT_TRUE(fs::exists(dir + "/q.rejected.onnx"));
  ASSERT_TRUE(fs::exists(dir + "/q.rejected.onnx.data"));
  ir::Model kept = formats::onnx::load_model(dir + "/q.rejected.onnx");
  EXPECT_EQ(metrics::count_weights(kept).parameters, budget_fixture().params);
}

// The reason for all this: a Make rule whose budget fails runs again next time
// (and fails again) instead of finding its target up to date.
TEST(ShrinkBudget, MakeRunsAFailedRuleAgain) {
  std::string dir = testing::temp_dir();
  std::string rule = "q.onnx: " + kCls + "\n\t'" + testing::pare_bin() + "' shrink $< -o $@ --passes '" + kQuant +
                     "' --max-bytes 1000 -q\n";
  write_file_atomic(dir + "/Makefile", rule);
  for (int i = 0; i < 2; ++i) {
    auto c = testing::run_command({"make", "-C", dir, "q.onnx"});
    EXPECT_NE(c.exit_code, 0) << "run " << i << ": " << c.out << c.err;
    EXPECT_NE(c.err.find("pare: check failed"), std::string::npos) << "run " << i << ": the rule ran: " << c.err;
    EXPECT_FALSE(fs::exists(dir + "/q.onnx"));
  }
}

TEST(ShrinkBudget, SizeSuffixesAreAccepted) {
  std::string out = testing::temp_dir() + "/q.onnx";
  auto c = shrink(out, {"--max-bytes", "1MiB", "--max-params", "1M"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  c = shrink(out, {"--max-bytes", "100KB"});
  EXPECT_EQ(c.exit_code, 1) << c.err;  // the quantized classifier is ~220 kB
  EXPECT_NE(c.err.find("budget 100.00 kB"), std::string::npos) << c.err;
}

TEST(ShrinkBudget, MinSqnrBothWays) {
  const BudgetFixture& f = budget_fixture();
  ASSERT_FALSE(f.diff.identical);
  std::string dir = testing::temp_dir(), out = dir + "/q.onnx";
  std::string below = fmt::format("{:.2f}", f.diff.sqnr_db - 0.01), above = fmt::format("{:.2f}", f.diff.sqnr_db + 0.01);
  auto hold = shrink(out, {"--data", f.data, "--min-sqnr", below, "--report", dir + "/r.json"});
  EXPECT_EQ(hold.exit_code, 0) << hold.err;
  auto j = json::parse(read_file(dir + "/r.json"));
  ASSERT_EQ(j["budgets"].size(), 1u);
  EXPECT_EQ(j["budgets"][0]["what"], "SQNR");
  EXPECT_NEAR(j["budgets"][0]["value"].get<double>(), f.diff.sqnr_db, 1e-6);
  EXPECT_EQ(j["budgets"][0]["ok"], true);

  fs::remove(out);
  auto miss = shrink(out, {"--data", f.data, "--min-sqnr", above});
  EXPECT_EQ(miss.exit_code, 1) << miss.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(miss.err, m,
                               std::regex("pare: check failed: " + std::regex_replace(out, std::regex("[.]"), "[.]") +
                                          ": SQNR ([0-9.]+) dB < budget ([0-9.]+) dB\n")))
      << miss.err;
  EXPECT_NEAR(std::stod(m[1]), f.diff.sqnr_db, 0.051);
  EXPECT_LT(std::stod(m[1]), std::stod(above)) << "the value shown must read below the limit";
  EXPECT_EQ(m[2], above);
  EXPECT_FALSE(fs::exists(out));
}

TEST(ShrinkBudget, MinCosineFails) {
  const BudgetFixture& f = budget_fixture();
  ASSERT_LT(f.diff.cosine, 0.9999);
  std::string out = testing::temp_dir() + "/q.onnx";
  auto c = shrink(out, {"--data", f.data, "--min-cosine", "0.9999"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  // The value is shown with as many digits as it takes to read below the limit.
  std::smatch m;
  ASSERT_TRUE(std::regex_match(c.err, m,
                               std::regex("pare: check failed: " + std::regex_replace(out, std::regex("[.]"), "[.]") +
                                          ": cosine (0[.][0-9]+) < budget 0[.]9999\n")))
      << c.err;
  EXPECT_NEAR(std::stod(m[1]), f.diff.cosine, 1e-5);
  EXPECT_LT(std::stod(m[1]), 0.9999) << "the value shown must read below the limit";
  EXPECT_FALSE(fs::exists(out));
  // Just below the real cosine, it holds.
  auto hold = shrink(out, {"--data", f.data, "--min-cosine", fmt::format("{:.6f}", f.diff.cosine - 1e-5)});
  EXPECT_EQ(hold.exit_code, 0) << hold.err;
}

TEST(ShrinkBudget, MaxTop1DropHoldsAt100) {
  const BudgetFixture& f = budget_fixture();
  ASSERT_TRUE(f.diff.top1_agreement.has_value()) << "the classifier's output is class scores";
  std::string dir = testing::temp_dir(), out = dir + "/q.onnx";
  auto c = shrink(out, {"--data", f.data, "--max-top1-drop", "100", "--report", dir + "/r.json"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  auto j = json::parse(read_file(dir + "/r.json"));
  ASSERT_EQ(j["budgets"].size(), 1u);
  EXPECT_EQ(j["budgets"][0]["what"], "top-1 drop");
  EXPECT_NEAR(j["budgets"][0]["value"].get<double>(), 100.0 * (1.0 - *f.diff.top1_agreement), 1e-9);
  EXPECT_EQ(j["budgets"][0]["limit"], 100.0);
  EXPECT_EQ(j["budgets"][0]["ok"], true);
}

TEST(ShrinkBudget, FidelityBudgetWithoutDataIsBadUsage) {
  std::string out = testing::temp_dir() + "/q.onnx";
  auto c = shrink(out, {"--min-sqnr", "30"});
  expect_one_error_line(c, "--min-sqnr");
  EXPECT_NE(c.err.find("--data"), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(out));
  expect_one_error_line(shrink(out, {"--data", budget_fixture().data, "--min-accuracy", "0.9"}), "--labels");
}

TEST(ShrinkBudget, BadValuesNameTheFlag) {
  std::string out = testing::temp_dir() + "/q.onnx";
  expect_one_error_line(shrink(out, {"--max-bytes", "5XB"}), "--max-bytes");
  EXPECT_FALSE(fs::exists(out)) << "bad flags are found before any work";
  expect_one_error_line(shrink(out, {"--max-download-bytes", "1.2.3"}), "--max-download-bytes");
  expect_one_error_line(shrink(out, {"--max-params", "lots"}), "--max-params");
  expect_one_error_line(shrink(out, {"--max-macs", "5Q"}), "--max-macs");
  expect_one_error_line(shrink(out, {"--data", budget_fixture().data, "--min-sqnr", "high"}), "--min-sqnr");
  expect_one_error_line(shrink(out, {"--data", budget_fixture().data, "--min-cosine", "1.5"}), "--min-cosine");
  expect_one_error_line(shrink(out, {"--data", budget_fixture().data, "--max-top1-drop", "101"}), "--max-top1-drop");
  expect_one_error_line(shrink(out, {"--max-macs", "1G", "--dim", "batch"}), "--dim");
  EXPECT_FALSE(fs::exists(out));
}

TEST(ShrinkBudget, MacsUnknownWithoutDimsFails) {
  std::string out = testing::temp_dir() + "/q.onnx";
  auto c = shrink(out, {"--max-macs", "1G"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: check failed: [^\\n]*: MACs unknown [^\\n]*\n"))) << c.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(ShrinkBudget, WaterfallGivesTheSizeAfterEachStep) {
  const std::string passes = "fuse-bn, " + kQuant;
  std::string dir = testing::temp_dir(), out = dir + "/q.onnx";
  auto c = shrink(out, {"--report", dir + "/r.json"}, passes);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto j = json::parse(read_file(dir + "/r.json"));
  ASSERT_EQ(j["passes"].size(), 2u);
  const auto& fused = j["passes"][0];
  const auto& quant = j["passes"][1];
  EXPECT_EQ(fused["step"], "fuse-bn");
  EXPECT_LT(quant["file_bytes"].get<int64_t>(), fused["file_bytes"].get<int64_t>() / 2);
  EXPECT_LT(quant["download_bytes"].get<int64_t>(), fused["download_bytes"].get<int64_t>() / 2);
  auto size = metrics::measure_file(out);
  EXPECT_EQ(quant["file_bytes"].get<int64_t>(), static_cast<int64_t>(fs::file_size(out)));
  EXPECT_EQ(quant["download_bytes"].get<int64_t>(), size.download_bytes);
  EXPECT_EQ(quant["parameters"].get<int64_t>(), metrics::count_weights(formats::onnx::load_model(out)).parameters);

  // The first step's figures, computed here: fuse-bn alone on the original, with the metadata the output carries.
  passes::Pipeline all = passes::Pipeline::parse(passes), first = passes::Pipeline::parse("fuse-bn");
  ir::Model model = formats::onnx::load_model(kCls);
  passes::PassContext ctx;
  auto results = first.run(model, ctx, false);
  model.set_metadata("pare.pipeline", all.str());
  std::string bytes = formats::onnx::serialize_model(model);
  EXPECT_EQ(fused["file_bytes"].get<int64_t>(), static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(fused["download_bytes"].get<int64_t>(), metrics::deflate_size(bytes));
  EXPECT_EQ(fused["parameters"].get<int64_t>(), metrics::count_weights(model).parameters);
  EXPECT_EQ(fused["stats"], json(results[0].stats));
  // The terminal summary shows it too, a line per step.
  EXPECT_NE(c.out.find(fmt::format("after: file {} B, download {} B", fused["file_bytes"].get<int64_t>(),
                                   fused["download_bytes"].get<int64_t>())),
            std::string::npos)
      << c.out;
  EXPECT_NE(c.out.find(fmt::format("after: file {} B, download {} B", quant["file_bytes"].get<int64_t>(),
                                   quant["download_bytes"].get<int64_t>())),
            std::string::npos)
      << c.out;
}

TEST(ShrinkBudget, ReportIsByteIdenticalAcrossRuns) {
  const BudgetFixture& f = budget_fixture();
  std::string dir = testing::temp_dir();
  std::string reports[2];
  for (int k = 0; k < 2; ++k) {
    std::vector<std::string> args = kDims;
    for (const std::string& x : std::vector<std::string>{"--data", f.data, "--min-sqnr", "1", "--min-cosine", "0.5", "--max-top1-drop", "100",
                          "--max-bytes", "10MB", "--max-macs", "1G", "--report", dir + "/r" + std::to_string(k) + ".json"})
      args.push_back(x);
    auto c = shrink(dir + "/q.onnx", args, "fuse-bn, " + kQuant);
    ASSERT_EQ(c.exit_code, 0) << c.err;
    reports[k] = read_file(dir + "/r" + std::to_string(k) + ".json");
  }
  EXPECT_EQ(reports[0], reports[1]);
  auto j = json::parse(reports[0]);
  EXPECT_EQ(j["budgets"].size(), 5u);
  EXPECT_EQ(j["passes"].size(), 2u);
}

}  // namespace
}  // namespace pare
