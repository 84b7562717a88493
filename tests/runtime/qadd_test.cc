// The quantized Add and Mul of QDQ groups (kernels/qadd.cc) against their
// oracle, the literal nodes: DequantizeLinear twice, Add or Mul, Relu or Clip,
// QuantizeLinear. The Add computes in fixed point, within one step of the
// oracle (and the same bytes on every path and thread count); the Mul and the
// mean compute the nodes' float formulas in their order, so their bits are the
// same. uint8 and int8 tensors, zero points 0 and not.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

using ir::DataType;

struct QdqAdd {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;

  // b_dims: b's shape when it differs from a's; `shapes`: whether the graph
  // gives the dequantized values' shapes (quantizers often write none).
  // y_scale: the output's scale (twice a's makes every other sum a tie).
  QdqAdd(DataType a_type, DataType y_type, float zp, const std::string& act, std::vector<int64_t> dims,
         std::vector<int64_t> b_dims = {}, bool shapes = true, const std::string& op = "Add", float y_scale = 0.043f) {
    model.opsets = {{"", 13}};
    ir::Graph& g = *model.graph;
    auto zero_point = [&](const std::string& name, DataType t, float v) {
      return t == DataType::kUint8 ? g.add_constant(name, ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(v)))
                                   : g.add_constant(name, ir::Tensor::scalar<int8_t>(static_cast<int8_t>(v)));
    };
    std::vector<ir::Value*> dq;
    for (int i = 0; i < 2; ++i) {
      std::string name = i ? "b" : "a";
      const std::vector<int64_t>& shape = i && !b_dims.empty() ? b_dims : dims;
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      ir::Value* x = g.add_value(name);
      x->dtype = DataType::kFloat;
      x->shape = ir::Shape::of(shape);
      g.inputs.push_back(x);
      feed[name] = ir::Tensor::from<float>(shape, testing::uniform_floats(n, 40 + i, -3, 4));
      // The second input is uint8 with its own scale and zero point whatever `a_type` is.
      DataType t = i ? DataType::kUint8 : a_type;
      ir::Value* s = g.add_constant("s" + name, ir::Tensor::scalar<float>(i ? 0.031f : 0.027f));
      ir::Value* z = zero_point("z" + name, t, i ? 120.0f : zp);
      ir::Node* q = g.add_node("QuantizeLinear", {x, s, z}, {name + "_q"});
      ir::Node* d = g.add_node("DequantizeLinear", {q->output(0), s, z}, {name + "_dq"});
      if (shapes) d->output(0)->shape = x->shape;
      dq.push_back(d->output(0));
    }
    ir::Value* sum = g.add_node(op, {dq[0], dq[1]}, {"sum"})->output(0);
    if (act == "Relu") sum = g.add_node("Relu", {sum}, {"act"})->output(0);
    if (act == "Clip")
      sum = g.add_node("Clip", {sum, g.add_constant("lo", ir::Tensor::scalar<float>(-1.0f)),
                                g.add_constant("hi", ir::Tensor::scalar<float>(2.5f))}, {"act"})->output(0);
    ir::Value* sy = g.add_constant("sy", ir::Tensor::scalar<float>(y_scale));
    ir::Node* qy = g.add_node("QuantizeLinear", {sum, sy, zero_point("zy", y_type, zp)}, {"y_q"});
    g.outputs.push_back(g.add_node("DequantizeLinear", {qy->output(0), sy, qy->input(2)}, {"y"})->output(0));
  }

  std::vector<double> run(SessionOptions o, bool* integer = nullptr) {
    Session s(model, o);
    auto out = s.run_capture(feed, {"y_q"});
    if (integer) {
      const auto& nodes = s.last_stats().nodes;
      *integer = std::none_of(nodes.begin(), nodes.end(), [](const ir::Node* n) { return n->output(0)->name() == "a_dq"; });
    }
    return out.at("y_q").as_double();
  }
};

