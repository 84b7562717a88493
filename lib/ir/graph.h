// The one in-memory model: Model, Graph, Node, Value.
//
// Values are edges with one producer (a node output, a graph input, or a
// constant) and a list of uses. Initializers and Constant nodes both load as
// constant Values; `constant_origin` remembers which, so a save writes each back
// the way it came. Subgraphs (If, Loop, Scan bodies) are Graphs held in graph
// attributes; a node inside a subgraph may use a Value owned by an outer graph
// (a capture), and that use is recorded on the outer Value like any other.
//
// Editing rules (see docs/design.md):
// - iterate over nodes_snapshot() when editing;
// - add_node appends; erase(node) unlinks its inputs at once and frees later;
// - compact() frees dead nodes and values and stably re-sorts topologically;
// - replace_all_uses refuses to rename a graph output;
// - generated names come from unique_name(base): base, base_1, base_2...
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lib/ir/attr.h"
#include "lib/ir/shape.h"
#include "lib/ir/tensor.h"

namespace pare::ir {

class Graph;
class Node;

struct Use {
  Node* node;
  size_t index;  // which input of `node`
  bool operator==(const Use&) const = default;
};

enum class ConstantOrigin { kNone, kInitializer, kConstantNode };

class Value {
 public:
  const std::string& name() const { return name_; }
  Graph* owner() const { return owner_; }
  Node* producer() const { return producer_; }
  size_t producer_index() const { return producer_index_; }
  const std::vector<Use>& uses() const { return uses_; }

  DataType dtype = DataType::kUndefined;
  std::optional<Shape> shape;  // empty: rank unknown
  std::string doc_string;
  // True if the value had a value_info entry (or is a graph input/output): saved back as such.
  bool has_value_info = false;

  bool is_constant() const { return constant_.has_value(); }
  const Tensor& constant() const;
  // Makes this value a constant (or replaces its tensor); dtype and shape follow the tensor.
  void set_constant(Tensor t);
  ConstantOrigin constant_origin = ConstantOrigin::kNone;
  // For a Constant-node origin: the node's name, doc string and value attribute name.
  std::string constant_node_name, constant_node_doc, constant_attr = "value";

  bool is_graph_input() const;
  bool is_graph_output() const;

 private:
  friend class Graph;
  std::string name_;
  Graph* owner_ = nullptr;
  Node* producer_ = nullptr;
  size_t producer_index_ = 0;
  std::vector<Use> uses_;
  std::optional<Tensor> constant_;
  bool dead_ = false;
};

class Node {
 public:
  std::string op_type;
  std::string domain;  // "" is the default ONNX domain ("ai.onnx")
  std::string name;
  std::string doc_string;
  std::vector<Attribute> attrs;  // in source order

