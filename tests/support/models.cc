#include "tests/support/models.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace pare::testing {
namespace fs = std::filesystem;

std::string model_cache_dir() {
  if (const char* c = std::getenv("PARE_MODEL_CACHE"); c && *c) return c;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/pare/models";
}

std::string testdata_model(const std::string& name) { return std::string(PARE_SOURCE_DIR) + "/testdata/models/" + name; }

std::string fetched_model(const std::string& name) {
  std::string p = model_cache_dir() + "/" + name;
  if (!fs::exists(p)) ADD_FAILURE() << p << " is missing: run scripts/fetch_models.sh (make test does)";
  return p;
}

std::vector<std::string> real_models() {
  return {testdata_model("face_detection_front_128x128_barracuda.onnx"),
          testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx"), fetched_model("ch_PP-OCRv4_det_infer.onnx"),
          fetched_model("mlsd_320x320_tiny.onnx"), fetched_model("hello_deepa.onnx")};
}

std::string test_name_for(const std::string& path) {
  std::string n = fs::path(path).stem().string();
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

namespace {
struct TempRoot {
  std::string path;
  TempRoot() {
    std::string tmpl = (fs::temp_directory_path() / "pare-test-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

std::string temp_dir() {
  static TempRoot root;
  static int counter = 0;
  std::string p = root.path + "/t" + std::to_string(counter++);
  fs::create_directories(p);
  return p;
}

std::vector<std::string> coverage_models() { return {fetched_model("ch_PP-OCRv4_rec_infer.onnx")}; }

}  // namespace pare::testing
