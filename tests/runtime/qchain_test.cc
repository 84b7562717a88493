// Chains of elementwise nodes between two quantized tensors (an int8 model's
// Conv tail, as pare's quantizer writes PP-OCRv4 det's: Add 3, Clip, a round
// trip, Mul by the input, Div 6, a round trip, Mul and Add by constants, each
// output quantized) run as one 256-entry table computed by running the nodes
// themselves: the same bytes as node by node, and one kernel where the literal
// run takes a dozen.
#include <gtest/gtest.h>

#include "lib/runtime/session.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

using ir::DataType;

struct QdqChain {
  ir::Model model;
  std::map<std::string, ir::Tensor> feed;
  ir::Graph& g = *model.graph;
  DataType type;
  int names = 0;

  ir::Value* scalar(float v) { return g.add_constant("k" + std::to_string(names++), ir::Tensor::scalar<float>(v)); }
  ir::Value* zero_point(float v) {
    std::string name = "z" + std::to_string(names++);
    return type == DataType::kUint8 ? g.add_constant(name, ir::Tensor::scalar<uint8_t>(static_cast<uint8_t>(v)))
                                    : g.add_constant(name, ir::Tensor::scalar<int8_t>(static_cast<int8_t>(v)));
  }
  ir::Value* node(const std::string& op, std::vector<ir::Value*> in, const std::string& name = "") {
    return g.add_node(op, in, {name.empty() ? "v" + std::to_string(names++) : name})->output(0);
  }
  // Q then DQ with scale s: what the quantizer puts on a node's output.
  ir::Value* round_trip(ir::Value* v, float s, float zp, const std::string& q_name = "") {
    ir::Value *sv = scalar(s), *zv = zero_point(zp);
    ir::Value* q = node("QuantizeLinear", {v, sv, zv}, q_name);
    return node("DequantizeLinear", {q, sv, zv});
  }

  // x -> Q -> DQ -> the det tail -> Q -> y_q -> DQ -> y; `middle_out` also makes
  // the value after the first round trip a graph output.
  QdqChain(DataType t, float zp, bool middle_out = false, bool per_channel = false) : type(t) {
    model.opsets = {{"", 13}};
    std::vector<int64_t> dims = {1, 4, 13, 17};
    ir::Value* x = g.add_value("x");
    x->dtype = DataType::kFloat;
    x->shape = ir::Shape::of(dims);
    g.inputs.push_back(x);
    feed["x"] = ir::Tensor::from<float>(dims, testing::uniform_floats(4 * 13 * 17, 70, -6, 6));
    ir::Value* xd = round_trip(x, 0.05f, zp, "x_q");
    ir::Value* clip = node("Clip", {node("Add", {xd, scalar(3.0f)}), scalar(0.0f), scalar(6.0f)});
    ir::Value* clip_d = round_trip(clip, 0.024f, type == DataType::kUint8 ? 0 : -128);
    if (middle_out) g.outputs.push_back(clip_d);
    ir::Value* hs = node("Div", {node("Mul", {xd, clip_d}), scalar(6.0f)});
    ir::Value* hs_d = round_trip(hs, 0.03f, zp);
    ir::Value* k = per_channel ? g.add_constant("pc", ir::Tensor::from<float>({1, 4, 1, 1}, {0.9f, 1.1f, 1.2f, 0.8f}))
                               : scalar(0.9f);
    ir::Value* affine = node("Add", {node("Mul", {k, hs_d}), scalar(-0.2f)});
    ir::Value* y = round_trip(affine, 0.035f, zp, "y_q");
    g.outputs.insert(g.outputs.begin(), y);
  }

  struct Result {
    std::vector<double> y_q;
    int64_t kernels = 0;
  };
  Result run(SessionOptions o) {
    Session s(model, o);
    Result r{s.run_capture(feed, {"y_q"}).at("y_q").as_double(), 0};
    r.kernels = s.last_stats().kernels_run;
    return r;
  }
};

TEST(QdqChain, RunsAsOneTableWithTheNodesBytes) {
  for (auto [type, zp] : {std::pair{DataType::kUint8, 0.0f}, std::pair{DataType::kUint8, 131.0f},
                          std::pair{DataType::kInt8, 0.0f}, std::pair{DataType::kInt8, -9.0f}}) {
    SCOPED_TRACE(::testing::Message() << ir::name(type) << " zp " << zp);
    QdqChain c(type, zp);
    for (int threads : {1, 2}) {
      SessionOptions table{threads}, literal{threads, false};
      auto got = c.run(table), want = c.run(literal);
      EXPECT_EQ(got.y_q, want.y_q) << "the table's bytes differ from the nodes'";
      EXPECT_LE(got.kernels, 4) << "the chain was not one kernel";  // Q of x, the table, DQ of y (and a capture)
      EXPECT_EQ(want.kernels, 14) << "the literal run: a kernel per node";
    }
  }
}

TEST(QdqChain, StopsWhereAnotherReaderNeedsAValueOrAConstantBroadcasts) {
  for (bool middle_out : {true, false}) {
    QdqChain c(DataType::kUint8, 7, middle_out, !middle_out);
    auto got = c.run(SessionOptions{1}), want = c.run(SessionOptions{1, false});
    EXPECT_EQ(got.y_q, want.y_q);
    EXPECT_GT(got.kernels, 4) << "a chain was taken whole although " << (middle_out ? "a middle value is an output"
                                                                                     : "a constant is per channel");
  }
}

}  // namespace
}  // namespace pare::rt
