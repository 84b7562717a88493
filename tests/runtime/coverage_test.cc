// The operator-coverage kernels (issue 18) beyond what the ONNX backend cases
// check: the float16 bridge rounds once at the op boundary, the integer QLinear
// kernels agree with dequantize -> float op -> quantize, reference kernels give
// the same bits with 1 and 2 threads, and kernels refuse bad operands with a
// message instead of crashing.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lib/base/fp16.h"
#include "tests/support/one_node.h"

namespace pare::rt {
namespace {

std::vector<float> ranged_random_floats(int64_t n, uint64_t seed, float lo = -2, float hi = 2) {
  std::mt19937_64 rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = lo + static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53) * (hi - lo);
  return v;
}

// One node `op` over graph inputs (fed from `inputs`), at `opset`.
std::vector<ir::Tensor> run_node(const std::string& op, const std::vector<ir::Tensor>& inputs, std::vector<ir::Attribute> attrs,
                                 int outputs = 1, int threads = 1, int64_t opset = 17, const std::string& domain = "") {
  return testing::run_one_node(op, inputs, std::move(attrs),
                               {.constants = {}, .outputs = outputs, .threads = threads, .opset = opset, .domain = domain});
}

ir::Tensor halves(const std::vector<int64_t>& dims, const std::vector<float>& v) {
  std::vector<uint8_t> bytes(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    uint16_t h = float_to_half(v[i]);
    std::memcpy(bytes.data() + 2 * i, &h, 2);
  }
  return ir::Tensor(ir::DataType::kFloat16, dims, bytes);
}

uint16_t half_at(const ir::Tensor& t, size_t i) {
  uint16_t h;
  std::memcpy(&h, t.raw() + 2 * i, 2);
  return h;
}

TEST(Float16Bridge, SigmoidRoundsTheFloat32ResultOnce) {
  auto v = ranged_random_floats(37, 1, -6, 6);
  ir::Tensor x = halves({37}, v);
  ir::Tensor y = run_node("Sigmoid", {x}, {})[0];
  ASSERT_EQ(y.dtype(), ir::DataType::kFloat16);
  for (size_t i = 0; i < v.size(); ++i) {
    float xf = half_to_float(half_at(x, i));
    EXPECT_EQ(half_at(y, i), float_to_half(1.0f / (1.0f + std::exp(-xf)))) << i;
  }
}

TEST(Float16Bridge, MatMulOfHalvesMatchesFloat32WithinOneRounding) {
  auto a = ranged_random_floats(3 * 5, 2), b = ranged_random_floats(5 * 4, 3);
  ir::Tensor ha = halves({3, 5}, a), hb = halves({5, 4}, b);
  ir::Tensor y = run_node("MatMul", {ha, hb}, {})[0];
  ASSERT_EQ(y.dtype(), ir::DataType::kFloat16);
  ASSERT_EQ(y.dims(), (std::vector<int64_t>{3, 4}));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      double s = 0;
      for (int k = 0; k < 5; ++k) s += half_to_float(half_at(ha, i * 5 + k)) * half_to_float(half_at(hb, k * 4 + j));
      EXPECT_NEAR(half_to_float(half_at(y, i * 4 + j)), s, 2e-3 * std::max(1.0, std::fabs(s))) << i << "," << j;
    }
}

TEST(QuantLinear, QLinearMatMulEqualsDequantizeMatMulQuantize) {
  std::mt19937 rng(7);
  std::vector<uint8_t> a(4 * 6), b(6 * 3);
  for (auto& x : a) x = static_cast<uint8_t>(rng() % 256);
  for (auto& x : b) x = static_cast<uint8_t>(rng() % 256);
  float as = 0.02f, bs = 0.03f, ys = 0.5f;
  uint8_t az = 120, bz = 130, yz = 128;
  auto y = run_node("QLinearMatMul",
                    {ir::Tensor::from<uint8_t>({4, 6}, a), ir::Tensor::scalar<float>(as), ir::Tensor::scalar<uint8_t>(az),
                     ir::Tensor::from<uint8_t>({6, 3}, b), ir::Tensor::scalar<float>(bs), ir::Tensor::scalar<uint8_t>(bz),
                     ir::Tensor::scalar<float>(ys), ir::Tensor::scalar<uint8_t>(yz)},
                    {}, 1, 1, 13)[0];
  ASSERT_EQ(y.dtype(), ir::DataType::kUint8);
  auto got = y.as_double();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 6; ++k) s += (a[i * 6 + k] - az) * as * (b[k * 3 + j] - bz) * bs;
      double want = std::clamp(std::nearbyint(s / ys) + yz, 0.0, 255.0);
      EXPECT_NEAR(got[i * 3 + j], want, 1.0) << i << "," << j;  // one step where float rounding straddles .5
    }
}

