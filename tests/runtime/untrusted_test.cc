// The runner on hostile models (issue 19): integer division never traps,
// shape arithmetic is checked before it can overflow, a run is bounded in
// steps and memory. Each of these crashed, hung or computed garbage before.
#include <gtest/gtest.h>

#include <climits>

#include "lib/runtime/session.h"
#include "tests/support/errors.h"
#include "tests/support/text_model.h"

namespace pare::rt {
namespace {

template <typename T>
std::vector<T> as_vector(const ir::Tensor& t) {
  auto s = t.span<T>();
  return {s.begin(), s.end()};
}

std::string error_of(const ir::Model& m, const std::map<std::string, ir::Tensor>& feed, SessionOptions o = {}) {
  return testing::error_of([&] {
    Session s(m, o);
    s.run(feed);
  });
}

ir::Model binary_model(const std::string& op, const std::string& type) {
  return testing::model_from_text("<ir_version: 8, opset_import: [\"\" : 13]>\ng (" + type + "[3] a, " + type +
                                  "[3] b) => (" + type + "[3] y) { y = " + op + "(a, b) }");
}

TEST(Untrusted, IntegerDivisionByZeroIsAnErrorNamingTheNode) {
  auto m = binary_model("Div", "int64");
  std::map<std::string, ir::Tensor> feed = {{"a", ir::Tensor::from<int64_t>({3}, {1, 2, 3})},
                                            {"b", ir::Tensor::from<int64_t>({3}, {1, 0, 1})}};
  EXPECT_NE(error_of(m, feed).find("(Div): integer division by zero (divisor element 1)"), std::string::npos)
      << error_of(m, feed);
  auto m32 = binary_model("Div", "int32");
  std::map<std::string, ir::Tensor> feed32 = {{"a", ir::Tensor::from<int32_t>({3}, {1, 2, 3})},
                                              {"b", ir::Tensor::from<int32_t>({3}, {0, 1, 1})}};
  EXPECT_NE(error_of(m32, feed32).find("integer division by zero"), std::string::npos);
}

// INT_MIN / -1 traps on x86 (SIGFPE); it wraps to INT_MIN as two's complement does.
TEST(Untrusted, MostNegativeDividedByMinusOneWraps) {
  auto m = binary_model("Div", "int64");
  Session s(m);
  auto y = s.run({{"a", ir::Tensor::from<int64_t>({3}, {INT64_MIN, 7, -7})},
                  {"b", ir::Tensor::from<int64_t>({3}, {-1, -1, 2})}})[0];
  EXPECT_EQ(as_vector<int64_t>(y), (std::vector<int64_t>{INT64_MIN, -7, -3}));
  auto mod = binary_model("Mod", "int64");
  Session sm(mod);
  auto r = sm.run({{"a", ir::Tensor::from<int64_t>({3}, {INT64_MIN, 7, -7})},
                   {"b", ir::Tensor::from<int64_t>({3}, {-1, -1, 0})}})[0];
  EXPECT_EQ(as_vector<int64_t>(r), (std::vector<int64_t>{0, 0, 0}));
  auto add = binary_model("Add", "int64");
  Session sa(add);
  auto w = sa.run({{"a", ir::Tensor::from<int64_t>({3}, {INT64_MAX, 1, 2})},
                   {"b", ir::Tensor::from<int64_t>({3}, {1, 1, 2})}})[0];
  EXPECT_EQ(as_vector<int64_t>(w), (std::vector<int64_t>{INT64_MIN, 2, 4}));
}

TEST(Untrusted, ReshapeToAShapeWhoseProductOverflows) {
  auto m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x, int64[2] s) => (float[A, B] y) { y = Reshape(x, s) })");
  std::string e = error_of(m, {{"x", ir::Tensor::from<float>({2}, {1, 2})},
                               {"s", ir::Tensor::from<int64_t>({2}, {int64_t{1} << 40, int64_t{1} << 40})}});
  EXPECT_NE(e.find("more elements than int64 can count"), std::string::npos) << e;
}

TEST(Untrusted, SliceStepOfInt64MinAndRepeatedAxes) {
  auto m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[4] x, int64[N] st, int64[N] en, int64[N] ax, int64[N] sp) => (float[M] y) { y = Slice(x, st, en, ax, sp) })");
  auto ints = [](std::vector<int64_t> v) { return ir::Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v); };
  auto x = ir::Tensor::from<float>({4}, {1, 2, 3, 4});
  Session s(m);
  // From the end, one step longer than the axis: one element, the last.
  auto y = s.run({{"x", x}, {"st", ints({-1})}, {"en", ints({INT64_MIN})}, {"ax", ints({0})}, {"sp", ints({INT64_MIN})}})[0];
  EXPECT_EQ(as_vector<float>(y), (std::vector<float>{4}));
  std::string e = error_of(m, {{"x", x}, {"st", ints({0, 1})}, {"en", ints({4, 4})}, {"ax", ints({0, -1})},
                               {"sp", ints({1, 1})}});
  EXPECT_NE(e.find("axis 0 is sliced twice"), std::string::npos) << e;
}

TEST(Untrusted, SplitIntoMoreOutputsThanTheAxisHolds) {
  auto m = testing::model_from_text(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    g (float[2] x) => (float[A] a, float[B] b, float[C] c) { a, b, c = Split(x) })");
  std::string e = error_of(m, {{"x", ir::Tensor::from<float>({2}, {1, 2})}});
  EXPECT_NE(e.find("axis 0 of size 2 cannot be split into 3 non-empty outputs"), std::string::npos) << e;
}

TEST(Untrusted, RunsAreBoundedInStepsAndMemory) {
  auto m = testing::relu_chain(20, "1024");
  std::map<std::string, ir::Tensor> feed = {{"x", ir::Tensor::from<float>({1024}, std::vector<float>(1024, 1))}};
  SessionOptions few_steps;
  few_steps.limits = RunLimits{10, 0, 0, "raise it"};
  std::string e = error_of(m, feed, few_steps);
  EXPECT_NE(e.find("the run took more than 10 steps, the bound for running a model (raise it)"), std::string::npos) << e;
  SessionOptions little_memory;
  little_memory.limits = RunLimits{0, 1000, 0, ""};
  e = error_of(m, feed, little_memory);
  EXPECT_NE(e.find("more than the 1000 bytes allowed"), std::string::npos) << e;
  SessionOptions enough;
  enough.limits = RunLimits{20, 16 * 4096, 0, ""};
  EXPECT_EQ(error_of(m, feed, enough), "");
}

}  // namespace
}  // namespace pare::rt
