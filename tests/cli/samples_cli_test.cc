// Sample data on the command line: image folders for --data and calib=, and each
// bad-input case of calibration (no data, wrong inputs, images that do not
// decode) as one error line, exit 2, and no output left behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "formats/tensors/tensors.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/text_lines.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

using testing::kCls;

testing::Command shrink(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {testing::pare_bin(), "shrink", kCls};
  args.insert(args.end(), extra.begin(), extra.end());
  return testing::run_command(args);
}

void expect_one_line_error(const testing::Command& c, const std::string& needle, const std::string& out) {
  SCOPED_TRACE(needle);
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
  EXPECT_NE(c.err.find(needle), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(out)) << out;
}

TEST(SamplesCli, ImageFoldersFeedCalibrationAndEvaluation) {
  std::string dir = testing::temp_dir();
  testing::write_text_direction_set(dir + "/imgs", 6, 3);
  auto c = shrink({"-o", dir + "/q.onnx", "--passes", "quantize(int8, calib=" + dir + "/imgs)", "--data", dir + "/imgs",
                   "--image-size", "192x48", "--mean", "0.5", "--std", "0.5", "-q"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("samples=6"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("fidelity on 6 samples"), std::string::npos) << c.out;
  // Without a terminal there is no progress bar on stderr.
  EXPECT_EQ(c.err, "");
}

TEST(SamplesCli, BadCalibrationDataIsOneLine) {
  std::string dir = testing::temp_dir();
  // No calib= at all.
  expect_one_line_error(shrink({"-o", dir + "/a.onnx", "--passes", "quantize(int8)"}), "calib=DIR", dir + "/a.onnx");
  // A folder that does not exist.
  expect_one_line_error(shrink({"-o", dir + "/b.onnx", "--passes", "quantize(int8, calib=" + dir + "/none)"}),
                        dir + "/none", dir + "/b.onnx");
  // An image that does not decode.
  fs::create_directories(dir + "/broken");
  std::ofstream(dir + "/broken/x.png") << "not a png";
  expect_one_line_error(shrink({"-o", dir + "/c.onnx", "--passes", "quantize(int8, calib=" + dir + "/broken)",
                                "--image-size", "192x48"}),
                        "x.png", dir + "/c.onnx");
  // A tensor sample for an input the model does not have.
  fs::create_directories(dir + "/wrong/s1");
  auto save = testing::run_command({testing::pare_bin(), "run", kCls, "--dim", "p2o.DynamicDimension.0=1", "--dim",
                                    "p2o.DynamicDimension.1=48", "--dim", "p2o.DynamicDimension.2=192",
                                    "--save-inputs", dir + "/wrong/s1"});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  formats::write_npy(dir + "/wrong/s1/pixels.npy", formats::read_tensor_pb(dir + "/wrong/s1/input_0.pb").tensor);
  fs::remove(dir + "/wrong/s1/input_0.pb");
  expect_one_line_error(shrink({"-o", dir + "/d.onnx", "--passes", "quantize(int8, calib=" + dir + "/wrong)"}),
                        "'pixels' is not an input of the model", dir + "/d.onnx");
  // Images of the wrong size for the model (no --image-size): the run names the sample.
  testing::write_text_direction_set(dir + "/small", 2, 5);
  auto c = shrink({"-o", dir + "/e.onnx", "--passes", "quantize(int8, calib=" + dir + "/small)", "--data",
                   dir + "/small", "--image-size", "20x10"});
  EXPECT_EQ(c.exit_code, 0) << "a dynamic-size model accepts any image size: " << c.err;
  // Image options with a folder of tensors.
  expect_one_line_error(shrink({"-o", dir + "/f.onnx", "--data", dir + "/wrong", "--image-size", "192x48"}),
                        "no .png", dir + "/f.onnx");
  // A bad --image-size.
  expect_one_line_error(shrink({"-o", dir + "/g.onnx", "--data", dir + "/small", "--image-size", "192by48"}),
                        "--image-size", dir + "/g.onnx");
}

}  // namespace
}  // namespace pare
