// Every input that once broke a fuzz target (fuzz/regressions/<target>/) goes
// through the same target body in the ordinary test suite: a crash, a
// sanitizer report (make test-sanitize) or an abort from the contract check
// fails this test. make fuzz replays them with libFuzzer too.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>

#include "fuzz/targets.h"
#include "lib/base/atomic_file.h"

namespace pare {
namespace {
namespace fs = std::filesystem;

TEST(FuzzRegressions, EveryFormerFindingIsRefusedCleanly) {
  const std::map<std::string, std::function<void(const uint8_t*, size_t)>> targets = {
      {"model_fuzz", fuzz::model_input},       {"tensor_fuzz", fuzz::tensor_input},
      {"image_fuzz", fuzz::image_input},       {"pipeline_fuzz", fuzz::pipeline_input},
      {"yaml_fuzz", fuzz::yaml_input}};
  fs::path root = fs::path(PARE_SOURCE_DIR) / "fuzz" / "regressions";
  int replayed = 0;
  for (const auto& [name, body] : targets) {
    fs::path dir = root / name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      SCOPED_TRACE(entry.path().string());
      std::string bytes = read_file(entry.path().string());
      body(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  // The seeds' shapes of input must at least run through every target.
  for (const auto& [name, body] : targets) {
    std::string text = "models:\n  - path: x.onnx\n    max-bytes: 1MB\n";
    body(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }
  RecordProperty("replayed", replayed);
}

}  // namespace
}  // namespace pare
