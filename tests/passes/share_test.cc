// share: a trunk factored out of models that compute the same thing, and heads
// that reproduce each model bit for bit after it.
#include <gtest/gtest.h>

#include "formats/onnx/onnx.h"
#include "lib/ir/verify.h"
#include "lib/runtime/session.h"
#include "passes/cut.h"
#include "passes/share.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

using testing::kFace;

ir::Model subtask(const std::vector<std::string>& outputs) {
  ir::Model m = formats::onnx::load_model(kFace);
  cut(m, {}, outputs);
  return m;
}

std::map<std::string, ir::Tensor> run_named(const ir::Model& m, const std::map<std::string, ir::Tensor>& feed) {
  rt::Session s(m);
  std::map<std::string, ir::Tensor> in;
  for (const auto& n : s.input_names()) in[n] = feed.at(n);
  auto outs = s.run(in);
  std::map<std::string, ir::Tensor> named;
  for (size_t k = 0; k < outs.size(); ++k) named[s.output_names()[k]] = outs[k];
  return named;
}

struct Shared {
  SharePlan plan;
  ir::Model trunk;
  std::vector<ir::Model> heads;
};

Shared share(const std::vector<const ir::Model*>& models, const std::vector<std::string>& paths_or_empty = {}) {
  Shared s;
  s.plan = plan_sharing(models);
  s.trunk = build_trunk(models, s.plan);
  for (size_t i = 0; i < models.size(); ++i) {
    ir::Model copy = formats::onnx::load_model_from_bytes(formats::onnx::serialize_model(*models[i]), "copy", "");
    make_head(copy, s.plan, i);
    s.heads.push_back(std::move(copy));
  }
  return s;
}

TEST(Share, BlazeFaceScoresAndBoxesShareTheirBackbone) {
  ir::Model scores = subtask({"Identity:0", "Identity_1:0"});
  ir::Model boxes = subtask({"Identity_2:0", "Identity_3:0"});
  Shared s = share({&scores, &boxes});
  ASSERT_FALSE(s.plan.empty());
  EXPECT_GT(s.plan.shared_nodes, 50u);
  ir::verify(s.trunk);
  for (const auto& h : s.heads) ir::verify(h);

  // Bytes: the backbone is stored once.
  size_t before = formats::onnx::serialize_model(scores).size() + formats::onnx::serialize_model(boxes).size();
  size_t after = formats::onnx::serialize_model(s.trunk).size();
  for (const auto& h : s.heads) after += formats::onnx::serialize_model(h).size();
  EXPECT_LE(after, before * 60 / 100) << after << " of " << before;

  // trunk, then each head, reproduces its subtask bit for bit.
  ir::Tensor x = testing::seeded_inputs(scores, {}, 3)[0];
  auto trunk_out = run_named(s.trunk, {{"input:0", x}});
  const ir::Model* originals[] = {&scores, &boxes};
  for (size_t i = 0; i < 2; ++i) {
    std::map<std::string, ir::Tensor> feed = trunk_out;
    feed["input:0"] = x;
    auto got = run_named(s.heads[i], feed);
    auto want = run_named(*originals[i], {{"input:0", x}});
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [name, t] : want) {
      ASSERT_TRUE(got.count(name)) << name;  // the head keeps its model's output names
      EXPECT_TRUE(got.at(name).same_content(t)) << name;
    }
    // The head reads exactly the trunk outputs the plan lists for it.
    for (const auto& [trunk_name, own] : s.plan.head_inputs[i])
      EXPECT_NE(s.heads[i].graph->find_value(trunk_name), nullptr) << trunk_name;
  }
}

TEST(Share, OnnxRuntimeRunsTrunkAndHeadsAndAgrees) {
  ir::Model scores = subtask({"Identity:0", "Identity_1:0"});
  ir::Model boxes = subtask({"Identity_2:0", "Identity_3:0"});
  Shared s = share({&scores, &boxes});
  std::string dir = testing::temp_dir();
  formats::onnx::save_model(s.trunk, dir + "/trunk.onnx");
  formats::onnx::save_model(s.heads[1], dir + "/boxes.onnx");
  formats::onnx::check_model(s.trunk);
  formats::onnx::check_model(s.heads[1]);
  ir::Tensor x = testing::seeded_inputs(scores, {}, 5)[0];
  auto trunk_pare = run_named(s.trunk, {{"input:0", x}});
  auto trunk_ort = testing::run_ort(dir + "/trunk.onnx", {x});
  ASSERT_EQ(trunk_ort.size(), s.trunk.graph->outputs.size());
  std::map<std::string, ir::Tensor> feed;
  for (size_t k = 0; k < trunk_ort.size(); ++k) feed[s.trunk.graph->outputs[k]->name()] = trunk_ort[k];
  feed["input:0"] = x;
  rt::Session head(s.heads[1]);
  std::vector<ir::Tensor> head_in;
  for (const auto& n : head.input_names()) head_in.push_back(feed.at(n));
  auto ort = testing::run_ort(dir + "/boxes.onnx", head_in);
  auto want = run_named(boxes, {{"input:0", x}});
  ASSERT_EQ(ort.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    auto a = ort[k].span<float>();
    auto b = want.at(s.heads[1].graph->outputs[k]->name()).span<float>();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4f * (1 + std::abs(b[i]))) << k << " " << i;
  }
}