TEST(QuantLinear, DynamicQuantizeLinearKeepsZeroExact) {
  std::vector<float> v = {-1.0f, 0.0f, 0.5f, 2.0f};
  auto outs = run_node("DynamicQuantizeLinear", {ir::Tensor::from<float>({4}, v)}, {}, 3, 1, 13);
  float scale = static_cast<float>(outs[1].as_double()[0]);
  double zp = outs[2].as_double()[0];
  EXPECT_FLOAT_EQ(scale, 3.0f / 255.0f);
  EXPECT_EQ(outs[0].as_double()[1], zp);  // 0.0 maps to the zero point
  EXPECT_EQ(outs[0].as_double()[0], 0);
  EXPECT_EQ(outs[0].as_double()[3], 255);
}

TEST(Detection, NonMaxSuppressionKeepsTheBestOfOverlappingBoxes) {
  // Boxes 0 and 1 overlap heavily (IoU 0.81), box 2 is apart.
  std::vector<float> boxes = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 5, 1, 6};
  std::vector<float> scores = {0.9f, 0.95f, 0.3f};
  auto y = run_node("NonMaxSuppression",
                    {ir::Tensor::from<float>({1, 3, 4}, boxes), ir::Tensor::from<float>({1, 1, 3}, scores),
                     ir::Tensor::from<int64_t>({1}, {3}), ir::Tensor::from<float>({1}, {0.5f}), ir::Tensor::from<float>({1}, {0.0f})},
                    {}, 1, 1, 11)[0];
  ASSERT_EQ(y.dims(), (std::vector<int64_t>{2, 3}));
  auto v = y.as_int64();
  EXPECT_EQ(std::vector<int64_t>(v.begin(), v.end()), (std::vector<int64_t>{0, 0, 1, 0, 0, 2}));
}

TEST(ReferenceKernels, SameBitsWithOneAndTwoThreads) {
  auto x = ir::Tensor::from<float>({1, 2, 5, 6, 7}, ranged_random_floats(2 * 5 * 6 * 7, 11));
  auto w = ir::Tensor::from<float>({3, 2, 3, 3, 3}, ranged_random_floats(3 * 2 * 27, 12));
  std::vector<ir::Attribute> conv = {ir::Attribute::of_ints("pads", {1, 1, 1, 1, 1, 1})};
  auto one = run_node("Conv", {x, w}, conv, 1, 1)[0], two = run_node("Conv", {x, w}, conv, 1, 2)[0];
  EXPECT_EQ(one.dims(), (std::vector<int64_t>{1, 3, 5, 6, 7}));
  EXPECT_TRUE(one.same_content(two));
  auto img = ir::Tensor::from<float>({2, 3, 5, 4}, ranged_random_floats(120, 13));
  auto grid = ir::Tensor::from<float>({2, 6, 7, 2}, ranged_random_floats(168, 14, -1.2f, 1.2f));
  std::vector<ir::Attribute> gs = {ir::Attribute::of_string("mode", "bicubic"), ir::Attribute::of_string("padding_mode", "reflection")};
  EXPECT_TRUE(run_node("GridSample", {img, grid}, gs, 1, 1)[0].same_content(run_node("GridSample", {img, grid}, gs, 1, 2)[0]));
}

TEST(ReferenceKernels, Conv3dMatchesANaiveSum) {
  auto xv = ranged_random_floats(1 * 1 * 3 * 3 * 3, 21), wv = ranged_random_floats(27, 22);
  auto y = run_node("Conv", {ir::Tensor::from<float>({1, 1, 3, 3, 3}, xv), ir::Tensor::from<float>({1, 1, 3, 3, 3}, wv)}, {})[0];
  ASSERT_EQ(y.dims(), (std::vector<int64_t>{1, 1, 1, 1, 1}));
  double s = 0;
  for (int i = 0; i < 27; ++i) s += static_cast<double>(xv[i]) * wv[i];
  EXPECT_NEAR(y.as_double()[0], s, 1e-5);
}

TEST(Refusals, BadOperandsGiveAnErrorNotACrash) {
  auto f = ir::Tensor::from<float>({2}, {1, 2});
  // BitShift is defined on unsigned integers only.
  EXPECT_THROW(run_node("BitShift", {f, f}, {ir::Attribute::of_string("direction", "LEFT")}, 1, 1, 11), Error);
  // A shift by the type's width or more gives 0 (C++ would leave it undefined).
  auto y = run_node("BitShift", {ir::Tensor::from<uint8_t>({2}, {1, 255}), ir::Tensor::from<uint8_t>({2}, {8, 1})},
                    {ir::Attribute::of_string("direction", "LEFT")}, 1, 1, 11)[0];
  EXPECT_EQ(y.as_double(), (std::vector<double>{0, 254}));
  // An index out of range is an error naming the node.
  EXPECT_THROW(run_node("GatherElements", {f, ir::Tensor::from<int64_t>({2}, {0, 5})}, {}, 1, 1, 13), Error);
  // Dropout in training mode would need random numbers.
  EXPECT_THROW(run_node("Dropout", {f, ir::Tensor::scalar<float>(0.5f), ir::Tensor::scalar<bool>(true)}, {}, 1, 1, 13), Error);
}

}  // namespace
}  // namespace pare::rt
