// Fidelity before discontinuous steps on a real model: M-LSD's `scores` is its
// heat map kept only where it equals its 3x3 MaxPool (peak picking). Its SQNR
// counts tie flips; shrink's report also compares the heat map before the
// Equal, budgets judge that figure, and a stripped model (tensors renamed) is
// paired by structure.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/metrics/compare.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

using nlohmann::json;
const std::string kMap = "WireFrameModel_with_alpha/Decoder/Sigmoid_4:0";

struct Shrunk {
  testing::Command c;
  json report;
};

Shrunk shrink(const std::string& model, const std::string& dir, const std::string& passes,
              const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"shrink", model, "-o", dir + "/out.onnx", "--passes", passes,
                                   "--data", dir + "/data", "--report", dir + "/r.json", "-q"};
  args.insert(args.end(), extra.begin(), extra.end());
  Shrunk s{testing::pare(args), {}};
  if (s.c.exit_code <= 1) s.report = json::parse(read_file(dir + "/r.json"));
  return s;
}

// The heat map's SQNR over the samples, computed here with the runner.
double map_sqnr(const std::string& original, const std::string& shrunk, const std::string& data) {
  ir::Model a = formats::onnx::load_model(original), b = formats::onnx::load_model(shrunk);
  rt::Session sa(a), sb(b);
  metrics::OutputDiffAccumulator acc(kMap);
  for (const auto& sample : formats::read_sample_set(data, rt::input_names(a), {}).samples)
    acc.add(sa.run_capture(sample, {kMap}).at(kMap), sb.run_capture(sample, {kMap}).at(kMap));
  return acc.result().sqnr_db;
}

TEST(StepsFidelity, PeakPickedOutputIsJudgedAtItsHeatMap) {
  std::string mlsd = testing::fetched_model("mlsd_320x320_tiny.onnx");
  std::string dir = testing::temp_dir();
  testing::save_seeded_samples(mlsd, dir + "/data", 2);

  Shrunk fp16 = shrink(mlsd, dir, "fold, quantize(fp16)");
  ASSERT_EQ(fp16.c.exit_code, 0) << fp16.c.err;
  const json& scores = fp16.report["fidelity"][1];
  ASSERT_EQ(scores["name"], "scores");
  ASSERT_EQ(scores["steps"], json::array({"Equal"}));
  ASSERT_EQ(scores["before_steps"].size(), 1u);
  EXPECT_EQ(scores["before_steps"][0]["name"], kMap);
  double map = scores["before_steps"][0]["sqnr_db"].get<double>(), raw = scores["sqnr_db"].get<double>();
  EXPECT_NEAR(map, map_sqnr(mlsd, dir + "/out.onnx", dir + "/data"), 1e-9);
  EXPECT_FALSE(fp16.report["fidelity"][0].contains("before_steps"));  // offsets: continuous
  // The premise of the budget checks below: peak picking loses more than the map.
  ASSERT_LT(raw + 1, map) << "scores " << raw << " dB, its map " << map << " dB";
  double offsets = fp16.report["fidelity"][0]["sqnr_db"].get<double>();
  ASSERT_GT(offsets, map + 2);

  // A limit between the two holds (the map is judged, not the flips); one above the map fails.
  Shrunk held = shrink(mlsd, dir, "fold, quantize(fp16)", {"--min-sqnr", fmt::format("{:.3f}", (raw + map) / 2)});
  EXPECT_EQ(held.c.exit_code, 0) << held.c.err;
  Shrunk failed = shrink(mlsd, dir, "fold, quantize(fp16)", {"--min-sqnr", fmt::format("{:.3f}", map + 1)});
  EXPECT_EQ(failed.c.exit_code, 1) << failed.c.err;

  // strip renames the map's tensor; it is found again by its place before the Equal.
  Shrunk stripped = shrink(mlsd, dir, "fold, quantize(fp16), strip");
  ASSERT_EQ(stripped.c.exit_code, 0) << stripped.c.err;
  const json& s = stripped.report["fidelity"][1];
  ASSERT_EQ(s["before_steps"].size(), 1u);
  EXPECT_EQ(s["before_steps"][0]["name"], kMap);  // named as in the original
  EXPECT_DOUBLE_EQ(s["before_steps"][0]["sqnr_db"].get<double>(), map);
}

}  // namespace
}  // namespace pare
