#include "lib/ir/graph.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "lib/base/error.h"

namespace pare::ir {

// ---------- Value ----------

const Tensor& Value::constant() const {
  PARE_CHECK(constant_.has_value(), "value '{}' is not a constant", name_);
  return *constant_;
}

void Value::set_constant(Tensor t) {
  dtype = t.dtype();
  shape = Shape::of(t.dims());
  constant_ = std::move(t);
  if (constant_origin == ConstantOrigin::kNone) constant_origin = ConstantOrigin::kInitializer;
}

bool Value::is_graph_input() const {
  return owner_ && std::find(owner_->inputs.begin(), owner_->inputs.end(), this) != owner_->inputs.end();
}

bool Value::is_graph_output() const {
  return owner_ && std::find(owner_->outputs.begin(), owner_->outputs.end(), this) != owner_->outputs.end();
}

// ---------- Node ----------

const Attribute* Node::attr(std::string_view n) const {
  for (const auto& a : attrs)
    if (a.name == n) return &a;
  return nullptr;
}

int64_t Node::attr_int(std::string_view n, int64_t def) const {
  const Attribute* a = attr(n);
  return a ? a->i : def;
}

float Node::attr_float(std::string_view n, float def) const {
  const Attribute* a = attr(n);
  return a ? a->f : def;
}

std::string Node::attr_string(std::string_view n, std::string def) const {
  const Attribute* a = attr(n);
  return a ? a->s : def;
}

std::vector<int64_t> Node::attr_ints(std::string_view n, std::vector<int64_t> def) const {
  const Attribute* a = attr(n);
  return a ? a->ints : def;
}

std::vector<float> Node::attr_floats(std::string_view n, std::vector<float> def) const {
  const Attribute* a = attr(n);
  return a ? a->floats : def;
}

void Node::set_attr(Attribute a) {
  for (auto& existing : attrs) {
    if (existing.name == a.name) {
      existing = std::move(a);
      return;
    }
  }
  attrs.push_back(std::move(a));
}

void Node::remove_attr(std::string_view n) {
  attrs.erase(std::remove_if(attrs.begin(), attrs.end(), [&](const Attribute& a) { return a.name == n; }),
              attrs.end());
}

std::vector<Graph*> Node::subgraphs() const {
  std::vector<Graph*> out;
  for (const auto& a : attrs) {
    if (a.kind == Attribute::Kind::kGraph && a.g) out.push_back(a.g.get());
    if (a.kind == Attribute::Kind::kGraphs)
      for (const auto& g : a.graphs) out.push_back(g.get());
  }
  return out;
}

std::string Node::describe() const {
  if (name.empty()) return fmt::format("#{} ({})", order_, op_type);
  return fmt::format("'{}' ({})", name, op_type);
}

// ---------- Graph: construction ----------

Graph* Graph::root() {
  Graph* g = this;
  while (g->parent_) g = g->parent_;
  return g;
}

std::vector<Node*> Graph::nodes_snapshot() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_)
    if (!n->dead_) out.push_back(n.get());
  return out;
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> out;
  for (const auto& v : values_)
    if (!v->dead_) out.push_back(v.get());
  return out;
}

std::vector<Value*> Graph::constants() const {
  std::vector<Value*> out;
  for (const auto& v : values_)
    if (!v->dead_ && v->is_constant()) out.push_back(v.get());
  return out;
}

Value* Graph::add_value(const std::string& name) {
  auto v = std::make_unique<Value>();
  v->name_ = name;
  v->owner_ = this;
  register_name(name);
  values_.push_back(std::move(v));
  return values_.back().get();
}

Value* Graph::add_constant(const std::string& name, Tensor t, ConstantOrigin origin) {
  Value* v = add_value(name);
  v->constant_origin = origin;
  v->set_constant(std::move(t));
  return v;
}

