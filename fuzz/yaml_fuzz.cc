// The YAML files pare reads: a budget file (pare check --budget), and the YAML
// helpers a plan file goes through (dims, image options, scalars). The plan's
// own schema lives in tools/pare and is not linked here.
// Seeds: fuzz/corpus/yaml/ and the budget and plan files under docs/ and testdata/.
#include <cstddef>
#include <cstdint>

#include "formats/yaml/yaml.h"
#include "fuzz/fuzz_support.h"
#include "lib/metrics/budget.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = pare::fuzz::scratch_file(data, size, ".yaml");
  pare::fuzz::check_contract([&] { pare::metrics::load_budget_file(path); });
  pare::fuzz::check_contract([&] {
    YAML::Node root = pare::formats::load_yaml_file(path);
    if (!root.IsMap()) return;
    for (const auto& kv : root) {
      if (kv.first.Scalar() == "dims") pare::formats::yaml_dims(kv.second);
      if (kv.first.Scalar() == "image") pare::formats::yaml_image(kv.second, path, pare::formats::line_of(kv.second));
      if (kv.second.IsScalar()) pare::formats::yaml_scalar(kv.second, path, pare::formats::line_of(kv.second), kv.first.Scalar());
    }
  });
  return 0;
}
