// strip: shorter files, the same results, the app's input and output names kept.
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/onnx/onnx.h"
#include "lib/metrics/size.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

std::map<std::string, int64_t> run_pipeline(ir::Model& m, const std::string& text) {
  PassContext ctx;
  return Pipeline::parse(text).run(m, ctx, /*verify_each=*/true).back().stats;
}

TEST(Strip, RenamesInnerTensorsOnlyAndClearsDocs) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] a_long_input_name) => (float[2] an_output)
    <float[2] some_weight_with_a_long_name = {1.0, 2.0}> {
      first_intermediate_tensor = Mul(a_long_input_name, some_weight_with_a_long_name)
      an_output = Relu(first_intermediate_tensor)
    })");
  m.graph->nodes()[0]->name = "a_node";
  m.graph->nodes()[0]->doc_string = "exported from layer 1";
  auto stats = run_pipeline(m, "strip");
  EXPECT_EQ(m.graph->inputs[0]->name(), "a_long_input_name");
  EXPECT_EQ(m.graph->outputs[0]->name(), "an_output");
  const ir::Node* mul = m.graph->nodes()[0].get();
  EXPECT_EQ(mul->name, "");
  EXPECT_EQ(mul->doc_string, "");
  EXPECT_LE(mul->output(0)->name().size(), 2u);
  EXPECT_LE(mul->input(1)->name().size(), 2u);
  EXPECT_EQ(stats["tensors_renamed"], 2);
  EXPECT_GT(stats["name_bytes_saved"], 40);
  // names=false keeps names.
  ir::Model k = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y) { t = Relu(x)  y = Relu(t) })");
  run_pipeline(k, "strip(names=false)");
  EXPECT_EQ(k.graph->nodes()[0]->output(0)->name(), "t");
}

// On every real model: smaller, identical results in the runner, valid, and
// ORT's results on the stripped model equal its results on the original.
TEST(Strip, RealModelsGetSmallerAndComputeTheSame) {
  for (const std::string& path : testing::real_models()) {
    SCOPED_TRACE(path);
    ir::Model m = formats::onnx::load_model(path);
    auto inputs = testing::seeded_inputs(m, testing::dims_for(path), 5);
    std::vector<ir::Tensor> before;
    {
      rt::Session s(m);
      std::map<std::string, ir::Tensor> feed;
      for (size_t i = 0; i < inputs.size(); ++i) feed[s.input_names()[i]] = inputs[i];
      before = s.run(feed);
    }
    run_pipeline(m, "strip");
    EXPECT_NO_THROW(formats::onnx::check_model(m));
    std::string out = testing::temp_dir() + "/" + std::filesystem::path(path).filename().string();
    formats::onnx::save_model(m, out);
    auto size_before = metrics::measure_file(path).file_bytes, size_after = metrics::measure_file(out).file_bytes;
    std::printf("%s: %lld -> %lld bytes\n", path.c_str(), static_cast<long long>(size_before),
                static_cast<long long>(size_after));
    EXPECT_LT(size_after, size_before);
    rt::Session s(m);
    std::map<std::string, ir::Tensor> feed;
    for (size_t i = 0; i < inputs.size(); ++i) feed[s.input_names()[i]] = inputs[i];
    auto after = s.run(feed);
    for (size_t k = 0; k < before.size(); ++k) EXPECT_TRUE(before[k].same_content(after[k])) << k;
    auto ort_before = testing::run_ort(path, inputs), ort_after = testing::run_ort(out, inputs);
    for (size_t k = 0; k < ort_before.size(); ++k) EXPECT_TRUE(ort_before[k].same_content(ort_after[k])) << k;
  }
}

}  // namespace
}  // namespace pare::passes