// Within one step of the nodes everywhere. With these scales no sum comes
// within the multipliers' error of a rounding boundary, so every byte is the
// nodes'; with y's scale twice a's (0.054), sums fall on ties, which the nodes
// round half to even and the kernel half up: there bytes differ by one.
TEST(QAdd, WithinOneStepOfTheLiteralNodes) {
  for (Isa isa : runnable_isas())
    for (DataType a : {DataType::kUint8, DataType::kInt8})
      for (DataType y : {DataType::kUint8, DataType::kInt8})
        for (float zp : {0.0f, 9.0f})
          for (const std::string act : {"", "Relu", "Clip"})
            for (float y_scale : {0.043f, 0.054f}) {
              SCOPED_TRACE(::testing::Message() << isa_name(isa) << " " << ir::name(a) << "->" << ir::name(y) << " zp "
                                                << zp << " act '" << act << "' y scale " << y_scale);
              QdqAdd t(a, y, zp, act, {1, 5, 37, 41}, {}, true, "Add", y_scale);  // not a multiple of any vector width
              SessionOptions literal{1, false}, integer{1, true};
              literal.isa = integer.isa = isa;
              bool ran = false;
              auto want = t.run(literal), got = t.run(integer, &ran);
              ASSERT_TRUE(ran) << "the quantized Add did not compute the group";
              ASSERT_EQ(got.size(), want.size());
              size_t differ = 0;
              for (size_t i = 0; i < got.size(); ++i) {
                ASSERT_LE(std::abs(got[i] - want[i]), 1.0) << "element " << i;
                differ += got[i] != want[i];
              }
              if (y_scale == 0.043f) EXPECT_EQ(differ, 0u);
              if (isa != runnable_isas().front()) {
                SessionOptions portable{1, true};
                portable.isa = runnable_isas().front();
                EXPECT_EQ(t.run(portable), got) << "the portable path's bytes";
              }
            }
}

// A graph that gives no shapes for the Add's inputs (BlazeFace quantized by
// pare) still gets the integer Add; where the run's shapes differ, it
// broadcasts as the float Add does, with the same bits.
TEST(QAdd, InputsOfUnknownShapeRunInIntegersAndBroadcast) {
  for (Isa isa : runnable_isas())
    for (auto b_dims : std::vector<std::vector<int64_t>>{{}, {1, 5, 1, 41}, {37, 1}, {1}}) {
      SCOPED_TRACE(::testing::Message() << isa_name(isa) << " b of rank " << b_dims.size());
      QdqAdd t(DataType::kUint8, DataType::kUint8, 9, "Relu", {1, 5, 37, 41}, b_dims, false);
      SessionOptions literal{1, false}, integer{2, true};
      literal.isa = integer.isa = isa;
      bool ran = false;
      auto want = t.run(literal), got = t.run(integer, &ran);
      ASSERT_TRUE(ran) << "the quantized Add did not compute the group";
      ASSERT_EQ(got, want);  // these scales: the nodes' bytes (WithinOneStepOfTheLiteralNodes)
    }
}

// Known shapes that broadcast stay with the literal nodes (the vectorised
// float Add beats element-by-element integers there).
TEST(QAdd, KnownBroadcastStaysLiteral) {
  QdqAdd t(DataType::kUint8, DataType::kUint8, 9, "", {1, 5, 37, 41}, {1, 5, 1, 41});
  bool ran = true;
  t.run(SessionOptions{1, true}, &ran);
  EXPECT_FALSE(ran);
}

// The quantized Mul: a squeeze-excite block's x * scale[c] channel by channel
// in fixed point (scale first or second, of x's rank or one less), within one
// step of the literal nodes and the same bytes on every path; other shapes
// element by element with the nodes' float formulas, their bits; known shapes or not.
TEST(QAdd, MulWithinOneStepOfTheLiteralNodes) {
  std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{1, 5, 37, 41}, {}}, {{1, 5, 37, 41}, {1, 5, 1, 1}}, {{2, 5, 7, 9}, {5, 1, 1}},
      {{1, 5, 1, 1}, {1, 5, 37, 41}}, {{1, 5, 37, 41}, {1, 5, 1, 41}}};
  for (Isa isa : runnable_isas())
    for (DataType a : {DataType::kUint8, DataType::kInt8})
      for (const std::string act : {"", "Relu"})
        for (bool known : {true, false})
          for (const auto& [dims, b_dims] : shapes) {
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " " << ir::name(a) << " act '" << act << "' shapes "
                                              << known << " " << dims.size() << " b " << b_dims.size());
            QdqAdd t(a, a, 9, act, dims, b_dims, known, "Mul");
            SessionOptions literal{1, false}, integer{1, true}, two{2, true};
            literal.isa = integer.isa = two.isa = isa;
            bool ran = false;
            auto want = t.run(literal), got = t.run(integer, &ran);
            ASSERT_TRUE(ran) << "the quantized Mul did not compute the group";
            ASSERT_EQ(got.size(), want.size());
            auto one_per_channel = [](const std::vector<int64_t>& v) {  // [.., 5, 1, 1] or [5, 1, 1]
              return v.size() >= 3 && v[v.size() - 3] == 5 && v[v.size() - 2] == 1 && v.back() == 1;
            };
            bool per_channel = one_per_channel(b_dims) || one_per_channel(dims);
            if (!per_channel) ASSERT_EQ(got, want);
            for (size_t i = 0; i < got.size(); ++i) ASSERT_LE(std::abs(got[i] - want[i]), 1.0) << "element " << i;
            EXPECT_EQ(t.run(two), got) << "2 threads";
            SessionOptions portable{1, true};
            portable.isa = runnable_isas().front();
            EXPECT_EQ(t.run(portable), got) << "the portable path's bytes";
          }
}

