// pare build with variants (a tiny model for the app, a full one to download
// later), weights apart (weights: external) and share: true (one trunk for
// several subtasks), on BlazeFace: each variant has its own budget, the build
// is byte-identical across runs, variants must keep one I/O contract, and ONNX
// Runtime runs every emitted model (variants, graph + weights pairs, trunks and
// heads) as pare's runner does.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "lib/metrics/size.h"
#include "tests/cli/build_support.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::kFace;

// Two subtasks split as `pare dedupe`'s test splits BlazeFace (Identity:0 and
// Identity_1:0; Identity_2:0 and Identity_3:0); "scores" has a tiny variant with
// the download budget `tiny_limit` and a full one with external weights.
std::string variants_plan(const std::string& tiny_limit, const std::string& full_passes = "fold, dce") {
  return "model: models/face.onnx\n"
         "output: out/\n"
         "data: samples/\n"
         "share: true\n"
         "subtasks:\n"
         "  scores:\n"
         "    cut: {outputs: [\"Identity:0\", \"Identity_1:0\"]}\n"
         "    variants:\n"
         "      tiny:\n"
         "        passes: \"fold, dce, quantize(int8, weights-only)\"\n"
         "        budget: {max-download-bytes: " + tiny_limit + "}\n"
         "      full:\n"
         "        passes: \"" + full_passes + "\"\n"
         "        weights: external\n"
         "        budget: {min-sqnr: 60}\n"
         "  boxes:\n"
         "    cut: {outputs: [\"Identity_2:0\", \"Identity_3:0\"]}\n"
         "    passes: \"fold, dce\"\n";
}

std::string setup_variants(const std::string& plan) {
  std::string dir = testing::temp_dir() + "/face";
  fs::create_directories(dir + "/models");
  fs::copy_file(kFace, dir + "/models/face.onnx");
  testing::save_seeded_samples(kFace, dir + "/samples", 2);
  write_file_atomic(dir + "/plan.yaml", plan);
  return dir;
}

using testing::build;
using testing::entry;


// ONNX Runtime and pare's runner agree on `file` (seeded inputs), within the
// tolerance of tests/models/runner_vs_ort_test.cc scaled to each output.
void expect_ort_agrees(const std::string& file) {
  SCOPED_TRACE(file);
  ir::Model m = formats::onnx::load_model(file);
  auto inputs = testing::seeded_inputs(m, {});
  auto ours = testing::run_model(m, inputs);
  auto theirs = testing::run_ort(file, inputs);
  ASSERT_EQ(ours.size(), theirs.size());
  for (size_t k = 0; k < ours.size(); ++k) {
    auto a = ours[k].span<float>();
    auto b = theirs[k].span<float>();
    ASSERT_EQ(a.size(), b.size());
    double scale = 0, worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, std::abs(double(b[i])));
      worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
    }
    EXPECT_LE(worst, 1e-5 + 1e-4 * scale) << "output " << k;
  }
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(BuildVariants, EachVariantHasItsBudgetAndTheBuildRepeatsByteForByte) {
  std::string dir = setup_variants(variants_plan("20KB"));  // tiny over its budget, full within
  auto c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: check failed: [^\\n]*/out/scores\\.tiny\\.onnx: download bytes "
                                                 "[^\\n]* > budget 20\\.00 kB\\n")))
      << c.err;
  EXPECT_FALSE(fs::exists(dir + "/out/scores.tiny.onnx"));
  ASSERT_TRUE(fs::exists(dir + "/out/scores.full.onnx"));
  ASSERT_TRUE(fs::exists(dir + "/out/scores.full.onnx.data"));

  json manifest = json::parse(read_file(dir + "/out/manifest.json"));
  const json& full = entry(manifest["subtasks"], "scores.full");
  EXPECT_EQ(full["subtask"], "scores");
  EXPECT_EQ(full["variant"], "full");
  EXPECT_EQ(full["file"], "scores.full.onnx");
  EXPECT_EQ(full["sha256"], sha256_hex(read_file(dir + "/out/scores.full.onnx")));
  EXPECT_EQ(full["weights"]["file"], "scores.full.onnx.data");
  EXPECT_EQ(full["weights"]["sha256"], sha256_hex(read_file(dir + "/out/scores.full.onnx.data")));
  EXPECT_EQ(full["weights"]["bytes"].get<int64_t>(), int64_t(fs::file_size(dir + "/out/scores.full.onnx.data")));
  // The graph file alone is small: the weights are the download.
  EXPECT_LT(full["bytes"].get<int64_t>() * 2, full["weights"]["bytes"].get<int64_t>());
  EXPECT_FALSE(entry(manifest["subtasks"], "boxes").contains("variant"));

  json report = json::parse(read_file(dir + "/out/report.json"));
  const json& tiny = entry(report["subtasks"], "scores.tiny");
  EXPECT_FALSE(tiny["budgets"][0]["ok"].get<bool>());
  EXPECT_EQ(tiny["rejected"], json({{"kept_at", nullptr}}));
  const json& rf = entry(report["subtasks"], "scores.full");
  EXPECT_TRUE(rf["budgets"][0]["ok"].get<bool>());
  EXPECT_EQ(rf["fidelity"].size(), 2u);  // against the source, cut

  // Two builds from scratch give the same files, byte for byte.
  auto first = files_under(dir + "/out");
  std::map<std::string, std::string> bytes;
  for (const auto& f : first) bytes[f] = read_file(dir + "/out/" + f);
  ASSERT_EQ(build(dir + "/plan.yaml", {"--force"}).exit_code, 1);
  EXPECT_EQ(files_under(dir + "/out"), first);
  for (const auto& f : first) EXPECT_EQ(read_file(dir + "/out/" + f), bytes[f]) << f;

  // With a budget that holds, both variants are written, with one I/O contract.
  std::string ok = setup_variants(variants_plan("200KB"));
  ASSERT_EQ(build(ok + "/plan.yaml").exit_code, 0);
  json m = json::parse(read_file(ok + "/out/manifest.json"));
  EXPECT_EQ(entry(m["subtasks"], "scores.tiny")["inputs"], entry(m["subtasks"], "scores.full")["inputs"]);
  EXPECT_EQ(entry(m["subtasks"], "scores.tiny")["outputs"], entry(m["subtasks"], "scores.full")["outputs"]);
  EXPECT_LT(entry(m["subtasks"], "scores.tiny")["download_bytes"].get<int64_t>(),
            entry(m["subtasks"], "scores.full")["download_bytes"].get<int64_t>() / 2);
}

