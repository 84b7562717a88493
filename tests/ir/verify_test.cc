// ir::verify catches each broken invariant with a message naming it.
#include <gtest/gtest.h>

#include "lib/base/error.h"
#include "lib/ir/graph.h"
#include "lib/ir/verify.h"
#include "tests/support/errors.h"

namespace pare::ir {
namespace {

std::string verify_message(const Model& m) {
  return testing::error_of([&] { verify(m); });
}

TEST(Verify, AcceptsAWellFormedGraph) {
  Model m;
  Value* x = m.graph->add_value("x");
  m.graph->inputs.push_back(x);
  Node* n = m.graph->add_node("Relu", {x}, {"y"});
  m.graph->outputs.push_back(n->output(0));
  EXPECT_EQ(verify_message(m), "");
}

TEST(Verify, UndefinedInput) {
  Model m;
  Value* ghost = m.graph->add_value("ghost");  // neither input, constant nor produced
  Node* n = m.graph->add_node("Relu", {ghost}, {"y"});
  m.graph->outputs.push_back(n->output(0));
  EXPECT_NE(verify_message(m).find("'ghost' which is not defined"), std::string::npos);
}

TEST(Verify, OutOfOrderNodes) {
  Model m;
  Value* x = m.graph->add_value("x");
  m.graph->inputs.push_back(x);
  Value* a = m.graph->add_value("a");
  Node* second = m.graph->add_node("Neg", {a}, {"y"});
  m.graph->add_node_with_outputs("Relu", {x}, {a});
  m.graph->outputs.push_back(second->output(0));
  EXPECT_NE(verify_message(m).find("before it is computed"), std::string::npos);
  m.graph->compact();  // sorting fixes it
  EXPECT_EQ(verify_message(m), "");
}

TEST(Verify, UndefinedGraphOutput) {
  Model m;
  m.graph->outputs.push_back(m.graph->add_value("nowhere"));
  EXPECT_NE(verify_message(m).find("output 'nowhere' is not defined"), std::string::npos);
}

TEST(Verify, DuplicateNames) {
  Model m;
  Value* x = m.graph->add_value("x");
  m.graph->inputs.push_back(x);
  Node* n = m.graph->add_node("Relu", {x}, {"x"});  // redefines x
  m.graph->outputs.push_back(n->output(0));
  EXPECT_NE(verify_message(m).find("defined twice"), std::string::npos);
}

}  // namespace
}  // namespace pare::ir
