// strip: shorter files, the same results, the app's input and output names kept.
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/onnx/onnx.h"
#include "lib/metrics/size.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/passes.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

using testing::run_pipeline;

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

// defaults: an attribute goes when its value is what its absence means, by the
// schema (group=1, HardSigmoid alpha=0.2) or by the spatial ops' rule (strides
// and dilations of 1, pads of 0); anything else stays. constants: Constant-node
// weights become initializers.
TEST(Strip, DropsDefaultAttributesAndUnwrapsConstantNodes) {
  const char* text = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 2, 8, 8] x) => (float[1, 2, 4, 4] y) {
      w = Constant<value = float[2, 1, 3, 3] {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0}>()
      a = Conv<group = 2, kernel_shape = [3, 3], strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1]>(x, w)
      b = Conv<group = 2, strides = [2, 2], dilations = [1, 1], pads = [0, 0, 0, 0]>(a, w)
      c = HardSigmoid<alpha = 0.2, beta = 0.5>(b)
      y = HardSigmoid<alpha = 0.1666, beta = 0.5, auto_unknown = 1>(c)
    })";
  ir::Model m = testing::model_from_text(text);
  ir::Model original = testing::model_from_text(text);
  auto attr_names = [](const ir::Node& n) {
    std::vector<std::string> out;
    for (const auto& a : n.attrs) out.push_back(a.name);
    return out;
  };
  // The unknown attribute would fail ONNX's checker; it is only there to be kept.
  auto stats = run_pipeline(m, "strip(names=false)");
  const auto& nodes = m.graph->nodes();
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(attr_names(*nodes[0]), (std::vector<std::string>{"group", "kernel_shape", "pads"}));
  EXPECT_EQ(attr_names(*nodes[1]), (std::vector<std::string>{"group", "strides"}));
  EXPECT_EQ(attr_names(*nodes[2]), (std::vector<std::string>{}));  // alpha 0.2 and beta 0.5 are HardSigmoid's defaults
  EXPECT_EQ(attr_names(*nodes[3]), (std::vector<std::string>{"alpha", "auto_unknown"}));
  EXPECT_EQ(stats["default_attributes_dropped"], 7);
  EXPECT_EQ(stats["constant_nodes_to_initializers"], 1);
  EXPECT_EQ(nodes[0]->input(1)->constant_origin, ir::ConstantOrigin::kInitializer);
  auto x = testing::seeded_inputs(original, {}, 3);
  rt::Session a(original), b(m);
  EXPECT_TRUE(a.run({{"x", x[0]}})[0].same_content(b.run({{"x", x[0]}})[0]));

  ir::Model k = testing::model_from_text(text);
  stats = run_pipeline(k, "strip(names=false, defaults=false, constants=false)");
  EXPECT_EQ(attr_names(*k.graph->nodes()[0]).size(), 5u);
  EXPECT_EQ(k.graph->nodes()[0]->input(1)->constant_origin, ir::ConstantOrigin::kConstantNode);
  EXPECT_EQ(stats.count("default_attributes_dropped"), 0u);

  // An opset newer than libonnx knows: its defaults may have changed, so schema
  // defaults stay; the spatial ops' "absent means 1 / 0" holds at every opset.
  ir::Model newer = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 99]>
    g (float[1, 2, 8, 8] x) => (float[1, 2, 8, 8] y) {
      c = MaxPool<kernel_shape = [1, 1], strides = [1, 1]>(x)
      y = HardSigmoid<alpha = 0.2>(c)
    })");
  stats = run_pipeline(newer, "strip(names=false)");
  EXPECT_EQ(attr_names(*newer.graph->nodes()[0]), (std::vector<std::string>{"kernel_shape"}));
  EXPECT_EQ(attr_names(*newer.graph->nodes()[1]), (std::vector<std::string>{"alpha"}));
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
