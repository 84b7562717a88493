#include "lib/runtime/qdq_groups.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "lib/runtime/epilogue.h"
#include "lib/runtime/pad_fusion.h"
#include "lib/runtime/session.h"

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
using TensorParams = kernels::QTensorParams;
std::optional<TensorParams> tensor_params(const ir::Node& n) {
  const ir::Tensor* s = constant_input(n, 1);
  if (!s || s->numel() != 1 || s->dtype() != DataType::kFloat) return std::nullopt;
  if (n.attr_int("block_size", 0) != 0) return std::nullopt;
  TensorParams p{DataType::kUint8, s->as_float()[0], 0};
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

// A Pad of constant 0 on the two spatial axes of a 4-D tensor (zero_spatial_pads).
bool read_pad(const ir::Node& pad, int64_t opset, kernels::QConvSpec& spec) {
  auto pads = zero_spatial_pads(pad, opset, [](const ir::Value* v) { return v->is_constant() ? &v->constant() : nullptr; });
  if (!pads || pads->size() != 8) return false;
  spec.pad_top = (*pads)[2];
  spec.pad_left = (*pads)[3];
  spec.pad_bottom = (*pads)[6];
  spec.pad_right = (*pads)[7];
  return true;
}

// [Relu | Clip] [-> Pad] -> QuantizeLinear after `v`, each the only reader of
// the value before it: appended to g.fused (g.output is the last one's), their
// parameters returned.
struct Tail {
  float act_lo = -std::numeric_limits<float>::infinity(), act_hi = std::numeric_limits<float>::infinity();
  const ir::Node* pad = nullptr;
  TensorParams y{};
};
std::optional<Tail> match_tail(const ir::Value* v, int64_t opset, bool allow_pad, QdqGroup& g,
                               const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  Tail t;
  const ir::Node* next = sole_reader(v);
  if ((onnx_op(next, "Relu") || onnx_op(next, "Clip")) && next->inputs()[0] == v && next->outputs()[0]) {
    std::vector<const ir::Tensor*> constants;
    for (size_t i = 0; i < next->inputs().size(); ++i) constants.push_back(constant_input(*next, i));
    auto e = epilogue_of(*next, opset, constants);
    if (!e) return std::nullopt;
    if (e->kind == Epilogue::Kind::kRelu) {
      t.act_lo = 0;
    } else {
      t.act_lo = e->a;
      t.act_hi = e->b;
    }
    g.fused.push_back(next);
    v = next->outputs()[0];
    next = sole_reader(v);
  }
  if (allow_pad && onnx_op(next, "Pad") && next->inputs()[0] == v && next->outputs()[0]) {
    t.pad = next;
    g.fused.push_back(next);
    v = next->outputs()[0];
    next = sole_reader(v);
  }
  if (!onnx_op(next, "QuantizeLinear") || next->attr_int("saturate", 1) != 1 || !next->outputs()[0]) return std::nullopt;
  if (next->inputs()[0] != v) return std::nullopt;
  auto yp = tensor_params(*next);
  if (!yp) return std::nullopt;
  t.y = *yp;
  g.fused.push_back(next);
  g.output = next->outputs()[0];
  return t;
}

// x_q -> DequantizeLinear with per-tensor constants: x_q and its parameters.
const ir::Value* quantized_source(const ir::Value* v, TensorParams& p) {
  const ir::Node* dq = v ? v->producer() : nullptr;
  if (!onnx_op(dq, "DequantizeLinear") || !dq->input(0) || dq->input(0)->is_constant()) return nullptr;
  auto params = tensor_params(*dq);
  const ir::Value* q = dq->input(0);
  // Without a zero point the type is uint8 only if the graph says nothing else.
  if (!params || (q->dtype != DataType::kUndefined && q->dtype != params->type)) return nullptr;
  p = *params;
  return q;
}

std::optional<QdqGroup> match_conv(const ir::Node& conv, int64_t opset,
                                   const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  QdqGroup g;
  g.op = &conv;
  kernels::QConvSpec spec;
  TensorParams xp;
  const ir::Value* x_q = quantized_source(conv.input(0), xp);
  if (!x_q) return std::nullopt;
  g.inputs = {x_q};
  spec.x_scale = xp.scale;
  spec.x_zero_point = xp.zero_point;
  spec.x_type = xp.type;
  if (!read_weights(conv, spec) || !read_bias(conv, spec)) return std::nullopt;
  auto tail = match_tail(conv.outputs()[0], opset, true, g, sole_reader);
  if (!tail || (tail->pad && !read_pad(*tail->pad, opset, spec))) return std::nullopt;
  spec.act_lo = tail->act_lo;
  spec.act_hi = tail->act_hi;
  spec.y_scale = tail->y.scale;
  spec.y_zero_point = tail->y.zero_point;
  spec.y_type = tail->y.type;
  if (!kernels::qconv_refusal(spec).empty()) return std::nullopt;
  g.spec = std::move(spec);
  return g;
}

// The Add is not known to broadcast: its inputs have the same static shape
// (known dims or the same symbols), or the file gives the shape of one of them
// not at all (quantizers write no shapes for the values they add: BlazeFace's
// residual Adds, quantized by pare, were left to five float kernels). QAdd
// broadcasts when a run's shapes differ, element by element.
bool not_known_to_broadcast(const ir::Value* a, const ir::Value* b) {
  if (!a->shape || !b->shape) return true;
  if (a->shape->dims.size() != b->shape->dims.size()) return false;
  for (size_t i = 0; i < a->shape->dims.size(); ++i) {
    const ir::Dim &x = a->shape->dims[i], &y = b->shape->dims[i];
    bool same = x.is_known() ? y.is_known() && x.value == y.value : !x.symbol.empty() && x.symbol == y.symbol;
    if (!same) return false;
  }
  return true;
}

// The same with Mul (a squeeze-excite block's x * scale[c]), broadcasting allowed.
std::optional<QdqGroup> match_add(const ir::Node& add, int64_t opset,
                                  const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  bool mul = add.op_type == "Mul";
  if (add.inputs().size() != 2 || !add.input(0) || !add.input(1) ||
      (!mul && !not_known_to_broadcast(add.input(0), add.input(1))))
    return std::nullopt;
  QdqGroup g;
  g.op = &add;
  kernels::QAddSpec spec;
  TensorParams ap, bp;
  const ir::Value *a_q = quantized_source(add.input(0), ap), *b_q = quantized_source(add.input(1), bp);
  if (!a_q || !b_q) return std::nullopt;
  g.inputs = {a_q, b_q};
  auto tail = match_tail(add.outputs()[0], opset, false, g, sole_reader);
  if (!tail) return std::nullopt;
  spec.a = ap;
  spec.b = bp;
  spec.y = tail->y;
  spec.act_lo = tail->act_lo;
  spec.act_hi = tail->act_hi;
  spec.op = mul ? kernels::QAddSpec::Op::kMul : kernels::QAddSpec::Op::kAdd;
  if (kernels::qadd_refusal(spec)) return std::nullopt;
  g.spec = spec;
  return g;
}

// Whether q is a QuantizeLinear of v (its data input, not its scale).
bool quantizes(const ir::Node* q, const ir::Value* v) {
  return onnx_op(q, "QuantizeLinear") && q->attr_int("saturate", 1) == 1 && q->outputs()[0] && q->inputs()[0] == v;
}

// The two ends of a group around a one-input op: x_q (through its
// DequantizeLinear) and the QuantizeLinear that alone reads op's output, with
// their parameters.
struct Ends {
  const ir::Value* x_q = nullptr;
  const ir::Node* q = nullptr;
  TensorParams x, y;
};
std::optional<Ends> one_input_ends(const ir::Node& op,
                                   const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  Ends e;
  e.x_q = quantized_source(op.input(0), e.x);
  e.q = sole_reader(op.outputs()[0]);
  if (!e.x_q || !quantizes(e.q, op.outputs()[0])) return std::nullopt;
  auto yp = tensor_params(*e.q);
  if (!yp) return std::nullopt;
  e.y = *yp;
  return e;
}

// The group of `op` between those ends, computed by `spec`'s kernel.
template <typename Spec>
QdqGroup one_input_group(const ir::Node& op, const Ends& e, Spec spec) {
  QdqGroup g;
  g.op = &op;
  g.inputs = {e.x_q};
  g.fused = {e.q};
  g.output = e.q->outputs()[0];
  g.spec = std::move(spec);
  return g;
}

// x_q -> DequantizeLinear -> activation -> QuantizeLinear (the activation the
// only reader of its input's float value is not required: the DequantizeLinear
// stays for its other readers).
std::optional<QdqGroup> match_activation(const ir::Node& act, int64_t opset,
                                         const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  std::vector<const ir::Tensor*> constants;
  for (size_t i = 0; i < act.inputs().size(); ++i) constants.push_back(constant_input(act, i));
  auto e = epilogue_of(act, opset, constants);
  if (!e) return std::nullopt;
  auto ends = one_input_ends(act, sole_reader);
  if (!ends) return std::nullopt;
  kernels::QLutSpec spec;
  spec.x = ends->x;
  spec.y = ends->y;
  spec.activation = *e;
  return one_input_group(act, *ends, std::move(spec));
}

// ---------- chains of elementwise nodes from one quantized tensor ----------

// A scalar float constant (one value, at most one dim: no broadcast grows a shape).
bool scalar_constant(const ir::Value* v) {
  if (!v || !v->is_constant()) return false;
  const ir::Tensor& t = v->constant();
  return t.dtype() == DataType::kFloat && t.numel() == 1 && t.rank() <= 1;
}

// Nodes whose every output element depends on the same element of their
// non-constant inputs and on scalar constants only.
bool elementwise_on_scalars(const ir::Node& n, int64_t opset) {
  static const char* const kBinary[] = {"Add", "Sub", "Mul", "Div"};
  static const char* const kUnary[] = {"Relu", "Sigmoid", "HardSigmoid", "LeakyRelu", "Clip"};
  if (n.outputs().size() != 1 || !n.outputs()[0] || !n.subgraphs().empty() || n.inputs().empty() || !n.input(0))
    return false;
  for (const char* op : kBinary)
    if (onnx_op(&n, op)) return n.inputs().size() == 2 && n.input(1);
  for (const char* op : kUnary)
    if (onnx_op(&n, op)) {
      for (size_t i = 1; i < n.inputs().size(); ++i)
        if (n.input(i) && !scalar_constant(n.input(i))) return false;
      return true;
    }
  if (onnx_op(&n, "HardSwish")) return opset >= 14;
  if (onnx_op(&n, "QuantizeLinear")) return n.attr_int("saturate", 1) == 1 && tensor_params(n).has_value();
  if (onnx_op(&n, "DequantizeLinear")) return tensor_params(n).has_value();
  return false;
}

// The values of the chain: v0 (the DequantizeLinear's output), then each
// node's output as the node joins (once all its non-constant inputs are chain
// values). `nodes` stays in an order in which every node follows its inputs.
struct Chain {
  std::vector<const ir::Node*> nodes;
  std::vector<const ir::Value*> values;
  bool holds(const ir::Value* v) const { return std::find(values.begin(), values.end(), v) != values.end(); }
  bool joins(const ir::Node& n) const {
    for (const ir::Value* in : n.inputs())
      if (in && !in->is_constant() && !holds(in)) return false;
    for (const ir::Value* in : n.inputs())
      if (in && in->is_constant() && !scalar_constant(in) && !onnx_op(&n, "QuantizeLinear") &&
          !onnx_op(&n, "DequantizeLinear"))
        return false;
    return true;
  }
};

// Grows the chain from v0 through elementwise_on_scalars nodes.
void grow(Chain& c, int64_t opset) {
  for (size_t i = 0; i < c.values.size(); ++i)
    for (const ir::Use& use : c.values[i]->uses()) {
      const ir::Node* n = use.node;
      bool known = std::find(c.nodes.begin(), c.nodes.end(), n) != c.nodes.end();
      if (known || !elementwise_on_scalars(*n, opset) || !c.joins(*n)) continue;
      c.nodes.push_back(n);
      c.values.push_back(n->outputs()[0]);
    }
}

// Values other than v0 that something outside the chain reads (or the graph outputs).
std::vector<const ir::Value*> exits(const Chain& c) {
  std::vector<const ir::Value*> out;
  for (size_t i = 1; i < c.values.size(); ++i) {
    const ir::Value* v = c.values[i];
    bool outside = v->is_graph_output();
    for (const ir::Use& use : v->uses())
      outside |= std::find(c.nodes.begin(), c.nodes.end(), use.node) == c.nodes.end();
    if (outside) out.push_back(v);
  }
  return out;
}

// Drops node n and every node that reads, directly or not, what it writes.
void drop(Chain& c, const ir::Node* n) {
  auto at = std::find(c.nodes.begin(), c.nodes.end(), n);
  if (at == c.nodes.end()) return;
  size_t i = static_cast<size_t>(at - c.nodes.begin());
  c.nodes.erase(at);
  const ir::Value* out = c.values[i + 1];
  c.values.erase(c.values.begin() + static_cast<std::ptrdiff_t>(i) + 1);
  for (const ir::Use& use : out->uses()) drop(c, use.node);
}

// The 256-entry table of the chain: its nodes run literally, by a session of
// their own, on the 256 possible bytes of x_q, so that the group's bytes are the
// nodes' bytes whatever kernels they use.
std::optional<std::vector<uint8_t>> chain_table(const Chain& c, const ir::Node& dq0, const ir::Value* y_q,
                                                int64_t opset) {
  ir::Model m;
  m.opsets = {{"", opset}};
  ir::Graph& g = *m.graph;
  std::unordered_map<const ir::Value*, ir::Value*> copy;
  const ir::Value* x_q = dq0.input(0);
  ir::Value* x = g.add_value("x_q");
  DataType type = tensor_params(dq0)->type;
  x->dtype = type;
  x->shape = ir::Shape::of({256});
  g.inputs.push_back(x);
  copy[x_q] = x;
  auto value_of = [&](const ir::Value* v) -> ir::Value* {
    if (!v) return nullptr;
    if (auto it = copy.find(v); it != copy.end()) return it->second;
    return copy[v] = g.add_constant("c" + std::to_string(copy.size()), v->constant());
  };
  std::vector<const ir::Node*> nodes = {&dq0};
  nodes.insert(nodes.end(), c.nodes.begin(), c.nodes.end());
  for (const ir::Node* n : nodes) {
    std::vector<ir::Value*> ins;
    for (const ir::Value* in : n->inputs()) ins.push_back(value_of(in));
    ir::Node* made = g.add_node(n->op_type, ins, {"v" + std::to_string(copy.size())});
    made->attrs = n->attrs;
    copy[n->outputs()[0]] = made->output(0);
  }
  g.outputs.push_back(copy.at(y_q));
  std::vector<uint8_t> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = static_cast<uint8_t>(b);
  ir::Tensor in = type == DataType::kUint8 ? ir::Tensor::from<uint8_t>({256}, bytes)
                                           : ir::Tensor::from<int8_t>({256}, std::vector<int8_t>(bytes.begin(), bytes.end()));
  try {
    SessionOptions literal{1, false};  // one thread, every node as it is
    ir::Tensor out = Session(m, literal).run({{"x_q", in}})[0];
    if (out.numel() != 256 || (out.dtype() != DataType::kUint8 && out.dtype() != DataType::kInt8)) return std::nullopt;
    const uint8_t* p = out.raw();
    return std::vector<uint8_t>(p, p + 256);
  } catch (const std::exception&) {
    return std::nullopt;  // the nodes run as they are instead
  }
}

// x_q -> DequantizeLinear -> elementwise nodes on scalar constants, themselves
// and QuantizeLinear/DequantizeLinear round trips -> QuantizeLinear -> y_q, with
// nothing outside reading what is in between (an int8 model's Conv tail:
// PP-OCRv4 det's Add 3, Clip, Mul, Div, Mul, Add, each output quantized):
// every y_q byte is a function of one x_q byte, a table. `first` must be the
// chain's one node reading only x_q's float value (the session places the
// group's kernel there; every other node of the chain comes after it).
std::optional<QdqGroup> match_chain(const ir::Node& first, int64_t opset) {
  if (onnx_op(&first, "QuantizeLinear") || onnx_op(&first, "DequantizeLinear")) return std::nullopt;
  const ir::Node* dq0 = first.input(0) ? first.input(0)->producer() : nullptr;
  TensorParams xp;
  if (!dq0 || !quantized_source(first.input(0), xp) || !elementwise_on_scalars(first, opset)) return std::nullopt;
  Chain c;
  c.values = {dq0->outputs()[0]};
  grow(c, opset);
  for (bool changed = true; changed;) {  // an exit that is not a QuantizeLinear's output leaves the chain
    changed = false;
    for (const ir::Value* v : exits(c))
      if (!onnx_op(v->producer(), "QuantizeLinear")) {
        drop(c, v->producer());
        changed = true;
        break;
      }
  }
  auto out = exits(c);
  if (out.size() != 1 || c.nodes.size() < 3) return std::nullopt;
  for (const ir::Node* n : c.nodes)  // `first` the only node reading x_q's value alone
    if (n != &first && std::all_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Value* in) {
          return !in || in->is_constant() || in == c.values[0];
        }))
      return std::nullopt;
  if (std::find(c.nodes.begin(), c.nodes.end(), &first) == c.nodes.end()) return std::nullopt;
  auto yp = tensor_params(*out[0]->producer());
  auto table = chain_table(c, *dq0, out[0], opset);
  if (!yp || !table) return std::nullopt;
  QdqGroup g;
  g.op = &first;
  g.inputs = {dq0->input(0)};
  for (const ir::Node* n : c.nodes)
    if (n != &first) g.fused.push_back(n);
  g.output = out[0];
  kernels::QLutSpec spec;
  spec.x = xp;
  spec.y = *yp;
  spec.table = std::move(*table);
  g.spec = spec;
  return g;
}

