// An activation applied to a kernel's output while it is still in registers or
// cache (the "epilogue"), instead of by a separate node reading and writing the
// whole tensor again.
//
// The session fuses an activation node into the Conv that feeds it (and only
// it) at compile time; the model and its IR stay as they are. The scalar
// apply() is the reference the vectorised versions follow: each computes the
// same formula as the activation's own kernel in kernels/elementwise.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "lib/ir/graph.h"
#include "lib/runtime/isa.h"

namespace pare::rt {

struct Epilogue {
  enum class Kind { kNone, kRelu, kClip, kHardSigmoid, kHardSwish, kLeakyRelu, kSigmoid };
  Kind kind = Kind::kNone;
  float a = 0, b = 0;  // Clip: min, max; HardSigmoid: alpha, beta; LeakyRelu: alpha
  // After the activation, a QuantizeLinear -> DequantizeLinear round trip with one
  // scale and zero point (per tensor), exactly as those kernels compute it:
  // (clamp(nearbyint(x / scale) + zero_point, qmin, qmax) - zero_point) * scale.
  bool round_trip = false;
  float scale = 1, zero_point = 0, qmin = 0, qmax = 0;

  bool none() const { return kind == Kind::kNone && !round_trip; }
  float activate(float x) const;
  float apply(float x) const;
  // In place over n floats, 8 at a time with AVX2 when `isa` has it (the
  // same results: the vector forms compute the scalar formulas exactly).
  void apply(float* p, int64_t n, Isa isa) const;
};

// The epilogue computing `node` on its first input, or nullopt when `node` is
// not a float activation the kernels can fuse. `constants[i]` is input i when it
// is a compile-time constant (Clip's bounds must be).
std::optional<Epilogue> epilogue_of(const ir::Node& node, int64_t opset, const std::vector<const ir::Tensor*>& constants);

// Adds the round trip of QuantizeLinear `q` then DequantizeLinear `dq` to `e`, or
// returns false when they are not one per-tensor scale and zero point (constants
// of both nodes, equal) with a uint8 or int8 quantized type.
bool add_round_trip(Epilogue& e, const ir::Node& q, const std::vector<const ir::Tensor*>& q_constants,
                    const ir::Node& dq, const std::vector<const ir::Tensor*>& dq_constants);

}  // namespace pare::rt
