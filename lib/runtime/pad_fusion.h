// Zero padding that the next kernel can do itself. Models converted from
// TensorFlow pad explicitly before a stride-2 convolution ("valid" after
// ZeroPadding2D): M-LSD's Pads copied 10 MB per run for nothing. The session
// gives such a Conv the Pad's input and the sum of both paddings; the Pad's
// output is never computed. The QDQ groups take a Pad after a Conv the same
// way. Internal to lib/runtime.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::rt {

// The pads of a Pad node ([begin of each axis..., end of each axis...]) when it
// pads with the constant 0 only the axes after the first two, by constant,
// non-negative amounts (an attribute before opset 11, an input from it on;
// no `axes` input); else nullopt. `constant_of(v)` is v's value when it is
// known before the run (a constant, or computed from constants), else nullptr.
std::optional<std::vector<int64_t>> zero_spatial_pads(
    const ir::Node& pad, int64_t opset, const std::function<const ir::Tensor*(const ir::Value*)>& constant_of);

// The `pads` attribute of `conv` (a Conv with explicit padding and no auto_pad)
// reading the input before a zero Pad of `pad_pads` (zero_spatial_pads); nullopt
// when they do not combine (ranks differ, or auto_pad is set).
std::optional<std::vector<int64_t>> conv_pads_after_pad(const ir::Node& conv, const std::vector<int64_t>& pad_pads);

// The Conv that does `pad`'s padding itself: `reader`, the Pad's only reader,
// when it is a Conv of the default domain reading the Pad's output as its data
// and the two paddings combine; with the Pad's pads and the Conv's new ones.
// Else nullopt.
struct AbsorbedPad {
  const ir::Node* conv;
  std::vector<int64_t> pad_pads;   // the Pad's (zero_spatial_pads)
  std::vector<int64_t> conv_pads;  // the Conv's pads attribute covering both (conv_pads_after_pad)
};
std::optional<AbsorbedPad> conv_absorbing(const ir::Node& pad, int64_t opset, const ir::Node* reader,
                                          const std::function<const ir::Tensor*(const ir::Value*)>& constant_of);

// A copy of `conv` with `pads` as its pads attribute and no auto_pad.
ir::Node conv_with_pads(const ir::Node& conv, const std::vector<int64_t>& pads);

}  // namespace pare::rt