// x_q -> DequantizeLinear -> nearest Resize -> QuantizeLinear with x_q's own
// constants -> y_q. Every output element is one input element, and
// QuantizeLinear(DequantizeLinear(b)) = b for every byte b, so the Resize on
// the bytes gives y_q exactly.
std::optional<QdqGroup> match_movement(const ir::Node& op,
                                       const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  bool nearest = (onnx_op(&op, "Resize") || onnx_op(&op, "Upsample")) && op.attr_string("mode", "nearest") == "nearest";
  if (!nearest) return std::nullopt;
  auto e = one_input_ends(op, sole_reader);
  if (!e || e->y.type != e->x.type || e->y.scale != e->x.scale || e->y.zero_point != e->x.zero_point)
    return std::nullopt;
  if (!(e->x.scale > 0) || !std::isfinite(e->x.scale)) return std::nullopt;
  return one_input_group(op, *e, Movement{});
}

// x_q -> DequantizeLinear -> MaxPool -> QuantizeLinear -> y_q: the max on
// the bytes, then a table (make_qmax_pool). Its exactness needs every window
// to hold an input element (an all-padding window is -inf in float, which
// quantizes to the lowest byte, not to the table's first entry): dilation 1
// and each pad smaller than the kernel. BlazeFace's stride-2 shortcuts pool
// 2x2 between tensors of slightly different ranges.
std::optional<QdqGroup> match_max_pool(const ir::Node& pool,
                                       const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  if (!onnx_op(&pool, "MaxPool") || pool.outputs().size() != 1) return std::nullopt;
  std::vector<int64_t> k = pool.attr_ints("kernel_shape"), pads = pool.attr_ints("pads");
  for (int64_t d : pool.attr_ints("dilations"))
    if (d != 1) return std::nullopt;
  for (size_t i = 0; i < pads.size(); ++i)
    if (k.empty() || pads[i] >= k[i % k.size()]) return std::nullopt;
  auto e = one_input_ends(pool, sole_reader);
  if (!e) return std::nullopt;
  kernels::QLutSpec spec;
  spec.x = e->x;
  spec.y = e->y;
  spec.max_pool = true;
  return one_input_group(pool, *e, std::move(spec));
}

