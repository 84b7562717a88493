// libFuzzer entry point of image_fuzz; the body is pare::fuzz::image_input (fuzz/targets.cc).
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pare::fuzz::image_input(data, size);
  return 0;
}
