#include "lib/runtime/epilogue.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "lib/runtime/epilogue_simd.h"

namespace pare::rt {

float Epilogue::Step::on(float x) const {
  switch (op) {
    case Op::kAdd: return x + c;
    case Op::kSub: return x - c;
    case Op::kSubFrom: return c - x;
    case Op::kMul: return x * c;
    case Op::kDiv: return x / c;
    case Op::kDivInto: return c / x;
  }
  return x;
}

void batch_norm_factors(float scale, float bias, float mean, float var, float eps, float& mul, float& add) {
  mul = scale / std::sqrt(var + eps);
  add = bias - mean * mul;
}

void batch_norm_row(const float* in, float* out, int64_t n, float mul, float add) {
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] * mul + add;
}

Epilogue Epilogue::from_channel(int64_t c0) const {
  Epilogue e = *this;  // the arrays are the Conv's: a group's channels are a view of them
  if (per_channel()) {
    e.channel_mul += c0;
    e.channel_add += c0;
  }
  return e;
}

float Epilogue::apply(float x, int64_t c) const {
  if (per_channel()) x = x * channel_mul[c] + channel_add[c];
  return apply_after_channel(x);
}

float Epilogue::apply_after_channel(float x) const {
  for (int i = 0; i < n_pre; ++i) x = pre[i].on(x);
  x = activate(x);
  for (int i = 0; i < n_post; ++i) x = post[i].on(x);
  if (!round_trip) return x;
  float q = quantize_linear(x, scale, zero_point, qmin, qmax);
  return (q - zero_point) * scale;
}

float Epilogue::activate(float x) const {
  switch (kind) {
    case Kind::kNone: return x;
    case Kind::kRelu: return x > 0 ? x : 0.0f;
    case Kind::kClip: return x < a ? a : (x > b ? b : x);
    case Kind::kHardSigmoid: return std::max(0.0f, std::min(1.0f, a * x + b));
    case Kind::kHardSwish: return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
    case Kind::kLeakyRelu: return x < 0 ? a * x : x;
    case Kind::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Kind::kMulClip: {
      float t = x + shift;
      return x * (t < a ? a : (t > b ? b : t));
    }
  }
  return x;
}

#if PARE_HAVE_AVX2_KERNELS
namespace {
// Steps s[0, count) on B vectors, each step's op chosen once for all B.
template <int B>
PARE_AVX2_INLINE void steps_avx2(const Epilogue::Step* s, int count, __m256* x) {
  using Op = Epilogue::Step::Op;
  for (int j = 0; j < count; ++j) {
    __m256 c = _mm256_set1_ps(s[j].c);
    switch (s[j].op) {
      case Op::kAdd: for (int b = 0; b < B; ++b) x[b] = _mm256_add_ps(x[b], c); break;
      case Op::kSub: for (int b = 0; b < B; ++b) x[b] = _mm256_sub_ps(x[b], c); break;
      case Op::kSubFrom: for (int b = 0; b < B; ++b) x[b] = _mm256_sub_ps(c, x[b]); break;
      case Op::kMul: for (int b = 0; b < B; ++b) x[b] = _mm256_mul_ps(x[b], c); break;
      case Op::kDiv: for (int b = 0; b < B; ++b) x[b] = _mm256_div_ps(x[b], c); break;
      case Op::kDivInto: for (int b = 0; b < B; ++b) x[b] = _mm256_div_ps(c, x[b]); break;
    }
  }
}

// An epilogue with steps over B vectors from `in`, stored at `out`.
template <int B>
PARE_AVX2_INLINE void steps_block_avx2(const Epilogue& e, const EpilogueVec& v, const float* in, float* out) {
  __m256 x[B];
  for (int b = 0; b < B; ++b) x[b] = _mm256_loadu_ps(in + 8 * b);
  steps_avx2<B>(e.pre, e.n_pre, x);
  for (int b = 0; b < B; ++b) x[b] = v.activate(x[b]);
  steps_avx2<B>(e.post, e.n_post, x);
  for (int b = 0; b < B; ++b) _mm256_storeu_ps(out + 8 * b, v.round(x[b]));
}

// The vector part of Epilogue::apply_to (in may be out); returns the first
// element left to the scalar loop.
PARE_TARGET_AVX2 int64_t apply_avx2(const Epilogue& e, const float* in, float* out, int64_t n) {
  if (e.kind == Epilogue::Kind::kSigmoid) return 0;
  EpilogueVec v(e);
  int64_t i = 0;
  if (e.vector_form()) {
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, v(_mm256_loadu_ps(in + i)));
    return i;
  }
  // With steps, four vectors at a time: a step's op chosen per vector made
  // PP-OCRv4 rec's eight-step epilogues branch more than they computed.
  for (; i + 32 <= n; i += 32) steps_block_avx2<4>(e, v, in + i, out + i);
  for (; i + 8 <= n; i += 8) steps_block_avx2<1>(e, v, in + i, out + i);
  return i;
}
}  // namespace
#endif

