// The command line's habits (issue 16): presets when shrink has no --passes,
// --input-shape for inputs whose dims have no name, --json - to stdout, "did you
// mean", Examples in --help, colour only where it belongs, and pare check's
// budget flags, first-run baseline and GitHub detection.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/metrics/size.h"
#include "passes/pipeline.h"
#include "passes/presets.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

using testing::kCls;
using testing::kClsDims;

testing::Command clean_pare(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), testing::pare_bin());
  // A clean environment for what these tests are about: no colour forced, no GitHub.
  std::vector<std::string> prefix = {"env", "-u", "NO_COLOR", "-u", "CLICOLOR_FORCE", "-u", "GITHUB_ACTIONS"};
  prefix.insert(prefix.end(), env.begin(), env.end());
  args.insert(args.begin(), prefix.begin(), prefix.end());
  return testing::run_command(args);
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// A silero-VAD-like model: input [?, 4] (a dim without a name; silero's is [?, 512]) through a MatMul.
std::string unnamed_dim_model(const std::string& dir) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    vad (float[?,4] input) => (float[?,2] prob) <float[4,2] w = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0}> {
      h = MatMul(input, w)
      prob = Sigmoid(h)
    })");
  std::string path = dir + "/vad.onnx";
  formats::onnx::save_model(m, path);
  return path;
}

TEST(Presets, ShrinkWithoutPassesRunsTheDefaultPresetAndSaysSo) {
  std::string dir = testing::temp_dir();
  auto c = clean_pare(with({"shrink", kCls, "-o", dir + "/d.onnx", "--json", dir + "/d.json"}, kClsDims));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const passes::Preset& preset = passes::default_preset();
  EXPECT_NE(c.out.find(std::string("preset ") + preset.name + " (the default"), std::string::npos) << c.out;
  // It did something: the pipeline of the preset ran and the file shrank.
  json j = json::parse(read_file(dir + "/d.json"));
  EXPECT_EQ(j["pipeline"].get<std::string>().rfind("fold,fuse-bn", 0), 0u) << j["pipeline"];
  EXPECT_LT(metrics::measure_file(dir + "/d.onnx").file_bytes, metrics::measure_file(kCls).file_bytes * 6 / 10);

  // --preset small stores int8 weights: smaller again; --passes '' still runs nothing.
  c = clean_pare(with({"shrink", kCls, "-o", dir + "/s.onnx", "--preset", "small"}, kClsDims));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("preset small: "), std::string::npos) << c.out;
  EXPECT_LT(metrics::measure_file(dir + "/s.onnx").file_bytes, metrics::measure_file(dir + "/d.onnx").file_bytes);
  c = clean_pare(with({"shrink", kCls, "-o", dir + "/n.onnx", "--passes", ""}, kClsDims));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out.find("preset"), std::string::npos) << c.out;

  // A preset that does not exist, or both flags: bad usage.
  c = clean_pare({"shrink", kCls, "-o", dir + "/x.onnx", "--preset", "tiny"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("no preset 'tiny' (presets: lossless, balanced, small"), std::string::npos) << c.err;
  EXPECT_EQ(clean_pare({"shrink", kCls, "-o", dir + "/x.onnx", "--preset", "small", "--passes", "dce"}).exit_code, 2);
  EXPECT_FALSE(fs::exists(dir + "/x.onnx"));
}

TEST(Presets, AModelWithoutWeightsToStoreStillShrinks) {
  // The VAD-like model's one weight has 8 elements, below quantize's min-size: a
  // default must not fail where quantize(fp16) alone would ("nothing to quantize").
  std::string dir = testing::temp_dir();
  std::string vad = unnamed_dim_model(dir);
  for (const auto& p : passes::presets()) {
    auto c = clean_pare({"shrink", vad, "-o", dir + "/" + p.name + ".onnx", "--preset", p.name});
    EXPECT_EQ(c.exit_code, 0) << p.name << ": " << c.err;
  }
  auto alone = clean_pare({"shrink", vad, "-o", dir + "/q.onnx", "--passes", "quantize(fp16)"});
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_NE(alone.err.find("nothing to quantize"), std::string::npos) << alone.err;
}

TEST(Presets, EveryPresetIsListedAndParses) {
  auto c = clean_pare({"passes"});
  ASSERT_EQ(c.exit_code, 0);
  auto md = clean_pare({"passes", "--markdown"});
  for (const auto& p : passes::presets()) {
    EXPECT_NE(c.out.find(std::string("  ") + p.name + " "), std::string::npos) << p.name;
    EXPECT_NE(md.out.find(std::string("| `") + p.name + "` | `" + p.pipeline + "` |"), std::string::npos) << p.name;
  }
  for (const auto& p : passes::presets()) EXPECT_NO_THROW(passes::Pipeline::parse(p.pipeline)) << p.name;
  // docs/passes.md is what pare passes --markdown prints (regenerate it when this fails).
  EXPECT_NE(read_file(std::string(PARE_SOURCE_DIR) + "/docs/passes.md").find(md.out), std::string::npos);
}

