// The session: buffer reuse and peak bytes, input checks, compile-time refusal
// of unsupported ops and invalid attributes, outputs too large to allocate,
// subgraphs with captures, capture of intermediate values.
#include <gtest/gtest.h>

#include "lib/runtime/session.h"
#include "tests/support/errors.h"
#include "tests/support/text_model.h"

namespace pare::rt {
namespace {

std::map<std::string, ir::Tensor> ones(const std::string& name, std::vector<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return {{name, ir::Tensor::from<float>(dims, std::vector<float>(n, 1.0f))}};
}

TEST(Session, ReusesBuffersAlongAChain) {
  // Ten 1 MB values in a chain: with reuse, about three are alive at once.
  ir::Model m = testing::relu_chain(10, "256, 1024");
  Session s(m);
  s.run(ones("x", {256, 1024}));
  int64_t value_bytes = 256 * 1024 * 4;
  EXPECT_GE(s.last_stats().peak_bytes, value_bytes);
  EXPECT_LE(s.last_stats().peak_bytes, 3 * value_bytes);
  EXPECT_EQ(s.last_stats().nodes.size(), 10u);
}

TEST(Session, ChecksInputs) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[N, 3] x) => (float[N, 3] y) { y = Relu(x) })");
  Session s(m);
  EXPECT_EQ(s.run(ones("x", {5, 3}))[0].dims(), (std::vector<int64_t>{5, 3}));  // a symbolic dim takes any size
  auto message = [&](const std::map<std::string, ir::Tensor>& feed) {
    return testing::error_of([&] { s.run(feed); });
  };
  EXPECT_EQ(message(ones("x", {5, 4})), "input 'x': expected shape [N,3], got [5,4]");
  EXPECT_EQ(message({{"x", ir::Tensor::from<int64_t>({1, 3}, {1, 2, 3})}}), "input 'x': expected float, got int64");
  EXPECT_EQ(message({}), "input 'x' is missing");
  EXPECT_NE(message({{"x", ones("x", {1, 3}).at("x")}, {"z", ones("x", {1}).at("x")}}).find("'z' is not an input"),
            std::string::npos);
}

TEST(Session, RefusesUnsupportedOpsAtCompileTime) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[2] y) { y = Bernoulli(x) })");  // random numbers: never run
  try {
    Session s(m);
    FAIL() << "compiled";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "node (unnamed) (Bernoulli, opset 13): the runner has no kernel for this op");
  }
  EXPECT_EQ(unsupported_nodes(m).size(), 1u);
}

TEST(Session, RefusesATransposeWhosePermIsNoPermutation) {
  auto transpose = [](const std::string& perm) {
    ir::Model m = testing::model_from_text(R"(
      <ir_version: 8, opset_import: ["" : 13]>
      g (float[1, 3, 8, 8] x) => (float[a, b, c, d] y) { y = Transpose<perm = )" + perm + R"(>(x) })");
    return testing::error_of([&] { Session(m).run(ones("x", {1, 3, 8, 8})); });
  };
  EXPECT_EQ(transpose("[0, 0, 0, 0]"), "node (unnamed) (Transpose, opset 13): perm [0,0,0,0] is not a permutation of 0..3");
  EXPECT_EQ(transpose("[0, 1, 2, 4]"), "node (unnamed) (Transpose, opset 13): perm [0,1,2,4] is not a permutation of 0..3");
  EXPECT_EQ(transpose("[0, 2, 1]"), "node (unnamed) (Transpose): perm must have one entry per axis");
  EXPECT_EQ(transpose("[0, 2, 3, 1]"), "");
}

TEST(Session, OutputsTooLargeToAllocateAreErrorsNamingTheNodeAndTheSize) {
  // A constant shape: the node is computed when the session compiles.
  ir::Model constant = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[a, b] y) <int64[2] shape = {2147483648, 2147483648}> { y = ConstantOfShape(shape) })");
  try {
    Session s(constant);
    FAIL() << "compiled";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "node (unnamed) (ConstantOfShape): output 0 of shape [2147483648,2147483648] needs 18446744073709551616 bytes");
  }
  // A shape given at run time: too large to count in 64 bits, or to allocate.
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (int64[n] shape) => (float[k] y) { y = ConstantOfShape(shape) })");
  Session s(m);
  auto run = [&](const std::vector<int64_t>& dims) {
    ir::Tensor shape = ir::Tensor::from<int64_t>({static_cast<int64_t>(dims.size())}, dims);
    return testing::error_of([&] { s.run({{"shape", shape}}); });
  };
  const std::string node = "node (unnamed) (ConstantOfShape): ";
  EXPECT_EQ(run({int64_t{1} << 40, int64_t{1} << 40}),
            node + "output 0 of shape [1099511627776,1099511627776] needs 4835703278458516698824704 bytes");
  EXPECT_EQ(run({int64_t{1} << 62, int64_t{1} << 62, int64_t{1} << 62}),
            node + "output 0 of shape [4611686018427387904,4611686018427387904,4611686018427387904] needs more than "
                   "340282366920938463463374607431768211455 bytes");
  EXPECT_EQ(run({int64_t{1} << 60}), node + "cannot allocate 4611686018427387904 bytes for output 0");
  EXPECT_EQ(run({int64_t{1} << 62, 0}), "");  // no elements: nothing to allocate
  EXPECT_EQ(run({2, 3}), "");                 // and the session still runs
}

