// pare build PLAN.yaml: a plan on BlazeFace with a cut subtask ("heads": the part
// after the last 16x16 feature map) and a whole-model one ("full"), both quantized.
// Budgets: one fails (exit 1, exactly one check-failed line), the others hold; the
// models, manifest (sha256 of each file) and report (fidelity of both; the cut's on
// tensors the source model computes from the samples) are written. A second run
// skips everything and touches nothing; --force and a newer plan rebuild, byte for
// byte the same; builds in other folders give the same files. Bad plans are one
// line naming the plan (and line), exit 2, and leave no subtask file behind.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/sha256.h"
#include "lib/metrics/budget.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/size.h"
#include "lib/runtime/session.h"
#include "tests/cli/build_support.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::kFace;
// The last 16x16 feature map: both 16x16 heads and the 8x8 stage start from it.
const std::string kFeatures = "StatefulPartitionedCall/functional_1/re_lu_10/Relu:0";
const std::vector<std::string> kOutputs = {"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"};

// The plan: `heads_limit` is the heads subtask's download budget (the default holds).
std::string plan_text(const std::string& output = "out/", const std::string& heads_limit = "100KB") {
  return "model: models/face.onnx\n"
         "output: " + output + "\n"
         "data: samples/\n"
         "subtasks:\n"
         "  heads:\n"
         "    cut: {inputs: [\"" + kFeatures + "\"]}\n"
         "    passes: \"quantize(int8, weights-only)\"\n"
         "    budget: {max-download-bytes: " + heads_limit + ", min-sqnr: 20}\n"
         "  full:\n"
         "    passes: \"fold, dce, quantize(int8, weights-only)\"\n"
         "    budget: {max-download-bytes: 200KB}\n";
}

// A folder with models/face.onnx and samples/1..3 (seeded inputs of the source model).
const std::string& fixture() {
  static const std::string dir = [] {
    std::string d = testing::temp_dir() + "/fixture";
    fs::create_directories(d + "/models");
    fs::copy_file(kFace, d + "/models/face.onnx");
    testing::save_seeded_samples(kFace, d + "/samples", 3);
    return d;
  }();
  return dir;
}

// A fresh copy of the fixture with plan.yaml holding `plan`.
std::string setup(const std::string& plan = plan_text()) {
  std::string dir = testing::temp_dir() + "/face";
  fs::copy(fixture(), dir, fs::copy_options::recursive);
  write_file_atomic(dir + "/plan.yaml", plan);
  return dir;
}

using testing::build;
using testing::entry;

// The failure line of the heads subtask over its 10 kB budget, from the report's figure.
std::string expected_failure(const std::string& dir) {
  json report = json::parse(read_file(dir + "/out/report.json"));
  int64_t download = entry(report["subtasks"], "heads")["after"]["download_bytes"].get<int64_t>();
  return "pare: check failed: " + dir + "/out/heads.onnx: " + metrics::describe({"download bytes", download, 10000}) + "\n";
}

const std::vector<std::string> kFiles = {"heads.onnx", "full.onnx", "manifest.json", "report.json"};

std::map<std::string, std::pair<std::string, fs::file_time_type>> snapshot(const std::string& out) {
  std::map<std::string, std::pair<std::string, fs::file_time_type>> s;
  for (const auto& f : kFiles) s[f] = {read_file(out + "/" + f), fs::last_write_time(out + "/" + f)};
  return s;
}

std::vector<std::string> names_of(const json& values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(v["name"].get<std::string>());
  return out;
}


