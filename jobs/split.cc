#include "jobs/split.h"

#include <unordered_map>
#include <unordered_set>

#include "formats/onnx/onnx.h"
#include "lib/base/error.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"
#include "passes/cut.h"

namespace pare::jobs {
namespace {

// Nodes of the main graph that `v` depends on (its producer and everything above).
std::unordered_set<const ir::Node*> ancestors(const ir::Value* v) {
  std::unordered_set<const ir::Node*> seen;
  std::vector<const ir::Value*> stack = {v};
  while (!stack.empty()) {
    const ir::Value* cur = stack.back();
    stack.pop_back();
    const ir::Node* p = cur->producer();
    if (!p || !seen.insert(p).second) continue;
    for (const ir::Value* in : p->inputs())
      if (in) stack.push_back(in);
    for (const ir::Graph* sub : p->subgraphs())
      for (const ir::Value* c : sub->captured_values()) stack.push_back(c);
  }
  return seen;
}

// Values a node reads, its subgraphs' captures included.
std::vector<const ir::Value*> reads(const ir::Node& n) {
  std::vector<const ir::Value*> out;
  for (const ir::Value* in : n.inputs())
    if (in) out.push_back(in);
  for (const ir::Graph* sub : n.subgraphs())
    for (const ir::Value* c : sub->captured_values()) out.push_back(c);
  return out;
}

std::vector<SplitPart> plan_parts(ir::Model& model, const std::vector<std::string>& at) {
  const ir::Graph& g = *model.graph;
  std::vector<const ir::Value*> cuts;
  for (const auto& name : at) {
    const ir::Value* v = passes::main_graph_value(model, name);
    if (!v->producer()) fail("'{}' is a model input or a constant: there is nothing before it to split off", name);
    cuts.push_back(v);
  }
  std::unordered_map<const ir::Node*, size_t> part_of;
  for (size_t k = 0; k < cuts.size(); ++k)
    for (const ir::Node* n : ancestors(cuts[k]))
      if (!part_of.count(n)) part_of[n] = k;
  for (const auto& n : g.nodes())
    if (!part_of.count(n.get())) part_of[n.get()] = cuts.size();
  std::vector<SplitPart> parts(cuts.size() + 1);
  std::vector<std::vector<const ir::Node*>> members(parts.size());
  for (const auto& n : g.nodes()) members[part_of[n.get()]].push_back(n.get());
  for (size_t k = 0; k < parts.size(); ++k) {
    if (members[k].empty())
      fail("part {} would be empty: cut at tensors in the order the model computes them, each after the last", k);
    std::unordered_set<const ir::Value*> seen;
    for (const ir::Node* n : members[k])
      for (const ir::Value* v : reads(*n)) {
        bool from_here = v->producer() && part_of[v->producer()] == k;
        if (v->is_constant() || from_here || !seen.insert(v).second) continue;
        parts[k].inputs.push_back(v->name());
      }
  }
  // Outputs: what later parts read from this one, and the model outputs it computes.
  for (size_t k = 0; k < parts.size(); ++k) {
    std::unordered_set<std::string> want;
    for (size_t j = k + 1; j < parts.size(); ++j) want.insert(parts[j].inputs.begin(), parts[j].inputs.end());
    for (const ir::Value* o : g.outputs) want.insert(o->name());
    for (const ir::Node* n : members[k])
      for (const ir::Value* o : n->outputs())
        if (o && want.count(o->name())) parts[k].outputs.push_back(o->name());
  }
  return parts;
}

// Runs the parts in order, feeding each from a pool of named values.
void check_chain(const ir::Model& original, const std::vector<SplitPart>& parts, const std::map<std::string, int64_t>& dims) {
  rt::Session whole(original);
  auto tensors = rt::random_inputs(original, dims);
  std::map<std::string, ir::Tensor> pool;
  for (size_t i = 0; i < tensors.size(); ++i) pool[whole.input_names()[i]] = tensors[i];
  auto expected = whole.run(pool);
  for (const SplitPart& p : parts) {
    rt::Session s(p.model);
    std::map<std::string, ir::Tensor> feed;
    for (const auto& n : s.input_names()) feed[n] = pool.at(n);
    auto out = s.run(feed);
    for (size_t i = 0; i < out.size(); ++i) pool[s.output_names()[i]] = out[i];
  }
  for (size_t i = 0; i < expected.size(); ++i)
    if (!pool.at(whole.output_names()[i]).same_content(expected[i]))
      throw CheckFailed(fmt::format("the chained parts do not reproduce output '{}'", whole.output_names()[i]));
}

}  // namespace

std::vector<SplitPart> split(const std::string& path, const std::vector<std::string>& at,
                             const std::map<std::string, int64_t>& dims) {
  ir::Model original = formats::onnx::load_model(path);
  std::vector<SplitPart> parts;
  try {
    parts = plan_parts(original, at);
    std::string bytes = formats::onnx::serialize_model(original);
    for (SplitPart& p : parts) {
      p.model = formats::onnx::load_model_from_bytes(bytes, path, "");
      passes::cut(p.model, p.inputs, p.outputs, dims);
      p.bytes = formats::onnx::serialize_model(p.model);
    }
    check_chain(original, parts, dims);
  } catch (Error& e) {
    throw e.with_context(path);
  } catch (const CheckFailed& e) {
    throw CheckFailed(path + ": " + e.what());
  }
  return parts;
}

}  // namespace pare::jobs
