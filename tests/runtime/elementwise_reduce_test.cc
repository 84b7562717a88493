// Broadcasting binary ops, reductions and linear Resize against naive loops,
// with odd shapes, and threads 1 vs 2 bit-identical.
#include <gtest/gtest.h>

#include <cmath>

#include "lib/runtime/session.h"
#include "tests/support/one_node.h"
#include "tests/support/random.h"

namespace pare::rt {
namespace {

ir::Tensor random_tensor(const std::vector<int64_t>& dims, uint64_t seed) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return ir::Tensor::from<float>(dims, testing::uniform_floats(static_cast<size_t>(n), seed, -2, 2));
}

// Runs op on graph inputs a (and b), with extra constant inputs and attributes.
ir::Tensor run_op(const std::string& op, const std::vector<ir::Tensor>& inputs, std::vector<ir::Attribute> attrs,
                  const std::vector<ir::Tensor>& constants = {}, int threads = 1, int64_t opset = 13) {
  return testing::run_one_node(op, inputs, std::move(attrs),
                               {.constants = constants, .outputs = 1, .threads = threads, .opset = opset, .domain = ""})[0];
}

// Flat index into `dims` of the broadcast image of output index `o` in `out`.
int64_t broadcast_index(int64_t o, const std::vector<int64_t>& out, const std::vector<int64_t>& dims) {
  int64_t idx = 0, stride = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    size_t d = out.size() - 1 - k;
    int64_t coord = o % out[d];
    o /= out[d];
    if (k < dims.size()) {
      size_t dd = dims.size() - 1 - k;
      idx += (dims[dd] == 1 ? 0 : coord) * stride;
      stride *= dims[dd];
    }
  }
  return idx;
}

TEST(Elementwise, BroadcastingMatchesNaiveLoops) {
  struct Case {
    std::vector<int64_t> a, b, out;
  };
  std::vector<Case> cases = {{{2, 3, 7, 13}, {1, 3, 1, 1}, {2, 3, 7, 13}},  // per-channel
                             {{7, 1, 5}, {1, 13, 1}, {7, 13, 5}},           // both sides broadcast
                             {{13}, {3, 1}, {3, 13}},                       // rank promotion
                             {{1}, {4, 7}, {4, 7}},                         // scalar-like a
                             {{4, 7}, {4, 7}, {4, 7}}};
  for (const auto& c : cases)
    for (const std::string op : {"Add", "Sub", "Mul", "Div", "Max", "Pow"}) {
      SCOPED_TRACE(op);
      ir::Tensor a = random_tensor(c.a, 1), b = random_tensor(c.b, 2);
      if (op == "Pow") a = ir::Tensor::from<float>(c.a, std::vector<float>(a.numel(), 1.5f));
      ir::Tensor y = run_op(op, {a, b}, {});
      ASSERT_EQ(y.dims(), c.out);
      auto pa = a.as_float(), pb = b.as_float(), py = y.as_float();
      for (int64_t o = 0; o < y.numel(); ++o) {
        float x = pa[broadcast_index(o, c.out, c.a)], z = pb[broadcast_index(o, c.out, c.b)];
        float want = op == "Add" ? x + z : op == "Sub" ? x - z : op == "Mul" ? x * z : op == "Div" ? x / z
                   : op == "Max" ? std::max(x, z) : std::pow(x, z);
        ASSERT_NEAR(py[o], want, 1e-5f * (1 + std::fabs(want))) << "element " << o;
      }
      EXPECT_TRUE(y.same_content(run_op(op, {a, b}, {}, {}, 2)));
    }
}