TEST(BuildVariants, SharedTrunksAndEveryEmittedModelRunInOnnxRuntime) {
  std::string dir = setup_variants(variants_plan("200KB"));
  auto c = build(dir + "/plan.yaml");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json manifest = json::parse(read_file(dir + "/out/manifest.json"));
  // A trunk is shared by the models of one variant name ("" for a subtask
  // without variants): scores.tiny, scores.full and boxes are alone in theirs.
  ASSERT_EQ(manifest["shared"].size(), 0u) << manifest["shared"].dump();

  // With tiny and full variants of boxes too, tiny and full each get a trunk.
  std::string plan = variants_plan("200KB");
  plan = std::regex_replace(plan, std::regex("    passes: \"fold, dce\"\n$"),
                            "    variants:\n"
                            "      tiny: {passes: \"fold, dce, quantize(int8, weights-only)\"}\n"
                            "      full: {passes: \"fold, dce\", weights: external}\n");
  write_file_atomic(dir + "/plan.yaml", plan);
  c = build(dir + "/plan.yaml");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  manifest = json::parse(read_file(dir + "/out/manifest.json"));
  ASSERT_EQ(manifest["shared"].size(), 2u) << manifest["shared"].dump();
  for (const auto& s : manifest["shared"]) {
    SCOPED_TRACE(s["folder"].get<std::string>());
    std::string folder = dir + "/out/" + s["folder"].get<std::string>();
    json dm = json::parse(read_file(folder + "/manifest.json"));
    int64_t before = 0;
    for (const auto& h : s["heads"]) before += metrics::measure_file(dir + "/out/" + h.get<std::string>()).file_bytes;
    EXPECT_EQ(s["bytes_before"].get<int64_t>(), before);
    // Trunk + heads at most 60% of the two subtask models (the figure).
    EXPECT_LE(s["bytes_after"].get<int64_t>() * 100, before * 60) << s.dump();
    expect_ort_agrees(folder + "/trunk.onnx");
    for (const auto& h : s["heads"]) expect_ort_agrees(folder + "/" + h.get<std::string>());
  }
  for (const auto& e : manifest["subtasks"]) expect_ort_agrees(dir + "/out/" + e["file"].get<std::string>());
}

TEST(BuildVariants, VariantsWithDifferentContractsFailTheBuild) {
  // fp16 inputs and outputs in one variant: an app could not swap it for the
  // other (no samples: fp16 inputs could not be compared with the source's).
  std::string dir = setup_variants("model: models/face.onnx\noutput: out/\nsubtasks:\n  scores:\n    variants:\n"
                          "      tiny: {passes: \"quantize(fp16, keep-io=false)\"}\n"
                          "      full: {passes: dce}\n");
  auto c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_NE(c.err.find("subtask 'scores': variants 'tiny' and 'full' have different inputs"), std::string::npos)
      << c.err;
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
  EXPECT_FALSE(fs::exists(dir + "/out/manifest.json"));
}

TEST(BuildVariants, BadVariantsAreOneLineErrorsNamingThePlanAndLine) {
  std::string dir = setup_variants(variants_plan("200KB"));
  struct Case {
    std::string plan, expected;
  };
  const std::string head = "model: models/face.onnx\noutput: out/\nsubtasks:\n  a:\n";
  for (const auto& [plan, expected] : std::vector<Case>{
           {head + "    passes: dce\n    variants: {tiny: {passes: dce}}\n", "line 5: subtask 'a': with 'variants'"},
           {head + "    variants: {tiny: {pases: dce}}\n", "unknown key 'pases' (did you mean 'passes'?)"},
           {head + "    variants: {Tiny: {passes: dce}}\n", "variant 'Tiny': a name is lower-case"},
           {head + "    variants: {}\n", "'variants' must be a mapping"},
           {head + "    weights: outside\n", "weights: 'outside' is not 'external'"},
           {"share: maybe\n" + head + "    passes: dce\n", "share: 'maybe' is not true or false"},
       }) {
    SCOPED_TRACE(plan);
    write_file_atomic(dir + "/bad.yaml", plan);
    auto c = build(dir + "/bad.yaml");
    EXPECT_EQ(c.exit_code, 2) << c.err;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
    EXPECT_EQ(c.err.rfind("pare: error: " + dir + "/bad.yaml: ", 0), 0u) << c.err;
    EXPECT_NE(c.err.find(expected), std::string::npos) << c.err;
  }
}

}  // namespace
}  // namespace pare
