// ONNX backend test cases (Debian's libonnx-testdata) through pare's runner.
//
// Each case is a folder with model.onnx and test_data_set_*/{input,output}_K.pb.
// A case is "unsupported" when the model does not load (non-tensor types) or the
// runner has no kernel for one of its nodes: those are counted and printed, not
// failed, so coverage stays visible. Every supported case must pass, except the
// ones listed, with the reason, in expected_failures.txt; and every listed case
// must still fail, so the list cannot go stale.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "lib/runtime/session.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

const char* kDataRoot = "/usr/share/libonnx-testdata/data";

std::set<std::string> expected_failures() {
  std::set<std::string> out;
  std::ifstream in(std::string(PARE_SOURCE_DIR) + "/tests/conformance/expected_failures.txt");
  std::string line;
  while (std::getline(in, line)) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    line.erase(std::remove_if(line.begin(), line.end(), ::isspace), line.end());
    if (!line.empty()) out.insert(line);
  }
  return out;
}

// ONNX's backend tests compare with rtol 1e-3 and atol 1e-7; pare uses the same rtol
// and a slightly looser atol for float results whose expected value is ~0.
std::string compare(const ir::Tensor& got, const ir::Tensor& want) {
  if (got.dims() != want.dims())
    return fmt::format("shape [{}] != expected [{}]", fmt::join(got.dims(), ","), fmt::join(want.dims(), ","));
  if (got.dtype() != want.dtype())
    return fmt::format("dtype {} != expected {}", ir::name(got.dtype()), ir::name(want.dtype()));
  if (got.dtype() == ir::DataType::kString) return got.same_content(want) ? "" : "strings differ";
  auto g = got.as_double(), w = want.as_double();
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i]) && std::isnan(g[i])) continue;
    if (std::isinf(w[i]) && g[i] == w[i]) continue;
    if (!(std::fabs(g[i] - w[i]) <= 1e-5 + 1e-3 * std::fabs(w[i])))
      return fmt::format("element {}: {} != expected {}", i, g[i], w[i]);
  }
  return "";
}

enum class Outcome { kPass, kFail, kUnsupported };

Outcome run_case(const fs::path& dir, std::string& why) {
  ir::Model model;
  try {
    model = formats::onnx::load_model((dir / "model.onnx").string());
  } catch (const Error& e) {
    why = std::string("load: ") + e.what();
    return Outcome::kUnsupported;
  }
  if (!rt::unsupported_nodes(model).empty()) {
    why = rt::unsupported_nodes(model).front();
    return Outcome::kUnsupported;
  }
  // A kernel that rejects an attribute value (e.g. Resize 'cubic') at compile time
  // makes the case unsupported, not failed: the runner said so before running.
  std::unique_ptr<rt::Session> compiled;
  try {
    compiled = std::make_unique<rt::Session>(model);
  } catch (const Error& e) {
    why = e.what();
    return Outcome::kUnsupported;
  }
  rt::Session& session = *compiled;
  try {
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    for (const auto& set : sets) {
      std::map<std::string, ir::Tensor> inputs;
      for (size_t k = 0; k < session.input_names().size(); ++k) {
        fs::path p = set / fmt::format("input_{}.pb", k);
        if (!fs::exists(p)) continue;  // an optional input the case leaves out
        inputs[session.input_names()[k]] = formats::read_tensor_pb(p.string()).tensor;
      }
      auto outputs = session.run(inputs);
      for (size_t k = 0; k < outputs.size(); ++k) {
        fs::path p = set / fmt::format("output_{}.pb", k);
        if (!fs::exists(p)) continue;
        std::string diff = compare(outputs[k], formats::read_tensor_pb(p.string()).tensor);
        if (!diff.empty()) {
          why = fmt::format("{} output {}: {}", set.filename().string(), k, diff);
          return Outcome::kFail;
        }
      }
    }
  } catch (const std::exception& e) {
    why = e.what();
    return Outcome::kFail;
  }
  return Outcome::kPass;
}

// Coverage floors: a suite that passes fewer cases fails, so coverage only grows.
// Raise them when kernels are added (scripts/conformance.sh prints the counts).
const std::map<std::string, int> kFloors = {{"node", 870}, {"pytorch-converted", 82}, {"pytorch-operator", 35}, {"simple", 7}};

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, SupportedCasesPass) {
  fs::path root = fs::path(kDataRoot) / GetParam();
  ASSERT_TRUE(fs::is_directory(root)) << root << " is missing: install libonnx-testdata (make setup)";
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root))
    if (fs::exists(e.path() / "model.onnx")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_FALSE(cases.empty());

  const auto expected = expected_failures();
  int pass = 0, fail = 0, unsupported = 0;
  std::vector<std::string> unexpected, stale;
  std::map<std::string, int> unsupported_ops;
  for (const auto& c : cases) {
    std::string name = GetParam() + "/" + c.filename().string(), why;
    Outcome o = run_case(c, why);
    bool listed = expected.count(name) > 0;
    if (o == Outcome::kPass) {
      ++pass;
      if (listed) stale.push_back(name);
    } else if (o == Outcome::kFail) {
      ++fail;
      if (!listed) unexpected.push_back(name + ": " + why);
    } else {
      ++unsupported;
      // Reasons read "node 'x' (Op, opset N): ..."; count by op for the summary.
      std::smatch m;
      static const std::regex op_of(R"(\(([A-Za-z0-9_]+), opset)");
      ++unsupported_ops[std::regex_search(why, m, op_of) ? m[1].str() : why.substr(0, why.find(':'))];
    }
  }
  std::printf("conformance %s: %d passed, %d expected failures, %d not yet supported, of %zu cases\n",
              GetParam().c_str(), pass, fail, unsupported, cases.size());
  std::string ops;
  for (const auto& [op, n] : unsupported_ops) ops += fmt::format(" {}({})", op, n);
  std::printf("not yet supported, by op:%s\n", ops.c_str());
  for (const auto& u : unexpected) ADD_FAILURE() << "unexpected failure: " << u;
  for (const auto& s : stale) ADD_FAILURE() << "listed in expected_failures.txt but passes now: " << s;
  EXPECT_GE(pass, kFloors.at(GetParam())) << "fewer cases pass than the suite's floor: a kernel regressed";
}

INSTANTIATE_TEST_SUITE_P(Onnx, Conformance,
                         ::testing::Values("node", "pytorch-converted", "pytorch-operator", "simple"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace pare
