// MACs from static shapes (jobs::count_macs tries ONNX's static inference first
// and runs the model only when a MAC formula lacks a shape): on every real model
// where static shapes suffice, the count equals the run's node for node; a model
// whose static shapes ask for more memory than a run may use is not run at all.
#include <gtest/gtest.h>

#include <cstdio>

#include "formats/onnx/onnx.h"
#include "jobs/measure.h"
#include "lib/metrics/macs.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare {
namespace {

std::vector<std::string> all_models() {
  std::vector<std::string> out = testing::real_models();
  for (const auto& m : testing::coverage_models()) out.push_back(m);
  return out;
}

TEST(StaticMacs, EqualTheRunsCountWhereverStaticShapesSuffice) {
  int static_known = 0;
  for (const auto& path : all_models()) {
    SCOPED_TRACE(path);
    ir::Model model = formats::onnx::load_model(path);
    auto dims = testing::dims_for(path);
    metrics::MacStats run = metrics::count_macs(model, dims);  // the run, as before
    std::map<std::string, std::vector<int64_t>> shapes;
    try {
      shapes = formats::onnx::static_shapes(model, rt::input_shapes(model, dims));
    } catch (const Error& e) {
      continue;  // inference stopped: the job falls back to the run
    }
    metrics::MacStats s = metrics::count_macs_static(model, shapes);
    if (!s.known) continue;
    ++static_known;
    ASSERT_TRUE(run.known) << run.reason;
    EXPECT_EQ(s.total, run.total);
    EXPECT_EQ(s.by_op, run.by_op);
    EXPECT_EQ(s.by_node, run.by_node);
    // And the job takes that count.
    jobs::Runner runner(model);
    EXPECT_EQ(jobs::count_macs(runner, dims).by_node, run.by_node);
    std::printf("static MACs: %s\n", path.c_str());
  }
  // BlazeFace and the wake-word head have fully static shapes: the test is not vacuous.
  EXPECT_GE(static_known, 2);
}

TEST(StaticMacs, TheJobFallsBackToTheRunWhereStaticShapesStop) {
  // PP-OCR's classifier computes its reshape sizes at run time.
  const std::string path = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  ir::Model model = formats::onnx::load_model(path);
  auto dims = testing::dims_for(path);
  jobs::Runner runner(model);
  metrics::MacStats job = jobs::count_macs(runner, dims);
  metrics::MacStats run = metrics::count_macs(model, dims);
  ASSERT_TRUE(job.known) << job.reason;
  EXPECT_EQ(job.total, run.total);
  EXPECT_GT(job.total, 0);
}

// x[1,1] -> Expand to [2^20, 2^20]: 4 TiB of float statically, so the job
// reports the MACs unknown with that reason instead of running the model.
ir::Model expand_to_terabytes() {
  return testing::model_from_text(
      "<ir_version: 8, opset_import: [\"\" : 13]>\n"
      "g (float[1,1] x) => (float[1048576,1048576] y) {\n"
      "  shape = Constant <value = int64[2] {1048576, 1048576}> ()\n"
      "  y = Expand (x, shape)\n"
      "}");
}

TEST(StaticMacs, AStaticShapeOverTheMemoryBoundIsNotRun) {
  // pare's own bounds (the library has none unless its user sets them).
  rt::RunLimits saved = rt::default_run_limits();
  rt::default_run_limits() = rt::untrusted_model_limits();
  ir::Model model = expand_to_terabytes();
  jobs::Runner runner(model);
  metrics::MacStats s = jobs::count_macs(runner, {});
  EXPECT_FALSE(s.known);
  EXPECT_NE(s.reason.find("static shape [1048576,1048576]"), std::string::npos) << s.reason;
  EXPECT_NE(s.reason.find("more than the"), std::string::npos) << s.reason;
  rt::default_run_limits() = saved;

  // pare inspect says so and prints everything else (exit 0), under a timeout
  // that a 4 TiB computation would not meet.
  std::string file = testing::temp_dir() + "/expand.onnx";
  formats::onnx::save_model(model, file);
  auto c = testing::run_command({"timeout", "-s", "KILL", "120", testing::pare_bin(), "inspect", file});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("static shape [1048576,1048576]"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("PARE_MAX_MEMORY"), std::string::npos) << "how to raise the bound: " << c.out;
}

}  // namespace
}  // namespace pare
