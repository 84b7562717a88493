// `pare inspect --tensors`: every value the model computes, with the dtype and
// shape a run of the model gives it (captured here by the runner), whether the
// listing took them from ONNX's static inference or from a run; and every stored
// weight, whose parameters add up to inspect's count.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "formats/onnx/onnx.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

using nlohmann::json;

json inspect_tensors(const std::string& model, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {testing::pare_bin(), "inspect", "--tensors", "--json", model};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto c = testing::run_command(argv);
  EXPECT_EQ(c.exit_code, 0) << c.err;
  return json::parse(c.out);
}

std::vector<std::string> dim_flags(const std::map<std::string, int64_t>& dims) {
  std::vector<std::string> out;
  for (const auto& [k, v] : dims) out.insert(out.end(), {"--dim", k + "=" + std::to_string(v)});
  return out;
}

// Each listed value against the tensor one run of the runner computes for it.
void expect_listing_matches_a_run(const std::string& path, const json& t, const std::map<std::string, int64_t>& dims) {
  ir::Model m = formats::onnx::load_model(path);
  std::vector<std::string> names;
  for (const auto& v : t["values"]) names.push_back(v["name"]);
  rt::Session session(m);
  auto captured = session.run_capture(rt::random_feed(m, dims), names);
  size_t compared = 0;
  for (const auto& v : t["values"]) {
    auto it = captured.find(v["name"].get<std::string>());
    if (it == captured.end()) continue;  // computed once at compile time (constant-folded): not captured
    ++compared;
    SCOPED_TRACE(v["name"].get<std::string>());
    std::vector<int64_t> shape;
    for (const auto& d : v["shape"]) shape.push_back(d.is_number() ? d.get<int64_t>() : -1);
    EXPECT_EQ(shape, it->second.dims());
    EXPECT_EQ(v["dtype"].get<std::string>(), std::string(ir::name(it->second.dtype())));
  }
  EXPECT_GT(compared, t["values"].size() * 9 / 10) << "most values are computed by a run";
}

TEST(InspectTensors, EveryComputedValueWithTheShapeARunGivesIt) {
  std::string path = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  json j = inspect_tensors(path);
  const json& t = j["tensors"];
  // One entry per node output, in graph order, and the graph outputs marked.
  ir::Model m = formats::onnx::load_model(path);
  std::vector<std::string> expected;
  for (const auto& n : m.graph->nodes())
    for (const ir::Value* v : n->outputs()) expected.push_back(v->name());
  std::vector<std::string> listed;
  std::set<std::string> outputs;
  for (const auto& v : t["values"]) {
    listed.push_back(v["name"]);
    if (v["graph_output"].get<bool>()) outputs.insert(v["name"].get<std::string>());
    EXPECT_EQ(v["shape_from"], "static") << v;  // BlazeFace's shapes are all static
  }
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(outputs.size(), m.graph->outputs.size());
  expect_listing_matches_a_run(path, t, {});
  // Every weight, and the parameters they hold are the model's.
  int64_t params = 0;
  for (const auto& w : t["weights"]) params += w["parameters"].get<int64_t>();
  EXPECT_EQ(params, j["parameters"].get<int64_t>());
  EXPECT_EQ(t["weights"][0]["form"], "float32");
}

TEST(InspectTensors, ShapesStaticInferenceLeavesOpenComeFromARun) {
  std::string path = testing::fetched_model("mlsd_320x320_tiny.onnx");
  json t = inspect_tensors(path)["tensors"];
  size_t from_run = 0;
  for (const auto& v : t["values"]) from_run += v["shape_from"] == "run";
  EXPECT_GT(from_run, 0u) << "ONNX's inference stops inside M-LSD's decoder";
  expect_listing_matches_a_run(path, t, {});
  EXPECT_FALSE(t.contains("run_unavailable"));
}

TEST(InspectTensors, SymbolicDimsNeedDimsToBeFixed) {
  std::string path = testing::testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  json open = inspect_tensors(path)["tensors"];
  ASSERT_TRUE(open.contains("run_unavailable")) << open.dump();
  EXPECT_NE(open["run_unavailable"].get<std::string>().find("--dim"), std::string::npos);
  auto dims = testing::dims_for(path);
  ASSERT_FALSE(dims.empty());
  json fixed = inspect_tensors(path, dim_flags(dims))["tensors"];
  EXPECT_FALSE(fixed.contains("run_unavailable"));
  expect_listing_matches_a_run(path, fixed, dims);
  // The text view: a table with a header and each value's shape.
  std::vector<std::string> argv = {testing::pare_bin(), "inspect", "--tensors", path};
  for (const auto& f : dim_flags(dims)) argv.push_back(f);
  auto text = testing::run_command(argv);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("values computed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("name"), std::string::npos);
  const json& first = fixed["values"][0];
  EXPECT_NE(text.out.find(first["name"].get<std::string>()), std::string::npos);
}

TEST(InspectTensors, WeightFormsAfterQuantization) {
  std::string src = testing::testdata_model("face_detection_front_128x128_barracuda.onnx");
  std::string out = testing::temp_dir() + "/q.onnx";
  auto q = testing::run_command(
      {testing::pare_bin(), "shrink", src, "-o", out, "--passes", "quantize(int8, weights-only)", "-q"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  json t = inspect_tensors(out)["tensors"];
  std::map<std::string, int> forms;
  for (const auto& w : t["weights"]) ++forms[w["form"].get<std::string>()];
  EXPECT_GT(forms["int8-dq"], 0) << t["weights"].dump();
}

}  // namespace
}  // namespace pare