void Epilogue::apply(float* p, int64_t n, Isa isa, int64_t c) const {
  if (per_channel()) batch_norm_row(p, p, n, channel_mul[c], channel_add[c]);  // the BatchNormalization kernel's loop
  if (kind != Kind::kNone || round_trip || n_pre > 0 || n_post > 0) apply_to(p, p, n, isa);
}

void Epilogue::apply_to(const float* in, float* out, int64_t n, Isa isa) const {
  int64_t i = 0;
#if PARE_HAVE_AVX2_KERNELS
  if (has_avx2(isa)) i = apply_avx2(*this, in, out, n);
#endif
  for (; i < n; ++i) out[i] = apply_after_channel(in[i]);
}

namespace {

// A scalar bound of Clip (opset 11+): absent is unbounded; a computed one cannot be fused.
std::optional<float> clip_bound(const ir::Node& node, size_t i, const std::vector<const ir::Tensor*>& constants,
                                float unbounded, bool& fusable) {
  if (i >= node.inputs().size() || !node.inputs()[i]) return unbounded;
  const ir::Tensor* t = i < constants.size() ? constants[i] : nullptr;
  if (!t || t->numel() != 1 || t->dtype() != ir::DataType::kFloat) {
    fusable = false;
    return std::nullopt;
  }
  return t->as_float()[0];
}

}  // namespace

std::optional<Epilogue::Step> step_of(const ir::Node& node, const ir::Value* x,
                                      const std::vector<const ir::Tensor*>& constants) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return std::nullopt;
  if (node.inputs().size() != 2 || node.outputs().size() != 1 || !x) return std::nullopt;
  using Op = Epilogue::Step::Op;
  const std::string& op = node.op_type;
  bool x_first = node.inputs()[0] == x;
  if (!x_first && node.inputs()[1] != x) return std::nullopt;
  const ir::Tensor* c = constants.size() == 2 ? constants[x_first ? 1 : 0] : nullptr;
  if (!c || c->dtype() != ir::DataType::kFloat || c->numel() != 1 || c->dims().size() > 1) return std::nullopt;
  Epilogue::Step s;
  s.c = c->as_float()[0];
  // x + c and c + x, x * c and c * x are the same floats.
  if (op == "Add") s.op = Op::kAdd;
  else if (op == "Mul") s.op = Op::kMul;
  else if (op == "Sub") s.op = x_first ? Op::kSub : Op::kSubFrom;
  else if (op == "Div") s.op = x_first ? Op::kDiv : Op::kDivInto;
  else return std::nullopt;
  return s;
}

