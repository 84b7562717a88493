// The sliding-window attributes that Conv-like and pool-like reference kernels
// share, read and validated once at compile time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/runtime/kernel.h"
#include "lib/runtime/kernels/values.h"

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

// Where the taps of an N-d Conv kernel fall in the input, for a planned window:
// the spatial sizes of the input and the kernel, and per axis the stride,
// dilation and begin pad (all filled in).
class WindowTaps {
 public:
  WindowTaps(std::vector<int64_t> in, std::vector<int64_t> kernel, std::vector<int64_t> strides,
             std::vector<int64_t> dilations, std::vector<int64_t> pad_begin)
      : in_(std::move(in)), kernel_(std::move(kernel)), strides_(std::move(strides)), dilations_(std::move(dilations)),
        pad_begin_(std::move(pad_begin)), ks_(strides_of(kernel_)), xs_(strides_of(in_)),
        ksize_(product(kernel_, 0, kernel_.size())) {}

  // tap(kk, offset) for each tap of the output point at spatial position `opos`
  // that falls inside the input, in kernel order: kk is the tap's flat index in
  // the kernel, offset its flat offset in one input channel. A tap on padding
  // is skipped (it adds nothing to a Conv: zero, or the zero point).
  template <typename F>
  void for_each_inside(const std::vector<int64_t>& opos, F&& tap) const {
    for (int64_t kk = 0; kk < ksize_; ++kk) {
      int64_t off = 0;
      bool inside = true;
      for (size_t i = 0; i < in_.size() && inside; ++i) {
        int64_t p = opos[i] * strides_[i] - pad_begin_[i] + (kk / ks_[i]) % kernel_[i] * dilations_[i];
        inside = p >= 0 && p < in_[i];
        off += p * xs_[i];
      }
      if (inside) tap(kk, off);
    }
  }

 private:
  std::vector<int64_t> in_, kernel_, strides_, dilations_, pad_begin_;
  std::vector<int64_t> ks_, xs_;  // row-major strides of the kernel and the input
  int64_t ksize_;
};

}  // namespace pare::rt::kernels
