// pare check's warn level, growth limits and runner budgets, as size-limit's
// users expect of a CI gate: a limit at the warn level is reported ("pare: check
// warning", a GitHub ::warning, JUnit output, JSON "warnings") and passes;
// max-growth holds each size figure to a percentage over the baseline's, just
// above the real growth it passes, just below it fails; without a baseline it is
// not checked, and says so. The runner's peak memory is held both ways around the
// figure a session here measures; its latency is shown, never asserted on.
// Annotations point at the budget file's line of the tightest limit. Mistakes
// are bad input (exit 2, one line).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/yaml/plan.h"
#include "lib/base/strings.h"
#include "lib/metrics/budget.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
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
  // At the lines of the budget file that set each limit (warn's own line for the warning).
  std::string at = "file=" + dir + "/budget.yaml,line=";
  EXPECT_EQ(count(c.out, "::warning " + at + "4::models/face.onnx: bytes "), 1u) << c.out;
  EXPECT_NE(c.out.find(" exceeds warn level "), std::string::npos) << c.out;
  EXPECT_EQ(count(c.out, "::error " + at + "6::models/cls.onnx: bytes "), 1u) << c.out;
  EXPECT_EQ(count(c.out, "::error "), 1u) << c.out;

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

// check_support::grown_workspace() with `yaml` as its budget file.
std::string grown_workspace_with(const std::string& yaml) {
  std::string dir = testing::check_support::grown_workspace();
  write_file_atomic(dir + "/budget.yaml", yaml);
  return dir;
}

TEST(CheckGrowth, MaxGrowthBothWays) {
  Growth g = growth_face_to_cls();
  ASSERT_GT(g.bytes, 1.0);
  std::string above = fmt::format("{:.1f}%", std::ceil(g.largest() * 10 + 1) / 10);
  std::string dir = grown_workspace_with(fmt::format("models:\n  - path: \"parts/*.onnx\"\n    max-growth: {}\n", above));
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
  std::string dir = grown_workspace_with("models:\n  - path: \"parts/*.onnx\"\n    max-growth: 0%\n");
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
  auto file = [&](const std::string& yaml) { return check_budget_text(dir, yaml); };
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
    EXPECT_NE(std::string(e.what()).find("max-growth are measured by pare check only"), std::string::npos) << e.what();
  }
}

TEST(CheckAnnotations, AtTheLineOfTheTightestLimit) {
  Real face = measure(kFace);
  // Two entries name the face model; the second's limit is the tighter one.
  std::string dir = workspace(fmt::format(
      "models:\n  - path: \"models/*.onnx\"\n    max-bytes: {}\n  - path: models/face.onnx\n    max-bytes: {}\n",
      face.bytes - 1, face.bytes - 2));
  auto c = testing::run_command(
      {"env", "-u", "GITHUB_STEP_SUMMARY", testing::pare_bin(), "check", "--budget", dir + "/budget.yaml", "--github"});
  EXPECT_EQ(c.exit_code, 1);
  std::string at = "::error file=" + dir + "/budget.yaml,line=";
  EXPECT_EQ(count(c.out, at + "5::models/face.onnx: bytes "), 1u) << c.out;
  EXPECT_EQ(count(c.out, at + "3::models/face.onnx: "), 0u) << c.out;
  EXPECT_EQ(count(c.out, at + "3::models/cls.onnx: bytes "), 1u) << c.out;  // the glob's limit holds the classifier
  // A flag tighter than every entry: the limit comes from the command line, the annotation from the model.
  auto flag = testing::run_command({"env", "-u", "GITHUB_STEP_SUMMARY", testing::pare_bin(), "check", "--budget",
                                    dir + "/budget.yaml", "--github", "--max-bytes", "1"});
  EXPECT_EQ(count(flag.out, "::error file=models/face.onnx::bytes "), 1u) << flag.out;
  EXPECT_EQ(count(flag.out, ",line="), 0u) << flag.out;
}

// The peak of the runner's intermediate tensors in one run on seeded inputs, as a session here measures it.
int64_t runner_peak_memory(const std::string& path) {
  ir::Model m = formats::onnx::load_model(path);
  rt::Session session(m);
  session.run(rt::random_feed(m, testing::dims_for(path)));
  return session.last_stats().peak_bytes;
}

