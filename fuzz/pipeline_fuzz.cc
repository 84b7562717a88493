// The textual pipeline parser (--passes, a plan's passes:), and building each
// pass from its options. Seeds: fuzz/corpus/pipeline/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "passes/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  pare::fuzz::check_contract([&] { pare::passes::Pipeline::parse(text); });
  return 0;
}