// x_q -> DequantizeLinear -> GlobalAveragePool -> QuantizeLinear -> y_q (the
// quantized Add's kernel, qadd.h).
std::optional<QdqGroup> match_global_average(const ir::Node& pool,
                                             const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  if (!onnx_op(&pool, "GlobalAveragePool")) return std::nullopt;
  auto e = one_input_ends(pool, sole_reader);
  if (!e) return std::nullopt;
  kernels::QAddSpec spec;
  spec.op = kernels::QAddSpec::Op::kMean;
  spec.a = e->x;
  spec.b = e->x;  // unused, but a valid 8-bit type for the kernel's checks
  spec.y = e->y;
  return one_input_group(pool, *e, std::move(spec));
}

// x1_q -> DequantizeLinear, ..., xn_q -> DequantizeLinear (per-tensor
// constants each) -> Concat -> QuantizeLinear -> y_q. An input may be float
// instead (kFloat in the spec): Q(Concat(a, f)) is Concat(Q(a), Q(f)), so the
// kernel quantizes it with y's parameters. BlazeFace pads its channels with a
// ConstantOfShape of zeros, which the quantizer leaves float as a constant in
// disguise; without this each of its eleven blocks ran a float Concat and a
// QuantizeLinear.
std::optional<QdqGroup> match_concat(const ir::Node& concat,
                                     const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  if (!onnx_op(&concat, "Concat")) return std::nullopt;
  QdqGroup g;
  kernels::QConcatSpec spec;
  bool any_quantized = false;
  for (const ir::Value* in : concat.inputs()) {
    TensorParams p;
    const ir::Value* x_q = quantized_source(in, p);
    if (x_q) {
      any_quantized = true;
    } else if (in && (in->dtype == DataType::kFloat || in->dtype == DataType::kUndefined)) {
      // Concat's inputs share one type, float as the dequantized ones are; a
      // file that says otherwise meets the kernel's type check at run time.
      x_q = in;
      p.type = DataType::kFloat;
    } else {
      return std::nullopt;
    }
    g.inputs.push_back(x_q);
    spec.inputs.push_back(p);
  }
  if (!any_quantized) return std::nullopt;
  const ir::Node* q = sole_reader(concat.outputs()[0]);
  if (!quantizes(q, concat.outputs()[0])) return std::nullopt;
  auto yp = tensor_params(*q);
  if (!yp) return std::nullopt;
  spec.y = *yp;
  g.op = &concat;
  g.fused = {q};
  g.output = q->outputs()[0];
  g.spec = spec;
  return g;
}

}  // namespace

