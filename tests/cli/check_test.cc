// pare check: the CI budget gate. Each limit holds just above the real
// value and fails just below it (the real values computed here with the same
// metrics functions), --baseline shows each change, --github, --junit and
// --json write what CI reads, and every mistake in the budget is exit 2.
// Fidelity budgets compare an int8 classifier with its float reference on
// seeded samples, around the figures that pare compare reports for the pair.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/strings.h"
#include "lib/metrics/budget.h"
#include "formats/yaml/budget_file.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "tests/support/models.h"
#include "tests/cli/check_support.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace testing::check_support;

TEST(CheckBudget, HoldsWithinEveryLimit) {
  Real face = measure(kFace), cls = measure(kCls);
  std::string dir = workspace(fmt::format(
      "# both models, every limit a little above the real value\n"
      "models:\n"
      "  - path: models/face.onnx\n"
      "    max-bytes: {}\n"
      "    max-download-bytes: {} B\n"
      "    max-params: {}\n"
      "  - path: \"models/c*.onnx\"\n"
      "    max-bytes: {}\n",
      face.bytes + 1000, face.download + 1000, face.params + 1, cls.bytes + 1));
  auto c = check(dir);
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_EQ(c.err, "");
  EXPECT_NE(c.out.find("models/face.onnx: ok"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("models/cls.onnx: ok"), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find("over"), std::string::npos) << c.out;
  // The measured values and the limits are in the table, as human sizes and plain counts.
  for (const auto& s : {human_bytes(face.bytes), human_bytes(face.download), std::to_string(face.params),
                        human_bytes(face.bytes + 1000), human_bytes(cls.bytes)})
    EXPECT_NE(c.out.find(s), std::string::npos) << s << " missing from\n" << c.out;
  // MACs cost a run: without a max-macs limit they are not counted, nor shown.
  EXPECT_EQ(c.out.find("MACs"), std::string::npos) << c.out;
  // Names are relative to the budget file, never absolute.
  EXPECT_EQ(c.out.find(dir), std::string::npos) << c.out;
}

// One limit of the face model set just above, then just below its real value.
void expect_both_ways(const std::string& key, const std::string& what, int64_t value, bool bytes) {
  SCOPED_TRACE(key);
  auto budget = [&](int64_t limit) {
    return workspace(fmt::format("models:\n  - path: models/face.onnx\n    {}: {}\n", key, limit));
  };
  auto ok = check(budget(value + 1));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.err, "");
  EXPECT_NE(ok.out.find("models/face.onnx: ok"), std::string::npos) << ok.out;

  auto over = check(budget(value - 1));
  EXPECT_EQ(over.exit_code, 1) << over.out << over.err;
  EXPECT_NE(over.out.find("models/face.onnx: over"), std::string::npos) << over.out;
  std::string v = bytes ? human_bytes(value) : std::to_string(value);
  std::string l = bytes ? human_bytes(value - 1) : std::to_string(value - 1);
  if (v == l) {  // the same human size: the exact bytes tell them apart
    v += fmt::format(" ({} B)", value);
    l += fmt::format(" ({} B)", value - 1);
  }
  EXPECT_EQ(over.err, "pare: check failed: models/face.onnx: " + what + " " + v + " > budget " + l + "\n");
}

TEST(CheckBudget, MaxBytesBothWays) { expect_both_ways("max-bytes", "bytes", measure(kFace).bytes, true); }

TEST(CheckBudget, MaxDownloadBytesBothWays) {
  expect_both_ways("max-download-bytes", "download bytes", measure(kFace).download, true);
}

TEST(CheckBudget, MaxParamsBothWays) { expect_both_ways("max-params", "parameters", measure(kFace).params, false); }

