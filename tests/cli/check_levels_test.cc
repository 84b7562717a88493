// pare check's warn level and growth limits, as size-limit's users expect of a
// CI gate: a limit at the warn level is reported ("pare: check warning", a
// GitHub ::warning, JUnit output, JSON "warnings") and passes; max-growth holds
// each size figure to a percentage over the baseline's, just above the real
// growth it passes, just below it fails; without a baseline it is not checked,
// and says so. Mistakes in either are bad input (exit 2, one line).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/yaml/plan.h"
#include "lib/base/strings.h"
#include "lib/metrics/budget.h"
#include "tests/cli/check_support.h"

namespace pare {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace testing::check_support;

TEST(CheckWarn, AWarnLevelPastIsReportedAndPasses) {
  Real face = measure(kFace);
  std::string dir = workspace(fmt::format(
      "models:\n  - path: models/face.onnx\n    max-bytes: {}\n    warn:\n      max-bytes: {}\n"
      "  - path: models/cls.onnx\n    max-bytes: 5MB\n    warn: {{max-bytes: 4MB}}\n",
      face.bytes + 1000, face.bytes - 1));
  auto c = check(dir);
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_EQ(c.err, fmt::format("pare: check warning: models/face.onnx: bytes {} > warn level {}\n",
                               human_bytes(face.bytes) + fmt::format(" ({} B)", face.bytes),
                               human_bytes(face.bytes - 1) + fmt::format(" ({} B)", face.bytes - 1)));
  EXPECT_NE(c.out.find("models/face.onnx: warn"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("models/cls.onnx: ok"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("2 models within budget, 1 past a warn level"), std::string::npos) << c.out;
  // The limit column shows both levels.
  EXPECT_NE(c.out.find(human_bytes(face.bytes + 1000) + ", warn "), std::string::npos) << c.out;
}

TEST(CheckWarn, BothLevelsPastFailWithBothLines) {
  Real face = measure(kFace);
  std::string dir = workspace(fmt::format(
      "models:\n  - path: models/face.onnx\n    max-params: {}\n    warn: {{max-params: {}, max-download-bytes: 1}}\n",
      face.params - 1, face.params - 2));
  auto c = check(dir);
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_EQ(count(c.err, "pare: check failed: models/face.onnx: parameters"), 1u) << c.err;
  // The failure says it already: no warning line repeats it.
  EXPECT_EQ(count(c.err, "pare: check warning: models/face.onnx: parameters"), 0u) << c.err;
  EXPECT_EQ(count(c.err, "pare: check warning: models/face.onnx: download bytes"), 1u) << c.err;
  EXPECT_EQ(count(c.err, "\n"), 2u) << c.err;
  EXPECT_NE(c.out.find("models/face.onnx: over"), std::string::npos) << c.out;
}

TEST(CheckWarn, FlagsWithoutABudgetFile) {
  Real face = measure(kFace);
  std::string dir = workspace("models: []\n");
  std::string model = dir + "/models/face.onnx";
  auto c = testing::run_command({testing::pare_bin(), "check", model, "--max-bytes", "5MB", "--warn",
                                 fmt::format("max-params={}", face.params - 1)});
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_EQ(c.err, fmt::format("pare: check warning: {}: parameters {} > warn level {}\n", model, face.params,
                               face.params - 1));
  // A warn level alone is a limit too.
  auto alone = testing::run_command({testing::pare_bin(), "check", model, "--warn", "max-bytes=1"});
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_EQ(count(alone.err, "pare: check warning: "), 1u) << alone.err;
  // Each mistake is one error line naming --warn.
  for (const auto& bad : {"max-bytes", "=5MB", "max-byte=5MB", "max-bytes=lots", "max-growth=5"}) {
    SCOPED_TRACE(bad);
    auto e = testing::run_command({testing::pare_bin(), "check", model, "--warn", bad});
    expect_one_error_line(e, "--warn");
  }
  auto twice = testing::run_command(
      {testing::pare_bin(), "check", model, "--warn", "max-bytes=1MB", "--warn", "max-bytes=2MB"});
  expect_one_error_line(twice, "given twice");
  auto suggestion = testing::run_command({testing::pare_bin(), "check", model, "--warn", "max-byte=5MB"});
  EXPECT_NE(suggestion.err.find("max-bytes"), std::string::npos) << suggestion.err;
}

TEST(CheckWarn, CiViewsTellWarningsFromFailures) {
  Real face = measure(kFace);
  std::string dir = workspace(fmt::format(
      "models:\n  - path: models/face.onnx\n    max-bytes: 5MB\n    warn: {{max-bytes: {}}}\n"
      "  - path: models/cls.onnx\n    max-bytes: 1\n",
      face.bytes - 1));
  std::string summary = dir + "/summary.md";
  auto c = testing::run_command({"env", "GITHUB_STEP_SUMMARY=" + summary, testing::pare_bin(), "check", "--budget",
                                 dir + "/budget.yaml", "--github", "--junit", dir + "/junit.xml", "--json",
                                 dir + "/out.json"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_EQ(count(c.out, "::warning file=models/face.onnx::bytes "), 1u) << c.out;
  EXPECT_NE(c.out.find(" exceeds warn level "), std::string::npos) << c.out;
  EXPECT_EQ(count(c.out, "::error file=models/cls.onnx::bytes "), 1u) << c.out;
  EXPECT_EQ(count(c.out, "::error file=models/face.onnx"), 0u) << c.out;

  std::string md = read_file(summary);
  EXPECT_NE(md.find("1 of 2 models over budget, 1 past a warn level."), std::string::npos) << md;
  EXPECT_NE(md.find(" warn |\n"), std::string::npos) << md;
  EXPECT_NE(md.find(" **over** |\n"), std::string::npos) << md;

  std::string x = read_file(dir + "/junit.xml");
  EXPECT_NE(x.find("failures=\"1\""), std::string::npos) << x;
  EXPECT_EQ(count(x, "<failure "), 1u) << x;
  EXPECT_NE(x.find("<system-out>warning: bytes "), std::string::npos) << x;

  json j = json::parse(read_file(dir + "/out.json"));
  ASSERT_EQ(j["models"].size(), 2u);
  const json& f = j["models"][0]["file"] == "models/face.onnx" ? j["models"][0] : j["models"][1];
  EXPECT_EQ(f["failures"].size(), 0u) << f;
  ASSERT_EQ(f["warnings"].size(), 1u) << f;
  EXPECT_EQ(f["warnings"][0]["what"], "bytes");
  EXPECT_EQ(f["warn_limits"]["bytes"], face.bytes - 1);
  EXPECT_EQ(f["limits"]["bytes"], 5000000);
}

// The growth of each size figure from the face model to the classifier, in percent.
struct Growth {
  double bytes, download, params;
  double largest() const { return std::max({bytes, download, params}); }
};

Growth growth_face_to_cls() {
  Real a = measure(kFace), b = measure(kCls);
  auto pct = [](int64_t before, int64_t after) { return 100.0 * (after - before) / before; };
  return {pct(a.bytes, b.bytes), pct(a.download, b.download), pct(a.params, b.params)};
}

// A workspace with parts/a.onnx (the face model) and a baseline of it; then
// parts/a.onnx becomes the classifier. Returns the folder.
std::string grown_workspace(const std::string& yaml) {
  std::string dir = workspace("models:\n  - path: \"parts/*.onnx\"\n    max-bytes: 5MB\n");
  fs::create_directories(dir + "/parts");
  fs::copy_file(kFace, dir + "/parts/a.onnx");
  auto base = check(dir, {"--json", dir + "/base.json"});
  EXPECT_EQ(base.exit_code, 0) << base.err;
  fs::copy_file(kCls, dir + "/parts/a.onnx", fs::copy_options::overwrite_existing);
  write_file_atomic(dir + "/budget.yaml", yaml);
  return dir;
}

TEST(CheckGrowth, MaxGrowthBothWays) {
  Growth g = growth_face_to_cls();
  ASSERT_GT(g.bytes, 1.0);
  std::string above = fmt::format("{:.1f}%", std::ceil(g.largest() * 10 + 1) / 10);
  std::string dir = grown_workspace(fmt::format("models:\n  - path: \"parts/*.onnx\"\n    max-growth: {}\n", above));
  auto ok = check(dir, {"--baseline", dir + "/base.json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.err, "");
  EXPECT_NE(ok.out.find("bytes growth"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(fmt::format("{:+.1f}%", g.bytes)), std::string::npos) << ok.out;

  // Just below the bytes growth: bytes fails, with both sizes in its line.
  double below = std::floor(g.bytes * 10 - 1) / 10;
  write_file_atomic(dir + "/budget.yaml", fmt::format("models:\n  - path: \"parts/*.onnx\"\n    max-growth: {}%\n", below));
  auto over = check(dir, {"--baseline", dir + "/base.json"});
  EXPECT_EQ(over.exit_code, 1) << over.out << over.err;
  Real a = measure(kFace), b = measure(kCls);
  EXPECT_NE(over.err.find("pare: check failed: parts/a.onnx: bytes grew "), std::string::npos) << over.err;
  std::string tail = fmt::format(" since the baseline ({} -> {}) > budget +{}%\n", human_bytes(a.bytes),
                                 human_bytes(b.bytes), below);
  EXPECT_NE(over.err.find(tail), std::string::npos) << tail << " missing from\n" << over.err;
  size_t expected = (g.bytes > below) + (g.download > below) + (g.params > below);
  EXPECT_EQ(count(over.err, "pare: check failed: "), expected) << over.err;
  EXPECT_EQ(count(over.err, "\n"), expected) << over.err;

  // The same as a flag, and at the warn level.
  auto flag = testing::run_command({testing::pare_bin(), "check", "--budget", dir + "/budget.yaml", "--baseline",
                                    dir + "/base.json", "--max-growth", above});
  EXPECT_EQ(flag.exit_code, 1) << flag.err;  // the file's tighter limit still holds
  write_file_atomic(dir + "/budget.yaml", "models:\n  - path: \"parts/*.onnx\"\n    max-bytes: 5MB\n");
  auto warn = testing::run_command({testing::pare_bin(), "check", "--budget", dir + "/budget.yaml", "--baseline",
                                    dir + "/base.json", "--warn", fmt::format("max-growth={}%", below)});
  EXPECT_EQ(warn.exit_code, 0) << warn.err;
  EXPECT_EQ(count(warn.err, "pare: check warning: parts/a.onnx: bytes grew "), 1u) << warn.err;
}

TEST(CheckGrowth, WithoutABaselineItIsNotCheckedAndSaysSo) {
  std::string dir = grown_workspace("models:\n  - path: \"parts/*.onnx\"\n    max-growth: 0%\n");
  auto none = check(dir);
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_NE(none.out.find("growth not checked: no baseline"), std::string::npos) << none.out;
  auto first = check(dir, {"--baseline", dir + "/not-yet.json"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("pare: notice: "), std::string::npos) << first.err;
  // A model the baseline does not have is new: nothing to grow from.
  fs::copy_file(kFace, dir + "/parts/b.onnx");
  auto added = check(dir, {"--baseline", dir + "/base.json"});
  EXPECT_EQ(added.exit_code, 1) << added.err;  // a.onnx grew past 0%
  EXPECT_EQ(count(added.err, "parts/b.onnx"), 0u) << added.err;
  EXPECT_NE(added.out.find("growth not checked: not in the baseline (a new model)"), std::string::npos) << added.out;
}

TEST(CheckGrowth, MistakesAreBadInput) {
  std::string dir = workspace("models: []\n");
  auto file = [&](const std::string& yaml) {
    write_file_atomic(dir + "/budget.yaml", yaml);
    return check(dir);
  };
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    max-growth: 5\n"), "line 3: max-growth");
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    max-growth: -1%\n"), "max-growth");
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    warn: {max-growht: 5%}\n"), "max-growth");
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    warn: 5%\n"), "warn");
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    warn:\n      max-bytes: huge\n"),
                        "line 4: warn.max-bytes");
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    warn: {min-sqnr: 30}\n"), "warn.min-sqnr needs");
  // shrink has no baseline: --max-growth is not one of its flags.
  auto shrink = testing::run_command({testing::pare_bin(), "shrink", dir + "/models/face.onnx", "-o", dir + "/s.onnx",
                                      "--max-growth", "5%"});
  EXPECT_EQ(shrink.exit_code, 2) << shrink.err;
  EXPECT_FALSE(fs::exists(dir + "/s.onnx"));
}

TEST(CheckGrowth, APlanBudgetCannotHoldGrowth) {
  std::string dir = workspace("models: []\n");
  write_file_atomic(dir + "/plan.yaml",
                    "model: models/face.onnx\noutput: out/\nsubtasks:\n  all:\n    passes: fold\n    budget: {max-growth: 5%}\n");
  try {
    formats::load_plan(dir + "/plan.yaml");
    ADD_FAILURE() << "a plan budget with max-growth was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max-growth compares with a baseline"), std::string::npos) << e.what();
  }
}

TEST(CheckGrowth, LibraryGrowthFigures) {
  EXPECT_EQ(metrics::parse_growth("5%"), 5.0);
  EXPECT_EQ(metrics::parse_growth("0.5 %"), 0.5);
  EXPECT_EQ(metrics::parse_growth("0%"), 0.0);
  for (const char* bad : {"5", "%", "-1%", "five%", "5%%", ""}) EXPECT_THROW(metrics::parse_growth(bad), Error) << bad;
  metrics::Budget b;
  b.max_growth = 10;
  metrics::Measured m;
  m.bytes = 1100;
  m.download_bytes = 1000;
  m.params = 50;
  // No baseline: no growth results at all.
  EXPECT_TRUE(metrics::check_limits(b, m).empty());
  m.baseline = metrics::Measured::Sizes{1000, 1000, 0, std::nullopt};
  auto r = metrics::check_limits(b, m);
  ASSERT_EQ(r.size(), 2u);  // parameters grew from 0 (no percentage), MACs unknown on both sides
  EXPECT_EQ(r[0].what, "bytes growth");
  EXPECT_TRUE(r[0].ok);  // exactly +10%
  EXPECT_EQ(std::get<double>(r[0].value), 10.0);
  EXPECT_EQ(r[1].what, "download bytes growth");
  EXPECT_TRUE(r[1].ok);
  m.bytes = 1101;
  auto over = metrics::check_limits(b, m, metrics::Level::warn);
  ASSERT_EQ(over.size(), 2u);
  EXPECT_FALSE(over[0].ok);
  EXPECT_EQ(over[0].level, metrics::Level::warn);
  EXPECT_EQ(over[0].failure, "bytes grew 10.1% since the baseline (1.00 kB -> 1.10 kB) > warn level +10%");
}

}  // namespace
}  // namespace pare