std::optional<QdqGroup> match_qdq_group(const ir::Node& node, int64_t opset,
                                        const std::function<const ir::Node*(const ir::Value*)>& sole_reader) {
  if (node.outputs().size() != 1 || !node.outputs()[0] || node.inputs().empty() || !node.input(0)) return std::nullopt;
  if (onnx_op(&node, "Conv")) return match_conv(node, opset, sole_reader);
  if (onnx_op(&node, "Add") || onnx_op(&node, "Mul"))
    if (auto g = match_add(node, opset, sole_reader)) return g;
  if (auto g = match_activation(node, opset, sole_reader)) return g;
  if (auto g = match_movement(node, sole_reader)) return g;
  if (auto g = match_concat(node, sole_reader)) return g;
  if (auto g = match_global_average(node, sole_reader)) return g;
  if (auto g = match_max_pool(node, sole_reader)) return g;
  return match_chain(node, opset);
}

std::unique_ptr<Kernel> make_group_kernel(const QdqGroup& group, const KernelInit& init) {
  if (const auto* conv = std::get_if<kernels::QConvSpec>(&group.spec)) return kernels::make_qconv(init, *conv);
  if (const auto* add = std::get_if<kernels::QAddSpec>(&group.spec)) return kernels::make_qadd(init, *add);
  if (const auto* lut = std::get_if<kernels::QLutSpec>(&group.spec))
    return lut->max_pool ? kernels::make_qmax_pool(init, *lut) : kernels::make_qlut(init, *lut);
  if (const auto* cat = std::get_if<kernels::QConcatSpec>(&group.spec)) return kernels::make_qconcat(init, *cat);
  throw InternalError("a data-movement group runs its op's own kernel (the session makes it)");
}

}  // namespace pare::rt
