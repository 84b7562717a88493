// only= and skip= (passes/select.h): the weight passes touch exactly the nodes
// an only= glob matches, unnamed nodes are addressed by their first output's
// name, and static int8 given the caller's ranges (PassContext::known_ranges,
// which pare tune measures once) writes the same model as calibrating itself.
#include <gtest/gtest.h>

#include <set>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/runtime/inputs.h"
#include "passes/calibrate.h"
#include "passes/pipeline.h"
#include "passes/quantize.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/passes.h"

namespace pare {
namespace {

using testing::kCls;

// The dtype of the constant a node's weight is stored as, following DQ/Cast/Gather chains back.
std::set<ir::DataType> stored_types(const ir::Node& n) {
  std::set<ir::DataType> out;
  std::vector<const ir::Value*> todo = {n.input(1)};
  while (!todo.empty()) {
    const ir::Value* v = todo.back();
    todo.pop_back();
    if (v->is_constant()) {
      out.insert(v->constant().dtype());
    } else if (v->producer()) {
      for (const ir::Value* in : v->producer()->inputs())
        if (in) todo.push_back(in);
    }
  }
  return out;
}

std::vector<const ir::Node*> convs(const ir::Model& m) {
  std::vector<const ir::Node*> out;
  for (const auto& n : m.graph->nodes())
    if (!n->is_dead() && n->op_type == "Conv" && n->input(1) && n->input(1)->is_constant()) out.push_back(n.get());
  return out;
}

TEST(Select, OnlyLimitsEachWeightPassToTheMatchingNodes) {
  for (const std::string pass : {"quantize(fp16, only=L)", "quantize(int8, weights-only, only=L)",
                                 "quantize(int4, weights-only, only=L)", "palettize(bits=4, depthwise=true, first, only=L)"}) {
    ir::Model m = formats::onnx::load_model(kCls);
    testing::run_pipeline(m, "fold, fuse-bn, dce");
    auto cs = convs(m);
    ASSERT_GT(cs.size(), 10u);
    // A layer every pass takes: int4 blocks of 32 need input channels that 32 divides.
    const ir::Node* pick = nullptr;
    for (const ir::Node* n : cs)
      if (!pick && n->input(1)->constant().dims()[1] % 32 == 0) pick = n;
    ASSERT_NE(pick, nullptr);
    std::string label = ir::node_label(*pick);
    std::string text = pass;
    text.replace(text.find("only=L"), 6, "only=" + passes::quote_if_needed(label));
    testing::run_pipeline(m, text);
    int changed = 0;
    for (const auto& n : m.graph->nodes()) {
      if (n->is_dead() || n->op_type != "Conv") continue;
      bool floats = stored_types(*n) == std::set<ir::DataType>{ir::DataType::kFloat};
      if (ir::node_label(*n) == label) {
        EXPECT_FALSE(floats) << pass << ": the selected node's weight stayed float32";
        ++changed;
      } else {
        EXPECT_TRUE(floats) << pass << ": " << ir::node_label(*n) << " was not selected but changed";
      }
    }
    EXPECT_EQ(changed, 1) << pass;
  }
}

TEST(Select, PalettizeOnlyStoresNoOtherLayersBiasAsFloat16) {
  ir::Model m = formats::onnx::load_model(kCls);
  testing::run_pipeline(m, "fold, fuse-bn, dce");
  auto cs = convs(m);
  std::string label = ir::node_label(*cs[9]);
  auto stats = testing::run_pipeline(m, "palettize(bits=6, depthwise=true, first, only=" + passes::quote_if_needed(label) + ")");
  EXPECT_EQ(stats["palettized"], 1);
  EXPECT_LE(stats["biases_float16"], 1);
  for (const auto& n : m.graph->nodes())
    if (!n->is_dead() && n->op_type == "Conv" && ir::node_label(*n) != label && n->inputs().size() > 2 && n->input(2)) {
      EXPECT_TRUE(n->input(2)->is_constant()) << ir::node_label(*n) << "'s bias is no longer a plain constant";
    }
}

TEST(Select, PruneOnlyZeroesTheMatchingLayerAndSkipStillWins) {
  ir::Model m = formats::onnx::load_model(kCls);
  testing::run_pipeline(m, "fold, fuse-bn, dce");
  auto cs = convs(m);
  std::string a = ir::node_label(*cs[7]), b = ir::node_label(*cs[8]);
  auto stats = testing::run_pipeline(m, "prune(sparsity=0.5, min-size=16, only=" + passes::quote_if_needed(a) +
                                            ", only=" + passes::quote_if_needed(b) + ", skip=" +
                                            passes::quote_if_needed(b) + ")");
  EXPECT_EQ(stats["layers"], 1);
  for (const auto& [key, value] : stats)
    if (key.rfind("layer.", 0) == 0) {
      EXPECT_EQ(key, "layer." + a);
    }
}

TEST(Select, AnUnnamedNodeIsAddressedByItsFirstOutput) {
  ir::Model m = formats::onnx::load_model(kCls);
  testing::run_pipeline(m, "fold, fuse-bn, dce");
  ir::Node* conv = const_cast<ir::Node*>(convs(m)[3]);
  conv->name.clear();
  std::string label = ir::node_label(*conv);
  ASSERT_EQ(label, conv->output(0)->name());
  testing::run_pipeline(m, "quantize(int8, weights-only, only=" + passes::quote_if_needed(label) + ")");
  EXPECT_TRUE(stored_types(*conv).count(ir::DataType::kInt8));
}

TEST(Select, StaticInt8WithTheCallersRangesWritesTheSameModel) {
  std::string dir = testing::temp_dir() + "/calib";
  testing::save_seeded_samples(kCls, dir, 3, {"--dim", "p2o.DynamicDimension.0=1", "--dim", "p2o.DynamicDimension.1=48",
                                               "--dim", "p2o.DynamicDimension.2=192"});
  ir::Model prepared = formats::onnx::load_model(kCls);
  testing::run_pipeline(prepared, "fold, fuse-bn, dce");
  std::string bytes = formats::onnx::serialize_model(prepared);
  auto load = [&](const std::string& d, const std::vector<std::string>& inputs) {
    return formats::read_sample_set(d, inputs).samples;
  };
  auto samples = load(dir, rt::input_names(prepared));
  std::map<std::string, std::pair<float, float>> ranges;
  for (const auto& [name, r] : passes::calibrate(prepared, samples, passes::static_activation_names(prepared), {}))
    ranges[name] = {r.lo, r.hi};
  std::string label = ir::node_label(*convs(prepared)[10]);
  std::string step = "quantize(int8, calib=" + passes::quote_if_needed(dir) + ", only=" + passes::quote_if_needed(label) + ")";
  std::string results[2];
  for (int known = 0; known < 2; ++known) {
    ir::Model m = formats::onnx::load_model_from_bytes(bytes, "prepared", ".");
    passes::PassContext ctx;
    ctx.load_samples = load;
    if (known) ctx.known_ranges = [&] { return ranges; };
    passes::Pipeline::parse(step).run(m, ctx, true);
    EXPECT_GE(ctx.stats["activations_quantized"], 1);
    results[known] = formats::onnx::serialize_model(m);
  }
  EXPECT_EQ(results[0], results[1]);
}

}  // namespace
}  // namespace pare
