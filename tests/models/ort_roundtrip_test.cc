// `pare shrink` with no passes and with dce round-trips every real model: ONNX
// Runtime gives bit-identical outputs for the original and the written model on
// the same inputs, and two runs write byte-identical files.
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare {
namespace {

class RoundTrip : public ::testing::TestWithParam<std::string> {};

void expect_bit_identical(const std::vector<ir::Tensor>& a, const std::vector<ir::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(a[k].same_content(b[k])) << "output " << k;
}

TEST_P(RoundTrip, OrtOutputsAreBitIdenticalAndFilesDeterministic) {
  const std::string model = GetParam();
  ir::Model m = formats::onnx::load_model(model);
  auto inputs = testing::seeded_inputs(m, testing::dims_for(model));
  auto reference = testing::run_ort(model, inputs);
  ASSERT_FALSE(reference.empty());
  for (const std::string passes : {"", "dce"}) {
    SCOPED_TRACE("passes '" + passes + "'");
    std::string dir = testing::temp_dir();
    for (const char* out : {"/a.onnx", "/b.onnx"}) {
      auto c = testing::run_command({testing::pare_bin(), "shrink", model, "-o", dir + out, "--passes", passes});
      ASSERT_EQ(c.exit_code, 0) << c.err;
    }
    EXPECT_EQ(read_file(dir + "/a.onnx"), read_file(dir + "/b.onnx")) << "shrink is not deterministic";
    EXPECT_NO_THROW(formats::onnx::check_model(formats::onnx::load_model(dir + "/a.onnx")));
    expect_bit_identical(reference, testing::run_ort(dir + "/a.onnx", inputs));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, RoundTrip, ::testing::ValuesIn(testing::real_models()),
                         [](const auto& info) { return testing::test_name_for(info.param); });

}  // namespace
}  // namespace pare
