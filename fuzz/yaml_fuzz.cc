// libFuzzer entry point of yaml_fuzz; the body is pare::fuzz::yaml_input (fuzz/targets.cc).
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pare::fuzz::yaml_input(data, size);
  return 0;
}
