// libFuzzer entry point of pipeline_fuzz; the body is pare::fuzz::pipeline_input (fuzz/targets.cc).
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pare::fuzz::pipeline_input(data, size);
  return 0;
}
