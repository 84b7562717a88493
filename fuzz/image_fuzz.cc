// The image loader (stb behind pare's checks), as sample folders of PNG/JPEG
// files are read: decoded, resized to a small model input, normalised.
// Seeds: the images under testdata/.
#include <cstddef>
#include <cstdint>

#include "formats/images/images.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks the file name's extension; the rest is the file.
  if (size < 1) return 0;
  std::string path = pare::fuzz::scratch_file(data + 1, size - 1, data[0] & 1 ? ".png" : ".jpg");
  pare::formats::ImageOptions o;
  pare::fuzz::check_contract([&] {
    pare::formats::parse_image_size("16x16", o);
    pare::formats::read_image(path, o);
  });
  return 0;
}
