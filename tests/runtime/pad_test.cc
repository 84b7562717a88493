// Pad against a naive loop written here: every output element looked up on its
// own, per axis (inside, the constant, the edge, or the reflection), over odd
// shapes, all three modes, pads before and after, and negative pads that crop.
#include <gtest/gtest.h>

#include <random>

#include "lib/runtime/session.h"

namespace pare::rt {
namespace {

// The input index of output index o on an axis of n elements padded by `before`,
// or -1 for the constant.
int64_t naive_source(const std::string& mode, int64_t o, int64_t before, int64_t n) {
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;  // reflect about the end elements
  return i;
}

std::vector<float> naive_pad(const std::string& mode, const std::vector<float>& x, const std::vector<int64_t>& dims,
                             const std::vector<int64_t>& pads, float value, std::vector<int64_t>& out_dims) {
  size_t rank = dims.size();
  out_dims.resize(rank);
  int64_t total = 1;
  for (size_t d = 0; d < rank; ++d) total *= out_dims[d] = dims[d] + pads[d] + pads[rank + d];
  std::vector<float> y(total);
  for (int64_t k = 0; k < total; ++k) {
    int64_t rem = k, in = 0, stride = 1;
    bool constant = false;
    for (size_t d = rank; d-- > 0;) {
      int64_t o = rem % out_dims[d];
      rem /= out_dims[d];
      int64_t i = naive_source(mode, o, pads[d], dims[d]);
      constant |= i < 0;
      in += i * stride;
      stride *= dims[d];
    }
    y[k] = constant ? value : x[in];
  }
  return y;
}

TEST(Pad, MatchesANaiveLoopInEveryMode) {
  struct Case {
    std::vector<int64_t> dims, pads;
  };
  std::vector<Case> cases = {
      {{1, 3, 7, 9}, {0, 0, 1, 1, 0, 0, 0, 1}},     // M-LSD's: one row and column after
      {{2, 3, 5, 6}, {0, 1, 2, 3, 0, 0, 3, 2}},     // every axis but the first, both sides
      {{4, 5}, {0, 0, 0, 0}},                       // nothing
      {{3, 8}, {1, -2, 2, -3}},                     // crops the last axis on both sides
      {{2, 3, 4}, {-1, 0, 0, 0, 1, -2}},            // crops, pads elsewhere
      {{1, 2, 3, 20}, {0, 0, 2, 4, 0, 0, 2, 5}},    // reflect needs pads < the axis' size
  };
  std::mt19937_64 rng(5);
  for (const std::string mode : {"constant", "edge", "reflect"})
    for (const auto& c : cases) {
      SCOPED_TRACE(::testing::Message() << mode << " rank " << c.dims.size() << " pads " << c.pads.size());
      int64_t n = 1;
      for (int64_t d : c.dims) n *= d;
      std::vector<float> x(n);
      for (auto& v : x) v = static_cast<float>(rng() % 1000) - 500;
      ir::Model model;
      model.opsets = {{"", 13}};
      ir::Graph& g = *model.graph;
      ir::Value* in = g.add_value("x");
      in->dtype = ir::DataType::kFloat;
      in->shape = ir::Shape::of(c.dims);
      g.inputs.push_back(in);
      ir::Value* pads = g.add_constant("pads", ir::Tensor::from<int64_t>({static_cast<int64_t>(c.pads.size())}, c.pads));
      ir::Value* value = g.add_constant("value", ir::Tensor::scalar<float>(2.5f));
      ir::Node* pad = g.add_node("Pad", {in, pads, value}, {"y"});
      pad->attrs = {ir::Attribute::of_string("mode", mode)};
      g.outputs.push_back(pad->output(0));
      ir::Tensor y = Session(model).run({{"x", ir::Tensor::from<float>(c.dims, x)}})[0];
      std::vector<int64_t> want_dims;
      std::vector<float> want = naive_pad(mode, x, c.dims, c.pads, 2.5f, want_dims);
      ASSERT_EQ(y.dims(), want_dims);
      EXPECT_EQ(y.as_float(), want);
    }
}

}  // namespace
}  // namespace pare::rt
