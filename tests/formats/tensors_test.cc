// Tensor files: .pb and .npy round trips, sample folders, and bad files.
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "tests/support/models.h"

namespace pare::formats {
namespace {

std::vector<ir::Tensor> examples() {
  return {ir::Tensor::from<float>({2, 3}, {1.5f, -2, 3, 4, 5, 6}), ir::Tensor::from<int64_t>({3}, {1, -2, 3}),
          ir::Tensor::from<uint8_t>({1, 2, 2}, {0, 255, 7, 9}), ir::Tensor::scalar<double>(2.25),
          ir::Tensor::from<bool>({2}, {true, false}), ir::Tensor::from<int8_t>({0}, {})};
}

TEST(Tensors, PbRoundTrip) {
  std::string dir = testing::temp_dir();
  for (const auto& t : examples()) {
    write_tensor_pb(dir + "/t.pb", t, "x");
    NamedTensor back = read_tensor_pb(dir + "/t.pb");
    EXPECT_EQ(back.name, "x");
    EXPECT_TRUE(back.tensor.same_content(t)) << ir::name(t.dtype());
  }
}

TEST(Tensors, NpyRoundTrip) {
  std::string dir = testing::temp_dir();
  for (const auto& t : examples()) {
    write_npy(dir + "/t.npy", t);
    EXPECT_TRUE(read_npy(dir + "/t.npy").same_content(t)) << ir::name(t.dtype());
  }
}

TEST(Tensors, BadFilesAreErrorsNamingTheFile) {
  std::string dir = testing::temp_dir();
  write_npy(dir + "/ok.npy", ir::Tensor::from<float>({4}, {1, 2, 3, 4}));
  std::string bytes = read_file(dir + "/ok.npy");
  write_file_atomic(dir + "/cut.npy", bytes.substr(0, bytes.size() - 3));
  try {
    read_npy(dir + "/cut.npy");
    FAIL() << "a truncated .npy was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.npy"), std::string::npos);
  }
  write_file_atomic(dir + "/junk.pb", "\xff\xff\xff");
  EXPECT_THROW(read_tensor_pb(dir + "/junk.pb"), Error);
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  write_file_atomic(dir + "/f.npy", fortran);
  EXPECT_THROW(read_npy(dir + "/f.npy"), Error);
}

TEST(Tensors, SampleFolders) {
  std::string root = testing::temp_dir();
  for (int s = 0; s < 3; ++s) {
    std::string d = root + "/s" + std::to_string(s);
    std::filesystem::create_directories(d);
    write_tensor_pb(d + "/input_0.pb", ir::Tensor::scalar<float>(float(s)), "");
    write_npy(d + "/mask.npy", ir::Tensor::scalar<int64_t>(s));
  }
  auto samples = read_samples(root, {"image", "mask"});
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[2].at("image").as_double()[0], 2.0);
  EXPECT_EQ(samples[1].at("mask").as_int64()[0], 1);
  // Wrong input names are errors that list the expected ones.
  try {
    read_samples(root, {"pixels"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pixels"), std::string::npos);
  }
  EXPECT_THROW(read_samples(testing::temp_dir(), {"x"}), Error);  // empty folder
}

}  // namespace
}  // namespace pare::formats