TEST(Elementwise, ComparisonsGiveBoolAndTypesMustMatch) {
  ir::Tensor a = ir::Tensor::from<int64_t>({4}, {1, 5, 3, 7}), b = ir::Tensor::from<int64_t>({1}, {4});
  ir::Tensor y = run_op("Greater", {a, b}, {});
  ASSERT_EQ(y.dtype(), ir::DataType::kBool);
  EXPECT_EQ(y.as_int64(), (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_THROW(run_op("Add", {a, random_tensor({4}, 3)}, {}), Error);
}

TEST(Reduce, MatchesNaiveLoopsOverAnyAxes) {
  ir::Tensor x = random_tensor({3, 5, 7}, 4);
  auto v = x.as_float();
  // ReduceSum over axes {0, 2}, keepdims: [1, 5, 1].
  ir::Tensor sum = run_op("ReduceSum", {x}, {ir::Attribute::of_int("keepdims", 1)}, {ir::Tensor::from<int64_t>({2}, {0, -1})});
  ASSERT_EQ(sum.dims(), (std::vector<int64_t>{1, 5, 1}));
  for (int64_t j = 0; j < 5; ++j) {
    double want = 0;
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t k = 0; k < 7; ++k) want += v[(i * 5 + j) * 7 + k];
    EXPECT_NEAR(sum.as_float()[j], want, 1e-5);
  }
  // ReduceMax over axis 1 (attribute form before opset 18), no keepdims: [3, 7].
  ir::Tensor mx = run_op("ReduceMax", {x}, {ir::Attribute::of_ints("axes", {1}), ir::Attribute::of_int("keepdims", 0)});
  ASSERT_EQ(mx.dims(), (std::vector<int64_t>{3, 7}));
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 7; ++k) {
      float want = -1e30f;
      for (int64_t j = 0; j < 5; ++j) want = std::max(want, v[(i * 5 + j) * 7 + k]);
      EXPECT_EQ(mx.as_float()[i * 7 + k], want);
    }
  // ArgMax along the last axis, and TopK ties going to the lower index.
  ir::Tensor am = run_op("ArgMax", {x}, {ir::Attribute::of_int("axis", -1)});
  EXPECT_EQ(am.dims(), (std::vector<int64_t>{3, 5, 1}));
  ir::Tensor ties = ir::Tensor::from<float>({5}, {1, 3, 3, 0, 3});
  ir::Model m;  // TopK has two outputs: check the indices through a small model
  m.opsets = {{"", 13}};
  ir::Value* in = m.graph->add_value("t");
  in->dtype = ir::DataType::kFloat;
  m.graph->inputs.push_back(in);
  ir::Node* n = m.graph->add_node("TopK", {in, m.graph->add_constant("k", ir::Tensor::from<int64_t>({1}, {2}))}, {"vals", "idx"});
  m.graph->outputs = {n->output(0), n->output(1)};
  auto out = Session(m).run({{"t", ties}});
  EXPECT_EQ(out[0].as_float(), (std::vector<float>{3, 3}));
  EXPECT_EQ(out[1].as_int64(), (std::vector<int64_t>{1, 2}));
}

TEST(Resize, LinearHalfPixelMatchesNaiveBilinear) {
  ir::Tensor x = random_tensor({1, 2, 5, 7}, 5);
  ir::Tensor sizes = ir::Tensor::from<int64_t>({4}, {1, 2, 9, 4});
  ir::Tensor empty = ir::Tensor::from<float>({0}, {});
  ir::Tensor y = run_op("Resize", {x}, {ir::Attribute::of_string("mode", "linear")}, {empty, empty, sizes});
  ASSERT_EQ(y.dims(), (std::vector<int64_t>{1, 2, 9, 4}));
  auto v = x.as_float(), out = y.as_float();
  auto coord = [](int64_t o, int64_t in, int64_t outn) {
    double c = (o + 0.5) * static_cast<double>(in) / outn - 0.5;
    return std::clamp(c, 0.0, static_cast<double>(in - 1));
  };
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t oy = 0; oy < 9; ++oy)
      for (int64_t ox = 0; ox < 4; ++ox) {
        double fy = coord(oy, 5, 9), fx = coord(ox, 7, 4);
        int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
        int64_t y1 = std::min<int64_t>(y0 + 1, 4), x1 = std::min<int64_t>(x0 + 1, 6);
        double wy = fy - y0, wx = fx - x0;
        auto at = [&](int64_t yy, int64_t xx) { return v[(c * 5 + yy) * 7 + xx]; };
        double want = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        EXPECT_NEAR(out[(c * 9 + oy) * 4 + ox], want, 1e-5) << c << "," << oy << "," << ox;
      }
}

}  // namespace
}  // namespace pare::rt
