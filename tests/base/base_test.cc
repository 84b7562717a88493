// lib/base: fp16 conversion, sizes, globs, did-you-mean, atomic files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "lib/base/fp16.h"
#include "lib/base/sha256.h"
#include "lib/base/progress.h"
#include "lib/base/strings.h"
#include "tests/support/models.h"

namespace pare {
namespace {

TEST(Fp16, RoundTripsEveryHalf) {
  // Every finite half converts to float and back to the same bits.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half(f), h) << "half bits " << h;
  }
}

TEST(Fp16, RoundsToNearestEvenAndSaturatesToInfinity) {
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 1.0f / 4096)), 1.0f);       // below half an ulp
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);  // tie -> even
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(70000.0f))));
  EXPECT_EQ(half_to_float(float_to_half(65504.0f)), 65504.0f);
  EXPECT_EQ(half_to_float(float_to_half(1e-8f)), 0.0f);
  EXPECT_EQ(half_to_float(float_to_half(5.96046448e-8f)), 5.96046448e-8f);  // smallest subnormal
}

TEST(Strings, ParseSize) {
  EXPECT_EQ(parse_size("5MB"), 5000000);
  EXPECT_EQ(parse_size("750KiB"), 750 * 1024);
  EXPECT_EQ(parse_size("1200"), 1200);
  EXPECT_EQ(parse_size("1.5 mb"), 1500000);
  EXPECT_THROW(parse_size("big"), Error);
  EXPECT_THROW(parse_size("5XB"), Error);
  EXPECT_THROW(parse_size("1.2.3"), Error);
  EXPECT_THROW(parse_size(".MB"), Error);
}

TEST(Strings, GlobAndDidYouMean) {
  EXPECT_TRUE(glob_match("conv*", "conv_1"));
  EXPECT_TRUE(glob_match("*.bias", "layer1.bias"));
  EXPECT_FALSE(glob_match("conv?", "conv12"));
  EXPECT_EQ(closest_match("sparsty", {"sparsity", "mode", "skip"}), "sparsity");
  EXPECT_EQ(closest_match("zzzzzz", {"sparsity", "mode"}), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(AtomicFile, NothingAppearsWithoutCommit) {
  std::string dir = testing::temp_dir();
  std::string path = dir + "/out.bin";
  {
    AtomicFile f(path);
    f.write("partial");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(dir));  // the temporary file is gone too
  write_file_atomic(path, "whole");
  EXPECT_EQ(read_file(path), "whole");
}

TEST(AtomicFile, RefusesMissingFolderAndOverwritingInput) {
  std::string dir = testing::temp_dir();
  EXPECT_THROW(AtomicFile(dir + "/no/such/folder/x"), Error);
  write_file_atomic(dir + "/in.onnx", "x");
  EXPECT_THROW(refuse_overwrite_input(dir + "/in.onnx", dir + "/./in.onnx"), Error);
  EXPECT_NO_THROW(refuse_overwrite_input(dir + "/in.onnx", dir + "/out.onnx"));
  EXPECT_THROW(read_file(dir + "/missing"), Error);
  EXPECT_THROW(read_file(dir), Error);
}

}  // namespace
}  // namespace pare

namespace pare {
namespace {

TEST(Sha256, KnownVectorsAndTheCommittedModels) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // The sha256 testdata/LICENSES.md records for the BlazeFace model.
  EXPECT_EQ(sha256_hex(read_file(testing::testdata_model("face_detection_front_128x128_barracuda.onnx"))),
            "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51");
}

}  // namespace
}  // namespace pare

namespace pare {
namespace {

TEST(Progress, RendersCountRateAndEta) {
  std::string line = Progress::render("calibrating", 25, 100, 5.0, 20);
  EXPECT_EQ(line, "calibrating [=====>              ] 25/100 5.0/s ETA 15s");
  EXPECT_EQ(Progress::render("x", 4, 4, 2.0, 4), "x [====] 4/4 2.0/s");  // no ETA when done
  // Off a terminal (as in tests and CI) it draws nothing.
  Progress quiet(false);
  quiet.update("x", 1, 2);
  quiet.finish();
}

}  // namespace
}  // namespace pare
