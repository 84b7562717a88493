// profile_kernels: per-kernel times averaged over runs, summed by operator
// (an epilogue and a depthwise Conv named in the label), most time first; runs
// that did not run the same kernels are an error. And a session's timing
// gives one entry per kernel, only while it is on.
#include "lib/metrics/kernel_profile.h"

#include <gtest/gtest.h>

#include "lib/base/error.h"
#include "tests/support/random.h"

namespace pare::metrics {
namespace {

using KernelTime = rt::RunStats::KernelTime;

TEST(KernelProfile, AveragesRunsAndSumsByOp) {
  ir::Node conv, dw, relu, add;
  conv.op_type = "Conv";
  conv.name = "conv";
  dw.op_type = "Conv";
  dw.name = "dw";
  dw.attrs = {ir::Attribute::of_int("group", 8)};
  relu.op_type = "Relu";
  add.op_type = "Add";
  add.name = "add";
  std::vector<KernelTime> run1 = {{&conv, {&relu}, {1, 8, 4, 4}, 3.0}, {&dw, {}, {1, 8, 2, 2}, 1.0}, {&add, {}, {1, 8, 2, 2}, 0.5}};
  std::vector<KernelTime> run2 = run1;
  run2[0].ms = 5.0;
  run2[2].ms = 1.5;
  KernelProfile p = profile_kernels({run1, run2});
  EXPECT_EQ(p.runs, 2);
  EXPECT_DOUBLE_EQ(p.total_ms, 4.0 + 1.0 + 1.0);
  ASSERT_EQ(p.ops.size(), 3u);
  EXPECT_EQ(p.ops[0].op, "Conv+Relu");
  EXPECT_DOUBLE_EQ(p.ops[0].ms, 4.0);
  // The two 1 ms entries keep their name order: "Add" before "Conv dw".
  EXPECT_EQ(p.ops[1].op, "Add");
  EXPECT_EQ(p.ops[2].op, "Conv dw");
  ASSERT_EQ(p.kernels.size(), 3u);
  EXPECT_EQ(p.kernels[0].node, "conv");
  EXPECT_EQ(p.kernels[0].output_dims, (std::vector<int64_t>{1, 8, 4, 4}));
  EXPECT_EQ(p.kernels[1].node, "dw");  // ties keep the run order
  EXPECT_EQ(p.kernels[2].node, "add");

  // A grouped Conv that is not depthwise keeps the plain label.
  dw.attrs = {ir::Attribute::of_int("group", 2)};
  EXPECT_EQ(kernel_label(run1[1]), "Conv");

  std::vector<KernelTime> shorter(run1.begin(), run1.begin() + 2), reordered = {run1[1], run1[0], run1[2]};
  EXPECT_THROW(profile_kernels({run1, shorter}), Error);
  EXPECT_THROW(profile_kernels({run1, reordered}), Error);
  EXPECT_EQ(profile_kernels({}).kernels.size(), 0u);
}

TEST(KernelProfile, ASessionTimesEachKernelOnlyWhenAsked) {
  ir::Model model;
  model.opsets = {{"", 13}};
  ir::Graph& g = *model.graph;
  ir::Value* x = g.add_value("x");
  x->dtype = ir::DataType::kFloat;
  x->shape = ir::Shape::of({1, 4, 6, 6});
  g.inputs.push_back(x);
  ir::Value* w = g.add_constant("w", ir::Tensor::from<float>({4, 4, 3, 3}, testing::uniform_floats(144, 1, -1, 1)));
  ir::Node* conv = g.add_node("Conv", {x, w}, {"c"});
  conv->attrs = {ir::Attribute::of_ints("pads", {1, 1, 1, 1})};
  ir::Node* relu = g.add_node("Relu", {conv->output(0)}, {"r"});
  ir::Node* sig = g.add_node("Sigmoid", {relu->output(0)}, {"y"});
  g.outputs.push_back(sig->output(0));
  std::map<std::string, ir::Tensor> feed = {{"x", ir::Tensor::from<float>({1, 4, 6, 6}, testing::uniform_floats(144, 2, -1, 1))}};
  rt::Session s(model);
  s.run(feed);
  EXPECT_TRUE(s.last_stats().kernel_times.empty());
  s.set_timing(true);
  s.run(feed);
  const auto& times = s.last_stats().kernel_times;
  ASSERT_EQ(static_cast<int64_t>(times.size()), s.last_stats().kernels_run);
  EXPECT_EQ(kernel_label(times[0]), "Conv+Relu");
  EXPECT_EQ(times[0].output_dims, (std::vector<int64_t>{1, 4, 6, 6}));
  for (const auto& k : times) EXPECT_GE(k.ms, 0.0);
  s.set_timing(false);
  s.run(feed);
  EXPECT_TRUE(s.last_stats().kernel_times.empty());
}

}  // namespace
}  // namespace pare::metrics
