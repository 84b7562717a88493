// An activation applied to a kernel's output while it is still in registers or
// cache (the "epilogue"), instead of by a separate node reading and writing the
// whole tensor again.
//
// The session fuses an activation node into the Conv that feeds it (and only
// it) at compile time; the model and its IR stay as they are. The scalar
// apply() is the reference the vectorised versions follow: each computes the
// same formula as the activation's own kernel in kernels/elementwise.cc.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "lib/ir/graph.h"
#include "lib/runtime/isa.h"

namespace pare::rt {

// QuantizeLinear of one float as its kernel computes it (kernels/quant.cc):
// x / scale rounded half to even (nearbyint in the default rounding mode),
// plus the zero point, clamped to the type's [qmin, qmax]. The integer
// kernels' tables and constants and the epilogue's round trip use this one
// formula, so that they give the literal node's bytes.
__attribute__((always_inline)) inline float quantize_linear(float x, float scale, float zero_point, float qmin,
                                                            float qmax) {
  return std::clamp(std::nearbyint(x / scale) + zero_point, qmin, qmax);
}

struct Epilogue {
  // kMulClip: x * Clip(x + shift, a, b), the core of HardSwish as exporters
  // spell it out in nodes (Add 3, Clip 0..6, Mul by x, then Div 6 as a step).
  enum class Kind { kNone, kRelu, kClip, kHardSigmoid, kHardSwish, kLeakyRelu, kSigmoid, kMulClip };
  Kind kind = Kind::kNone;
  float a = 0, b = 0;  // Clip, kMulClip: min, max; HardSigmoid: alpha, beta; LeakyRelu: alpha
  // After the activation, a QuantizeLinear -> DequantizeLinear round trip with one
  // scale and zero point (per tensor), exactly as those kernels compute it:
  // (clamp(nearbyint(x / scale) + zero_point, qmin, qmax) - zero_point) * scale.
  bool round_trip = false;
  float scale = 1, zero_point = 0, qmin = 0, qmax = 0;
  float shift = 0;  // kMulClip's

  // An Add, Sub, Mul or Div node whose other input is one float constant, as
  // that node computes it (kSubFrom: c - x; kDivInto: c / x). Exporters write
  // BatchNorm-like and "learnable affine" scales this way around activations
  // (PP-OCRv4 det: Conv, Mul, Add, HardSwish in four nodes, Mul, Add).
  struct Step {
    enum class Op : uint8_t { kAdd, kSub, kSubFrom, kMul, kDiv, kDivInto };
    Op op = Op::kAdd;
    float c = 0;
    float on(float x) const;
  };
  static constexpr int kMaxSteps = 4;
  Step pre[kMaxSteps], post[kMaxSteps];  // before and after the activation
  int n_pre = 0, n_post = 0;

  // A BatchNormalization right after the Conv (exporters leave them unfolded:
  // the PP-OCR classifier has 35): output channel c first becomes
  // x * channel_mul[c] + channel_add[c], the factors and the formula of its
  // kernel (batch_norm_factors), so the same floats. Null: none. The arrays
  // belong to the compiled graph, which outlives its kernels; plain pointers
  // keep Epilogue a trivially copyable value (its copies are everywhere).
  const float* channel_mul = nullptr;
  const float* channel_add = nullptr;

  bool per_channel() const { return channel_mul != nullptr; }
  bool none() const { return kind == Kind::kNone && !round_trip && n_pre == 0 && n_post == 0 && !per_channel(); }
  // Whether EpilogueVec computes it whole (kernels keep it in registers);
  // otherwise they store their results and run apply() over them.
  bool vector_form() const {
    return kind != Kind::kSigmoid && kind != Kind::kMulClip && n_pre == 0 && n_post == 0 && !per_channel();
  }
  float activate(float x) const;
  // An output of channel c (c matters only to per_channel() epilogues).
  float apply(float x, int64_t c = 0) const;
  // In place over n floats of channel c, 8 at a time with AVX2 when `isa` has
  // it (the same results: the vector forms compute the scalar formulas exactly).
  void apply(float* p, int64_t n, Isa isa, int64_t c = 0) const;
  // out[i] = the epilogue of in[i] (in may be out), all but the per-channel factors.
  void apply_to(const float* in, float* out, int64_t n, Isa isa) const;
  // This epilogue for the channels from c0 on (a group of a grouped Conv).
  Epilogue from_channel(int64_t c0) const;
  // What follows the per-channel factors: steps, activation, steps, round trip.
  float apply_after_channel(float x) const;
};

// BatchNormalization's per-channel factors, as its kernel and the fused
// epilogue both compute them: mul = scale / sqrt(var + eps), add = bias - mean * mul.
void batch_norm_factors(float scale, float bias, float mean, float var, float eps, float& mul, float& add);
// out[i] = in[i] * mul + add (in may be out): BatchNormalization's loop, which
// its kernel and a fused epilogue both run, so that they round alike.
void batch_norm_row(const float* in, float* out, int64_t n, float mul, float add);

// The epilogue computing `node` on its first input, or nullopt when `node` is
// not a float activation the kernels can fuse. `constants[i]` is input i when it
// is a compile-time constant (Clip's bounds must be).
std::optional<Epilogue> epilogue_of(const ir::Node& node, int64_t opset, const std::vector<const ir::Tensor*>& constants);

// The step computing `node` (Add, Sub, Mul or Div, float) on `x`, its other
// input a constant of one float with at most one dim (so no broadcast changes
// the shape), or nullopt.
std::optional<Epilogue::Step> step_of(const ir::Node& node, const ir::Value* x,
                                      const std::vector<const ir::Tensor*>& constants);

// Clip's bounds as an epilogue applies them (infinite or absent bounds as the
// float range), or nullopt when a bound is not a float constant.
std::optional<std::pair<float, float>> clip_bounds(const ir::Node& clip, int64_t opset,
                                                   const std::vector<const ir::Tensor*>& constants);

// Adds the round trip of QuantizeLinear `q` then DequantizeLinear `dq` to `e`, or
// returns false when they are not one per-tensor scale and zero point (constants
// of both nodes, equal) with a uint8 or int8 quantized type.
bool add_round_trip(Epilogue& e, const ir::Node& q, const std::vector<const ir::Tensor*>& q_constants,
                    const ir::Node& dq, const std::vector<const ir::Tensor*>& dq_constants);

}  // namespace pare::rt