TEST(Build, WritesEverySubtaskManifestAndReport) {
  std::string dir = setup();
  auto c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.err, "");
  EXPECT_NE(c.out.find("heads: models/face.onnx -> " + dir + "/out/heads.onnx"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("budgets     all 2 held"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("budgets     all 1 held"), std::string::npos) << c.out;

  json manifest = json::parse(read_file(dir + "/out/manifest.json"));
  EXPECT_EQ(manifest["plan"], dir + "/plan.yaml");
  EXPECT_EQ(manifest["source"]["file"], "models/face.onnx");
  EXPECT_EQ(manifest["source"]["sha256"], sha256_hex(read_file(kFace)));
  ASSERT_EQ(manifest["subtasks"].size(), 2u);
  EXPECT_EQ(manifest["subtasks"][0]["name"], "heads");  // plan order
  for (const auto& s : manifest["subtasks"]) {
    std::string bytes = read_file(dir + "/out/" + s["file"].get<std::string>());
    EXPECT_EQ(s["file"], s["name"].get<std::string>() + ".onnx");
    EXPECT_EQ(s["sha256"], sha256_hex(bytes));
    EXPECT_EQ(s["bytes"].get<size_t>(), bytes.size());
    EXPECT_EQ(s["download_bytes"].get<int64_t>(), metrics::deflate_size(bytes));
    EXPECT_EQ(names_of(s["outputs"]), kOutputs);
  }
  // The cut subtask takes the feature map; the other the source's input.
  const json& heads = entry(manifest["subtasks"], "heads");
  EXPECT_EQ(names_of(heads["inputs"]), std::vector<std::string>{kFeatures});
  EXPECT_EQ(heads["inputs"][0]["shape"], json({1, 88, 16, 16}));
  EXPECT_EQ(names_of(entry(manifest["subtasks"], "full")["inputs"]), std::vector<std::string>{"input:0"});
  ir::Model heads_model = formats::onnx::load_model(dir + "/out/heads.onnx");
  EXPECT_EQ(heads_model.graph->inputs.size(), 1u);
  EXPECT_EQ(heads_model.graph->inputs[0]->name(), kFeatures);
  EXPECT_EQ(heads_model.metadata_value("pare.plan.subtask"), "heads");
  EXPECT_EQ(heads_model.metadata_value("pare.pipeline"), entry(json::parse(read_file(dir + "/out/report.json"))["subtasks"], "heads")["pipeline"]);
  EXPECT_NO_THROW(formats::onnx::check_model(heads_model));

  json report = json::parse(read_file(dir + "/out/report.json"));
  ASSERT_EQ(report["subtasks"].size(), 2u);
  for (const char* name : {"heads", "full"}) {
    const json& r = entry(report["subtasks"], name);
    EXPECT_EQ(r["input"], "models/face.onnx");
    EXPECT_EQ(r["output"], std::string(name) + ".onnx");
    EXPECT_EQ(r["data"]["folder"], "samples/");
    EXPECT_EQ(r["data"]["samples"], 3);
    ASSERT_EQ(r["fidelity"].size(), 4u) << name;
    EXPECT_LT(r["after"]["download_bytes"].get<int64_t>(), r["before"]["download_bytes"].get<int64_t>());
  }
  const json& rh = entry(report["subtasks"], "heads");
  EXPECT_EQ(rh["cut"]["inputs"], json({kFeatures}));
  ASSERT_EQ(rh["budgets"].size(), 2u);
  EXPECT_EQ(rh["budgets"][0]["what"], "download bytes");
  EXPECT_TRUE(rh["budgets"][0]["ok"].get<bool>());
  EXPECT_FALSE(rh.contains("rejected"));
  EXPECT_EQ(rh["budgets"][1]["what"], "SQNR");
  EXPECT_TRUE(rh["budgets"][1]["ok"].get<bool>());
  EXPECT_TRUE(entry(report["subtasks"], "full")["budgets"][0]["ok"].get<bool>());
  // "before" of the cut subtask is the cut model, smaller than the source.
  EXPECT_LT(rh["before"]["parameters"].get<int64_t>(), entry(report["subtasks"], "full")["before"]["parameters"].get<int64_t>());

  // The cut subtask was compared on the feature maps the source model computes
  // from the samples: the same figures, computed here independently.
  ir::Model source = formats::onnx::load_model(kFace);
  rt::Session whole(source), part(heads_model);
  std::vector<metrics::OutputDiffAccumulator> acc;
  for (const auto& n : kOutputs) acc.emplace_back(n);
  for (const auto& sample : formats::read_samples(dir + "/samples", whole.input_names())) {
    auto got = whole.run_capture(sample, {kFeatures});
    auto y = part.run({{kFeatures, got.at(kFeatures)}});
    for (size_t k = 0; k < kOutputs.size(); ++k) acc[k].add(got.at(kOutputs[k]), y[k]);
  }
  for (size_t k = 0; k < kOutputs.size(); ++k) {
    EXPECT_EQ(rh["fidelity"][k]["name"], kOutputs[k]);
    EXPECT_NEAR(rh["fidelity"][k]["sqnr_db"].get<double>(), acc[k].result().sqnr_db, 1e-9);
  }
}

// A subtask over budget is not written and not in the manifest, so the next
// build makes it again (as Make would) and fails again; --keep-failed keeps
// the very model the subtask would have written, under another name.
TEST(Build, ASubtaskOverBudgetIsNotWrittenAndIsBuiltAgain) {
  std::string dir = setup(plan_text("out/", "10KB"));
  auto c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_EQ(c.err, expected_failure(dir));
  EXPECT_NE(c.out.find("budgets     1 of 2 not held"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("not written " + dir + "/out/heads.onnx (a budget does not hold)\n"), std::string::npos) << c.out;
  EXPECT_FALSE(fs::exists(dir + "/out/heads.onnx"));
  EXPECT_FALSE(fs::exists(dir + "/out/heads.rejected.onnx"));
  EXPECT_TRUE(fs::exists(dir + "/out/full.onnx"));
  json manifest = json::parse(read_file(dir + "/out/manifest.json"));
  ASSERT_EQ(manifest["subtasks"].size(), 1u);
  EXPECT_EQ(manifest["subtasks"][0]["name"], "full");
  json report = json::parse(read_file(dir + "/out/report.json"));
  const json& rh = entry(report["subtasks"], "heads");
  EXPECT_FALSE(rh["budgets"][0]["ok"].get<bool>());
  EXPECT_EQ(rh["rejected"], json({{"kept_at", nullptr}}));
  EXPECT_FALSE(entry(report["subtasks"], "full").contains("rejected"));

  c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_EQ(c.err, expected_failure(dir));
  EXPECT_NE(c.out.find("heads: models/face.onnx -> "), std::string::npos) << "built again: " << c.out;
  EXPECT_NE(c.out.find("full: up to date\n"), std::string::npos) << c.out;

  c = build(dir + "/plan.yaml", {"--keep-failed"});
  EXPECT_EQ(c.exit_code, 1) << c.err;
  EXPECT_FALSE(fs::exists(dir + "/out/heads.onnx"));
  ASSERT_TRUE(fs::exists(dir + "/out/heads.rejected.onnx"));
  EXPECT_EQ(entry(json::parse(read_file(dir + "/out/report.json"))["subtasks"], "heads")["rejected"],
            json({{"kept_at", "heads.rejected.onnx"}}));
  // The plan whose budget holds writes the same model as heads.onnx.
  std::string holding = setup();
  ASSERT_EQ(build(holding + "/plan.yaml").exit_code, 0);
  EXPECT_EQ(read_file(dir + "/out/heads.rejected.onnx"), read_file(holding + "/out/heads.onnx"));
}

TEST(Build, SecondRunIsUpToDateAndTouchesNothing) {
  std::string dir = setup();
  ASSERT_EQ(build(dir + "/plan.yaml").exit_code, 0);
  auto before = snapshot(dir + "/out");
  auto c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.err, "");
  EXPECT_EQ(c.out, "heads: up to date\nfull: up to date\n");
  auto after = snapshot(dir + "/out");
  for (const auto& f : kFiles) {
    EXPECT_EQ(after[f].first, before[f].first) << f;
    EXPECT_TRUE(after[f].second == before[f].second) << f;
  }
}

TEST(Build, ForceAndANewerPlanRebuildTheSameBytes) {
  std::string dir = setup();
  ASSERT_EQ(build(dir + "/plan.yaml").exit_code, 0);
  auto first = snapshot(dir + "/out");

  // --threads 2 runs the samples on two threads: the same bytes.
  auto c = build(dir + "/plan.yaml", {"--force", "--threads", "2"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out.find("up to date"), std::string::npos) << c.out;
  auto forced = snapshot(dir + "/out");
  for (const auto& f : kFiles) EXPECT_EQ(forced[f].first, first[f].first) << f;
  EXPECT_TRUE(forced["heads.onnx"].second > first["heads.onnx"].second);
  EXPECT_TRUE(forced["full.onnx"].second > first["full.onnx"].second);

  // Touch the plan: newer than the outputs, so both subtasks are built again.
  fs::last_write_time(dir + "/plan.yaml", forced["full.onnx"].second + std::chrono::seconds(1));
  c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out.find("up to date"), std::string::npos) << c.out;
  auto touched = snapshot(dir + "/out");
  for (const auto& f : kFiles) EXPECT_EQ(touched[f].first, first[f].first) << f;
  EXPECT_TRUE(touched["heads.onnx"].second > forced["heads.onnx"].second);
}

TEST(Build, NewerSamplesOrAMissingReportRebuild) {
  std::string dir = setup();
  ASSERT_EQ(build(dir + "/plan.yaml").exit_code, 0);
  auto first = snapshot(dir + "/out");
  fs::last_write_time(dir + "/samples/2/input_0.pb", first["full.onnx"].second + std::chrono::seconds(1));
  auto c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.out.find("up to date"), std::string::npos) << c.out;
  EXPECT_TRUE(fs::last_write_time(dir + "/out/heads.onnx") > first["heads.onnx"].second);

  // Up to date again, but without the report the entries cannot be reused.
  fs::last_write_time(dir + "/samples/2/input_0.pb", first["full.onnx"].second);
  fs::remove(dir + "/out/report.json");
  c = build(dir + "/plan.yaml");
  EXPECT_EQ(c.out.find("up to date"), std::string::npos) << c.out;
  EXPECT_EQ(read_file(dir + "/out/report.json"), first["report.json"].first);
}