// The quantized GlobalAveragePool (the Add's kernel, kMean): the literal
// DequantizeLinear, float pool (eight double lanes) and QuantizeLinear's bits,
// planes of whole blocks of 8 and not, uint8 and int8, on every path.
TEST(QAdd, MeanGivesTheLiteralNodesBits) {
  for (Isa isa : runnable_isas())
    for (DataType type : {DataType::kUint8, DataType::kInt8})
      for (std::vector<int64_t> dims : std::vector<std::vector<int64_t>>{{1, 7, 37, 41}, {2, 5, 4, 6}, {1, 3, 5}}) {
        SCOPED_TRACE(::testing::Message() << isa_name(isa) << " " << ir::name(type) << " rank " << dims.size());
        ir::Model m;
        m.opsets = {{"", 13}};
        ir::Graph& g = *m.graph;
        int64_t n = 1;
        for (int64_t d : dims) n *= d;
        ir::Value* x = g.add_value("x");
        x->dtype = DataType::kFloat;
        g.inputs.push_back(x);
        auto zero_point = [&](const std::string& name, float v) {
          return type == DataType::kUint8 ? g.add_constant(name, ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(v)))
                                          : g.add_constant(name, ir::Tensor::scalar<int8_t>(static_cast<int8_t>(v)));
        };
        ir::Value *sx = g.add_constant("sx", ir::Tensor::scalar<float>(0.0371f)), *zx = zero_point("zx", 13);
        ir::Node* q = g.add_node("QuantizeLinear", {x, sx, zx}, {"x_q"});
        ir::Node* dq = g.add_node("DequantizeLinear", {q->output(0), sx, zx}, {"a_dq"});
        ir::Node* pool = g.add_node("GlobalAveragePool", {dq->output(0)}, {"mean"});
        ir::Value *sy = g.add_constant("sy", ir::Tensor::scalar<float>(0.0093f)), *zy = zero_point("zy", 3);
        ir::Node* qy = g.add_node("QuantizeLinear", {pool->output(0), sy, zy}, {"y_q"});
        g.outputs.push_back(g.add_node("DequantizeLinear", {qy->output(0), sy, zy}, {"y"})->output(0));
        std::map<std::string, ir::Tensor> feed = {{"x", ir::Tensor::from<float>(dims, testing::uniform_floats(n, 77, -2, 5))}};
        SessionOptions literal{1, false}, integer{1, true};
        literal.isa = integer.isa = isa;
        Session a(m, literal), b(m, integer);
        auto want = a.run_capture(feed, {"y_q"}).at("y_q").as_double();
        auto got = b.run_capture(feed, {"y_q"}).at("y_q").as_double();
        const auto& nodes = b.last_stats().nodes;
        EXPECT_TRUE(std::none_of(nodes.begin(), nodes.end(), [](const ir::Node* n) { return n->output(0)->name() == "a_dq"; }))
            << "the quantized mean did not compute the group";
        ASSERT_EQ(got, want);
      }
}

TEST(QAdd, TwoThreadsGiveTheSameBits) {
  QdqAdd t(DataType::kUint8, DataType::kUint8, 7, "Relu", {2, 16, 64, 33});  // several chunks
  EXPECT_EQ(t.run(SessionOptions{2, true}), t.run(SessionOptions{1, true}));
}

}  // namespace
}  // namespace pare::rt
