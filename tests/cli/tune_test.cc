// pare tune on the PP-OCR text-direction classifier with rendered, labeled
// text lines: the chosen model keeps the top-1 limit on the search lines
// (counted here with the runner), is smaller than uniform int8 weights, is
// rebuilt byte for byte by `pare shrink --passes` with the pipeline it reports,
// and a second run reads its sensitivities from the cache and writes the same
// file. Bad options are one-line exit-2 errors; an unreachable size limit is
// exit 1 with the closest configuration written.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "jobs/tune_measure.h"
#include "jobs/tune_space.h"
#include "lib/base/atomic_file.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/layers.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_lines.h"

namespace pare {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::kCls;
const std::vector<std::string> kImages = {"--image-size", "192x48", "--mean", "0.5", "--std", "0.5"};

struct TuneRun {
  testing::Command command;
  json report;
};

struct TuneFixture {
  std::string dir, lines, cache;
};

const TuneFixture& tune_fixture() {
  static const TuneFixture f = [] {
    TuneFixture f;
    f.dir = testing::temp_dir();
    f.lines = f.dir + "/lines";
    f.cache = f.dir + "/cache";
    testing::write_text_direction_set(f.lines, 96, 11);
    return f;
  }();
  return f;
}

TuneRun tune(const std::string& out, const std::vector<std::string>& extra) {
  const TuneFixture& f = tune_fixture();
  std::vector<std::string> argv = {testing::pare_bin(), "tune", kCls, "-o", out, "--data", f.lines, "--labels",
                                   f.lines + "/labels.txt", "--cache", f.cache, "--sensitivity-samples", "16",
                                   "--threads", "2", "--report", out + ".json", "-q"};
  argv.insert(argv.end(), kImages.begin(), kImages.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  TuneRun r{testing::run_command(argv), json()};
  if (fs::exists(out + ".json")) r.report = json::parse(read_input_file(out + ".json"));
  return r;
}

// The search lines as the classifier takes them (what kImages says on the command line).
formats::SampleSet search_lines(const ir::Model& model) {
  formats::ImageOptions images;
  images.width = 192;
  images.height = 48;
  images.mean = {0.5f};
  images.std = {0.5f};
  return formats::read_sample_set(tune_fixture().lines, rt::input_names(model), images);
}

int64_t argmax(const ir::Tensor& t) {
  auto v = t.span<float>();
  return std::max_element(v.begin(), v.end()) - v.begin();
}

// The points of top-1 accuracy b loses against a on the labeled search lines
// (lines a gets right and b wrong), counted here.
double accuracy_drop(const std::string& a, const std::string& b) {
  ir::Model ma = formats::onnx::load_model(a), mb = formats::onnx::load_model(b);
  rt::Session sa(ma), sb(mb);
  formats::SampleSet lines = search_lines(ma);
  std::vector<ir::Tensor> ya, yb;
  for (const auto& s : lines.samples) ya.push_back(sa.run(s)[0]), yb.push_back(sb.run(s)[0]);
  std::vector<int64_t> labels = formats::read_labels(tune_fixture().lines + "/labels.txt", lines.names);
  size_t lost = 0;
  for (size_t i = 0; i < labels.size(); ++i) lost += argmax(ya[i]) == labels[i] && argmax(yb[i]) != labels[i];
  return 100.0 * static_cast<double>(lost) / static_cast<double>(labels.size());
}

// The path repair's route from a passing configuration to a cheaper failing
// one: one layer at a time, most cost saved per noise added first, moves that
// add no noise before all, moves that save nothing last.
TEST(TuneSpace, ConfigPathMovesTheMostEfficientLayersFirst) {
  using jobs::tune_detail::Config;
  std::vector<Config> from(5), to = {{"", "int8", ""}, {}, {"", "p4", ""}, {"", "fp16", ""}, {"s50", "", ""}};
  // layer: {cost saved, noise added}
  std::map<size_t, std::pair<double, double>> moves = {{0, {10, 1}}, {2, {30, 1}}, {3, {5, 0}}, {4, {-2, 1}}};
  auto path = jobs::tune_detail::config_path(from, to, [&](size_t l) { return moves.at(l); });
  ASSERT_EQ(path.size(), 5u);  // from, then one per differing layer
  EXPECT_EQ(path.front(), from);
  EXPECT_EQ(path.back(), to);
  std::vector<size_t> order;
  for (size_t k = 1; k < path.size(); ++k)
    for (size_t l = 0; l < from.size(); ++l)
      if (!(path[k][l] == path[k - 1][l])) order.push_back(l);
  EXPECT_EQ(order, (std::vector<size_t>{3, 2, 0, 4}));
}

TEST(TuneSpace, ShortfallIsRelativeToEachLimit) {
  metrics::Budget b;
  b.min_sqnr = 30;
  b.max_top1_drop = 1;
  metrics::TunePoint p;
  p.sqnr = 31;
  p.top1_drop = 0.5;
  EXPECT_EQ(jobs::tune_detail::shortfall(p, b), 0);
  p.sqnr = 29;  // 1 dB of 30
  EXPECT_NEAR(jobs::tune_detail::shortfall(p, b), 1.0 / 30, 1e-12);
  p.top1_drop = 1.5;  // half a point of 1: the larger
  EXPECT_NEAR(jobs::tune_detail::shortfall(p, b), 0.5, 1e-12);
  p.top1_drop.reset();
  EXPECT_TRUE(std::isinf(jobs::tune_detail::shortfall(p, b)));
}

// The sensitivity samples: drawn half by the proxy's error, half alike, so the
// few samples that hold most of the error are among them, with weights that
// make the weighted sum estimate the sum over all samples.
TEST(TuneSpace, SensitivitySamplesFollowTheProxysError) {
  using jobs::tune_detail::choose_sensitivity_samples;
  using jobs::tune_detail::WeightedSample;
  auto weighted_sum = [](const std::vector<WeightedSample>& w, const std::vector<std::vector<double>>& e) {
    double sum = 0;
    for (const auto& s : w) sum += s.weight * e[s.index][0];
    return sum;
  };
  auto indices = [](const std::vector<WeightedSample>& w) {
    std::vector<size_t> out;
    for (const auto& s : w) out.push_back(s.index);
    return out;
  };
  // Two heavy samples among 100 (as PP-OCRv4 rec's few lines near a decision).
  std::vector<std::vector<double>> e(100, std::vector<double>{1.0});
  e[17][0] = e[60][0] = 1000;
  auto w = choose_sensitivity_samples(e, 4);
  ASSERT_EQ(w.size(), 4u);
  auto chosen = indices(w);
  EXPECT_TRUE(std::is_sorted(chosen.begin(), chosen.end()));
  EXPECT_NE(std::find(chosen.begin(), chosen.end(), 17), chosen.end());
  EXPECT_NE(std::find(chosen.begin(), chosen.end(), 60), chosen.end());
  EXPECT_NEAR(weighted_sum(w, e), 2098.0, 0.1 * 2098.0);
  double count = 0;
  for (const auto& s : w) count += s.weight;
  EXPECT_NEAR(count, 100.0, 5.0);  // the weights stand for every sample
  EXPECT_EQ(w, choose_sensitivity_samples(e, 4));  // deterministic

  // A sample with nearly all the error is taken for certain, at weight 1.
  e[60][0] = 1e9;
  w = choose_sensitivity_samples(e, 4);
  ASSERT_EQ(w.size(), 4u);
  auto it = std::find_if(w.begin(), w.end(), [](const WeightedSample& s) { return s.index == 60; });
  ASSERT_NE(it, w.end());
  EXPECT_EQ(it->weight, 1.0);

  // No error at all (or alike everywhere): evenly spread, each for a quarter.
  std::vector<std::vector<double>> flat(100, std::vector<double>{0.0});
  w = choose_sensitivity_samples(flat, 4);
  EXPECT_EQ(indices(w), (std::vector<size_t>{12, 37, 62, 87}));
  for (const auto& s : w) EXPECT_NEAR(s.weight, 25.0, 1e-9);
  // As many as asked or more: every sample at weight 1.
  w = choose_sensitivity_samples(flat, 100);
  ASSERT_EQ(w.size(), 100u);
  EXPECT_EQ(w[99].index, 99u);
  EXPECT_EQ(w[99].weight, 1.0);
}

TEST(Tune, MeetsTheTopOneLimitSmallerThanInt8AndRebuildsFromItsPipeline) {
  const TuneFixture& f = tune_fixture();
  std::string out = f.dir + "/tuned.onnx";
  // 2 points of labeled accuracy: one line of the 96 (at 1 point, none may be lost).
  TuneRun r = tune(out, {"--max-top1-drop", "2"});
  ASSERT_EQ(r.command.exit_code, 0) << r.command.err;
  ASSERT_TRUE(r.report.contains("tune")) << r.report.dump();
  const json& t = r.report["tune"];
  EXPECT_GT(t["evaluations"].get<int64_t>(), 0);
  EXPECT_GE(t["verifications"].get<int64_t>(), 2);
  ASSERT_FALSE(t["layers"].empty());
  int chosen = 0;
  for (const auto& p : t["front"]) chosen += p["chosen"].get<bool>();
  EXPECT_EQ(chosen, 1);
  // Under a top-1 limit the first 16 lines measure sensitivity, each for 6 of the 96.
  ASSERT_EQ(t["sensitivity_set"].size(), 16u);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(f.lines))
    if (e.path().extension() == ".png") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(t["sensitivity_set"][i]["sample"], names[i]);
    EXPECT_EQ(t["sensitivity_set"][i]["weight"].get<double>(), 6.0);
  }

