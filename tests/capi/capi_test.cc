// The C API (include/pare/pare.h): the same outputs as the C++ runner, errors
// as values with a message, and the example of docs/runtime.md compiled and run.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

#include "formats/onnx/onnx.h"
#include "include/pare/pare.h"
#include "lib/base/atomic_file.h"
#include "lib/runtime/session.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"
#include "tests/support/sanitized.h"

namespace pare {
namespace {

using testing::kFace;
using testing::kCls;

// The input the docs example feeds: a ramp i % 255 / 255 over the input's elements.
std::vector<float> ramp(size_t count) {
  std::vector<float> x(count);
  for (size_t i = 0; i < count; ++i) x[i] = static_cast<float>(i % 255) / 255.0f;
  return x;
}

std::vector<ir::Tensor> run_cpp(const std::string& path, const ir::Tensor& input) {
  ir::Model m = formats::onnx::load_model(path);
  rt::Session s(m);
  return s.run({{s.input_names()[0], input}});
}

TEST(CApi, RunsAModelAsTheRunnerDoes) {
  pare_options o;
  pare_options_init(&o);
  EXPECT_EQ(o.threads, 1);
  o.threads = 2;
  pare_session* s = pare_session_create(kFace.c_str(), &o);
  ASSERT_NE(s, nullptr) << pare_last_error();
  EXPECT_EQ(pare_session_threads(s), 2);
  ASSERT_EQ(pare_session_input_count(s), 1u);
  pare_tensor_info in;
  ASSERT_EQ(pare_session_input_info(s, 0, &in), PARE_OK);
  EXPECT_STREQ(in.name, "input:0");
  EXPECT_EQ(in.dtype, PARE_DTYPE_FLOAT);
  ASSERT_EQ(in.rank, 4u);
  EXPECT_EQ(std::vector<int64_t>(in.dims, in.dims + 4), (std::vector<int64_t>{1, 128, 128, 3}));

  std::vector<float> x = ramp(128 * 128 * 3);
  ASSERT_EQ(pare_session_set_input(s, 0, PARE_DTYPE_FLOAT, in.dims, in.rank, x.data(), x.size() * 4), PARE_OK)
      << pare_last_error();
  ASSERT_EQ(pare_session_run(s), PARE_OK) << pare_last_error();
  auto expected = run_cpp(kFace, ir::Tensor::from<float>({1, 128, 128, 3}, x));
  ASSERT_EQ(pare_session_output_count(s), expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    pare_tensor_info out;
    const void* data = nullptr;
    size_t bytes = 0;
    ASSERT_EQ(pare_session_output(s, k, &out, &data, &bytes), PARE_OK);
    EXPECT_EQ(std::vector<int64_t>(out.dims, out.dims + out.rank), expected[k].dims());
    ASSERT_EQ(bytes, expected[k].byte_size());
    EXPECT_EQ(std::memcmp(data, expected[k].raw(), bytes), 0) << "output " << k;  // bit for bit
  }
  pare_session_destroy(s);
}

TEST(CApi, LoadsFromMemoryAndNamesSymbolicDims) {
  std::string bytes = read_file(kCls);
  pare_session* s = pare_session_create_from_buffer(bytes.data(), bytes.size(), nullptr);
  ASSERT_NE(s, nullptr) << pare_last_error();
  pare_tensor_info in;
  ASSERT_EQ(pare_session_input_info(s, 0, &in), PARE_OK);
  ASSERT_EQ(in.rank, 4u);
  EXPECT_EQ(in.dims[0], -1);
  EXPECT_STREQ(in.dim_names[0], "p2o.DynamicDimension.0");
  EXPECT_EQ(in.dims[1], 3);
  EXPECT_STREQ(in.dim_names[1], "");
  int64_t dims[4] = {1, 3, 48, 192};
  std::vector<float> x = ramp(3 * 48 * 192);
  ASSERT_EQ(pare_session_set_input(s, 0, PARE_DTYPE_FLOAT, dims, 4, x.data(), x.size() * 4), PARE_OK);
  ASSERT_EQ(pare_session_run(s), PARE_OK) << pare_last_error();
  const void* data = nullptr;
  size_t size = 0;
  ASSERT_EQ(pare_session_output(s, 0, nullptr, &data, &size), PARE_OK);
  auto expected = run_cpp(kCls, ir::Tensor::from<float>({1, 3, 48, 192}, x));
  ASSERT_EQ(size, expected[0].byte_size());
  EXPECT_EQ(std::memcmp(data, expected[0].raw(), size), 0);
  pare_session_destroy(s);
}

TEST(CApi, FailuresAreValuesWithOneLine) {
  EXPECT_EQ(pare_session_create("/nonexistent/m.onnx", nullptr), nullptr);
  EXPECT_NE(std::string(pare_last_error()).find("/nonexistent/m.onnx"), std::string::npos) << pare_last_error();
  EXPECT_EQ(pare_session_create_from_buffer("garbage", 7, nullptr), nullptr);
  EXPECT_STRNE(pare_last_error(), "");
  EXPECT_EQ(pare_session_create(nullptr, nullptr), nullptr);
  pare_options o;
  pare_options_init(&o);
  o.threads = 0;
  EXPECT_EQ(pare_session_create(kFace.c_str(), &o), nullptr);
  EXPECT_NE(std::string(pare_last_error()).find("threads"), std::string::npos);

  pare_session* s = pare_session_create(kFace.c_str(), nullptr);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(pare_session_output(s, 0, nullptr, nullptr, nullptr), PARE_ERROR);
  EXPECT_STREQ(pare_last_error(), "no run yet");
  EXPECT_EQ(pare_session_run(s), PARE_ERROR);
  EXPECT_NE(std::string(pare_last_error()).find("input 'input:0' is not set"), std::string::npos) << pare_last_error();
  int64_t dims[4] = {1, 128, 128, 3};
  std::vector<float> x(128 * 128 * 3);
  // Bytes that do not match the shape, a wrong element type, an index beyond the inputs.
  EXPECT_EQ(pare_session_set_input(s, 0, PARE_DTYPE_FLOAT, dims, 4, x.data(), 12), PARE_ERROR);
  EXPECT_EQ(pare_session_set_input(s, 0, static_cast<pare_dtype>(8), dims, 4, x.data(), 12), PARE_ERROR);
  EXPECT_EQ(pare_session_set_input(s, 3, PARE_DTYPE_FLOAT, dims, 4, x.data(), x.size() * 4), PARE_ERROR);
  EXPECT_EQ(pare_session_input_info(s, 5, nullptr), PARE_ERROR);
  // A wrong shape is refused by the run, naming the input; the session stays usable.
  int64_t wrong[4] = {1, 64, 64, 3};
  ASSERT_EQ(pare_session_set_input(s, 0, PARE_DTYPE_FLOAT, wrong, 4, x.data(), 64 * 64 * 3 * 4), PARE_OK);
  EXPECT_EQ(pare_session_run(s), PARE_ERROR);
  EXPECT_EQ(std::string(pare_last_error()).find('\n'), std::string::npos);
  ASSERT_EQ(pare_session_set_input(s, 0, PARE_DTYPE_FLOAT, dims, 4, x.data(), x.size() * 4), PARE_OK);
  EXPECT_EQ(pare_session_run(s), PARE_OK) << pare_last_error();
  EXPECT_STREQ(pare_last_error(), "");
  pare_session_destroy(s);
  pare_session_destroy(nullptr);  // as free(NULL)
  EXPECT_STREQ(pare_version(), PARE_VERSION_STRING);
}

// Every real model of the test set, read by the runtime's own reader and run
// through the C API, gives the C++ runner's outputs (on pare's libonnx-checked
// load) bit for bit; tests/models compares those with ONNX Runtime.
TEST(CApi, RealModelsGiveTheRunnersOutputs) {
  std::vector<std::string> models = testing::real_models();
  for (const auto& m : testing::coverage_models()) models.push_back(m);
  for (const auto& path : models) {
    ir::Model model = formats::onnx::load_model(path);
    std::vector<ir::Tensor> inputs = testing::seeded_inputs(model, testing::dims_for(path));
    std::vector<ir::Tensor> expected = testing::run_model(model, inputs);
    pare_session* s = pare_session_create(path.c_str(), nullptr);
    ASSERT_NE(s, nullptr) << pare_last_error();
    ASSERT_EQ(pare_session_input_count(s), inputs.size()) << path;
    for (size_t i = 0; i < inputs.size(); ++i)
      ASSERT_EQ(pare_session_set_input(s, i, static_cast<pare_dtype>(inputs[i].dtype()), inputs[i].dims().data(),
                                       inputs[i].rank(), inputs[i].raw(), inputs[i].byte_size()),
                PARE_OK)
          << pare_last_error();
    ASSERT_EQ(pare_session_run(s), PARE_OK) << pare_last_error();
    ASSERT_EQ(pare_session_output_count(s), expected.size()) << path;
    for (size_t k = 0; k < expected.size(); ++k) {
      pare_tensor_info out;
      const void* data = nullptr;
      size_t bytes = 0;
      ASSERT_EQ(pare_session_output(s, k, &out, &data, &bytes), PARE_OK);
      EXPECT_EQ(std::vector<int64_t>(out.dims, out.dims + out.rank), expected[k].dims()) << path;
      ASSERT_EQ(bytes, expected[k].byte_size()) << path;
      EXPECT_EQ(std::memcmp(data, expected[k].raw(), bytes), 0) << path << " output " << k;
    }
    pare_session_destroy(s);
  }
}

// What an app ships needs no libonnx, libprotobuf or libfmt at run time, and
// stays small: with every kernel, stripped pare-run is at most 1.5 MB in the
// default release build (portable x86-64; docs/runtime.md, "Size", says where
// the bytes are). Other builds (-march=native, Debug) are only held under 4 MB.
TEST(CApi, TheRuntimeNeedsNoOnnxProtobufOrFmt) {
  PARE_SKIP_IN_SANITIZER_BUILDS("its binaries are instrumented and link the sanitizer runtimes");
  std::string bin = PARE_BINARY_DIR;
  for (const std::string file : {bin + "/pare-run", bin + "/libpare_runtime.so"}) {
    auto ldd = testing::run_command({"ldd", file});
    ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
    EXPECT_NE(ldd.out.find("libc.so"), std::string::npos) << ldd.out;  // the listing is real
    for (const char* lib : {"libonnx", "libprotobuf", "libfmt"})
      EXPECT_EQ(ldd.out.find(lib), std::string::npos) << file << " needs " << lib << ":\n" << ldd.out;
  }
  std::string stripped = testing::temp_dir() + "/pare-run";
  auto strip = testing::run_command({"strip", "-o", stripped, bin + "/pare-run"});
  ASSERT_EQ(strip.exit_code, 0) << strip.err;
  auto size = std::filesystem::file_size(stripped);
  EXPECT_GT(size, 100000u);
#ifdef PARE_DEFAULT_RELEASE_BUILD
  EXPECT_LE(size, 1500000u) << "stripped pare-run is " << size << " bytes";
#else
  EXPECT_LE(size, 4000000u) << "stripped pare-run is " << size << " bytes";
#endif
}

// The C block of docs/runtime.md, compiled as C99 against the shared library
// and run: its printed values are the C++ runner's.
TEST(CApi, TheDocsExampleCompilesAndRuns) {
  PARE_SKIP_IN_SANITIZER_BUILDS("its binaries are instrumented and link the sanitizer runtimes");
  std::string doc = read_file(std::string(PARE_SOURCE_DIR) + "/docs/runtime.md");
  size_t begin = doc.find("```c\n");
  ASSERT_NE(begin, std::string::npos);
  begin += 5;
  size_t end = doc.find("```", begin);
  std::string dir = testing::temp_dir();
  write_file_atomic(dir + "/example.c", doc.substr(begin, end - begin));
  std::string bin = PARE_BINARY_DIR;
  auto cc = testing::run_command({"cc", "-std=c99", "-Wall", "-Werror", dir + "/example.c",
                                  "-I" + std::string(PARE_SOURCE_DIR) + "/include", "-L" + bin, "-lpare_runtime",
                                  "-Wl,-rpath," + bin, "-o", dir + "/example"});
  ASSERT_EQ(cc.exit_code, 0) << cc.err;
  auto run = testing::run_command({dir + "/example", kFace});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto expected = run_cpp(kFace, ir::Tensor::from<float>({1, 128, 128, 3}, ramp(128 * 128 * 3)));
  std::istringstream lines(run.out);
  std::string line;
  size_t k = 0;
  for (; std::getline(lines, line); ++k) {
    ASSERT_LT(k, expected.size()) << run.out;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, std::regex("(\\S+) \\[([0-9,]+)\\] (\\S+) (\\S+) (\\S+) (\\S+)"))) << line;
    auto v = expected[k].span<float>();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(std::stof(m[3 + i]), v[i]) << line;  // %.9g round-trips a float
  }
  EXPECT_EQ(k, expected.size());
}

}  // namespace
}  // namespace pare
