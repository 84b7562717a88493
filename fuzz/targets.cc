#include "fuzz/targets.h"

#include <string>

#include "formats/images/images.h"
#include "formats/onnx/onnx.h"
#include "formats/tensors/tensors.h"
#include "formats/yaml/budget_file.h"
#include "formats/yaml/plan.h"
#include "formats/yaml/yaml.h"
#include "fuzz/fuzz_support.h"
#include "lib/metrics/budget.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/pipeline.h"

namespace pare::fuzz {

// The model loader, then what every command does next with a model it loaded:
// compile a session (which pre-evaluates constant nodes with the kernels) and
// run it once on synthetic inputs, under small run limits so that a fuzzed Loop
// cannot hang the fuzzer nor a shape constant allocate gigabytes.
void model_input(const uint8_t* data, size_t size) {
  static const bool configured = [] {
    rt::default_run_limits() = rt::RunLimits{20000, 64 << 20, 5, ""};
    return true;
  }();
  (void)configured;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  check_contract([&] {
    ir::Model model = formats::onnx::load_model_from_bytes(bytes, "fuzz.onnx", "");
    rt::Session session(model);
    session.run(rt::random_feed(model, {}));
  });
}

// The same bytes as a TensorProto file (input_K.pb) and as a .npy file.
void tensor_input(const uint8_t* data, size_t size) {
  std::string pb = scratch_file(data, size, ".pb");
  check_contract([&] { formats::read_tensor_pb(pb); });
  std::string npy = scratch_file(data, size, ".npy");
  check_contract([&] { formats::read_npy(npy); });
}

// An image as sample folders hold them, decoded and resized to 16x16. The first
// byte picks the file name's extension; the rest is the file.
void image_input(const uint8_t* data, size_t size) {
  if (size < 1) return;
  std::string path = scratch_file(data + 1, size - 1, data[0] & 1 ? ".png" : ".jpg");
  check_contract([&] {
    formats::ImageOptions o;
    formats::parse_image_size("size", "16x16", o);
    formats::read_image(path, o);
  });
}

// The textual pipeline (--passes, a plan's passes:), pass options included.
void pipeline_input(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  check_contract([&] { passes::Pipeline::parse(text); });
}

// A budget file, a plan file, and the YAML helpers both go through (dims, image
// options, scalars).
void yaml_input(const uint8_t* data, size_t size) {
  std::string path = scratch_file(data, size, ".yaml");
  check_contract([&] {  // the file, then its limits as pare check parses them
    formats::BudgetFile file = formats::load_budget_file(path);
    for (const auto& e : file.entries) {
      metrics::parse_budget(e.limits);
      metrics::parse_budget(e.warn);
    }
  });
  check_contract([&] { formats::load_plan(path); });
  check_contract([&] {
    YAML::Node root = formats::load_yaml_file(path);
    if (!root.IsMap()) return;
    for (const auto& kv : root) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (key == "dims") formats::yaml_dims(kv.second);
      if (key == "image") formats::yaml_image(kv.second, path, formats::line_of(kv.second));
      if (kv.second.IsScalar()) formats::yaml_scalar(kv.second, path, formats::line_of(kv.second), key);
    }
  });
}

}  // namespace pare::fuzz
