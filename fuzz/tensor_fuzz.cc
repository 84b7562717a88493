// libFuzzer entry point of tensor_fuzz; the body is pare::fuzz::tensor_input (fuzz/targets.cc).
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pare::fuzz::tensor_input(data, size);
  return 0;
}
