// Bytes moved in QDQ groups (qdq_groups.h): DequantizeLinear -> nearest Resize
// -> QuantizeLinear with the input's own constants runs the Resize on the bytes,
// and DequantizeLinear of each input -> Concat -> QuantizeLinear copies bytes
// through a table per input (a float input, constant or computed, quantized by
// the kernel). The bytes must be exactly the literal nodes' (no
// step of tolerance), uint8 and int8, zero points 0 and not; a Resize whose
// QuantizeLinear has other constants is left to the literal nodes.
#include <gtest/gtest.h>

#include <algorithm>

#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

using ir::DataType;

// x -> QuantizeLinear -> DequantizeLinear -> `op` -> QuantizeLinear -> y_q. `op`:
// "Resize" (nearest, x2 rows, x3 columns), "Resize2" (x2 both: the repeated
// bytes' loop), "Concat" (x beside QDQ(2x) on the channels, each input with its
// own constants); `y_scale`: the output's scale (the input's is 0.057).
struct QdqMove {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;

  QdqMove(const std::string& op, DataType type, float zp, float y_scale = 0.057f) {
    model.opsets = {{"", 13}};
    ir::Graph& g = *model.graph;
    int counter = 0;
    auto zero_point = [&](float v) {
      std::string name = "z" + std::to_string(counter++);
      return type == DataType::kUint8 ? g.add_constant(name, ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(v)))
                                      : g.add_constant(name, ir::Tensor::scalar<int8_t>(static_cast<int8_t>(v)));
    };
    std::vector<int64_t> dims = {1, 3, 13, 17};
    ir::Value* x = g.add_value("x");
    x->dtype = DataType::kFloat;
    x->shape = ir::Shape::of(dims);
    g.inputs.push_back(x);
    feed["x"] = ir::Tensor::from<float>(dims, testing::uniform_floats(3 * 13 * 17, 60, -9, 9));
    ir::Value* sx = g.add_constant("sx", ir::Tensor::scalar<float>(0.057f));
    ir::Value* zx = zero_point(zp);
    ir::Node* q = g.add_node("QuantizeLinear", {x, sx, zx}, {"x_q"});
    ir::Node* dq = g.add_node("DequantizeLinear", {q->output(0), sx, zx}, {"x_dq"});
    ir::Node* mover = nullptr;
    if (op == "Concat") {
      ir::Value* two = g.add_constant("two", ir::Tensor::scalar<float>(2.0f));
      ir::Node* twice = g.add_node("Mul", {x, two}, {"x2"});
      ir::Value* s2 = g.add_constant("s2", ir::Tensor::scalar<float>(0.093f));
      ir::Node* q2 = g.add_node("QuantizeLinear", {twice->output(0), s2, zero_point(zp / 2)}, {"x2_q"});
      ir::Node* dq2 = g.add_node("DequantizeLinear", {q2->output(0), s2, q2->input(2)}, {"x2_dq"});
      mover = g.add_node("Concat", {dq->output(0), dq2->output(0), dq->output(0)}, {"m"});
      mover->attrs = {ir::Attribute::of_int("axis", 1)};
    } else if (op == "ConcatFloat") {
      // Float inputs beside the quantized one: zero channels from a
      // ConstantOfShape (a constant when the kernel is built, as BlazeFace's)
      // and a computed tensor, with values beyond y's range (clamped).
      ir::Value* shape = g.add_constant("shape", ir::Tensor::from<int64_t>({4}, {1, 2, 13, 17}));
      ir::Value* zeros = g.add_node("ConstantOfShape", {shape}, {"zeros"})->output(0);
      ir::Value* three = g.add_constant("three", ir::Tensor::scalar<float>(3.0f));
      ir::Value* x3 = g.add_node("Mul", {x, three}, {"x3"})->output(0);
      x3->dtype = DataType::kFloat;  // the zeros' type left unknown, as BlazeFace's file leaves it
      mover = g.add_node("Concat", {zeros, dq->output(0), x3}, {"m"});
      mover->attrs = {ir::Attribute::of_int("axis", 1)};
    } else {
      ir::Value* roi = g.add_constant("roi", ir::Tensor::from<float>({0}, {}));
      ir::Value* scales = g.add_constant("scales", ir::Tensor::from<float>({4}, {1, 1, 2, op == "Resize2" ? 2.0f : 3.0f}));
      mover = g.add_node("Resize", {dq->output(0), roi, scales}, {"m"});
      mover->attrs = {ir::Attribute::of_string("mode", "nearest")};
    }
    ir::Value* sy = y_scale == 0.057f ? sx : g.add_constant("sy", ir::Tensor::scalar<float>(y_scale));
    ir::Node* qy = g.add_node("QuantizeLinear", {mover->output(0), sy, y_scale == 0.057f ? zx : zero_point(zp)}, {"y_q"});
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

// Every Isa: a Concat's tables are looked up 64 bytes at a time with VBMI.
TEST(QMove, ResizeAndConcatOnTheBytesAreTheLiteralNodes) {
  for (Isa isa : runnable_isas())
    for (const std::string op : {"Resize", "Resize2", "Concat", "ConcatFloat"})
      for (DataType type : {DataType::kUint8, DataType::kInt8})
        for (float zp : {0.0f, 11.0f})
          for (float y_scale : {0.057f, 0.031f}) {
            if (op.rfind("Concat", 0) != 0 && y_scale != 0.057f) continue;  // below
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " " << op << " " << ir::name(type) << " zp " << zp
                                              << " y scale " << y_scale);
            QdqMove t(op, type, zp, y_scale);
            SessionOptions literal{1, false}, integer{1, true}, two{2, true};
            literal.isa = integer.isa = two.isa = isa;
            bool on_bytes = false;
            ir::Tensor want = t.run(literal), got = t.run(integer, &on_bytes);
            ASSERT_TRUE(on_bytes) << "the group did not run";
            ASSERT_EQ(got.dims(), want.dims());
            EXPECT_EQ(got.as_int64(), want.as_int64());
            EXPECT_EQ(t.run(two).as_int64(), got.as_int64()) << "2 threads";
          }
}

TEST(QMove, AResizeToAnotherScaleKeepsTheLiteralNodes) {
  QdqMove t("Resize", DataType::kUint8, 11.0f, 0.031f);
  bool on_bytes = true;
  ir::Tensor want = t.run(SessionOptions{1, false}), got = t.run(SessionOptions{1, true}, &on_bytes);
  EXPECT_FALSE(on_bytes);
  EXPECT_EQ(got.as_int64(), want.as_int64());
}

}  // namespace
}  // namespace pare::rt