  Graph* owner() const { return owner_; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  // nullptr when the input is absent (past the end or an omitted optional "").
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  bool is_dead() const { return dead_; }

  const Attribute* attr(std::string_view n) const;
  bool has_attr(std::string_view n) const { return attr(n) != nullptr; }
  int64_t attr_int(std::string_view n, int64_t def) const;
  float attr_float(std::string_view n, float def) const;
  std::string attr_string(std::string_view n, std::string def) const;
  std::vector<int64_t> attr_ints(std::string_view n, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(std::string_view n, std::vector<float> def = {}) const;
  void set_attr(Attribute a);  // replaces one of the same name, else appends
  void remove_attr(std::string_view n);
  std::vector<Graph*> subgraphs() const;
  // "'conv1' (Conv)" for messages; "#12 (Conv)" for an unnamed node.
  std::string describe() const;

 private:
  friend class Graph;
  Graph* owner_ = nullptr;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  bool dead_ = false;
  size_t order_ = 0;  // position at the last compact(), for messages and stable sorting
};

class Graph {
 public:
  explicit Graph(Graph* parent = nullptr, Node* owner_node = nullptr)
      : parent_(parent), owner_node_(owner_node) {}
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  std::string name;
  std::string doc_string;
  std::vector<Value*> inputs;   // in order; may include constants (old-style initializer inputs)
  std::vector<Value*> outputs;  // in order

  Graph* parent() const { return parent_; }
  Node* owner_node() const { return owner_node_; }
  void set_parent(Graph* parent, Node* owner_node) {
    parent_ = parent;
    owner_node_ = owner_node;
  }
  Graph* root();

  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  std::vector<Node*> nodes_snapshot() const;
  // All values owned by this graph, in creation order (dead ones excluded).
  std::vector<Value*> values() const;
  // Constant values owned by this graph, in creation (= file) order.
  std::vector<Value*> constants() const;

  // A new value with exactly this name (the caller ensures uniqueness; see unique_name).
  Value* add_value(const std::string& name);
  Value* add_constant(const std::string& name, Tensor t, ConstantOrigin origin = ConstantOrigin::kInitializer);
  // Appends a node; creates its outputs with the given names ("" = omitted output).
  Node* add_node(std::string op_type, std::vector<Value*> inputs, const std::vector<std::string>& output_names,
                 std::string domain = "");
  // Appends a node whose outputs already exist and have no producer.
  Node* add_node_with_outputs(std::string op_type, std::vector<Value*> inputs, std::vector<Value*> outputs,
                              std::string domain = "");

  void set_input(Node* n, size_t index, Value* v);  // v may be nullptr (omitted)
  void append_input(Node* n, Value* v);
  // Redirects every use of `from` (here and in subgraphs) to `to`. Graph outputs
  // that were `from` become `to` only if allow_output_rename; otherwise refuses.
  void replace_all_uses(Value* from, Value* to, bool allow_output_rename = false);
  // Unlinks the node's inputs and marks it dead; its outputs must have no uses left
  // unless `force` (then they become dangling and must be fixed by the caller).
  void erase(Node* n);
  // Drops a constant or other unproduced value with no uses.
  void erase_value(Value* v);
  // erase_value(v) if `v` is an unproduced value of this graph (a constant) that
  // nothing reads any more and that is no graph input or output; passes call it on
  // the constants a rewrite stopped using. Returns whether it erased.
  bool erase_if_unused(Value* v);
  // Turns a node output into a constant in place: it keeps its name and uses and
  // loses its producer (whose output slot becomes omitted). Used by folding.
  void make_constant(Value* v, Tensor t);
  // Turns a node output into a graph input (appended to `inputs`): it keeps its
  // name, type and uses and loses its producer. Used by cut.
  void make_input(Value* v);
  void rename(Value* v, const std::string& new_name);

  // Frees dead nodes and values; stably re-sorts nodes topologically (a node
  // moves only as far up as its inputs require). Throws pare::Error on a cycle.
  void compact();

  // Searches this graph, then its parents (the names a node here can see).
  Value* find_value(const std::string& name) const;
  // Searches this graph and every subgraph below it.
  Value* find_value_deep(const std::string& name) const;
  // A name no value or node in the whole model uses yet: base, base_1, base_2...
  std::string unique_name(const std::string& base);

  // Values used by nodes of this graph (or its subgraphs) that belong to an outer graph.
  std::vector<Value*> captured_values() const;

 private:
  friend class Value;
  void register_name(const std::string& n);
  bool name_taken(const std::string& n);
  Graph* parent_;
  Node* owner_node_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  // Only the root graph's copy is used: every name in the model.
  std::set<std::string> names_;
  std::map<std::string, int> name_counters_;
  bool names_collected_ = false;
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
};

class Model {
 public:
  int64_t ir_version = 8;
  std::vector<OpsetImport> opsets;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata;  // in file order
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();

  // The opset version imported for `domain` ("" and "ai.onnx" are the same), or 0.
  int64_t opset(std::string_view domain = "") const;
  std::string metadata_value(std::string_view key) const;
  void set_metadata(const std::string& key, const std::string& value);
};

// What node-name globs (skip=, only=) and reports call a node: its name, or
// its first output's name when it has none (many exporters leave node names
// empty), so every compute node can be addressed.
std::string node_label(const Node& n);

// Calls fn on `g` and then on every subgraph below it, depth first, in node order.
void for_each_graph(Graph& g, const std::function<void(Graph&)>& fn);
void for_each_graph(const Graph& g, const std::function<void(const Graph&)>& fn);

// The outputs of `g`'s nodes whose inputs are all constants or such outputs
// (nodes with subgraphs excluded): constants in disguise until `fold` runs, such as
// DequantizeLinear of an int8 weight or ConstantOfShape. Needs `g` in graph order.
std::set<const Value*> constant_derived_values(const Graph& g);

}  // namespace pare::ir