std::optional<std::pair<float, float>> clip_bounds(const ir::Node& node, int64_t opset,
                                                   const std::vector<const ir::Tensor*>& constants) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  float lo, hi;
  if (opset < 11) {
    lo = node.attr_float("min", -kInf);
    hi = node.attr_float("max", kInf);
  } else {
    bool fusable = true;
    auto l = clip_bound(node, 1, constants, -kInf, fusable), h = clip_bound(node, 2, constants, kInf, fusable);
    if (!fusable) return std::nullopt;
    lo = *l;
    hi = *h;
  }
  // Clip's kernel clamps infinite bounds to the float range; the same here.
  return std::make_pair(std::isinf(lo) ? std::numeric_limits<float>::lowest() : lo,
                        std::isinf(hi) ? std::numeric_limits<float>::max() : hi);
}

std::optional<Epilogue> epilogue_of(const ir::Node& node, int64_t opset, const std::vector<const ir::Tensor*>& constants) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return std::nullopt;
  if (node.inputs().empty() || node.outputs().size() != 1) return std::nullopt;
  const std::string& op = node.op_type;
  Epilogue e;
  using K = Epilogue::Kind;
  if (op == "Relu") {
    e.kind = K::kRelu;
  } else if (op == "Sigmoid") {
    e.kind = K::kSigmoid;
  } else if (op == "HardSigmoid") {
    e = {K::kHardSigmoid, node.attr_float("alpha", 0.2f), node.attr_float("beta", 0.5f)};
  } else if (op == "HardSwish" && opset >= 14) {
    e.kind = K::kHardSwish;
  } else if (op == "LeakyRelu") {
    e = {K::kLeakyRelu, node.attr_float("alpha", 0.01f), 0};
  } else if (op == "Clip") {
    auto bounds = clip_bounds(node, opset, constants);
    if (!bounds) return std::nullopt;
    e.kind = K::kClip;
    std::tie(e.a, e.b) = *bounds;
  } else {
    return std::nullopt;
  }
  return e;
}

bool add_round_trip(Epilogue& e, const ir::Node& q, const std::vector<const ir::Tensor*>& q_constants,
                    const ir::Node& dq, const std::vector<const ir::Tensor*>& dq_constants) {
  auto scalar = [](const std::vector<const ir::Tensor*>& c, size_t i) -> const ir::Tensor* {
    return i < c.size() && c[i] && c[i]->numel() == 1 ? c[i] : nullptr;
  };
  const ir::Tensor *qs = scalar(q_constants, 1), *ds = scalar(dq_constants, 1);
  if (!qs || !ds || qs->dtype() != ir::DataType::kFloat || ds->dtype() != ir::DataType::kFloat) return false;
  if (q.attr_int("saturate", 1) != 1 || q.attr_int("block_size", 0) != 0 || dq.attr_int("block_size", 0) != 0) return false;
  bool q_has_zp = q.inputs().size() > 2 && q.inputs()[2], dq_has_zp = dq.inputs().size() > 2 && dq.inputs()[2];
  const ir::Tensor *qz = q_has_zp ? scalar(q_constants, 2) : nullptr, *dz = dq_has_zp ? scalar(dq_constants, 2) : nullptr;
  if ((q_has_zp && !qz) || (dq_has_zp && !dz)) return false;
  ir::DataType type = qz ? qz->dtype() : ir::DataType::kUint8;
  if (type != ir::DataType::kUint8 && type != ir::DataType::kInt8) return false;
  if (dz && dz->dtype() != type) return false;
  float qzp = qz ? static_cast<float>(qz->as_double()[0]) : 0.0f, dzp = dz ? static_cast<float>(dz->as_double()[0]) : 0.0f;
  if (qs->as_float()[0] != ds->as_float()[0] || qzp != dzp) return false;
  e.round_trip = true;
  e.scale = qs->as_float()[0];
  e.zero_point = qzp;
  e.qmin = type == ir::DataType::kUint8 ? 0.0f : -128.0f;
  e.qmax = type == ir::DataType::kUint8 ? 255.0f : 127.0f;
  return true;
}

}  // namespace pare::rt
