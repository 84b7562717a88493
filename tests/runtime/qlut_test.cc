// The quantized activation of QDQ groups (kernels/qlut.cc), a table of the 256
// results, against the literal nodes: DequantizeLinear, the activation,
// QuantizeLinear. The table is computed with the same scalar formulas, so the
// bytes are the same (one step allowed for a build that fuses a multiply-add in
// one and not the other), uint8 and int8, zero points 0 and not, on both paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

using ir::DataType;

struct QdqActivation {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;

  // act may be "MaxPool" with `attrs`; y_scale 0 is the activation's default.
  QdqActivation(const std::string& act, DataType x_type, DataType y_type, float zp,
                std::vector<ir::Attribute> attrs = {}, float y_scale = 0) {
    model.opsets = {{"", 14}};
    ir::Graph& g = *model.graph;
    auto zero_point = [&](const std::string& name, DataType t, float v) {
      return t == DataType::kUint8 ? g.add_constant(name, ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(v)))
                                   : g.add_constant(name, ir::Tensor::scalar<int8_t>(static_cast<int8_t>(v)));
    };
    std::vector<int64_t> dims = {1, 3, 29, 71};  // a 2x2 pool: rows of 35, two vectors of 16 and 3
    ir::Value* x = g.add_value("x");
    x->dtype = DataType::kFloat;
    x->shape = ir::Shape::of(dims);
    g.inputs.push_back(x);
    feed["x"] = ir::Tensor::from<float>(dims, testing::uniform_floats(3 * 29 * 71, 50, -7, 7));
    ir::Value* sx = g.add_constant("sx", ir::Tensor::scalar<float>(0.057f));
    ir::Value* zx = zero_point("zx", x_type, zp);
    ir::Node* q = g.add_node("QuantizeLinear", {x, sx, zx}, {"x_q"});
    ir::Node* dq = g.add_node("DequantizeLinear", {q->output(0), sx, zx}, {"x_dq"});
    std::vector<ir::Value*> in = {dq->output(0)};
    if (act == "Clip") {
      in.push_back(g.add_constant("lo", ir::Tensor::scalar<float>(-1.0f)));
      in.push_back(g.add_constant("hi", ir::Tensor::scalar<float>(3.0f)));
    }
    ir::Node* a = g.add_node(act, in, {"a"});
    if (act == "HardSigmoid") a->attrs = {ir::Attribute::of_float("alpha", 0.1666f)};
    if (act == "LeakyRelu") a->attrs = {ir::Attribute::of_float("alpha", 0.1f)};
    if (act == "MaxPool") a->attrs = std::move(attrs);
    if (y_scale == 0) y_scale = act == "Sigmoid" || act == "HardSigmoid" ? 0.004f : 0.03f;
    ir::Value* sy = g.add_constant("sy", ir::Tensor::scalar<float>(y_scale));
    ir::Node* qy = g.add_node("QuantizeLinear", {a->output(0), sy, zero_point("zy", y_type, zp)}, {"y_q"});
    g.outputs.push_back(g.add_node("DequantizeLinear", {qy->output(0), sy, qy->input(2)}, {"y"})->output(0));
  }

  std::vector<double> run(SessionOptions o, bool* table = nullptr) {
    Session s(model, o);
    auto out = s.run_capture(feed, {"y_q"});
    if (table) {
      const auto& nodes = s.last_stats().nodes;
      *table = std::none_of(nodes.begin(), nodes.end(), [](const ir::Node* n) { return n->output(0)->name() == "x_dq"; });
    }
    return out.at("y_q").as_double();
  }
};

TEST(QLut, MatchesTheLiteralNodes) {
  for (Isa isa : runnable_isas())
    for (const std::string act : {"HardSwish", "HardSigmoid", "Sigmoid", "LeakyRelu", "Relu", "Clip"})
      for (DataType x : {DataType::kUint8, DataType::kInt8})
        for (DataType y : {DataType::kUint8, DataType::kInt8})
          for (float zp : {0.0f, 11.0f}) {
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " " << act << " " << ir::name(x) << "->" << ir::name(y)
                                              << " zp " << zp);
            QdqActivation t(act, x, y, zp);
            SessionOptions literal{1, false}, integer{1, true};
            literal.isa = integer.isa = isa;
            bool ran = false;
            auto want = t.run(literal), got = t.run(integer, &ran);
            ASSERT_TRUE(ran) << "the table did not compute the group";
            ASSERT_EQ(got.size(), want.size());
            for (size_t i = 0; i < got.size(); ++i) ASSERT_LE(std::fabs(got[i] - want[i]), 1.0) << "element " << i;
            EXPECT_EQ(t.run(SessionOptions{2, true}), got) << "2 threads";
          }
}

// The quantized MaxPool (make_qmax_pool): the max on the bytes in their type's
// order, then the table when y's parameters differ from x's, against the
// literal DequantizeLinear, float MaxPool and QuantizeLinear; windows with
// padding, uneven strides and ceil_mode. Dilation, or a pad as large as the
// kernel (a window of padding only), keeps the literal nodes.
TEST(QLut, MaxPoolOnTheBytesMatchesTheLiteralNodes) {
  using A = ir::Attribute;
  struct Pool {
    std::vector<A> attrs;
    bool integer;
  };
  std::vector<Pool> pools = {
      {{A::of_ints("kernel_shape", {2, 2}), A::of_ints("strides", {2, 2})}, true},
      {{A::of_ints("kernel_shape", {3, 3}), A::of_ints("pads", {1, 1, 1, 1})}, true},
      {{A::of_ints("kernel_shape", {3, 2}), A::of_ints("strides", {2, 3}), A::of_ints("pads", {0, 1, 2, 0}),
        A::of_int("ceil_mode", 1)},
       true},
      {{A::of_ints("kernel_shape", {3, 3}), A::of_string("auto_pad", "SAME_UPPER")}, true},
      {{A::of_ints("kernel_shape", {2, 2}), A::of_ints("dilations", {2, 2})}, false},
      {{A::of_ints("kernel_shape", {2, 2}), A::of_ints("pads", {2, 0, 0, 0})}, false},
  };
  for (Isa isa : runnable_isas())
    for (size_t p = 0; p < pools.size(); ++p)
      for (DataType x : {DataType::kUint8, DataType::kInt8})
        for (DataType y : {DataType::kUint8, DataType::kInt8})
          for (float y_scale : {0.057f, 0.061f}) {  // x's own scale (no table when the types agree) and another
            SCOPED_TRACE(::testing::Message() << isa_name(isa) << " pool " << p << " " << ir::name(x) << "->"
                                              << ir::name(y) << " y scale " << y_scale);
            QdqActivation t("MaxPool", x, y, 5, pools[p].attrs, y_scale);
            SessionOptions literal{1, false}, integer{1, true};
            literal.isa = integer.isa = isa;
            bool ran = false;
            auto want = t.run(literal), got = t.run(integer, &ran);
            ASSERT_EQ(ran, pools[p].integer);
            ASSERT_EQ(got.size(), want.size());
            for (size_t i = 0; i < got.size(); ++i) ASSERT_LE(std::fabs(got[i] - want[i]), 1.0) << "element " << i;
            EXPECT_EQ(t.run(SessionOptions{2, true}), got) << "2 threads";
          }
}

}  // namespace
}  // namespace pare::rt