Node* Graph::add_node(std::string op_type, std::vector<Value*> inputs, const std::vector<std::string>& output_names,
                      std::string domain) {
  std::vector<Value*> outs;
  for (const auto& n : output_names) outs.push_back(n.empty() ? nullptr : add_value(n));
  return add_node_with_outputs(std::move(op_type), std::move(inputs), std::move(outs), std::move(domain));
}

Node* Graph::add_node_with_outputs(std::string op_type, std::vector<Value*> inputs, std::vector<Value*> outputs,
                                   std::string domain) {
  auto n = std::make_unique<Node>();
  n->op_type = std::move(op_type);
  n->domain = std::move(domain);
  n->owner_ = this;
  n->order_ = nodes_.size();
  Node* node = n.get();
  nodes_.push_back(std::move(n));
  for (Value* v : inputs) append_input(node, v);
  for (size_t i = 0; i < outputs.size(); ++i) {
    Value* v = outputs[i];
    if (v) {
      PARE_CHECK(v->producer_ == nullptr, "value '{}' already has a producer", v->name());
      v->producer_ = node;
      v->producer_index_ = i;
    }
  }
  node->outputs_ = std::move(outputs);
  return node;
}

// ---------- Graph: editing ----------

namespace {
void remove_use(Value* v, Node* n, size_t index) {
  if (!v) return;
  auto& uses = const_cast<std::vector<Use>&>(v->uses());
  // Searched from the back: passes erase consumers last to first (dce), and
  // uses are recorded in node order, so the use is found (and erased) at the
  // end in O(1) instead of O(fan-out), which made dce quadratic on a value with
  // 200,000 consumers.
  auto it = std::find(uses.rbegin(), uses.rend(), Use{n, index});
  PARE_CHECK(it != uses.rend(), "use list of '{}' is missing {}", v->name(), n->describe());
  uses.erase(std::next(it).base());
}
}  // namespace

void Graph::set_input(Node* n, size_t index, Value* v) {
  PARE_CHECK(index < n->inputs_.size(), "input {} out of range for {}", index, n->describe());
  remove_use(n->inputs_[index], n, index);
  n->inputs_[index] = v;
  if (v) v->uses_.push_back(Use{n, index});
}

void Graph::append_input(Node* n, Value* v) {
  n->inputs_.push_back(v);
  if (v) v->uses_.push_back(Use{n, n->inputs_.size() - 1});
}

void Graph::replace_all_uses(Value* from, Value* to, bool allow_output_rename) {
  if (from == to) return;
  bool is_output = false;
  for_each_graph(*from->owner_, [&](Graph& g) {
    for (Value* o : g.outputs) is_output = is_output || o == from;
  });
  if (is_output && !allow_output_rename)
    throw Error(fmt::format("cannot replace '{}': it is a graph output", from->name()));
  for (const Use& u : std::vector<Use>(from->uses_)) {
    u.node->inputs_[u.index] = to;
    to->uses_.push_back(u);
  }
  from->uses_.clear();
  if (is_output)
    for_each_graph(*from->owner_, [&](Graph& g) {
      for (Value*& o : g.outputs)
        if (o == from) o = to;
    });
}

void Graph::erase(Node* n) {
  PARE_CHECK(n->owner_ == this && !n->dead_, "erase of a node not live in this graph");
  for (Value* out : n->outputs_) {
    if (!out) continue;
    PARE_CHECK(out->uses_.empty() && !out->is_graph_output(), "erasing {} whose output '{}' is still used",
               n->describe(), out->name());
    out->dead_ = true;
  }
  for (size_t i = 0; i < n->inputs_.size(); ++i) remove_use(n->inputs_[i], n, i);
  // Nodes inside the erased node's subgraphs may use outer values: unlink those uses too.
  for (Graph* sub : n->subgraphs()) {
    for_each_graph(*sub, [&](Graph& g) {
      for (const auto& inner : g.nodes_)
        for (size_t i = 0; i < inner->inputs_.size(); ++i) {
          Value* v = inner->inputs_[i];
          if (v && v->owner_ != &g) {
            bool inside = false;
            for (Graph* o = v->owner_; o; o = o->parent_) inside = inside || o == sub;
            if (!inside) remove_use(v, inner.get(), i);
          }
        }
    });
  }
  n->dead_ = true;
}

