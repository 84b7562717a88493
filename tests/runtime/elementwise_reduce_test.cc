// Broadcasting binary ops, reductions and linear Resize against naive loops,
// with odd shapes, and threads 1 vs 2 bit-identical.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "lib/runtime/broadcast.h"
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

// Pseudo-random values of T over its whole range (integers wrap, so overflow is
// exercised) or in [-2, 2] for floats.
template <typename T>
std::vector<T> random_values(int64_t n, uint64_t seed) {
  if constexpr (std::is_floating_point_v<T>) {
    auto f = testing::uniform_floats(static_cast<size_t>(n), seed, -2, 2);
    return std::vector<T>(f.begin(), f.end());
  } else {
    std::vector<T> out(static_cast<size_t>(n));
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < out.size(); ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      out[i] = std::is_same_v<T, bool> ? static_cast<T>((x >> 33) & 1) : static_cast<T>(x >> 17);
    }
    return out;
  }
}

// Each (op, type) row of the binary kernels against the op written out on each
// element, bit for bit: the float rows of Add/Sub/Mul/Div/PRelu and of the
// variadic Min/Max/Sum (a vectorised loop per op and broadcast case) and the
// element-by-element rows of every other type, over the layouts the driver
// treats apart (same shape, a scalar on either side, a broadcast inner axis,
// general strides, more than one chunk), with 1 and 2 threads.
template <typename T, typename R = T>
void expect_rows_match(const std::string& op, std::type_identity_t<R (*)(T, T)> naive) {
  struct Case {
    std::vector<int64_t> a, b;
  };
  const std::vector<Case> cases = {{{3, 40000}, {3, 40000}}, {{40000}, {1}},   {{1}, {40000}},
                                   {{2, 3, 5, 7}, {1, 3, 1, 1}}, {{3, 1}, {1, 9}}, {{5, 1, 7}, {1, 4, 1}},
                                   {{2, 1, 9}, {2, 5, 9}}};
  for (const auto& c : cases) {
    SCOPED_TRACE(op + " " + std::string(ir::name(ir::dtype_of<T>())) + " a[" + std::to_string(c.a.size()) + "]");
    int64_t na = 1, nb = 1;
    for (int64_t d : c.a) na *= d;
    for (int64_t d : c.b) nb *= d;
    auto va = random_values<T>(na, 3), vb = random_values<T>(nb, 4);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {  // integer Div refuses a zero divisor
      for (auto& v : vb) v = v == 0 ? T{1} : v;
    }
    ir::Tensor a = ir::Tensor::from<T>(c.a, va), b = ir::Tensor::from<T>(c.b, vb);
    std::vector<int64_t> out = broadcast_shapes(c.a, c.b);
    for (int threads : {1, 2}) {
      ir::Tensor y = run_op(op, {a, b}, {}, {}, threads);
      ASSERT_EQ(y.dims(), out);
      auto py = y.span<R>();
      for (int64_t o = 0; o < y.numel(); ++o) {
        R want = naive(va[broadcast_index(o, out, c.a)], vb[broadcast_index(o, out, c.b)]);
        ASSERT_EQ(std::memcmp(&py[o], &want, sizeof(R)), 0) << "element " << o << ": " << +py[o] << " != " << +want;
      }
    }
  }
}

