// What the pare check suites share: copies of two real models in a fresh
// folder with a budget file, `pare check` on it, and the figures pare check
// should find, computed with the library directly.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "formats/onnx/onnx.h"
#include "lib/base/atomic_file.h"
#include "lib/metrics/macs.h"
#include "lib/metrics/size.h"
#include "tests/support/models.h"
#include "tests/support/ort.h"

namespace pare::testing::check_support {

inline const std::string kFace = testdata_model("face_detection_front_128x128_barracuda.onnx");
inline const std::string kCls = testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");

struct Real {
  int64_t bytes, download, params, macs;
};

// What pare check should find, computed with the library directly.
inline Real measure(const std::string& path) {
  auto size = metrics::measure_file(path);
  ir::Model m = formats::onnx::load_model(path);
  auto macs = metrics::count_macs(m, dims_for(path));
  EXPECT_TRUE(macs.known) << path << ": " << macs.reason;
  return {size.file_bytes, size.download_bytes, metrics::count_weights(m).parameters, macs.total};
}

// A fresh folder with models/face.onnx and models/cls.onnx (copies of the real
// models) and `yaml` as budget.yaml; returns the folder.
inline std::string workspace(const std::string& yaml) {
  std::string dir = temp_dir();
  std::filesystem::create_directories(dir + "/models");
  std::filesystem::copy_file(kFace, dir + "/models/face.onnx");
  std::filesystem::copy_file(kCls, dir + "/models/cls.onnx");
  write_file_atomic(dir + "/budget.yaml", yaml);
  return dir;
}

inline Command check(const std::string& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {pare_bin(), "check", "--budget", dir + "/budget.yaml"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv);
}

// `yaml` as `dir`'s budget.yaml, then pare check on it.
inline Command check_budget_text(const std::string& dir, const std::string& yaml) {
  write_file_atomic(dir + "/budget.yaml", yaml);
  return check(dir);
}

// A workspace with parts/a.onnx (the face model) and base.json, pare check's
// report of it; then parts/a.onnx becomes the classifier, a larger model.
inline std::string grown_workspace() {
  std::string dir = workspace("models:\n  - path: \"parts/*.onnx\"\n    max-bytes: 5MB\n");
  std::filesystem::create_directories(dir + "/parts");
  std::filesystem::copy_file(kFace, dir + "/parts/a.onnx");
  auto base = check(dir, {"--json", dir + "/base.json"});
  EXPECT_EQ(base.exit_code, 0) << base.err;
  std::filesystem::copy_file(kCls, dir + "/parts/a.onnx", std::filesystem::copy_options::overwrite_existing);
  return dir;
}

inline size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

inline void expect_one_error_line(const Command& c, const std::string& must_mention) {
  EXPECT_EQ(c.exit_code, 2) << c.out << c.err;
  EXPECT_TRUE(std::regex_match(c.err, std::regex("pare: error: [^\\n]+\\n"))) << "stderr: " << c.err;
  EXPECT_NE(c.err.find(must_mention), std::string::npos) << "stderr: " << c.err;
}

}  // namespace pare::testing::check_support
