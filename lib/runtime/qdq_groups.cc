#include "lib/runtime/qdq_groups.h"

#include <cmath>

#include "lib/runtime/epilogue.h"

namespace pare::rt {
namespace {

bool onnx_op(const ir::Node* n, const char* op) {
  return n && (n->domain.empty() || n->domain == "ai.onnx") && n->op_type == op;
}

const ir::Tensor* constant_input(const ir::Node& n, size_t i) {
  const ir::Value* v = i < n.inputs().size() ? n.inputs()[i] : nullptr;
  return v && v->is_constant() ? &v->constant() : nullptr;
}

bool has_input(const ir::Node& n, size_t i) { return i < n.inputs().size() && n.inputs()[i]; }

// A per-tensor scale and zero point of a QuantizeLinear or DequantizeLinear:
// constants, one value each, 8-bit zero point (absent: uint8 0).
struct TensorParams {
  float scale;
  int32_t zero_point;
  DataType type;
};
std::optional<TensorParams> tensor_params(const ir::Node& n) {
  const ir::Tensor* s = constant_input(n, 1);
  if (!s || s->numel() != 1 || s->dtype() != DataType::kFloat) return std::nullopt;
  if (n.attr_int("block_size", 0) != 0) return std::nullopt;
  TensorParams p{s->as_float()[0], 0, DataType::kUint8};
  if (has_input(n, 2)) {
    const ir::Tensor* z = constant_input(n, 2);
    if (!z || z->numel() != 1 || (z->dtype() != DataType::kUint8 && z->dtype() != DataType::kInt8)) return std::nullopt;
    p.zero_point = static_cast<int32_t>(z->as_int64()[0]);
    p.type = z->dtype();
  }
  return p;
}

// W = DequantizeLinear(int8 constant, scale per output channel or one, zero point 0).
bool read_weights(const ir::Node& conv, kernels::QConvSpec& spec) {
  const ir::Node* dq = conv.input(1) ? conv.input(1)->producer() : nullptr;
  if (!onnx_op(dq, "DequantizeLinear") || dq->attr_int("block_size", 0) != 0) return false;
  const ir::Tensor *w = constant_input(*dq, 0), *s = constant_input(*dq, 1);
  if (!w || !s || w->dtype() != DataType::kInt8 || w->rank() != 4 || s->dtype() != DataType::kFloat) return false;
  if (s->numel() != 1 && (s->rank() != 1 || s->numel() != w->dims()[0])) return false;
  if (s->numel() != 1 && dq->attr_int("axis", 1) != 0 && dq->attr_int("axis", 1) != -4) return false;
  if (has_input(*dq, 2)) {
    const ir::Tensor* z = constant_input(*dq, 2);
    if (!z || z->dtype() != DataType::kInt8) return false;
    for (int64_t v : z->as_int64())
      if (v != 0) return false;
  }
  spec.weight = *w;
  spec.w_scale = s->as_float();
  return true;
}

// The bias: absent, a float constant, or DequantizeLinear of an int32 constant
// (quantize(int8, bias=int32)), computed as that kernel would.
bool read_bias(const ir::Node& conv, kernels::QConvSpec& spec) {
  if (!has_input(conv, 2)) return true;
  int64_t m = spec.weight.dims()[0];
  if (const ir::Tensor* b = constant_input(conv, 2)) {
    if (b->dtype() != DataType::kFloat || b->numel() != m) return false;
    spec.bias = b->as_float();
    return true;
  }
  const ir::Node* dq = conv.input(2)->producer();
  if (!onnx_op(dq, "DequantizeLinear") || has_input(*dq, 2) || dq->attr_int("block_size", 0) != 0) return false;
  const ir::Tensor *q = constant_input(*dq, 0), *s = constant_input(*dq, 1);
  if (!q || !s || q->dtype() != DataType::kInt32 || q->numel() != m || s->dtype() != DataType::kFloat) return false;
  if (s->numel() != 1 && s->numel() != m) return false;
  auto qs = q->span<int32_t>();
  auto ss = s->as_float();
  for (int64_t c = 0; c < m; ++c) spec.bias.push_back(static_cast<float>(qs[c]) * ss[ss.size() == 1 ? 0 : c]);
  return true;
}

// A Pad of constant 0 on the two spatial axes of a 4-D tensor, with constant,
// non-negative pads (an attribute before opset 11, an input from it on).
bool read_pad(const ir::Node& pad, int64_t opset, kernels::QConvSpec& spec) {
  if (pad.attr_string("mode", "constant") != "constant") return false;
  std::vector<int64_t> pads;
  if (opset < 11) {
    pads = pad.attr_ints(opset < 2 ? "paddings" : "pads");
    if (pad.attr_float("value", 0.0f) != 0.0f) return false;
  } else {
    const ir::Tensor* p = constant_input(pad, 1);
    if (!p || (p->dtype() != DataType::kInt64 && p->dtype() != DataType::kInt32)) return false;
    pads = p->as_int64();
    if (has_input(pad, 2)) {
      const ir::Tensor* v = constant_input(pad, 2);
      if (!v || v->numel() > 1) return false;
      for (double d : v->as_double())
        if (d != 0) return false;
    }
    if (has_input(pad, 3)) return false;  // axes
  }
  if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5]) return false;
  for (int64_t p : pads)
    if (p < 0) return false;
  spec.pad_top = pads[2];
  spec.pad_left = pads[3];
  spec.pad_bottom = pads[6];
  spec.pad_right = pads[7];
  return true;
}

}  // namespace