TEST(Build, OtherFoldersGiveTheSameModelsManifestAndReport) {
  // Two separate copies, each built from inside its folder, into differently named outputs.
  std::string a = setup(plan_text("out/")), b = setup(plan_text("elsewhere/deeper/"));
  for (const auto& d : {a, b}) {
    auto c = testing::run_command({"/bin/sh", "-c", "cd '" + d + "' && exec '" + testing::pare_bin() + "' build plan.yaml -q"});
    EXPECT_EQ(c.exit_code, 0) << c.err;
  }
  for (const auto& f : kFiles) {
    std::string x = read_file(a + "/out/" + f), y = read_file(b + "/elsewhere/deeper/" + f);
    EXPECT_EQ(x, y) << f;
    EXPECT_EQ(x.find(a), std::string::npos) << f << " holds an absolute path";
  }
  EXPECT_EQ(json::parse(read_file(a + "/out/report.json"))["plan"], "plan.yaml");
}

// Runs a bad plan: exit 2, one line on stderr, nothing on stdout for plan errors.
std::string bad_plan(const std::string& dir, const std::string& plan) {
  write_file_atomic(dir + "/bad.yaml", plan);
  auto c = build(dir + "/bad.yaml");
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
  EXPECT_EQ(c.err.rfind("pare: error: " + dir + "/bad.yaml: ", 0), 0u) << c.err;
  return c.err;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Build, BadPlansAreOneLineErrorsNamingThePlan) {
  std::string dir = setup();
  std::string head = "model: models/face.onnx\noutput: out/\ndata: samples/\n";

  std::string err = bad_plan(dir, "model: models/face.onnx\noutput: out/\ndta: samples/\nsubtasks:\n  full: {}\n");
  EXPECT_NE(err.find("bad.yaml: line 3: unknown key 'dta' (did you mean 'data'?)"), std::string::npos) << err;
  err = bad_plan(dir, head + "subtasks:\n  full:\n    pases: dce\n");
  EXPECT_NE(err.find("bad.yaml: line 6: subtask 'full': unknown key 'pases' (did you mean 'passes'?)"), std::string::npos) << err;
  err = bad_plan(dir, "model: models/missing.onnx\noutput: out/\nsubtasks:\n  full: {}\n");
  EXPECT_NE(err.find("bad.yaml: line 1: model: 'models/missing.onnx': no such file"), std::string::npos) << err;
  err = bad_plan(dir, head + "subtasks:\n  full:\n    budget: {max-download-bytes: 12XB}\n");
  EXPECT_NE(err.find("bad.yaml: line 6: subtask 'full': budget: max-download-bytes: '12XB'"), std::string::npos) << err;
  err = bad_plan(dir, head + "subtasks:\n  full:\n    budget:\n      min-sqnr: loud\n");
  EXPECT_NE(err.find("bad.yaml: line 7: subtask 'full': budget: min-sqnr: 'loud' is not a number of dB"), std::string::npos) << err;
  err = bad_plan(dir, "model: models/face.onnx\noutput: out/\nsubtasks:\n  full:\n    budget: {min-sqnr: 30}\n");
  EXPECT_NE(err.find("bad.yaml: line 5: subtask 'full': budget: min-sqnr"), std::string::npos) << err;
  EXPECT_NE(err.find("need 'data'"), std::string::npos) << err;
  err = bad_plan(dir, head + "subtasks:\n  full:\n    passes: \"quantize(calib=${calib})\"\n");
  EXPECT_NE(err.find("bad.yaml: line 6: subtask 'full': passes: ${calib} needs 'calib'"), std::string::npos) << err;
  err = bad_plan(dir, head + "subtasks:\n  full:\n    passes: \"quantize(int8, weights-onl)\"\n");
  EXPECT_NE(err.find("bad.yaml: line 6: subtask 'full': passes:16: pass 'quantize' has no option or value 'weights-onl'"),
            std::string::npos) << err;
  err = bad_plan(dir, head + "subtasks:\n  full:\n    passes: dce\n   budget: {max-bytes: 1MB}\n");
  EXPECT_NE(err.find("bad.yaml: line 7: YAML syntax error"), std::string::npos) << err;
  err = bad_plan(dir, head + "subtasks:\n  full:\n  - dce\n");
  EXPECT_NE(err.find("bad.yaml: line 5: subtask 'full' must be a mapping"), std::string::npos) << err;
  EXPECT_EQ(files_in(dir + "/out"), std::vector<std::string>{});  // plan errors come before any output

  // A cut tensor that does not exist: the subtask before it stays, nothing of this one.
  err = bad_plan(dir, head + "subtasks:\n  full: {}\n  heads:\n    cut: {inputs: [\"" + kFeatures +
                          "x\"], outputs: [Identity:0]}\n");
  EXPECT_NE(err.find("bad.yaml: line 7: subtask 'heads': cut: there is no tensor named '" + kFeatures +
                     "x' (did you mean '" + kFeatures + "'?)"),
            std::string::npos) << err;
  EXPECT_EQ(files_in(dir + "/out"), std::vector<std::string>{"full.onnx"});
}

}  // namespace
}  // namespace pare
