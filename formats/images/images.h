// Images as model inputs: PNG and JPEG files decoded into float32 tensors.
//
// Vision models are usually calibrated and checked on real photos, and users
// have those as image files rather than as .npy dumps. This turns one file into
// the tensor a typical preprocessing pipeline would feed the model: RGB (or BGR),
// optionally resized, scaled to [0,1], normalised with a per-channel mean and std.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/ir/tensor.h"

namespace pare::formats {

struct ImageOptions {
  // The image size, WxH. 0x0 keeps each image's own size (the caller then checks
  // that all images share one size, since a batch of samples needs one shape).
  int64_t width = 0, height = 0;
  // Per channel, in the output channel order (so with bgr the first value is
  // blue's); a single value applies to all three channels.
  std::vector<float> mean = {0.f};
  std::vector<float> std = {1.f};
  bool nhwc = false;           // layout [1,H,W,3] instead of [1,3,H,W]
  bool bgr = false;            // channel order B,G,R instead of R,G,B
  bool scale_to_unit = true;   // divide pixel values by 255 before mean/std

  // True when the user asked for image inputs (an image size was given).
  bool configured() const { return width > 0; }
};

// Parses "192x48" (width x height) into o.width and o.height; throws pare::Error
// naming `option` (the setting the text came from: a flag, a YAML key) on bad text.
void parse_image_size(const std::string& option, const std::string& text, ImageOptions& o);

// Parses "0.485,0.456,0.406" into floats; throws pare::Error naming `option` on bad text.
std::vector<float> parse_float_list(const std::string& option, const std::string& text);

// True for .png, .jpg and .jpeg files (extension in any case).
bool is_image_file(const std::string& path);

// Decodes one PNG or JPEG into a float32 tensor of shape [1,3,H,W] (or [1,H,W,3]
// with nhwc). Grayscale and RGBA images become RGB (alpha is dropped). When
// o.width and o.height are set the image is resized to exactly that size.
// Each value is ((scale_to_unit ? p/255 : p) - mean[c]) / std[c].
// Throws pare::Error naming the file on unreadable files and bad options.
ir::Tensor read_image(const std::string& path, const ImageOptions& o);

}  // namespace pare::formats
