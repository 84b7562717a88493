// The ONNX model loader, then what every command does next with a model it
// loaded: compile a session (which pre-evaluates constant nodes with the
// kernels) and run it once on synthetic inputs, under small run limits.
// Seeds: testdata/models/*.onnx and the small models the tests write.
#include <cstddef>
#include <cstdint>
#include <string>

#include "formats/onnx/onnx.h"
#include "fuzz/fuzz_support.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool configured = [] {
    // Bounded runs: a fuzzed Loop must not hang the fuzzer, nor a shape
    // constant allocate gigabytes.
    pare::rt::default_run_limits() = pare::rt::RunLimits{20000, 64 << 20, 5, ""};
    return true;
  }();
  (void)configured;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  pare::fuzz::check_contract([&] {
    pare::ir::Model model = pare::formats::onnx::load_model_from_bytes(bytes, "fuzz.onnx", "");
    pare::rt::Session session(model);
    session.run(pare::rt::random_feed(model, {}));
  });
  return 0;
}