void Graph::erase_value(Value* v) {
  PARE_CHECK(v->owner_ == this, "erase_value of '{}' from another graph", v->name());
  PARE_CHECK(v->uses_.empty() && !v->is_graph_output() && !v->producer_, "erase_value of '{}' still in use",
             v->name());
  inputs.erase(std::remove(inputs.begin(), inputs.end(), v), inputs.end());
  v->dead_ = true;
}

bool Graph::erase_if_unused(Value* v) {
  if (!v || v->owner_ != this || v->dead_ || v->producer_ || !v->uses_.empty() || v->is_graph_input() ||
      v->is_graph_output())
    return false;
  erase_value(v);
  return true;
}

void Graph::make_constant(Value* v, Tensor t) {
  PARE_CHECK(v->owner_ == this, "make_constant of '{}' from another graph", v->name());
  if (Node* p = v->producer_) p->outputs_[v->producer_index_] = nullptr;
  v->producer_ = nullptr;
  v->producer_index_ = 0;
  v->constant_origin = ConstantOrigin::kInitializer;
  v->set_constant(std::move(t));
}

void Graph::make_input(Value* v) {
  PARE_CHECK(v->owner_ == this && !v->is_constant(), "make_input of '{}'", v->name());
  if (Node* p = v->producer_) p->outputs_[v->producer_index_] = nullptr;
  v->producer_ = nullptr;
  v->producer_index_ = 0;
  if (!v->is_graph_input()) inputs.push_back(v);
}

void Graph::rename(Value* v, const std::string& new_name) {
  v->name_ = new_name;
  root()->register_name(new_name);
}

// ---------- Graph: ordering ----------

std::vector<Value*> Graph::captured_values() const {
  std::vector<Value*> out;
  std::unordered_set<Value*> seen;
  auto is_inside = [this](const Graph* g) {
    for (; g; g = g->parent_)
      if (g == this) return true;
    return false;
  };
  for_each_graph(*this, [&](const Graph& g) {
    for (const auto& n : g.nodes_) {
      if (n->dead_) continue;
      for (Value* v : n->inputs_)
        if (v && !is_inside(v->owner_) && seen.insert(v).second) out.push_back(v);
    }
    for (Value* v : g.outputs)
      if (v && !is_inside(v->owner_) && seen.insert(v).second) out.push_back(v);
  });
  return out;
}

void Graph::compact() {
  nodes_.erase(std::remove_if(nodes_.begin(), nodes_.end(), [](const auto& n) { return n->dead_; }), nodes_.end());
  values_.erase(std::remove_if(values_.begin(), values_.end(), [](const auto& v) { return v->dead_; }),
                values_.end());

  // Dependencies of each node inside this graph, including captures of its subgraphs.
  std::unordered_map<Node*, std::vector<Node*>> deps;
  for (const auto& n : nodes_) {
    auto& d = deps[n.get()];
    for (Value* v : n->inputs_)
      if (v && v->producer_ && v->producer_->owner_ == this) d.push_back(v->producer_);
    for (Graph* sub : n->subgraphs())
      for (Value* v : sub->captured_values())
        if (v->producer_ && v->producer_->owner_ == this) d.push_back(v->producer_);
  }

  // Depth-first, in current order: a node is emitted right after the last of its
  // inputs' producers, so untouched parts keep their order and new nodes land
  // just before their first consumer.
  enum State : uint8_t { kNew, kActive, kDone };
  std::unordered_map<Node*, State> state;
  std::vector<Node*> order;
  order.reserve(nodes_.size());
  std::vector<std::pair<Node*, size_t>> stack;
  for (const auto& start : nodes_) {
    if (state[start.get()] != kNew) continue;
    stack.push_back({start.get(), 0});
    state[start.get()] = kActive;
    while (!stack.empty()) {
      auto& [cur, next] = stack.back();
      const auto& d = deps[cur];
      if (next < d.size()) {
        Node* dep = d[next++];
        if (state[dep] == kActive)
          throw Error(fmt::format("graph '{}' has a cycle through node {}", name, dep->describe()));
        if (state[dep] == kNew) {
          state[dep] = kActive;
          stack.push_back({dep, 0});
        }
      } else {
        state[cur] = kDone;
        order.push_back(cur);
        stack.pop_back();
      }
    }
  }
  std::unordered_map<Node*, std::unique_ptr<Node>> owned;
  for (auto& n : nodes_) owned[n.get()] = std::move(n);
  nodes_.clear();
  for (Node* n : order) {
    n->order_ = nodes_.size();
    nodes_.push_back(std::move(owned[n]));
  }
}

