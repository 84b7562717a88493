// The tensor file loaders: TensorProto files (input_K.pb) and .npy files.
// Seeds: the .pb and .npy files under testdata/.
#include <cstddef>
#include <cstdint>

#include "formats/tensors/tensors.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string pb = pare::fuzz::scratch_file(data, size, ".pb");
  pare::fuzz::check_contract([&] { pare::formats::read_tensor_pb(pb); });
  std::string npy = pare::fuzz::scratch_file(data, size, ".npy");
  pare::fuzz::check_contract([&] { pare::formats::read_npy(npy); });
  return 0;
}
