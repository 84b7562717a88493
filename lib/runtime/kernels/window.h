// The sliding-window attributes that Conv-like and pool-like reference kernels
// share, read and validated once at compile time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

struct WindowAttrs {
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad = "NOTSET";
};

// Reads kernel_shape, strides, dilations, pads and auto_pad; rejects the node when
// auto_pad is not an ONNX mode or a stride, dilation or pad is out of range.
inline WindowAttrs parse_window_attrs(const KernelInit& init) {
  WindowAttrs w{init.attr_ints("kernel_shape"), init.attr_ints("strides"), init.attr_ints("dilations"),
                init.attr_ints("pads"), init.attr_string("auto_pad", "NOTSET")};
  if (w.auto_pad != "NOTSET" && w.auto_pad != "VALID" && w.auto_pad != "SAME_UPPER" && w.auto_pad != "SAME_LOWER")
    init.reject("auto_pad '" + w.auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  for (int64_t v : w.strides)
    if (v < 1) init.reject("strides must be positive");
  for (int64_t v : w.dilations)
    if (v < 1) init.reject("dilations must be positive");
  for (int64_t v : w.pads)
    if (v < 0) init.reject("pads must not be negative");
  return w;
}

}  // namespace pare::rt::kernels