TEST(CheckRunner, PeakMemoryBothWaysAndLatencyShown) {
  int64_t peak = runner_peak_memory(kFace);
  ASSERT_GT(peak, 0);
  auto budget = [&](int64_t limit) {
    return workspace(fmt::format("models:\n  - path: models/face.onnx\n    max-runner-peak-memory: {}\n"
                                 "    max-runner-latency: 100s\n",
                                 limit));
  };
  std::string held = budget(peak);
  auto ok = check(held, {"--json", held + "/out.json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("runner peak memory"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("runner latency"), std::string::npos) << ok.out;
  json j = json::parse(read_file(held + "/out.json"))["models"][0];
  EXPECT_EQ(j["runner_peak_memory"], peak);
  EXPECT_GT(j["runner_latency_ms"].get<double>(), 0.0);  // measured, whatever the machine
  EXPECT_EQ(j["limits"]["runner_latency_ms"], 100000.0);

  auto over = check(budget(peak - 1));
  EXPECT_EQ(over.exit_code, 1) << over.out << over.err;
  std::string v = human_bytes(peak), l = human_bytes(peak - 1);
  if (v == l) v += fmt::format(" ({} B)", peak), l += fmt::format(" ({} B)", peak - 1);
  EXPECT_EQ(over.err, "pare: check failed: models/face.onnx: runner peak memory " + v + " > budget " + l + "\n");

  // A model that cannot run: unknown, which fails rather than passes.
  std::string dyn = workspace("models:\n  - path: models/cls.onnx\n    max-runner-latency: 100s\n");
  auto unknown = check(dyn);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out;
  EXPECT_NE(unknown.err.find("runner latency unknown ("), std::string::npos) << unknown.err;
}

TEST(CheckRunner, MistakesAreBadInput) {
  std::string dir = workspace("models: []\n");
  auto file = [&](const std::string& yaml) { return check_budget_text(dir, yaml); };
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    max-runner-latency: 20\n"),
                        "line 3: max-runner-latency");
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    max-runner-latency: 20 parsecs\n"),
                        "not a duration");
  expect_one_error_line(file("models:\n  - path: models/face.onnx\n    max-runner-peak-memory: lots\n"),
                        "max-runner-peak-memory");
  // Only pare check runs the model for these: shrink has no such flag, a plan refuses them.
  auto shrink = testing::run_command({testing::pare_bin(), "shrink", dir + "/models/face.onnx", "-o", dir + "/s.onnx",
                                      "--max-runner-latency", "20ms"});
  EXPECT_EQ(shrink.exit_code, 2) << shrink.err;
  write_file_atomic(dir + "/plan.yaml", "model: models/face.onnx\noutput: out/\nsubtasks:\n  all:\n    passes: fold\n"
                                        "    budget: {max-runner-peak-memory: 1MB}\n");
  EXPECT_THROW(formats::load_plan(dir + "/plan.yaml"), Error);
}

TEST(CheckRunner, LibraryFigures) {
  EXPECT_EQ(metrics::parse_duration_ms("20ms"), 20.0);
  EXPECT_EQ(metrics::parse_duration_ms("1.5s"), 1500.0);
  EXPECT_EQ(metrics::parse_duration_ms("250 us"), 0.25);
  for (const char* bad : {"20", "ms", "-1ms", "1h2", "fast"}) EXPECT_THROW(metrics::parse_duration_ms(bad), Error) << bad;
  metrics::Budget b = metrics::parse_budget({{"max-runner-latency", "20ms"}, {"max-runner-peak-memory", "1MB"}});
  metrics::Measured m;
  m.runner_latency_ms = 23.126;
  m.runner_peak_memory = 1000001;
  auto r = metrics::check_limits(b, m);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].failure, "runner latency 23.13 ms > budget 20 ms");
  EXPECT_EQ(r[1].failure, "runner peak memory 1.00 MB (1000001 B) > budget 1.00 MB (1000000 B)");
  EXPECT_EQ(metrics::budget_key_of("runner latency"), "max-runner-latency");
  EXPECT_EQ(metrics::budget_key_of("MACs growth"), "max-growth");
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
