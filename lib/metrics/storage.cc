#include "lib/metrics/storage.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "lib/metrics/size.h"

namespace pare::metrics {
namespace {

bool is_weight_op(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

struct Reach {
  const ir::Value* value;  // what the op reads
  const ir::Node* user;    // the op
  int64_t input;           // at which input
};

// Follows the first use of constant `v` through constant-only nodes to the node
// that computes with it (as weights_by_layer does).
Reach follow(const ir::Value* v, const std::set<const ir::Value*>& derived) {
  Reach r{v, nullptr, 0};
  for (int hops = 0; hops < 8 && !r.value->uses().empty(); ++hops) {
    const ir::Use& u = r.value->uses().front();
    r.user = u.node;
    r.input = static_cast<int64_t>(u.index);
    if (u.node->outputs().empty() || !derived.count(u.node->output(0))) break;
    r.value = u.node->output(0);
  }
  return r;
}

// The nodes that compute `v` from constants, nearest first.
std::vector<const ir::Node*> decoders_of(const ir::Value* v) {
  std::vector<const ir::Node*> out;
  std::vector<const ir::Value*> todo = {v};
  while (!todo.empty() && out.size() < 16) {
    const ir::Value* at = todo.back();
    todo.pop_back();
    const ir::Node* p = at->producer();
    if (!p || std::find(out.begin(), out.end(), p) != out.end()) continue;
    out.push_back(p);
    for (const ir::Value* in : p->inputs())
      if (in && !in->is_constant()) todo.push_back(in);
  }
  return out;
}

const ir::Tensor* constant_input(const ir::Node* n, size_t i) {
  const ir::Value* v = n->input(i);
  return v && v->is_constant() ? &v->constant() : nullptr;
}

std::string palette_form(const ir::Node* gather, const std::vector<const ir::Node*>& chain) {
  const ir::Tensor* table = constant_input(gather, 0);
  // A float16 table behind a Cast.
  const ir::Value* t = gather->input(0);
  if (!table && t && t->producer() && t->producer()->op_type == "Cast") table = constant_input(t->producer(), 0);
  int64_t entries = table ? table->numel() : 0, groups = 1;
  for (const ir::Node* n : chain)
    if (n->op_type == "Add")
      for (size_t i = 0; i < 2; ++i)
        if (const ir::Tensor* off = constant_input(n, i)) {
          auto v = off->as_int64();
          groups = static_cast<int64_t>(std::set<int64_t>(v.begin(), v.end()).size());
        }
  int64_t per_group = std::max<int64_t>(entries / std::max<int64_t>(groups, 1), 1), bits = 1;
  while ((int64_t{1} << bits) < per_group) ++bits;
  return fmt::format("palette-{}bit", bits);
}

// "int8-dq", or "int8-dq-<N>bit" when every step fits an N-bit signed integer
// (quantize(int8, weights-only, bits=N): int8 storage, a smaller download).
std::string int8_form(const ir::Tensor& q) {
  int largest = 0;
  for (int8_t x : q.span<int8_t>()) largest = std::max(largest, std::abs(static_cast<int>(x)));
  int bits = 2;
  while (bits < 8 && largest > (1 << (bits - 1)) - 1) ++bits;
  return bits < 8 ? fmt::format("int8-dq-{}bit", bits) : "int8-dq";
}

std::string form_of(const ir::Value* v) {
  if (v->is_constant()) {
    ir::DataType t = v->constant().dtype();
    return t == ir::DataType::kFloat ? "float32" : std::string(ir::name(t));
  }
  auto chain = decoders_of(v);
  for (const ir::Node* n : chain)
    if (n->op_type == "Gather") return palette_form(n, chain);
  for (const ir::Node* n : chain)
    if (n->op_type == "DequantizeLinear") {
      const ir::Tensor* x = constant_input(n, 0);
      if (x && ir::is_4bit(x->dtype())) return n->attr_int("block_size", 0) > 0 ? "int4-block" : "int4-dq";
      if (x && x->dtype() == ir::DataType::kInt8) return int8_form(*x);
      return x ? fmt::format("{}-dq", ir::name(x->dtype())) : "dq";
    }
  for (const ir::Node* n : chain)
    if (n->op_type == "Cast")
      if (const ir::Tensor* x = constant_input(n, 0)) {
        if (x->dtype() == ir::DataType::kFloat16) return "float16";
        if (x->dtype() == ir::DataType::kInt8) return int8_form(*x);  // Cast * scale below opset 13
        if (x->dtype() == ir::DataType::kUint8) return "uint8-dq";
      }
  return "decoded";
}

std::string float_reason(const Reach& r, int64_t parameters) {
  if (!r.user || !is_weight_op(r.user->op_type)) return "not a weight";
  if (r.input == 2) return "bias";
  if (r.input != 1) return "not a weight";
  const ir::Tensor& w = r.value->constant();
  if (r.user->op_type == "Conv" && r.user->attr_int("group", 1) > 1 && w.rank() >= 3 && w.dims()[1] == 1)
    return "weight, depthwise";
  const ir::Value* x = r.user->input(0);
  if (r.user->op_type == "Conv" && x && x->is_graph_input() && !x->is_constant()) return "weight, first layer";
  if (parameters < 16) return "weight, small";
  return "weight";
}

}  // namespace

std::vector<TensorStorage> storage_by_tensor(const ir::Model& model) {
  std::vector<TensorStorage> out;
  std::vector<std::string> bytes;  // the stored bytes of each entry, concatenated
  ir::for_each_graph(*model.graph, [&](const ir::Graph& g) {
    std::set<const ir::Value*> derived = ir::constant_derived_values(g);
    std::map<const ir::Value*, size_t> index;
    std::vector<Reach> reaches;  // of this graph's entries, from out[base] on
    size_t base = out.size();
    for (const ir::Value* v : g.constants()) {
      Reach r = follow(v, derived);
      auto [it, fresh] = index.emplace(r.value, out.size());
      if (fresh) {
        TensorStorage s;
        s.name = r.value->name();
        s.op = r.user ? r.user->op_type : "";
        s.input = r.input;
        out.push_back(s);
        bytes.emplace_back();
        reaches.push_back(r);
      }
      const ir::Tensor& t = v->constant();
      TensorStorage& s = out[it->second];
      s.parameters = std::max(s.parameters, t.numel());
      if (t.dtype() == ir::DataType::kString) {
        for (const auto& str : t.string_values()) bytes[it->second] += str;
      } else {
        bytes[it->second].append(reinterpret_cast<const char*>(t.raw()), t.byte_size());
      }
    }
    for (const auto& [value, k] : index) {
      out[k].form = form_of(value);
      if (out[k].form == "float32") out[k].float_reason = float_reason(reaches[k - base], out[k].parameters);
    }
  });
  for (size_t k = 0; k < out.size(); ++k) {
    out[k].raw_bytes = static_cast<int64_t>(bytes[k].size());
    out[k].deflate_bytes = deflate_size(bytes[k]);
  }
  std::vector<size_t> order(out.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return out[a].deflate_bytes > out[b].deflate_bytes; });
  std::vector<TensorStorage> sorted;
  for (size_t k : order) sorted.push_back(out[k]);
  return sorted;
}

}  // namespace pare::metrics