  // The limit holds on the labeled search lines, counted independently.
  EXPECT_LE(accuracy_drop(kCls, out), 2.0);

  // Smaller download than every weight stored as int8.
  std::string int8 = f.dir + "/int8.onnx";
  auto c = testing::run_command({testing::pare_bin(), "shrink", kCls, "-o", int8, "--passes",
                                 "fold, fuse-bn, dce, quantize(int8, weights-only), strip", "-q"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_LT(metrics::measure_file(out).download_bytes, metrics::measure_file(int8).download_bytes);

  // The reported pipeline rebuilds the same bytes without a search.
  std::string rebuilt = f.dir + "/rebuilt.onnx";
  c = testing::run_command({testing::pare_bin(), "shrink", kCls, "-o", rebuilt, "--passes",
                            r.report["pipeline"].get<std::string>(), "-q"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_input_file(rebuilt), read_input_file(out));

  // Again with the cache: nothing measured again, the same file.
  std::string again = f.dir + "/again.onnx";
  TuneRun r2 = tune(again, {"--max-top1-drop", "2"});
  ASSERT_EQ(r2.command.exit_code, 0) << r2.command.err;
  EXPECT_EQ(r2.report["tune"]["evaluations"].get<int64_t>(), 0);
  EXPECT_EQ(r2.report["tune"]["cached"].get<int64_t>(), t["evaluations"].get<int64_t>());
  EXPECT_EQ(read_input_file(again), read_input_file(out));

  // An SQNR limit measures on drawn lines, not the first 16: its own cache entry.
  TuneRun r3 = tune(f.dir + "/sqnr.onnx", {"--min-sqnr", "20"});
  ASSERT_EQ(r3.command.exit_code, 0) << r3.command.err;
  EXPECT_GT(r3.report["tune"]["evaluations"].get<int64_t>(), 0);
  // Another SQNR budget draws the same lines and reads their sensitivities from
  // the cache (it may measure choices the first search never needed).
  TuneRun r4 = tune(f.dir + "/sqnr2.onnx", {"--min-sqnr", "22"});
  ASSERT_EQ(r4.command.exit_code, 0) << r4.command.err;
  EXPECT_EQ(r4.report["tune"]["sensitivity_set"], r3.report["tune"]["sensitivity_set"]);
  EXPECT_GT(r4.report["tune"]["cached"].get<int64_t>(), 0);
  EXPECT_LT(r4.report["tune"]["evaluations"].get<int64_t>(), r3.report["tune"]["evaluations"].get<int64_t>());
}

// With --calib, the weight choices correct their mean shift on those samples
// and palettes pick their entries by GPTQ on them (correct=DIR and gptq=DIR in
// the reported pipeline, which rebuilds the model byte for byte), and every configuration verified builds: a storage step whose layer
// channel pruning took below min-size is skipped (if-any), not a failure.
TEST(Tune, CalibCorrectsTheWeightChoicesAndEveryConfigurationBuilds) {
  const TuneFixture& f = tune_fixture();
  std::string calib = f.dir + "/calib_lines", out = f.dir + "/corrected.onnx";
  testing::write_text_direction_set(calib, 24, 12);
  TuneRun r = tune(out, {"--max-top1-drop", "2", "--calib", calib, "--choices", "fp16,int8,p6,p4,p3,c50"});
  ASSERT_EQ(r.command.exit_code, 0) << r.command.err;
  std::string pipeline = r.report["pipeline"].get<std::string>();
  EXPECT_NE(pipeline.find("correct=" + calib), std::string::npos) << pipeline;
  // Every storage step also chooses its values by GPTQ on them (gptq=DIR).
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = pipeline.find(what); at != std::string::npos; at = pipeline.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_GT(count("palettize("), 0u) << pipeline;
  EXPECT_EQ(count("gptq=" + calib), count("correct=" + calib)) << pipeline;
  EXPECT_EQ(r.report["tune"]["unbuilt"].get<int64_t>(), 0);
  EXPECT_LE(accuracy_drop(kCls, out), 2.0);
  std::string rebuilt = f.dir + "/corrected_rebuilt.onnx";
  std::vector<std::string> argv = {testing::pare_bin(), "shrink", kCls, "-o", rebuilt, "--passes", pipeline, "-q"};
  argv.insert(argv.end(), kImages.begin(), kImages.end());
  auto c = testing::run_command(argv);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_input_file(rebuilt), read_input_file(out));
}

TEST(Tune, ReportsTheFrontInMarkdownAndHtml) {
  const TuneFixture& f = tune_fixture();
  std::string out = f.dir + "/views.onnx";
  TuneRun r = tune(out, {"--min-sqnr", "25", "--markdown", out + ".md", "--html", out + ".html"});
  ASSERT_EQ(r.command.exit_code, 0) << r.command.err;
  std::string md = read_input_file(out + ".md"), html = read_input_file(out + ".html");
  EXPECT_NE(md.find("## Tuning"), std::string::npos);
  EXPECT_NE(md.find("**chosen**"), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-pareto\""), std::string::npos);
  EXPECT_NE(html.find("class=\"point chosen\""), std::string::npos);
  // Every verified point is a row of the front table and a dot of the chart.
  size_t rows = r.report["tune"]["front"].size(), dots = 0;
  for (size_t at = html.find("<circle class=\"point"); at != std::string::npos; at = html.find("<circle class=\"point", at + 1))
    ++dots;
  EXPECT_EQ(dots, rows);
  // The chosen point meets the limit: its SQNR, measured by the final evaluation too.
  for (const auto& p : r.report["tune"]["front"])
    if (p["chosen"].get<bool>()) {
      EXPECT_GE(p["sqnr_db"].get<double>(), 25.0);
    }
  EXPECT_GE(r.report["fidelity"][0]["sqnr_db"].get<double>(), 25.0);
  // Under an SQNR limit the 16 sensitivity lines are drawn by an int8 model's
  // error: named as in the folder, their weights standing for all 96.
  const json& set = r.report["tune"]["sensitivity_set"];
  ASSERT_EQ(set.size(), 16u);
  double stands_for = 0, lightest = 1e9, heaviest = 0;
  for (const auto& e : set) {
    EXPECT_TRUE(fs::exists(f.lines + "/" + e["sample"].get<std::string>())) << e.dump();
    double w = e["weight"].get<double>();
    stands_for += w, lightest = std::min(lightest, w), heaviest = std::max(heaviest, w);
  }
  EXPECT_NEAR(stands_for, 96.0, 15.0);
  EXPECT_GT(heaviest, 2 * lightest) << "lines that hold more of the error stand for fewer";
}

// The closest model is reported, and written only on request (beside OUT).
TEST(Tune, AnUnreachableSizeLimitFailsWithTheClosestModel) {
  const TuneFixture& f = tune_fixture();
  std::string out = f.dir + "/tiny.onnx";
  TuneRun r = tune(out, {"--min-sqnr", "25", "--max-download-bytes", "1KB"});
  EXPECT_EQ(r.command.exit_code, 1) << r.command.err;
  EXPECT_NE(r.command.err.find("check failed"), std::string::npos) << r.command.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(r.report["rejected"], json({{"kept_at", nullptr}}));
  EXPECT_TRUE(r.report.contains("tune"));
  r = tune(out, {"--min-sqnr", "25", "--max-download-bytes", "1KB", "--keep-failed"});
  EXPECT_EQ(r.command.exit_code, 1) << r.command.err;
  EXPECT_FALSE(fs::exists(out));
  ASSERT_TRUE(fs::exists(f.dir + "/tiny.rejected.onnx"));
  EXPECT_EQ(metrics::measure_file(f.dir + "/tiny.rejected.onnx").download_bytes,
            r.report["after"]["download_bytes"].get<int64_t>());
}

TEST(Tune, MaxEvalsBoundsTheSensitivityRunsAndTheReportSaysSo) {
  const TuneFixture& f = tune_fixture();
  std::string out = f.dir + "/bounded.onnx";
  TuneRun r = tune(out, {"--min-sqnr", "25", "--max-evals", "10", "--no-cache"});
  ASSERT_EQ(r.command.exit_code, 0) << r.command.err;
  const json& t = r.report["tune"];
  EXPECT_EQ(t["evaluations"].get<int64_t>(), 10);
  EXPECT_EQ(t["cached"].get<int64_t>(), 0);
  EXPECT_EQ(t["stopped"].get<std::string>(), "max-evals");
  EXPECT_GE(r.report["fidelity"][0]["sqnr_db"].get<double>(), 25.0);
}

// The worst SQNR of b's outputs against a's on the search lines, computed here.
double sqnr_on_lines(const std::string& a, const std::string& b) {
  ir::Model ma = formats::onnx::load_model(a), mb = formats::onnx::load_model(b);
  rt::Session sa(ma), sb(mb);
  metrics::OutputDiffAccumulator acc("y");
  for (const auto& s : search_lines(ma).samples) acc.add(sa.run(s)[0], sb.run(s)[0]);
  return acc.result().sqnr_db;
}

// Channel pruning per channel space: the only choice that changes MACs.
TEST(Tune, MacsObjectivePrunesChannelSpacesWithinTheLimit) {
  const TuneFixture& f = tune_fixture();
  std::string out = f.dir + "/macs.onnx";
  TuneRun r = tune(out, {"--min-sqnr", "20", "--objective", "macs", "--choices", "c25,c50"});
  ASSERT_EQ(r.command.exit_code, 0) << r.command.err;
  EXPECT_EQ(r.report["tune"]["objective"], "macs");
  std::string pipeline = r.report["pipeline"].get<std::string>();
  EXPECT_NE(pipeline.find("mode=channel"), std::string::npos) << pipeline;
  // Fewer MACs than the original, counted here at the lines' shape, within the limit.
  std::map<std::string, int64_t> dims = {
      {"p2o.DynamicDimension.0", 1}, {"p2o.DynamicDimension.1", 48}, {"p2o.DynamicDimension.2", 192}};
  auto before = metrics::count_macs(formats::onnx::load_model(kCls), dims);
  auto after = metrics::count_macs(formats::onnx::load_model(out), dims);
  ASSERT_TRUE(before.known && after.known) << before.reason << after.reason;
  EXPECT_LT(after.total, before.total);
  EXPECT_GE(sqnr_on_lines(kCls, out), 20.0);
  // The front records what each verified configuration counts; the chosen one is the written model's.
  for (const auto& p : r.report["tune"]["front"])
    if (p["chosen"].get<bool>()) {
      EXPECT_EQ(p["macs"].get<int64_t>(), after.total);
    }
  // A channel choice belongs to one layer per space: the heads.
  int heads = 0;
  for (const auto& l : r.report["tune"]["layers"]) heads += l["sqnr_db"].contains("c25");
  EXPECT_GT(heads, 0);
  EXPECT_LT(heads, static_cast<int>(r.report["tune"]["layers"].size()));
  // The reported pipeline rebuilds the same bytes.
  std::string rebuilt = f.dir + "/macs.rebuilt.onnx";
  auto c = testing::run_command({testing::pare_bin(), "shrink", kCls, "-o", rebuilt, "--passes", pipeline, "-q"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_input_file(rebuilt), read_input_file(out));
}

TEST(Tune, BadOptionsAreOneLineErrorsAndWriteNothing) {
  const TuneFixture& f = tune_fixture();
  std::string out = f.dir + "/bad.onnx";
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {},                                                // no fidelity limit
           {"--min-sqnr", "30", "--objective", "speed"},      // unknown objective
           {"--min-sqnr", "30", "--choices", "fp16,int3"},    // unknown choice
           {"--min-sqnr", "30", "--calib", f.dir + "/none"},  // a missing calibration folder
       }) {
    TuneRun r = tune(out, extra);
    EXPECT_EQ(r.command.exit_code, 2) << r.command.err;
    EXPECT_EQ(std::count(r.command.err.begin(), r.command.err.end(), '\n'), 1) << r.command.err;
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace
}  // namespace pare