TEST(Session, RunsIfAndLoopWithCaptures) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (bool c, float[2] x) => (float[2] y, float[2] z, float[3, 2] scan) {
      a = Relu(x)
      y = If(c) <
        then_branch = t () => (float[2] t_out) { t_out = Neg(a) },
        else_branch = e () => (float[2] e_out) { e_out = Identity(a) }
      >
      trips = Constant<value = int64 {3}>()
      z, scan = Loop(trips, c, x) <
        body = b (int64 i, bool cond, float[2] acc) => (bool cond_out, float[2] acc_out, float[2] s) {
          cond_out = Identity(cond)
          acc_out = Add(acc, a)
          s = Identity(acc_out)
        }
      >
    })");
  Session s(m);
  std::map<std::string, ir::Tensor> feed = {{"c", ir::Tensor::scalar<bool>(true)},
                                            {"x", ir::Tensor::from<float>({2}, {1.0f, -2.0f})}};
  auto out = s.run(feed);
  EXPECT_EQ(out[0].as_float(), (std::vector<float>{-1.0f, 0.0f}));           // Neg(Relu(x))
  EXPECT_EQ(out[1].as_float(), (std::vector<float>{4.0f, -2.0f}));           // x + 3 * Relu(x)
  EXPECT_EQ(out[2].dims(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(out[2].as_float(), (std::vector<float>{2, -2, 3, -2, 4, -2}));
  feed["c"] = ir::Tensor::scalar<bool>(false);
  EXPECT_EQ(s.run(feed)[0].as_float(), (std::vector<float>{1.0f, 0.0f}));  // the else branch; the loop runs 0 times
}

TEST(Session, CapturesIntermediateValuesAndPreEvaluatesConstants) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2, 3] x) => (float[3, 2] y) <int64[2] shape = {3, 2}> {
      s2 = Add(shape, shape)
      s = Div(s2, shape)
      h = Relu(x)
      y = Reshape(h, shape)
    })");
  Session s(m);
  auto got = s.run_capture(ones("x", {2, 3}), {"h"});
  EXPECT_EQ(got.at("h").dims(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(got.at("y").dims(), (std::vector<int64_t>{3, 2}));
  // Add and Div only touch constants: computed at compile time, not run.
  for (const ir::Node* n : s.last_stats().nodes) EXPECT_TRUE(n->op_type == "Relu" || n->op_type == "Reshape") << n->op_type;
}

// only_named: the steps after the named values are not run, nothing else is
// returned, and the values are those of a whole run.
TEST(Session, CapturesOnlyWhatTheNamedValuesNeed) {
  ir::Model m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2, 3] x) => (float[2, 3] y, float[2, 3] z) {
      a = Relu(x)
      b = Sigmoid(a)
      y = Exp(b)
      z = Neg(x)
    })");
  Session s(m);
  std::map<std::string, ir::Tensor> in = {{"x", ir::Tensor::from<float>({2, 3}, {-1, 0.5f, 2, -3, 4, 0.25f})}};
  auto whole = s.run_capture(in, {"b"});
  auto only = s.run_capture(in, {"b"}, true);
  EXPECT_EQ(only.size(), 1u);
  EXPECT_EQ(only.at("b").as_float(), whole.at("b").as_float());
  std::vector<std::string> ran;
  for (const ir::Node* n : s.last_stats().nodes) ran.push_back(n->op_type);
  EXPECT_EQ(ran, (std::vector<std::string>{"Relu", "Sigmoid"}));
  // A whole run afterwards runs every step again.
  EXPECT_EQ(s.run(in)[1].as_float(), whole.at("z").as_float());
  EXPECT_EQ(s.last_stats().nodes.size(), 4u);
}

}  // namespace
}  // namespace pare::rt
