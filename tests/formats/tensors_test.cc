// Tensor files: .pb and .npy round trips, sample folders, and bad files.
#include <gtest/gtest.h>

#include <filesystem>

#include "formats/tensors/tensors.h"
#include "lib/base/atomic_file.h"
#include "lib/base/error.h"
#include "tests/support/errors.h"
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

// An .npy file of `data_bytes` zero bytes whose header states `shape` as written
// (the header is the last field, so a tuple without ')' runs to the header's end).
std::string npy_with_shape(const std::string& dir, const std::string& shape, size_t data_bytes) {
  std::string path = dir + "/x.npy";
  write_file_atomic(path, npy_file_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape,
                                         std::string(data_bytes, '\0')));
  return path;
}

using testing::error_of;

TEST(Tensors, NpyShapesAsNumPyWritesThem) {
  std::string dir = testing::temp_dir();
  struct Case {
    std::string shape;
    std::vector<int64_t> dims;
  };
  for (const Case& c : std::vector<Case>{{"(), }", {}},
                                         {"(4,), }", {4}},
                                         {"(2, 2), }", {2, 2}},
                                         {"(2,2,), }", {2, 2}},
                                         {"( 1 , 4 ), }", {1, 4}},
                                         {"(4L,), }", {4}},  // Python 2 numpy wrote longs
                                         {"(0, 3), }", {0, 3}}}) {
    int64_t n = 1;
    for (int64_t d : c.dims) n *= d;
    ir::Tensor t = read_npy(npy_with_shape(dir, c.shape, static_cast<size_t>(n) * 4));
    EXPECT_EQ(t.dims(), c.dims) << c.shape;
  }
}

TEST(Tensors, NpyShapeThatIsNotATupleOfSizesIsAnErrorNamingTheFile) {
  std::string dir = testing::temp_dir();
  struct Case {
    std::string shape, says;
  };
  for (const Case& c : std::vector<Case>{
           {"(abc,), }", "'abc' is not a dimension"},
           {"(99999999999999999999,), }", "'99999999999999999999' is too large"},
           {"(-4,), }", "'-4' is not a dimension"},
           {"(4, 2x), }", "'2x' is not a dimension"},
           {"(4 4,), }", "'4 4' is not a dimension"},
           {"(,), }", "has an empty dimension"},
           {"(2,,2), }", "has an empty dimension"},
           {"(4, ", "is not a closed tuple"},
           {"(4, }", "is not a closed tuple"},
           {"4, }", "is not a tuple"},
       }) {
    std::string path = npy_with_shape(dir, c.shape, 16);
    std::string m = error_of([&] { read_npy(path); });
    EXPECT_NE(m.find(path + ": "), std::string::npos) << c.shape << " gave: " << m;
    EXPECT_NE(m.find("'shape'"), std::string::npos) << c.shape << " gave: " << m;
    EXPECT_NE(m.find(c.says), std::string::npos) << c.shape << " gave: " << m;
  }
}

TEST(Tensors, SampleIndexTooLargeForAnyInputIsNoSuchInput) {
  std::string dir = testing::temp_dir();
  write_tensor_pb(dir + "/input_99999999999999999999.pb", ir::Tensor::scalar<float>(1), "");
  std::string m = error_of([&] { read_sample_dir(dir, {"image"}); });
  EXPECT_NE(m.find("input_99999999999999999999.pb: the model has 1 inputs, so there is no input 99999999999999999999"),
            std::string::npos)
      << m;
  // As any input the model does not have.
  std::string other = testing::temp_dir();
  write_tensor_pb(other + "/input_1.pb", ir::Tensor::scalar<float>(1), "");
  EXPECT_NE(error_of([&] { read_sample_dir(other, {"image"}); }).find("so there is no input 1"), std::string::npos);
}

// A folder with a symlink loop (a -> b -> a) beside a valid sample.
std::string folder_with_loop(const std::string& dir) {
  std::filesystem::create_directories(dir);
  write_tensor_pb(dir + "/input_0.pb", ir::Tensor::scalar<float>(1), "");
  std::filesystem::create_symlink("b", dir + "/a");
  std::filesystem::create_symlink("a", dir + "/b");
  return dir;
}

bool names_a_loop(const std::string& m, const std::string& dir) {
  return m.find("Too many levels of symbolic links") != std::string::npos &&
         (m.find(dir + "/a: ") != std::string::npos || m.find(dir + "/b: ") != std::string::npos);
}

TEST(Tensors, SymlinkLoopInASampleFolderIsAnErrorNamingIt) {
  std::string root = testing::temp_dir();
  std::string one = folder_with_loop(root + "/one");
  std::string m = error_of([&] { read_sample_dir(one, {"x"}); });
  EXPECT_TRUE(names_a_loop(m, one)) << m;
  m = error_of([&] { read_sample_set(one, {"x"}); });
  EXPECT_TRUE(names_a_loop(m, one)) << m;
  // In a sub-folder of a folder of samples, and as the folder itself.
  std::string set = root + "/set";
  folder_with_loop(set + "/s0");
  m = error_of([&] { read_sample_set(set, {"x"}); });
  EXPECT_TRUE(names_a_loop(m, set + "/s0")) << m;
  m = error_of([&] { read_sample_set(one + "/a", {"x"}); });
  EXPECT_NE(m.find(one + "/a: Too many levels of symbolic links"), std::string::npos) << m;
}

TEST(Tensors, DanglingSymlinkInASampleFolderIsSkippedAsBefore) {
  std::string dir = testing::temp_dir();
  write_tensor_pb(dir + "/input_0.pb", ir::Tensor::scalar<float>(1), "");
  std::filesystem::create_symlink("nowhere", dir + "/input_1.pb");
  EXPECT_EQ(read_sample_dir(dir, {"x"}).size(), 1u);
}

TEST(Tensors, LabelsThatAreNotClassIndicesAreErrorsNamingFileAndLine) {
  std::string path = testing::temp_dir() + "/labels.txt";
  for (const std::string bad : {"99999999999999999999", "-1", "abc", "1.5", "3x"}) {
    write_file_atomic(path, "# header\n" + bad + "\n");
    std::string m = error_of([&] { read_labels(path, {"s0"}); });
    EXPECT_NE(m.find(path + ":2: '" + bad + "' is not a class index"), std::string::npos) << m;
    write_file_atomic(path, "s0 " + bad + "\n");
    m = error_of([&] { read_labels(path, {"s0"}); });
    EXPECT_NE(m.find(path + ":1: '" + bad + "' is not a class index"), std::string::npos) << m;
  }
  write_file_atomic(path, "s0 9223372036854775807\n");
  EXPECT_EQ(read_labels(path, {"s0"}), std::vector<int64_t>{9223372036854775807});
}

}  // namespace
}  // namespace pare::formats
