// libFuzzer entry point of model_fuzz; the body is pare::fuzz::model_input (fuzz/targets.cc).
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pare::fuzz::model_input(data, size);
  return 0;
}
