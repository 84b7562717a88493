#include "lib/runtime/pad_fusion.h"

namespace pare::rt {

std::optional<std::vector<int64_t>> zero_spatial_pads(
    const ir::Node& pad, int64_t opset, const std::function<const ir::Tensor*(const ir::Value*)>& constant_of) {
  auto constant_input = [&](const ir::Node& n, size_t i) { return n.input(i) ? constant_of(n.input(i)) : nullptr; };
  if (pad.op_type != "Pad" || !(pad.domain.empty() || pad.domain == "ai.onnx")) return std::nullopt;
  if (pad.attr_string("mode", "constant") != "constant") return std::nullopt;
  std::vector<int64_t> pads;
  if (opset < 11) {
    pads = pad.attr_ints(opset < 2 ? "paddings" : "pads");
    if (pad.attr_float("value", 0.0f) != 0.0f) return std::nullopt;
  } else {
    const ir::Tensor* p = constant_input(pad, 1);
    if (!p || (p->dtype() != ir::DataType::kInt64 && p->dtype() != ir::DataType::kInt32)) return std::nullopt;
    pads = p->as_int64();
    if (pad.input(2)) {
      const ir::Tensor* v = constant_input(pad, 2);
      if (!v || v->numel() > 1) return std::nullopt;
      for (double d : v->as_double())
        if (d != 0) return std::nullopt;
    }
    if (pad.input(3)) return std::nullopt;  // axes
  }
  size_t rank = pads.size() / 2;
  if (pads.size() % 2 || rank < 3) return std::nullopt;
  if (pads[0] || pads[1] || pads[rank] || pads[rank + 1]) return std::nullopt;
  for (int64_t p : pads)
    if (p < 0) return std::nullopt;
  return pads;
}

std::optional<std::vector<int64_t>> conv_pads_after_pad(const ir::Node& conv, const std::vector<int64_t>& pad_pads) {
  std::string auto_pad = conv.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return std::nullopt;
  size_t rank = pad_pads.size() / 2, spatial = rank - 2;
  const ir::Value* w = conv.input(1);
  size_t w_rank = !w ? 0 : w->is_constant() ? w->constant().rank() : w->shape ? w->shape->rank() : 0;
  if (w_rank != rank) return std::nullopt;
  std::vector<int64_t> pads = auto_pad == "VALID" ? std::vector<int64_t>{} : conv.attr_ints("pads");
  if (pads.empty()) pads.assign(2 * spatial, 0);
  if (pads.size() != 2 * spatial) return std::nullopt;
  // A hostile model's pads may not add up in int64: then the Pad runs as a node
  // and its own checks answer.
  for (size_t i = 0; i < spatial; ++i)
    if (__builtin_add_overflow(pads[i], pad_pads[2 + i], &pads[i]) ||
        __builtin_add_overflow(pads[spatial + i], pad_pads[rank + 2 + i], &pads[spatial + i]))
      return std::nullopt;
  return pads;
}

std::optional<AbsorbedPad> conv_absorbing(const ir::Node& pad, int64_t opset, const ir::Node* reader,
                                          const std::function<const ir::Tensor*(const ir::Value*)>& constant_of) {
  if (!pad.input(0) || pad.outputs().size() != 1 || !pad.outputs()[0]) return std::nullopt;
  if (!reader || reader->op_type != "Conv" || !(reader->domain.empty() || reader->domain == "ai.onnx") ||
      reader->input(0) != pad.outputs()[0])
    return std::nullopt;
  auto pad_pads = zero_spatial_pads(pad, opset, constant_of);
  auto conv_pads = pad_pads ? conv_pads_after_pad(*reader, *pad_pads) : std::nullopt;
  if (!conv_pads) return std::nullopt;
  return AbsorbedPad{reader, std::move(*pad_pads), std::move(*conv_pads)};
}

ir::Node conv_with_pads(const ir::Node& conv, const std::vector<int64_t>& pads) {
  ir::Node copy = conv;
  copy.remove_attr("auto_pad");
  copy.set_attr(ir::Attribute::of_ints("pads", pads));
  return copy;
}

}  // namespace pare::rt