TEST(Share, AttributesInputsAndConstantsDecideWhatIsShared) {
  const char* kA = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,4,4] x) => (float[1,1,4,4] a) <float[1,1,1,1] w = {2.0}> {
      c = Conv<pads = [0,0,0,0]>(x, w)
      r = Relu(c)
      a = Neg(r)
    })";
  // B: the same Conv and Relu, then its own Sigmoid; the Relu output is also B's output.
  const char* kB = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,4,4] x) => (float[1,1,4,4] b, float[1,1,4,4] r2) <float[1,1,1,1] w2 = {2.0}> {
      c2 = Conv<pads = [0,0,0,0]>(x, w2)
      r2 = Relu(c2)
      b = Sigmoid(r2)
    })";
  // C: another weight value: nothing in common with A.
  const char* kC = R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[1,1,4,4] x) => (float[1,1,4,4] c) <float[1,1,1,1] w = {3.0}> {
      k = Conv<pads = [0,0,0,0]>(x, w)
      c = Relu(k)
    })";
  ir::Model a = testing::model_from_text(kA), b = testing::model_from_text(kB), c = testing::model_from_text(kC);
  Shared s = share({&a, &b});
  EXPECT_EQ(s.plan.shared_nodes, 2u);  // Conv and Relu, whatever their names
  ASSERT_EQ(s.plan.trunk_outputs, std::vector<std::string>{"r"});  // named after the first model
  EXPECT_EQ(s.plan.head_inputs[1].at("r"), "r2");
  // B's output r2 comes from the trunk: its head passes it on under its own name.
  std::vector<std::string> outs;
  for (const ir::Value* v : s.heads[1].graph->outputs) outs.push_back(v->name());
  EXPECT_EQ(outs, (std::vector<std::string>{"b", "r2"}));
  ir::Tensor x = testing::seeded_inputs(a, {}, 1)[0];
  auto t = run_named(s.trunk, {{"x", x}});
  auto got = run_named(s.heads[1], t);
  auto want = run_named(b, {{"x", x}});
  EXPECT_TRUE(got.at("b").same_content(want.at("b")));
  EXPECT_TRUE(got.at("r2").same_content(want.at("r2")));

  EXPECT_TRUE(plan_sharing({&a, &c}).empty());
  // A Conv attribute that differs is another computation.
  std::string a_strided = kA;
  a_strided.replace(a_strided.find("pads = [0,0,0,0]"), 16, "pads = [1,1,1,1]");
  ir::Model d = testing::model_from_text(a_strided);
  EXPECT_TRUE(plan_sharing({&b, &d}).empty());
}

TEST(Share, RefusesOneModelAndMixedOpsets) {
  ir::Model a = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y) { r = Relu(x)  y = Neg(r) })");
  ir::Model b = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] z) { r = Relu(x)  z = Abs(r) })");
  ir::Model c = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 14]>
    g (float[2] x) => (float[2] z) { r = Relu(x)  z = Abs(r) })");
  EXPECT_THROW(plan_sharing({&a}), Error);
  EXPECT_EQ(plan_sharing({&a, &b}).shared_nodes, 1u);
  // Opsets 13 and 14 of Relu hash apart: nothing is shared, so nothing to refuse.
  EXPECT_TRUE(plan_sharing({&a, &c}).empty());
  // But a trunk of nodes at opset 13 (a, b) and at 14 (c, d) cannot be one model.
  ir::Model d = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 14]>
    g (float[2] x) => (float[2] w) { r = Relu(x)  w = Sqrt(r) })");
  EXPECT_THROW(plan_sharing({&a, &b, &c, &d}), Error);
}

}  // namespace
}  // namespace pare::passes
