#include "passes/content_hash.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

#include "lib/base/error.h"
#include "lib/base/sha256.h"

namespace pare::passes {
namespace {

void append_tensor(std::string& s, const ir::Tensor& t) {
  s += fmt::format("{}[{}]", static_cast<int>(t.dtype()), fmt::join(t.dims(), ","));
  if (t.dtype() == ir::DataType::kString) {
    for (const auto& v : t.string_values()) s += fmt::format("{}:{}", v.size(), v);
  } else {
    // A 64-bit hash of the bytes, not SHA-256: tune hashes every constant of
    // every one-layer variant (PP-OCRv4 det: 4.7 MB, 18 ms each in SHA-256),
    // and share runs what it matched bit for bit before it writes anything.
    std::string_view bytes(reinterpret_cast<const char*>(t.raw()), t.byte_size());
    s += fmt::format("{}:{:x}", bytes.size(), std::hash<std::string_view>{}(bytes));
  }
}

// The attributes in a form that does not depend on their order in the file;
// floats by their bits, so -0 and 0, or two NaNs, are told apart exactly.
std::string canonical_attributes(const ir::Node& n) {
  std::vector<const ir::Attribute*> attrs;
  for (const auto& a : n.attrs) attrs.push_back(&a);
  std::sort(attrs.begin(), attrs.end(), [](auto* a, auto* b) { return a->name < b->name; });
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
  };
  std::string s;
  for (const ir::Attribute* a : attrs) {
    s += fmt::format("{}:{}=", a->name, static_cast<int>(a->kind));
    s += fmt::format("{:x}|{}|{}:{}|", bits(a->f), a->i, a->s.size(), a->s);
    for (float f : a->floats) s += fmt::format("{:x},", bits(f));
    s += fmt::format("|{}|", fmt::join(a->ints, ","));
    for (const auto& str : a->strings) s += fmt::format("{}:{},", str.size(), str);
    if (a->kind == ir::Attribute::Kind::kTensor) append_tensor(s, a->t);
    for (const auto& t : a->tensors) append_tensor(s, t);
    s += ";";
  }
  return s;
}

bool has_subgraph(const ir::Node& n) { return !n.subgraphs().empty(); }
}  // namespace

const std::string& ContentHasher::of(const ir::Value* v) {
  auto it = values_.find(v);
  if (it != values_.end()) return it->second;
  std::string s;
  if (v->is_constant()) {
    s = "const|";
    append_tensor(s, v->constant());
  } else if (!v->producer()) {
    s = fmt::format("input|{}|{}|{}", v->name(), static_cast<int>(v->dtype), v->shape ? v->shape->str() : "?");
  } else {
    s = fmt::format("{}#{}", of(v->producer()), v->producer_index());
  }
  return values_[v] = sha256_hex(s);
}

const std::string& ContentHasher::of(const ir::Node* n) {
  auto it = nodes_.find(n);
  if (it != nodes_.end()) return it->second;
  std::string s;
  if (has_subgraph(*n) || n->owner() != model_.graph.get()) {
    // Never matched: unique to this model and node.
    s = fmt::format("unshared|{}|{}", index_, static_cast<const void*>(n));
  } else {
    int64_t opset = with_opset_ ? model_.opset(n->domain) : 0;
    s = fmt::format("node|{}|{}|{}|{}|", n->op_type, n->domain, opset, canonical_attributes(*n));
    for (const ir::Value* in : n->inputs()) s += (in ? of(in) : std::string("-")) + ",";
  }
  return nodes_[n] = sha256_hex(s);
}

}  // namespace pare::passes