std::optional<QConvGroup> match_qconv(const ir::Node& conv, int64_t opset,
                                      const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  if (!onnx_op(&conv, "Conv") || conv.outputs().size() != 1 || !conv.outputs()[0] || !conv.input(0)) return std::nullopt;
  QConvGroup g;
  g.conv = &conv;
  kernels::QConvSpec& spec = g.spec;
  // x_q -> DequantizeLinear
  const ir::Node* dqx = conv.input(0)->producer();
  if (!onnx_op(dqx, "DequantizeLinear") || !dqx->input(0) || dqx->input(0)->is_constant()) return std::nullopt;
  auto xp = tensor_params(*dqx);
  if (!xp) return std::nullopt;
  g.x_q = dqx->input(0);
  spec.x_scale = xp->scale;
  spec.x_zero_point = xp->zero_point;
  spec.x_type = xp->type;
  if (!read_weights(conv, spec) || !read_bias(conv, spec)) return std::nullopt;
  // [Relu | Clip] -> QuantizeLinear, each the only reader of the value before it.
  const ir::Node* next = sole_reader(conv.outputs()[0]);
  if (onnx_op(next, "Relu") || onnx_op(next, "Clip")) {
    std::vector<const ir::Tensor*> constants;
    for (size_t i = 0; i < next->inputs().size(); ++i) constants.push_back(constant_input(*next, i));
    auto e = epilogue_of(*next, opset, constants);
    if (!e || next->inputs()[0] != conv.outputs()[0] || !next->outputs()[0]) return std::nullopt;
    if (e->kind == Epilogue::Kind::kRelu) {
      spec.act_lo = 0;
    } else {
      spec.act_lo = e->a;
      spec.act_hi = e->b;
    }
    g.activation = next;
    next = sole_reader(next->outputs()[0]);
  }
  const ir::Value* before_q = (g.activation ? g.activation : &conv)->outputs()[0];
  if (onnx_op(next, "Pad") && next->inputs()[0] == before_q && next->outputs()[0]) {
    if (!read_pad(*next, opset, spec)) return std::nullopt;
    g.pad = next;
    before_q = next->outputs()[0];
    next = sole_reader(before_q);
  }
  if (!onnx_op(next, "QuantizeLinear") || next->attr_int("saturate", 1) != 1 || !next->outputs()[0]) return std::nullopt;
  if (next->inputs()[0] != before_q) return std::nullopt;
  auto yp = tensor_params(*next);
  if (!yp) return std::nullopt;
  g.quantize = next;
  g.y_q = next->outputs()[0];
  spec.y_scale = yp->scale;
  spec.y_zero_point = yp->zero_point;
  spec.y_type = yp->type;
  if (!kernels::qconv_refusal(spec).empty()) return std::nullopt;
  return g;
}

}  // namespace pare::rt