TEST(CheckBudget, MaxMacsBothWays) {
  int64_t macs = measure(kFace).macs;
  ASSERT_GT(macs, 0);
  expect_both_ways("max-macs", "MACs", macs, false);
  // With a MACs limit the table shows them.
  auto c = check(workspace(fmt::format("models:\n  - path: models/face.onnx\n    max-macs: {}\n", macs)));
  EXPECT_NE(c.out.find("MACs"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(std::to_string(macs)), std::string::npos) << c.out;
}

TEST(CheckBudget, SuffixedLimits) {
  Real face = measure(kFace);
  // 1000-based K/M/G counts and sizes with units: far above and far below the real values.
  auto ok = check(workspace("models:\n  - path: models/face.onnx\n    max-macs: 10G\n    max-params: 1.5M\n"
                            "    max-bytes: 5MB\n    max-download-bytes: 4000 KiB\n"));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  ASSERT_LT(face.params, 1500000);
  ASSERT_GT(face.params, 1000);
  auto over = check(workspace("models:\n  - path: models/face.onnx\n    max-params: 1k\n"));
  EXPECT_EQ(over.exit_code, 1) << over.out << over.err;
  EXPECT_NE(over.err.find("parameters " + std::to_string(face.params) + " > budget 1000\n"), std::string::npos)
      << over.err;
}

TEST(CheckBudget, UnknownMacsAreAFailureNotAPass) {
  // The classifier has symbolic dims: its MACs cannot be counted without them.
  auto c = check(workspace("models:\n  - path: models/cls.onnx\n    max-macs: 100G\n"));
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: check failed: models/cls\\.onnx: MACs unknown [^\\n]+\\n")))
      << c.err;
  // Fixing the dims in the budget makes them known, and within 100G.
  std::string dims;
  for (const auto& [name, size] : testing::dims_for(kCls)) dims += fmt::format("      \"{}\": {}\n", name, size);
  ASSERT_FALSE(dims.empty());
  auto fixed = check(workspace("models:\n  - path: models/cls.onnx\n    max-macs: 100G\n    dims:\n" + dims));
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  ir::Model m = formats::onnx::load_model(kCls);
  auto macs = metrics::count_macs(m, testing::dims_for(kCls));
  ASSERT_TRUE(macs.known);
  EXPECT_NE(fixed.out.find(std::to_string(macs.total)), std::string::npos) << fixed.out;
  // So does --dim on the command line, the fix that the unknown reason suggests.
  std::vector<std::string> args;
  for (const auto& [name, size] : testing::dims_for(kCls)) args.insert(args.end(), {"--dim", fmt::format("{}={}", name, size)});
  auto cli = check(workspace("models:\n  - path: models/cls.onnx\n    max-macs: 100G\n"), args);
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_NE(cli.out.find(std::to_string(macs.total)), std::string::npos) << cli.out;
  // And a MACs limit just below the count fails.
  auto below = check(workspace(fmt::format("models:\n  - path: models/cls.onnx\n    max-macs: {}\n", macs.total - 1)), args);
  EXPECT_EQ(below.exit_code, 1) << below.out << below.err;
  EXPECT_EQ(below.err, fmt::format("pare: check failed: models/cls.onnx: MACs {} > budget {}\n", macs.total, macs.total - 1));
}

TEST(CheckBudget, OnlyTheFilesGiven) {
  std::string dir = workspace("models:\n  - path: models/face.onnx\n    max-bytes: 1\n  - path: models/cls.onnx\n");
  // The face model is over its budget, but only the classifier is asked for.
  auto c = check(dir, {dir + "/models/cls.onnx"});
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_NE(c.out.find("models/cls.onnx: ok"), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find("face.onnx"), std::string::npos) << c.out;
  auto all = check(dir);
  EXPECT_EQ(all.exit_code, 1) << all.out << all.err;
  EXPECT_EQ(count(all.err, "pare: check failed: "), 1u) << all.err;
}

TEST(CheckBudget, JsonIsSortedAndMatchesTheMeasurements) {
  Real face = measure(kFace);
  std::string dir = workspace(fmt::format("models:\n  - path: models/face.onnx\n    max-bytes: {}\n    max-macs: {}\n",
                                          face.bytes - 1, face.macs + 1));
  auto c = check(dir, {"--json", dir + "/out.json"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  std::string text = read_file(dir + "/out.json");
  json j = json::parse(text);
  EXPECT_EQ(j.dump(2) + "\n", text);  // nlohmann's objects are sorted: the file is in its canonical form
  ASSERT_EQ(j["models"].size(), 1u);
  const json& m = j["models"][0];
  EXPECT_EQ(m["file"], "models/face.onnx");
  EXPECT_EQ(m["bytes"], face.bytes);
  EXPECT_EQ(m["download_bytes"], face.download);
  EXPECT_EQ(m["params"], face.params);
  EXPECT_EQ(m["macs"], face.macs);
  EXPECT_EQ(m["limits"]["bytes"], face.bytes - 1);
  EXPECT_EQ(m["limits"]["macs"], face.macs + 1);
  ASSERT_EQ(m["failures"].size(), 1u);
  EXPECT_EQ(m["failures"][0]["what"], "bytes");
  EXPECT_EQ(m["failures"][0]["value"], face.bytes);
}

TEST(CheckBaseline, ShowsGrowthAndNewModels) {
  // The baseline: parts/a.onnx is the face model; then it grows (it becomes the
  // classifier) and b.onnx appears.
  std::string dir = grown_workspace();
  fs::copy_file(kFace, dir + "/parts/b.onnx");
  auto c = check(dir, {"--baseline", dir + "/base.json"});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  Real before = measure(kFace), after = measure(kCls);
  ASSERT_GT(after.bytes, before.bytes);
  int64_t d = after.bytes - before.bytes;
  std::string grown = fmt::format("+{}, {:+.1f}%", human_bytes(d), 100.0 * d / before.bytes);
  EXPECT_NE(c.out.find(grown), std::string::npos) << grown << " missing from\n" << c.out;
  int64_t dd = after.download - before.download;
  std::string grown_download = fmt::format("{}{}, {:+.1f}%", dd > 0 ? "+" : "", human_bytes(dd), 100.0 * dd / before.download);
  EXPECT_NE(c.out.find(grown_download), std::string::npos) << grown_download << " missing from\n" << c.out;
  // b.onnx is not in the baseline: each of its sizes says "new".
  size_t b = c.out.find("parts/b.onnx: ok");
  ASSERT_NE(b, std::string::npos) << c.out;
  EXPECT_EQ(count(c.out.substr(b), "new"), 3u) << c.out;
  EXPECT_EQ(count(c.out.substr(0, b), "new"), 0u) << c.out;

  // A baseline that is not pare check JSON is bad input.
  write_file_atomic(dir + "/bad.json", "{\"models\": 3");
  expect_one_error_line(check(dir, {"--baseline", dir + "/bad.json"}), "bad.json");
}

TEST(CheckGithub, AnnotationsAndStepSummary) {
  Real face = measure(kFace);
  std::string dir = workspace(fmt::format(
      "models:\n  - path: models/face.onnx\n    max-bytes: {}\n    max-params: {}\n  - path: models/cls.onnx\n"
      "    max-bytes: 5MB\n",
      face.bytes - 1, face.params - 1));
  std::string summary = dir + "/summary.md";
  write_file_atomic(summary, "earlier step\n");
  auto c = testing::run_command({"env", "GITHUB_STEP_SUMMARY=" + summary, testing::pare_bin(), "check", "--budget",
                                 dir + "/budget.yaml", "--github"});
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_EQ(count(c.out, "::error "), 2u) << c.out;
  std::string v = human_bytes(face.bytes), l = human_bytes(face.bytes - 1);
  if (v == l) v += fmt::format(" ({} B)", face.bytes), l += fmt::format(" ({} B)", face.bytes - 1);
  // Each annotation points at the budget file's line that sets the limit.
  std::string at = "::error file=" + dir + "/budget.yaml,line=";
  EXPECT_NE(c.out.find(at + "3::models/face.onnx: bytes " + v + " exceeds budget " + l + "\n"), std::string::npos)
      << c.out;
  EXPECT_NE(c.out.find(fmt::format("{}4::models/face.onnx: parameters {} exceeds budget {}\n", at, face.params,
                                   face.params - 1)),
            std::string::npos)
      << c.out;
  EXPECT_EQ(count(c.err, "pare: check failed: models/face.onnx: "), 2u) << c.err;

  std::string md = read_file(summary);
  EXPECT_TRUE(starts_with(md, "earlier step\n")) << "the summary must be appended to:\n" << md;
  EXPECT_NE(md.find("| Model |"), std::string::npos) << md;
  EXPECT_NE(md.find("|---|"), std::string::npos) << md;
  EXPECT_NE(md.find("| `models/face.onnx` |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `models/cls.onnx` |"), std::string::npos) << md;
  EXPECT_EQ(count(md, "**over**"), 1u) << md;
  EXPECT_EQ(count(md, " ok |"), 1u) << md;
  EXPECT_NE(md.find(human_bytes(face.bytes)), std::string::npos) << md;

  // Without --github: no annotations, and the summary is left alone.
  // (GITHUB_ACTIONS unset: "true" would turn --github on by itself, as when this suite runs in an Action.)
  auto plain = testing::run_command({"env", "-u", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY=" + summary,
                                     testing::pare_bin(), "check", "--budget", dir + "/budget.yaml"});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_EQ(plain.out.find("::error"), std::string::npos) << plain.out;
  EXPECT_EQ(read_file(summary), md);
}

// Checks that every tag is closed in order and that no '<' or '&' appears raw
// in text or attributes; returns the tag names in order of opening.
std::vector<std::string> check_xml(const std::string& x) {
  std::vector<std::string> stack, opened;
  size_t p = 0;
  if (starts_with(x, "<?xml")) p = x.find("?>") + 2;
  while (true) {
    size_t lt = x.find('<', p);
    std::string text = x.substr(p, lt == std::string::npos ? std::string::npos : lt - p);
    for (size_t a = text.find('&'); a != std::string::npos; a = text.find('&', a + 1))
      EXPECT_TRUE(std::regex_search(text.substr(a), std::regex("^&(amp|lt|gt|quot|apos|#[0-9]+);"))) << text;
    if (lt == std::string::npos) break;
    size_t gt = x.find('>', lt);
    EXPECT_NE(gt, std::string::npos);
    if (gt == std::string::npos) break;
    std::string tag = x.substr(lt + 1, gt - lt - 1);
    EXPECT_EQ(tag.find('<'), std::string::npos) << tag;
    for (size_t a = tag.find('&'); a != std::string::npos; a = tag.find('&', a + 1))
      EXPECT_TRUE(std::regex_search(tag.substr(a), std::regex("^&(amp|lt|gt|quot|apos|#[0-9]+);"))) << tag;
    EXPECT_EQ(count(tag, "\"") % 2, 0u) << tag;
    if (starts_with(tag, "/")) {
      EXPECT_FALSE(stack.empty()) << "</" << tag << "> closes nothing";
      if (!stack.empty()) {
        EXPECT_EQ(tag.substr(1), stack.back());
        stack.pop_back();
      }
    } else {
      std::string name = tag.substr(0, tag.find_first_of(" /"));
      opened.push_back(name);
      if (tag.back() != '/') stack.push_back(name);
    }
    p = gt + 1;
  }
  EXPECT_TRUE(stack.empty()) << "unclosed: " << (stack.empty() ? "" : stack.back());
  return opened;
}

TEST(CheckJunit, OneTestcasePerModelAndAFailureWhenOver) {
  Real face = measure(kFace);
  std::string dir = workspace(fmt::format("models:\n  - path: \"models/*.onnx\"\n    max-bytes: {}\n", face.bytes));
  // A name that needs escaping.
  fs::copy_file(kFace, dir + "/models/a&b <\"q\">.onnx");
  auto c = check(dir, {"--junit", dir + "/junit.xml"});
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;  // the classifier is larger than the face model
  std::string x = read_file(dir + "/junit.xml");
  auto tags = check_xml(x);
  ASSERT_FALSE(tags.empty());
  EXPECT_EQ(tags.front(), "testsuite");
  EXPECT_EQ(count(x, "<testsuite "), 1u) << x;
  EXPECT_EQ(count(x, "<testcase "), 3u) << x;
  EXPECT_EQ(count(x, "<failure "), 1u) << x;
  EXPECT_NE(x.find("name=\"pare check\" tests=\"3\" failures=\"1\""), std::string::npos) << x;
  EXPECT_NE(x.find("<testcase name=\"models/a&amp;b &lt;&quot;q&quot;&gt;.onnx\""), std::string::npos) << x;
  // The failure is the classifier's, and says why.
  size_t cls = x.find("<testcase name=\"models/cls.onnx\"");
  ASSERT_NE(cls, std::string::npos) << x;
  size_t fail_at = x.find("<failure message=\"bytes ");
  ASSERT_NE(fail_at, std::string::npos) << x;
  EXPECT_GT(fail_at, cls);
  EXPECT_LT(fail_at, x.find("</testcase>", cls));
  EXPECT_NE(x.find("&gt; budget " + human_bytes(face.bytes)), std::string::npos) << x;
  // A real XML parser (Python's, as CI tools read JUnit) accepts it and sees the same counts.
  auto parsed = testing::run_command(
      {"/usr/bin/python3", "-c",
       "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
       "print(r.tag, r.get('tests'), r.get('failures'), len(r.findall('testcase')), len(r.findall('testcase/failure')))",
       dir + "/junit.xml"});
  EXPECT_EQ(parsed.exit_code, 0) << parsed.err;
  EXPECT_EQ(parsed.out, "testsuite 3 1 3 1\n");
}

TEST(CheckBadInput, YamlSyntaxError) {
  std::string dir = workspace("models:\n  - path: models/face.onnx\n    max-bytes: [5MB\n");
  auto c = check(dir);
  expect_one_error_line(c, "budget.yaml");
  EXPECT_NE(c.err.find("line "), std::string::npos) << c.err;
}

TEST(CheckBadInput, UnknownKey) {
  auto c = check(workspace("models:\n  - path: models/face.onnx\n    max-byte: 5MB\n"));
  expect_one_error_line(c, "budget.yaml: line 3: unknown key 'max-byte' (did you mean 'max-bytes'?)");
  auto top = check(workspace("model:\n  - path: models/face.onnx\n"));
  expect_one_error_line(top, "unknown key 'model' (did you mean 'models'?)");
  EXPECT_NE(top.err.find("budget.yaml"), std::string::npos) << top.err;
}

TEST(CheckBadInput, BadLimits) {
  expect_one_error_line(check(workspace("models:\n  - path: models/face.onnx\n    max-bytes: 5 parsecs\n")),
                        "budget.yaml: line 3: max-bytes");
  expect_one_error_line(check(workspace("models:\n  - path: models/face.onnx\n    max-params: lots\n")),
                        "budget.yaml: line 3: max-params");
  expect_one_error_line(check(workspace("models:\n  - max-bytes: 5MB\n")), "no 'path'");
}

TEST(CheckBadInput, GlobMatchingNothing) {
  auto c = check(workspace("models:\n  - path: models/face.onnx\n  - path: \"parts/*.onnx\"\n    max-bytes: 1MB\n"));
  expect_one_error_line(c, "budget.yaml: line 3: 'parts/*.onnx' matches no file");
  EXPECT_EQ(c.out, "");
  expect_one_error_line(check(workspace("models:\n  - path: models/gone.onnx\n")), "models/gone.onnx: no such file");
}

TEST(CheckBadInput, FileNotInBudget) {
  std::string dir = workspace("models:\n  - path: models/face.onnx\n    max-bytes: 5MB\n");
  std::string other = dir + "/models/cls.onnx";
  auto c = check(dir, {other});
  expect_one_error_line(c, other + ": no budget entry matches it");
  EXPECT_EQ(c.out, "");
}

// ---- fidelity budgets: a model against its reference on samples ----

using testing::kClsDims;

// models/ref.onnx (the classifier), models/q.onnx (its weights-only int8 copy),
// samples/1..3 (seeded inputs), and the worst SQNR and cosine of q against ref
// on them as pare compare reports them.
struct FidelityFixture {
  std::string dir;
  double sqnr = 0, cosine = 0;
  json fidelity;  // pare compare's "fidelity" list
};

const FidelityFixture& fidelity_fixture() {
  static FidelityFixture f = [] {
    FidelityFixture x;
    x.dir = testing::temp_dir();
    fs::create_directories(x.dir + "/models");
    fs::copy_file(kCls, x.dir + "/models/ref.onnx");
    auto shrink = testing::run_command({testing::pare_bin(), "shrink", x.dir + "/models/ref.onnx", "-o",
                                        x.dir + "/models/q.onnx", "--passes", "quantize(int8, weights-only)", "-q"});
    EXPECT_EQ(shrink.exit_code, 0) << shrink.err;
    testing::save_seeded_samples(x.dir + "/models/ref.onnx", x.dir + "/samples", 3, kClsDims);
    auto compare = testing::run_command({testing::pare_bin(), "compare", x.dir + "/models/ref.onnx",
                                         x.dir + "/models/q.onnx", "--data", x.dir + "/samples", "--json",
                                         x.dir + "/compare.json", "-q"});
    EXPECT_EQ(compare.exit_code, 0) << compare.err;
    x.fidelity = json::parse(read_file(x.dir + "/compare.json"))["fidelity"];
    EXPECT_FALSE(x.fidelity.empty());
    x.sqnr = x.cosine = 1e300;
    for (const auto& d : x.fidelity) {  // the budgets hold the worst output to them
      x.sqnr = std::min(x.sqnr, d["sqnr_db"].get<double>());
      x.cosine = std::min(x.cosine, d["cosine"].get<double>());
    }
    return x;
  }();
  return f;
}

// Writes `yaml` as the fixture's budget.yaml and checks it.
testing::Command fidelity_check(const std::string& yaml, std::vector<std::string> extra = {}) {
  const FidelityFixture& f = fidelity_fixture();
  write_file_atomic(f.dir + "/budget.yaml", yaml);
  return check(f.dir, extra);
}

std::string compared(const std::string& budgets) {
  return "models:\n  - path: models/q.onnx\n    reference: models/ref.onnx\n    data: samples\n" + budgets;
}

TEST(CheckFidelity, MinSqnrBothWays) {
  const FidelityFixture& f = fidelity_fixture();
  ASSERT_GT(f.sqnr, 10.0);  // int8 weights: close to the reference, yet not identical
  ASSERT_LT(f.sqnr, 100.0);
  const std::string dir = f.dir;
  int64_t bytes = metrics::measure_file(dir + "/models/q.onnx").file_bytes;

  // 1 dB below the real SQNR holds (as does a size limit beside it).
  std::string below = fmt::format("{:.3f}", f.sqnr - 1);
  auto ok = fidelity_check(compared(fmt::format("    min-sqnr: {}\n    max-bytes: {}\n", below, bytes)),
                           {"--json", dir + "/base.json", "-q"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.err, "");
  EXPECT_NE(ok.out.find("models/q.onnx: ok"), std::string::npos) << ok.out;
  EXPECT_TRUE(std::regex_search(ok.out, std::regex("\n +SQNR +" + fmt::format("{:.2f}", f.sqnr) + " dB +" +
                                                   fmt::format("{}", std::stod(below)) + " dB +ok\n")))
      << ok.out;
  EXPECT_NE(ok.out.find("compared with models/ref.onnx on 3 samples of samples"), std::string::npos) << ok.out;
  // The same again against that run as the baseline: the SQNR did not change.
  auto again = fidelity_check(compared(fmt::format("    min-sqnr: {}\n", below)), {"--baseline", dir + "/base.json"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(std::regex_search(again.out, std::regex("\n +SQNR .* no change +ok\n"))) << again.out;

  // 1 dB above fails: exit 1, and the one line says by how much.
  std::string above = fmt::format("{:.3f}", f.sqnr + 1);
  double limit = std::stod(above);
  std::string summary = dir + "/summary.md";
  write_file_atomic(summary, "");
  write_file_atomic(dir + "/budget.yaml", compared(fmt::format("    min-sqnr: {}\n    max-bytes: {}\n", above, bytes)));
  auto over = testing::run_command({"env", "GITHUB_STEP_SUMMARY=" + summary, testing::pare_bin(), "check", "--budget",
                                    dir + "/budget.yaml", "--json", dir + "/out.json", "--junit", dir + "/junit.xml",
                                    "--github", "-q"});
  EXPECT_EQ(over.exit_code, 1) << over.out << over.err;
  std::string failure = fmt::format("SQNR {:.1f} dB < budget {} dB", f.sqnr, limit);
  EXPECT_EQ(over.err, "pare: check failed: models/q.onnx: " + failure + "\n");
  EXPECT_NE(over.out.find("models/q.onnx: over"), std::string::npos) << over.out;
  // min-sqnr is on line 5 of the budget file (after models, path, reference and data).
  EXPECT_NE(over.out.find(fmt::format("::error file={}/budget.yaml,line=5::models/q.onnx: SQNR {:.1f} dB is below "
                                      "budget {} dB\n",
                                      dir, f.sqnr, limit)),
            std::string::npos)
      << over.out;

  // --json: the comparison, and the budget results with their values.
  json j = json::parse(read_file(dir + "/out.json"));
  ASSERT_EQ(j["models"].size(), 1u);
  const json& m = j["models"][0];
  EXPECT_EQ(m["reference"], "models/ref.onnx");
  EXPECT_EQ(m["samples"], 3);
  ASSERT_EQ(m["fidelity"].size(), f.fidelity.size());
  EXPECT_NEAR(m["fidelity"][0]["sqnr_db"].get<double>(), f.fidelity[0]["sqnr_db"].get<double>(), 1e-9);
  EXPECT_EQ(m["limits"]["min_sqnr"], limit);
  EXPECT_EQ(m["limits"]["bytes"], bytes);
  ASSERT_EQ(m["budgets"].size(), 2u) << m.dump(2);
  EXPECT_EQ(m["budgets"][0]["what"], "bytes");
  EXPECT_EQ(m["budgets"][0]["ok"], true);
  EXPECT_EQ(m["budgets"][1]["what"], "SQNR");
  EXPECT_EQ(m["budgets"][1]["ok"], false);
  EXPECT_NEAR(m["budgets"][1]["value"].get<double>(), f.sqnr, 1e-9);
  EXPECT_EQ(m["budgets"][1]["failure"], failure);
  ASSERT_EQ(m["failures"].size(), 1u);
  EXPECT_EQ(m["failures"][0]["what"], "SQNR");
  EXPECT_NEAR(m["failures"][0]["value"].get<double>(), f.sqnr, 1e-9);

  // --threads 2 compares on two threads: the same figures, the same JSON.
  auto threaded = testing::run_command({testing::pare_bin(), "check", "--budget", dir + "/budget.yaml", "--json",
                                        dir + "/threads.json", "--threads", "2", "-q"});
  EXPECT_EQ(threaded.exit_code, 1) << threaded.out << threaded.err;
  EXPECT_EQ(read_file(dir + "/threads.json"), read_file(dir + "/out.json"));

  // JUnit: the model's testcase fails with the same text.
  std::string x = read_file(dir + "/junit.xml");
  check_xml(x);
  EXPECT_NE(x.find("tests=\"1\" failures=\"1\""), std::string::npos) << x;
  EXPECT_NE(x.find(fmt::format("<failure message=\"SQNR {:.1f} dB &lt; budget {} dB\"/>", f.sqnr, limit)),
            std::string::npos)
      << x;

  // The step summary has an SQNR column (no cosine one: no entry has that budget).
  std::string md = read_file(summary);
  EXPECT_NE(md.find(" Parameters | SQNR | Status |"), std::string::npos) << md;
  EXPECT_EQ(md.find("Cosine"), std::string::npos) << md;
  EXPECT_NE(md.find(fmt::format("**{:.2f} dB / {} dB**", f.sqnr, limit)), std::string::npos) << md;
}

TEST(CheckFidelity, MinCosineFailsAtOne) {
  const FidelityFixture& f = fidelity_fixture();
  ASSERT_LT(f.cosine, 1.0);
  auto c = fidelity_check(compared("    min-cosine: 1.0\n"), {"-q"});
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(c.err, m, std::regex("pare: check failed: models/q\\.onnx: cosine (0\\.([0-9]+)) < budget 1\n")))
      << c.err;
  // The cosine, with as many decimals (at least 4) as it takes to read below 1.
  std::string shown = m[1];
  size_t decimals = m[2].length();
  EXPECT_GE(decimals, 4u);
  EXPECT_EQ(shown, fmt::format("{:.{}f}", f.cosine, decimals));
  EXPECT_LT(std::stod(shown), 1.0);
  EXPECT_TRUE(std::regex_search(c.out, std::regex("\n +cosine +" + fmt::format("{:.6f}", f.cosine) + " +1 +over\n")))
      << c.out;
}

TEST(CheckFidelity, BudgetsWithoutReferenceOrDataAreErrors) {
  auto none = fidelity_check("models:\n  - path: models/q.onnx\n    min-sqnr: 20\n");
  expect_one_error_line(none, "budget.yaml: line 3: min-sqnr needs 'reference'");
  EXPECT_NE(none.err.find("'data'"), std::string::npos) << none.err;
  EXPECT_EQ(none.out, "");
  expect_one_error_line(
      fidelity_check("models:\n  - path: models/q.onnx\n    reference: models/ref.onnx\n    min-cosine: 0.9\n"),
      "budget.yaml: line 4: min-cosine needs 'data'");
  expect_one_error_line(fidelity_check("models:\n  - path: models/q.onnx\n    data: samples\n    max-top1-drop: 1\n"),
                        "budget.yaml: line 4: max-top1-drop needs 'reference'");
  expect_one_error_line(fidelity_check(compared("    min-accuracy: 0.5\n")),
                        "budget.yaml: line 5: min-accuracy needs 'labels'");
  // A bad value names its line and key, as a bad size does.
  expect_one_error_line(fidelity_check(compared("    max-bytes: 5MB\n    min-sqnr: loud\n")),
                        "budget.yaml: line 6: min-sqnr: 'loud' is not a number of dB");
}

TEST(CheckFidelity, MissingReferenceIsAnError) {
  auto c = fidelity_check("models:\n  - path: models/q.onnx\n    reference: models/gone.onnx\n    data: samples\n"
                          "    min-sqnr: 20\n");
  expect_one_error_line(c, "budget.yaml: line 3: reference: 'models/gone.onnx': no such file");
  EXPECT_EQ(c.out, "");
}

TEST(CheckBudgetLibrary, CheckBudgetAndCounts) {
  metrics::Measured m{100, 50, 10, std::nullopt};
  metrics::Budget b;
  EXPECT_TRUE(metrics::check_budget(m, b).empty());
  b.max_bytes = 100;  // equal is within budget
  b.max_download_bytes = 49;
  b.max_params = 10;
  auto f = metrics::check_budget(m, b);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].what, "download bytes");
  EXPECT_EQ(f[0].value, 50);
  EXPECT_EQ(f[0].limit, 49);
  b.max_macs = 1000;
  f = metrics::check_budget(m, b);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].what, "MACs");
  EXPECT_TRUE(f[1].unknown);
  m.macs = 1000;
  EXPECT_EQ(metrics::check_budget(m, b).size(), 1u);
  EXPECT_EQ(metrics::parse_count("50M"), 50000000);
  EXPECT_EQ(metrics::parse_count("1.5k"), 1500);
  EXPECT_EQ(metrics::parse_count("2G"), 2000000000);
  EXPECT_EQ(metrics::parse_count("200000"), 200000);
  EXPECT_THROW(metrics::parse_count("5MB"), Error);
  EXPECT_THROW(metrics::parse_count("-3"), Error);
  EXPECT_TRUE(formats::budget_path_matches("parts/*.onnx", "parts/a.onnx"));
  EXPECT_TRUE(formats::budget_path_matches("./parts/*.onnx", "parts/a.onnx"));
  EXPECT_FALSE(formats::budget_path_matches("parts/*.onnx", "parts/sub/a.onnx"));
  EXPECT_FALSE(formats::budget_path_matches("*.onnx", "parts/a.onnx"));
}

}  // namespace
}  // namespace pare