TEST(InputShape, SizesAnUnnamedDimOnRunBenchAndInspect) {
  std::string dir = testing::temp_dir();
  std::string vad = unnamed_dim_model(dir);
  // Without a size there is no run, and the error says how to give one.
  auto c = clean_pare({"run", vad});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("--input-shape input=SHAPE"), std::string::npos) << c.err;

  c = clean_pare({"run", vad, "--input-shape", "input=3x4", "--outputs", dir + "/out"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("prob float [3,2]"), std::string::npos) << c.out;
  // Without the name, for the model's one input.
  c = clean_pare({"run", vad, "--input-shape", "2x4"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("prob float [2,2]"), std::string::npos) << c.out;

  c = clean_pare({"bench", vad, "--input-shape", "input=1x4", "--runs", "2", "--warmup", "0", "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(json::parse(c.out)["macs"].get<int64_t>(), 1 * 4 * 2);

  c = clean_pare({"inspect", vad, "--input-shape", "input=5x4", "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(json::parse(c.out)["macs"]["total"].get<int64_t>(), 5 * 4 * 2);
}

TEST(InputShape, AShapeThatDoesNotFitIsBadUsage) {
  std::string dir = testing::temp_dir();
  std::string vad = unnamed_dim_model(dir);
  struct Case {
    std::string shape, message;
  };
  for (const Case& k : {Case{"input=1x3", "input 'input' has size 4 in dim 1; the shape given says 3"},
                        Case{"input=1x4x1", "input 'input' has rank 2 ([?,4]); the shape given has 3 dims"},
                        Case{"audio=1x4", "a shape is given for input 'audio', which the model does not have"},
                        Case{"input=1xq", "is not [NAME=]SHAPE"}, Case{"=1x4", "is not [NAME=]SHAPE"}}) {
    auto c = clean_pare({"run", vad, "--input-shape", k.shape});
    EXPECT_EQ(c.exit_code, 2) << k.shape;
    EXPECT_NE(c.err.find(k.message), std::string::npos) << k.shape << ": " << c.err;
    EXPECT_EQ(c.out, "") << k.shape;
  }
}

TEST(InputShape, NamedDimsToo) {
  // The cls model's input is [batch?, 3, 48, 192] in named dims: --input-shape replaces three --dim.
  auto c = clean_pare({"inspect", kCls, "--input-shape", "x=1x3x48x192", "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto d = clean_pare(with({"inspect", kCls, "--json"}, kClsDims));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(json::parse(c.out)["macs"], json::parse(d.out)["macs"]);
  EXPECT_TRUE(json::parse(c.out)["macs"]["total"].is_number_integer());
}

TEST(JsonToStdout, TheReportAloneOnStdout) {
  std::string dir = testing::temp_dir();
  auto c = clean_pare(with({"shrink", kCls, "-o", dir + "/s.onnx", "--passes", "dce", "--json", "-"}, kClsDims));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json j = json::parse(c.out);  // nothing else on stdout, or this throws
  EXPECT_EQ(j["pipeline"], "dce");
  EXPECT_FALSE(fs::exists("-"));
  EXPECT_NE(c.err.find(" -> " + dir + "/s.onnx"), std::string::npos) << "the human text moves to stderr: " << c.err;

  auto cmp = clean_pare(with({"compare", kCls, dir + "/s.onnx", "--json", "-"}, kClsDims));
  ASSERT_EQ(cmp.exit_code, 0) << cmp.err;
  EXPECT_EQ(json::parse(cmp.out)["after"]["file_bytes"].get<int64_t>(), metrics::measure_file(dir + "/s.onnx").file_bytes);

  auto chk = clean_pare({"check", kCls, "--max-bytes", "10MB", "--json", "-"});
  ASSERT_EQ(chk.exit_code, 0) << chk.err;
  EXPECT_EQ(json::parse(chk.out)["models"][0]["bytes"].get<int64_t>(), metrics::measure_file(kCls).file_bytes);

  // Two reports cannot share stdout.
  auto two = clean_pare({"check", kCls, "--max-bytes", "10MB", "--json", "-", "--junit", "-"});
  EXPECT_EQ(two.exit_code, 2);
  EXPECT_EQ(two.out, "");
}

TEST(DidYouMean, MistypedCommandsAndFlags) {
  auto c = clean_pare({"inpsect", kCls});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("did you mean 'pare inspect'?"), std::string::npos) << c.err;
  c = clean_pare({"shrink", kCls, "-o", "x.onnx", "--pases", "dce"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("'--pases' is no option of pare shrink: did you mean '--passes'?"), std::string::npos) << c.err;
  // Nothing close: no guess.
  c = clean_pare({"zzzzzz"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_EQ(c.err.find("did you mean"), std::string::npos) << c.err;
}

TEST(Help, EveryCommandHasExamplesThatParse) {
  for (const char* command : {"inspect", "shrink", "build", "check", "compare", "run", "bench", "split", "extract",
                              "dedupe", "passes"}) {
    auto c = clean_pare({command, "--help"});
    ASSERT_EQ(c.exit_code, 0) << command;
    size_t at = c.out.find("Example");
    ASSERT_NE(at, std::string::npos) << command << ":\n" << c.out;
    EXPECT_NE(c.out.find("\n  pare " + std::string(command) + " ", at), std::string::npos) << command << ":\n" << c.out;
  }
}

TEST(Colour, OnlyOnATerminalAndNeverWithNoColor) {
  std::vector<std::string> args = {"check", kCls, "--max-bytes", "1KB"};
  auto piped = clean_pare(args);
  EXPECT_EQ(piped.exit_code, 1);
  EXPECT_EQ(piped.out.find('\033'), std::string::npos) << "a pipe gets no colour";
  EXPECT_EQ(piped.err.find('\033'), std::string::npos);
  auto forced = clean_pare(args, {"CLICOLOR_FORCE=1"});
  EXPECT_NE(forced.out.find("\033[31mover"), std::string::npos) << forced.out;
  EXPECT_NE(forced.err.find("\033[31mpare: check failed"), std::string::npos) << forced.err;
  auto no_color = clean_pare(args, {"CLICOLOR_FORCE=1", "NO_COLOR=1"});
  EXPECT_EQ(no_color.out.find('\033'), std::string::npos) << "NO_COLOR wins";
  // A real terminal (script(1) gives pare a pseudo-terminal): colour, unless NO_COLOR.
  std::string cmd = testing::pare_bin() + " check " + kCls + " --max-bytes 1KB";
  auto tty = testing::run_command({"env", "-u", "NO_COLOR", "-u", "CLICOLOR_FORCE", "TERM=xterm", "script", "-qec", cmd,
                                   "/dev/null"});
  EXPECT_NE(tty.out.find("\033[31m"), std::string::npos) << tty.out;
  auto tty_nc = testing::run_command({"env", "NO_COLOR=1", "TERM=xterm", "script", "-qec", cmd, "/dev/null"});
  EXPECT_NE(tty_nc.out.find("over budget"), std::string::npos) << tty_nc.out;
  EXPECT_EQ(tty_nc.out.find("\033["), std::string::npos) << tty_nc.out;
}

TEST(CheckFlags, BudgetsWithoutAFileAndAFirstBaseline) {
  std::string dir = testing::temp_dir();
  int64_t download = metrics::measure_file(kCls).download_bytes;
  auto ok = clean_pare({"check", kCls, "--max-download-bytes", std::to_string(download)});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto over = clean_pare({"check", kCls, "--max-download-bytes", std::to_string(download - 1), "--baseline",
                    dir + "/none.json", "--json", dir + "/new.json"});
  EXPECT_EQ(over.exit_code, 1) << over.err;
  EXPECT_NE(over.err.find("pare: notice: " + dir + "/none.json: no baseline yet"), std::string::npos) << over.err;
  EXPECT_EQ(over.out.rfind("1 of 1 model over budget\n\n" + kCls + ": over\n", 0), 0u) << "the verdict leads: " << over.out;
  EXPECT_NE(over.err.find("pare: check failed: " + kCls + ": download bytes"), std::string::npos) << over.err;
  // The next run has a baseline: changes are shown.
  auto next = clean_pare({"check", kCls, "--max-download-bytes", "1MB", "--baseline", dir + "/new.json"});
  EXPECT_EQ(next.exit_code, 0) << next.err;
  EXPECT_NE(next.out.find("no change"), std::string::npos) << next.out;
  // No limits at all, a fidelity flag without a reference, a bad value: bad usage.
  EXPECT_EQ(clean_pare({"check", kCls}).exit_code, 2);
  EXPECT_EQ(clean_pare({"check", kCls, "--min-sqnr", "30"}).exit_code, 2);
  auto bad = clean_pare({"check", kCls, "--max-bytes", "5XB"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err.rfind("pare: error: --max-bytes: ", 0), 0u) << bad.err;
}

TEST(CheckFlags, FlagsTightenABudgetFile) {
  std::string dir = testing::temp_dir();
  fs::copy_file(kCls, dir + "/cls.onnx");
  write_file_atomic(dir + "/budget.yaml", "models:\n  - path: cls.onnx\n    max-bytes: 10MB\n");
  EXPECT_EQ(clean_pare({"check", "--budget", dir + "/budget.yaml"}).exit_code, 0);
  auto c = clean_pare({"check", "--budget", dir + "/budget.yaml", "--max-bytes", "1KB"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_NE(c.err.find("pare: check failed: cls.onnx: bytes"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("> budget 1.00 kB"), std::string::npos) << c.err;
}

TEST(CheckFlags, GithubActionsTurnsOnAnnotations) {
  std::vector<std::string> args = {"check", kCls, "--max-bytes", "1KB"};
  EXPECT_EQ(clean_pare(args).out.find("::error file="), std::string::npos);
  auto gh = clean_pare(args, {"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY="});
  EXPECT_EQ(gh.exit_code, 1);
  EXPECT_NE(gh.out.find("::error file=" + kCls + "::bytes"), std::string::npos) << gh.out;
}

}  // namespace
}  // namespace pare
