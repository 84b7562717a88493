#include "lib/metrics/macs.h"

#include "formats/onnx/onnx.h"
#include "lib/base/error.h"

namespace pare::metrics {
namespace {

void fix_dims(ir::Graph& g, const std::map<std::string, int64_t>& dims) {
  for (ir::Value* v : g.values()) {
    if (!v->shape) continue;
    for (auto& d : v->shape->dims)
      if (!d.is_known() && dims.count(d.symbol)) d = ir::Dim::known(dims.at(d.symbol));
  }
}

const std::vector<int64_t>* static_dims(const ir::Value* v, std::vector<int64_t>& storage) {
  if (!v || !v->shape || !v->shape->is_static()) return nullptr;
  storage = v->shape->sizes();
  return &storage;
}

int64_t product(const std::vector<int64_t>& d, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < std::min(to, d.size()); ++i) p *= d[i];
  return p;
}

// MACs of one node, or -1 when the shapes it needs are unknown.
int64_t node_macs(const ir::Node& n) {
  std::vector<int64_t> a, b, y;
  if (n.op_type == "Conv" || n.op_type == "ConvTranspose") {
    auto* x = static_dims(n.input(0), a);
    auto* w = static_dims(n.input(1), b);
    auto* out = static_dims(n.output(0), y);
    if (!x || !w || !out || w->size() < 2) return -1;
    int64_t kernel = product(*w, 2);
    // Conv: each output element sums C_in/group * kernel products.
    if (n.op_type == "Conv") return product(*out) * (*w)[1] * kernel;
    // ConvTranspose: each input element scatters into C_out/group * kernel outputs.
    // (W is [C_in, C_out/group, k...] for ConvTranspose.)
    return product(*x) * (*w)[1] * kernel;
  }
  if (n.op_type == "Gemm") {
    auto* out = static_dims(n.output(0), y);
    auto* A = static_dims(n.input(0), a);
    if (!out || !A || A->size() != 2) return -1;
    int64_t k = n.attr_int("transA", 0) ? (*A)[0] : (*A)[1];
    return product(*out) * k;
  }
  if (n.op_type == "MatMul") {
    auto* out = static_dims(n.output(0), y);
    auto* A = static_dims(n.input(0), a);
    if (!out || !A || A->empty()) return -1;
    return product(*out) * A->back();
  }
  return 0;
}

}  // namespace

MacStats count_macs(const ir::Model& model, const std::map<std::string, int64_t>& dims) {
  MacStats s;
  // Work on a copy: shape inference writes into the IR.
  ir::Model copy = formats::onnx::load_model_from_bytes(formats::onnx::serialize_model(model), "model", "");
  ir::for_each_graph(*copy.graph, [&](ir::Graph& g) { fix_dims(g, dims); });
  try {
    formats::onnx::infer_shapes(copy);
  } catch (const Error& e) {
    s.reason = e.what();
    return s;
  }
  std::string missing;
  ir::for_each_graph(*copy.graph, [&](const ir::Graph& g) {
    for (const auto& n : g.nodes()) {
      int64_t m = node_macs(*n);
      if (m < 0) {
        if (missing.empty()) missing = n->describe();
        continue;
      }
      if (m > 0) s.by_op[n->op_type] += m;
      s.total += m;
    }
  });
  if (!missing.empty()) {
    std::vector<std::string> symbols;
    for (const ir::Value* v : copy.graph->inputs)
      if (v->shape)
        for (const auto& d : v->shape->dims)
          if (!d.is_known() && !d.symbol.empty()) symbols.push_back(d.symbol);
    std::string hint;
    for (const auto& sym : symbols) hint += " --dim " + sym + "=N";
    s.reason = "shapes unknown at node " + missing + (hint.empty() ? "" : "; fix the symbolic dims with" + hint);
    s.by_op.clear();
    s.total = 0;
    return s;
  }
  s.known = true;
  return s;
}

}  // namespace pare::metrics