// ---------- Graph: names ----------

Value* Graph::find_value(const std::string& n) const {
  for (const Graph* g = this; g; g = g->parent_)
    for (const auto& v : g->values_)
      if (!v->dead_ && v->name_ == n) return v.get();
  return nullptr;
}

Value* Graph::find_value_deep(const std::string& n) const {
  Value* found = nullptr;
  for_each_graph(*this, [&](const Graph& g) {
    for (const auto& v : g.values_)
      if (!found && !v->dead_ && v->name_ == n) found = v.get();
  });
  return found;
}

void Graph::register_name(const std::string& n) {
  Graph* r = root();
  if (r->names_collected_) r->names_.insert(n);
}

bool Graph::name_taken(const std::string& n) {
  Graph* r = root();
  if (!r->names_collected_) {
    for_each_graph(*r, [&](const Graph& g) {
      for (const auto& v : g.values_) r->names_.insert(v->name_);
      for (const auto& node : g.nodes_)
        if (!node->name.empty()) r->names_.insert(node->name);
    });
    r->names_collected_ = true;
  }
  return r->names_.count(n) > 0;
}

std::string Graph::unique_name(const std::string& base) {
  Graph* r = root();
  std::string candidate = base;
  int& counter = r->name_counters_[base];
  while (name_taken(candidate)) candidate = base + "_" + std::to_string(++counter);
  r->names_.insert(candidate);
  return candidate;
}

// ---------- Model ----------

int64_t Model::opset(std::string_view d) const {
  bool want_default = d.empty() || d == "ai.onnx";
  for (const auto& o : opsets) {
    bool is_default = o.domain.empty() || o.domain == "ai.onnx";
    if ((want_default && is_default) || (!want_default && o.domain == d)) return o.version;
  }
  return 0;
}

std::string Model::metadata_value(std::string_view key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return v;
  return "";
}

void Model::set_metadata(const std::string& key, const std::string& value) {
  for (auto& [k, v] : metadata)
    if (k == key) {
      v = value;
      return;
    }
  metadata.emplace_back(key, value);
}

std::string node_label(const Node& n) {
  if (!n.name.empty() || n.outputs().empty() || !n.output(0)) return n.name;
  return n.output(0)->name();
}

void for_each_graph(Graph& g, const std::function<void(Graph&)>& fn) {
  fn(g);
  for (const auto& n : g.nodes())
    if (!n->is_dead())
      for (Graph* sub : n->subgraphs()) for_each_graph(*sub, fn);
}

void for_each_graph(const Graph& g, const std::function<void(const Graph&)>& fn) {
  fn(g);
  for (const auto& n : g.nodes())
    if (!n->is_dead())
      for (Graph* sub : n->subgraphs()) for_each_graph(static_cast<const Graph&>(*sub), fn);
}

std::set<const Value*> constant_derived_values(const Graph& g) {
  std::set<const Value*> out;
  for (const auto& n : g.nodes()) {
    if (n->is_dead() || n->inputs().empty() || !n->subgraphs().empty()) continue;
    bool all = true;
    for (const Value* in : n->inputs()) all = all && (!in || in->is_constant() || out.count(in));
    if (all)
      for (const Value* o : n->outputs())
        if (o) out.insert(o);
  }
  return out;
}

}  // namespace pare::ir
