// cut: the subgraph between named tensors, on small models and real ones.
#include <gtest/gtest.h>

#include "formats/onnx/onnx.h"
#include "lib/runtime/session.h"
#include "passes/cut.h"
#include "passes/pipeline.h"
#include "tests/support/errors.h"
#include "tests/support/models.h"
#include "tests/support/text_model.h"

namespace pare::passes {
namespace {

constexpr const char* kChain = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[2, 3] x, float[2, 3] z) => (float[2, 3] y, float[2, 3] side)
  <float[2, 3] w = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}> {
    a = Relu(x)
    b = Mul(a, w)
    c = Neg(b)
    y = Add(c, a)
    side = Abs(z)
  })";

std::vector<std::string> names(const std::vector<ir::Value*>& values) {
  std::vector<std::string> out;
  for (const ir::Value* v : values) out.push_back(v->name());
  return out;
}

std::string error_of(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                     const char* text = kChain) {
  ir::Model m = testing::model_from_text(text);
  return testing::error_of([&] { cut(m, inputs, outputs); });
}

TEST(Cut, KeepsWhatTheOutputsNeed) {
  ir::Model m = testing::model_from_text(kChain);
  cut(m, {}, {"c"});
  EXPECT_EQ(names(m.graph->inputs), std::vector<std::string>{"x"});  // z is not needed any more
  EXPECT_EQ(names(m.graph->outputs), std::vector<std::string>{"c"});
  EXPECT_EQ(m.graph->nodes().size(), 3u);  // Relu, Mul, Neg
  EXPECT_EQ(m.graph->outputs[0]->dtype, ir::DataType::kFloat);
  EXPECT_EQ(m.graph->outputs[0]->shape->str(), "[2,3]");  // filled in by a run
  EXPECT_NO_THROW(formats::onnx::check_model(m));
}

TEST(Cut, NewInputsAndSkipConnections) {
  ir::Model m = testing::model_from_text(kChain);
  cut(m, {"b", "a"}, {"y"});  // y needs b and, through the skip connection, a
  EXPECT_EQ(names(m.graph->inputs), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(m.graph->nodes().size(), 2u);  // Neg, Add
  EXPECT_EQ(m.graph->constants().size(), 0u);  // w fed only the cut-away Mul
  rt::Session s(m);
  auto y = s.run({{"a", ir::Tensor::from<float>({2, 3}, {1, 1, 1, 1, 1, 1})},
                  {"b", ir::Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(y[0].as_float(), (std::vector<float>{0, -1, -2, -3, -4, -5}));
}

TEST(Cut, ErrorsNameTheProblem) {
  EXPECT_EQ(error_of({}, {"cc"}), "there is no tensor named 'cc' (did you mean 'c'?)");
  EXPECT_EQ(error_of({"b"}, {"y"}),
            "the outputs also need input 'x', which is not among the inputs given to cut");  // y = c + a, a from x
  EXPECT_EQ(error_of({"w"}, {"y"}), "'w' is a constant, not a tensor to cut at");
  EXPECT_EQ(error_of({}, {"t_out"}, R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (bool c, float[2] x) => (float[2] y) {
      y = If(c) < then_branch = t () => (float[2] t_out) { t_out = Neg(x) },
                  else_branch = e () => (float[2] e_out) { e_out = Abs(x) } >
    })"),
            "'t_out' is inside a subgraph; cut and split work on the main graph");
}

TEST(Cut, AsAPassOnARealModel) {
  ir::Model m = formats::onnx::load_model(testing::testdata_model("face_detection_front_128x128_barracuda.onnx"));
  PassContext ctx;
  auto stats = Pipeline::parse("cut(outputs=\"Identity:0\")").run(m, ctx, true).back().stats;
  EXPECT_EQ(names(m.graph->outputs), std::vector<std::string>{"Identity:0"});
  EXPECT_GT(stats["nodes_cut"], 0);
  EXPECT_NO_THROW(formats::onnx::check_model(m));
}

}  // namespace
}  // namespace pare::passes
