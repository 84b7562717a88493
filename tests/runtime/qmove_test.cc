// Data movement in QDQ groups (qdq_groups.h): DequantizeLinear -> nearest
// Resize | MaxPool -> QuantizeLinear with the input's own constants runs the op
// on the bytes. The bytes must be exactly the literal nodes' (no step of
// tolerance: nothing is computed), uint8 and int8, zero points 0 and not; a
// QuantizeLinear with other constants is left to the literal nodes.
#include <gtest/gtest.h>

#include <algorithm>

#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

using ir::DataType;

struct QdqMove {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;

  // `op`: "Resize" (nearest, x2 rows, x3 columns), "MaxPool3" (3x3, stride 2,
  // pads 1) or "MaxPool2" (2x2, stride 2); `y_scale`: the output's scale
  // (the input's is 0.057).
  QdqMove(const std::string& op, DataType type, float zp, float y_scale = 0.057f) {
    model.opsets = {{"", 13}};
    ir::Graph& g = *model.graph;
    auto zero_point = [&](const std::string& name) {
      return type == DataType::kUint8 ? g.add_constant(name, ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp)))
                                      : g.add_constant(name, ir::Tensor::scalar<int8_t>(static_cast<int8_t>(zp)));
    };
    std::vector<int64_t> dims = {1, 3, 13, 17};
    ir::Value* x = g.add_value("x");
    x->dtype = DataType::kFloat;
    x->shape = ir::Shape::of(dims);
    g.inputs.push_back(x);
    feed["x"] = ir::Tensor::from<float>(dims, testing::uniform_floats(3 * 13 * 17, 60, -9, 9));
    ir::Value* sx = g.add_constant("sx", ir::Tensor::scalar<float>(0.057f));
    ir::Value* zx = zero_point("zx");
    ir::Node* q = g.add_node("QuantizeLinear", {x, sx, zx}, {"x_q"});
    ir::Node* dq = g.add_node("DequantizeLinear", {q->output(0), sx, zx}, {"x_dq"});
    ir::Node* mover = nullptr;
    if (op == "Resize") {
      ir::Value* roi = g.add_constant("roi", ir::Tensor::from<float>({0}, {}));
      ir::Value* scales = g.add_constant("scales", ir::Tensor::from<float>({4}, {1, 1, 2, 3}));
      mover = g.add_node("Resize", {dq->output(0), roi, scales}, {"m"});
      mover->attrs = {ir::Attribute::of_string("mode", "nearest")};
    } else {
      bool three = op == "MaxPool3";
      mover = g.add_node("MaxPool", {dq->output(0)}, {"m"});
      mover->attrs = {ir::Attribute::of_ints("kernel_shape", three ? std::vector<int64_t>{3, 3} : std::vector<int64_t>{2, 2}),
                      ir::Attribute::of_ints("strides", {2, 2})};
      if (three) mover->attrs.push_back(ir::Attribute::of_ints("pads", {1, 1, 1, 1}));
    }
    ir::Value* sy = y_scale == 0.057f ? sx : g.add_constant("sy", ir::Tensor::scalar<float>(y_scale));
    ir::Node* qy = g.add_node("QuantizeLinear", {mover->output(0), sy, y_scale == 0.057f ? zx : zero_point("zy")}, {"y_q"});
    g.outputs.push_back(g.add_node("DequantizeLinear", {qy->output(0), sy, qy->input(2)}, {"y"})->output(0));
  }

  // y_q; `on_bytes`: whether the float values before it were never computed.
  ir::Tensor run(SessionOptions o, bool* on_bytes = nullptr) {
    Session s(model, o);
    auto out = s.run_capture(feed, {"y_q"});
    if (on_bytes) {
      const auto& nodes = s.last_stats().nodes;
      *on_bytes = std::none_of(nodes.begin(), nodes.end(), [](const ir::Node* n) { return n->output(0)->name() == "x_dq"; });
    }
    return out.at("y_q");
  }
};

TEST(QMove, ResizeAndMaxPoolOnTheBytesAreTheLiteralNodes) {
  for (const std::string op : {"Resize", "MaxPool3", "MaxPool2"})
    for (DataType type : {DataType::kUint8, DataType::kInt8})
      for (float zp : {0.0f, 11.0f}) {
        SCOPED_TRACE(::testing::Message() << op << " " << ir::name(type) << " zp " << zp);
        QdqMove t(op, type, zp);
        bool on_bytes = false;
        ir::Tensor want = t.run(SessionOptions{1, false}), got = t.run(SessionOptions{1, true}, &on_bytes);
        ASSERT_TRUE(on_bytes) << "the group did not run";
        ASSERT_EQ(got.dims(), want.dims());
        EXPECT_EQ(got.as_int64(), want.as_int64());
        EXPECT_EQ(t.run(SessionOptions{2, true}).as_int64(), got.as_int64()) << "2 threads";
      }
}

TEST(QMove, AnotherOutputScaleKeepsTheLiteralNodes) {
  QdqMove t("MaxPool3", DataType::kUint8, 11.0f, 0.031f);
  bool on_bytes = true;
  ir::Tensor want = t.run(SessionOptions{1, false}), got = t.run(SessionOptions{1, true}, &on_bytes);
  EXPECT_FALSE(on_bytes);
  EXPECT_EQ(got.as_int64(), want.as_int64());
}

}  // namespace
}  // namespace pare::rt
