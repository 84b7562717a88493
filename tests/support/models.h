// Where the tests find real models: the small ones committed in testdata/, the
// larger ones in the cache that scripts/fetch_models.sh fills.
#pragma once

#include <string>
#include <vector>

namespace pare::testing {

// $PARE_MODEL_CACHE, else $HOME/.cache/pare/models.
std::string model_cache_dir();
// Absolute path of a committed model (testdata/models/NAME).
std::string testdata_model(const std::string& name);
// Absolute path of a fetched model; the test fails with a hint to run
// scripts/fetch_models.sh if it is missing (the Makefile's test target fetches first).
std::string fetched_model(const std::string& name);
// Every real model of the test set: the committed ones, then the fetched ones.
std::vector<std::string> real_models();
// Real models that exercise the runner's operator coverage (issue 18): run against
// ONNX Runtime and checked for unsupported ops, kept apart from real_models() so
// the pass and CLI tests do not grow with them.
std::vector<std::string> coverage_models();
// A GoogleTest-safe test name for a model path: its file stem, [A-Za-z0-9_] only.
std::string test_name_for(const std::string& path);
// A fresh empty temporary folder, removed at process exit.
std::string temp_dir();

// The two committed models most tests use, and the dims that fix the
// classifier's symbolic input to one 48x192 line (as pare's --dim flags).
inline const std::string kFace = testdata_model("face_detection_front_128x128_barracuda.onnx");
inline const std::string kCls = testdata_model("ch_ppocr_mobile_v2.0_cls_infer.onnx");
inline const std::vector<std::string> kClsDims = {"--dim", "p2o.DynamicDimension.0=1", "--dim",
                                                  "p2o.DynamicDimension.1=48", "--dim", "p2o.DynamicDimension.2=192"};

}  // namespace pare::testing
