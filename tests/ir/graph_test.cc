// The IR's editing API: use lists, erase/compact, stable topological order,
// unique names, the refusal to rename graph outputs, and captures in subgraphs.
#include <gtest/gtest.h>

#include "lib/base/error.h"
#include "lib/ir/graph.h"
#include "lib/ir/verify.h"

namespace pare::ir {
namespace {

// x -> Relu(a) -> Neg(b) -> y
struct Chain {
  Model m;
  Value* x;
  Node* relu;
  Node* neg;
  Chain() {
    Graph& g = *m.graph;
    x = g.add_value("x");
    x->dtype = DataType::kFloat;
    g.inputs.push_back(x);
    relu = g.add_node("Relu", {x}, {"a"});
    neg = g.add_node("Neg", {relu->output(0)}, {"y"});
    g.outputs.push_back(neg->output(0));
    m.opsets.push_back({"", 13});
  }
};

TEST(Graph, UseListsFollowEdits) {
  Chain c;
  Value* a = c.relu->output(0);
  ASSERT_EQ(a->uses().size(), 1u);
  EXPECT_EQ(a->uses()[0].node, c.neg);
  c.m.graph->set_input(c.neg, 0, c.x);
  EXPECT_TRUE(a->uses().empty());
  ASSERT_EQ(c.x->uses().size(), 2u);
  c.m.graph->erase(c.relu);
  c.m.graph->compact();
  EXPECT_EQ(c.m.graph->nodes().size(), 1u);
  EXPECT_NO_THROW(verify(c.m));
}

TEST(Graph, EraseRefusesUsedOutputs) {
  Chain c;
  EXPECT_THROW(c.m.graph->erase(c.relu), InternalError);
  EXPECT_THROW(c.m.graph->erase(c.neg), InternalError);  // produces a graph output
}

TEST(Graph, ReplaceAllUsesRefusesGraphOutputs) {
  Chain c;
  EXPECT_THROW(c.m.graph->replace_all_uses(c.neg->output(0), c.x), Error);
  c.m.graph->replace_all_uses(c.relu->output(0), c.x);
  EXPECT_EQ(c.neg->input(0), c.x);
  EXPECT_TRUE(c.relu->output(0)->uses().empty());
}

TEST(Graph, CompactPlacesNewNodesBeforeTheirFirstConsumer) {
  Chain c;
  Graph& g = *c.m.graph;
  // Insert Abs between x and Relu: appended at the end, then moved up by compact().
  Node* abs = g.add_node("Abs", {c.x}, {g.unique_name("x_abs")});
  g.set_input(c.relu, 0, abs->output(0));
  g.compact();
  ASSERT_EQ(g.nodes().size(), 3u);
  EXPECT_EQ(g.nodes()[0]->op_type, "Abs");
  EXPECT_EQ(g.nodes()[1]->op_type, "Relu");
  EXPECT_EQ(g.nodes()[2]->op_type, "Neg");
  EXPECT_NO_THROW(verify(c.m));
}

TEST(Graph, CompactDetectsCycles) {
  Chain c;
  Graph& g = *c.m.graph;
  g.set_input(c.relu, 0, c.neg->output(0));  // Relu <- Neg <- Relu
  EXPECT_THROW(g.compact(), Error);
}

TEST(Graph, UniqueNamesCountPerBase) {
  Chain c;
  Graph& g = *c.m.graph;
  EXPECT_EQ(g.unique_name("fresh"), "fresh");
  EXPECT_EQ(g.unique_name("a"), "a_1");
  EXPECT_EQ(g.unique_name("a"), "a_2");
  g.add_value("a_3");
  EXPECT_EQ(g.unique_name("a"), "a_4");
}

TEST(Graph, SubgraphCapturesAreUsesOfTheOuterValue) {
  Chain c;
  Graph& g = *c.m.graph;
  Value* cond = g.add_constant("cond", Tensor::scalar<bool>(true));
  Node* if_node = g.add_node("If", {cond}, {"z"});
  auto then_g = std::make_shared<Graph>(&g, if_node);
  Node* inner = then_g->add_node("Identity", {c.relu->output(0)}, {"t_out"});
  then_g->outputs.push_back(inner->output(0));
  Attribute a;
  a.name = "then_branch";
  a.kind = Attribute::Kind::kGraph;
  a.g = then_g;
  if_node->attrs.push_back(a);
  g.outputs.push_back(if_node->output(0));
  EXPECT_EQ(c.relu->output(0)->uses().size(), 2u);
  auto caps = then_g->captured_values();
  ASSERT_EQ(caps.size(), 1u);
  EXPECT_EQ(caps[0]->name(), "a");
  EXPECT_EQ(then_g->find_value("x"), c.x);  // visible from inside
  // Erasing the If unlinks the capture.
  g.outputs.pop_back();
  g.erase(if_node);
  EXPECT_EQ(c.relu->output(0)->uses().size(), 1u);
}

TEST(Graph, ConstantsAndOpsets) {
  Model m;
  m.opsets = {{"ai.onnx", 11}, {"com.microsoft", 1}};
  EXPECT_EQ(m.opset(""), 11);
  EXPECT_EQ(m.opset("com.microsoft"), 1);
  EXPECT_EQ(m.opset("other"), 0);
  Value* w = m.graph->add_constant("w", Tensor::from<float>({2, 2}, {1, 2, 3, 4}));
  EXPECT_TRUE(w->is_constant());
  EXPECT_EQ(w->dtype, DataType::kFloat);
  EXPECT_EQ(w->shape->str(), "[2,2]");
  EXPECT_EQ(m.graph->constants().size(), 1u);
  m.set_metadata("k", "v1");
  m.set_metadata("k", "v2");
  EXPECT_EQ(m.metadata.size(), 1u);
  EXPECT_EQ(m.metadata_value("k"), "v2");
}

}  // namespace
}  // namespace pare::ir