TEST(Elementwise, EveryRowEqualsTheOpOnEachElementBitForBit) {
  expect_rows_match<float>("Add", [](float x, float z) { return x + z; });
  expect_rows_match<float>("Sub", [](float x, float z) { return x - z; });
  expect_rows_match<float>("Mul", [](float x, float z) { return x * z; });
  expect_rows_match<float>("Div", [](float x, float z) { return x / z; });
  expect_rows_match<float>("PRelu", [](float x, float z) { return x < 0 ? x * z : x; });
  expect_rows_match<float>("Min", [](float x, float z) { return std::min(x, z); });
  expect_rows_match<float>("Max", [](float x, float z) { return std::max(x, z); });
  expect_rows_match<float>("Sum", [](float x, float z) { return x + z; });
  expect_rows_match<float>("Pow", [](float x, float z) {
    return static_cast<float>(std::pow(static_cast<double>(x), static_cast<double>(z)));
  });
  expect_rows_match<double>("Sub", [](double x, double z) { return x - z; });
  expect_rows_match<float, bool>("Less", [](float x, float z) { return x < z; });
  // Signed integers wrap as two's complement; division truncates; Mod takes the divisor's sign.
  expect_rows_match<int32_t>("Add", [](int32_t x, int32_t z) {
    return static_cast<int32_t>(static_cast<uint32_t>(x) + static_cast<uint32_t>(z));
  });
  expect_rows_match<int64_t>("Mul", [](int64_t x, int64_t z) {
    return static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(z));
  });
  expect_rows_match<int64_t>("Div", [](int64_t x, int64_t z) { return z == -1 ? static_cast<int64_t>(0 - static_cast<uint64_t>(x)) : x / z; });
  expect_rows_match<int8_t>("Mod", [](int8_t x, int8_t z) {
    if (z == -1) return int8_t{0};
    auto r = static_cast<int8_t>(x % z);
    return (r != 0 && ((r < 0) != (z < 0))) ? static_cast<int8_t>(r + z) : r;
  });
  expect_rows_match<uint8_t>("Sub", [](uint8_t x, uint8_t z) { return static_cast<uint8_t>(x - z); });
  expect_rows_match<uint16_t>("Max", [](uint16_t x, uint16_t z) { return std::max(x, z); });
  expect_rows_match<int64_t, bool>("Equal", [](int64_t x, int64_t z) { return x == z; });
  expect_rows_match<bool, bool>("Xor", [](bool x, bool z) { return x != z; });
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

// Softmax over the last axis (rows contiguous: exps kept, the sum in eight
// lanes) and over a middle axis (strided), and LogSoftmax, against the
// formula in double, over row lengths around the lanes and a recogniser's
// 6625 classes; threads 1 and 2 bit-identical.
TEST(Softmax, MatchesTheFormulaOnEveryLayout) {
  for (int64_t len : {1, 7, 8, 9, 6625})
    for (int64_t axis : {-1, 1})
      for (std::string op : {"Softmax", "LogSoftmax"}) {
        SCOPED_TRACE(::testing::Message() << op << " len " << len << " axis " << axis);
        std::vector<int64_t> dims = axis == -1 ? std::vector<int64_t>{3, len} : std::vector<int64_t>{2, len, 3};
        int64_t n = dims[0] * dims[1] * (axis == -1 ? 1 : 3);
        ir::Tensor x = ir::Tensor::from<float>(dims, testing::uniform_floats(n, 11 + len, -16, 16));  // exps over a wide range
        auto y = run_op(op, {x}, {ir::Attribute::of_int("axis", axis)});
        auto xs = x.as_float(), ys = y.as_float();
        int64_t outer = dims[0], inner = axis == -1 ? 1 : 3;
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t in = 0; in < inner; ++in) {
            auto at = [&](int64_t i) { return (o * len + i) * inner + in; };
            double m = -INFINITY, sum = 0;
            for (int64_t i = 0; i < len; ++i) m = std::max(m, double(xs[at(i)]));
            for (int64_t i = 0; i < len; ++i) sum += std::exp(xs[at(i)] - m);
            for (int64_t i = 0; i < len; ++i) {
              double want = op == "Softmax" ? std::exp(xs[at(i)] - m) / sum : xs[at(i)] - m - std::log(sum);
              ASSERT_NEAR(ys[at(i)], want, 1e-6 * (1 + std::fabs(want))) << "row " << o << "," << in << " at " << i;
            }
          }
        EXPECT_TRUE(y.same_content(run_op(op, {x}, {ir::Attribute::of_int("axis", axis)}, {}, 2)));
      }
}

}  // namespace
}  // namespace pare::rt
