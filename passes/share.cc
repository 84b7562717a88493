#include "passes/share.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "lib/base/error.h"
#include "passes/content_hash.h"
#include "passes/cut.h"

namespace pare::passes {
namespace {

// The plan's view of one model: which of its nodes are shared, and which
// trunk-side values its own nodes (or its outputs) read.
struct ModelSide {
  std::set<const ir::Node*> shared;
  std::vector<const ir::Value*> boundary;  // in node order
};

ModelSide side_of(const ir::Model& m, ContentHasher& h, const std::set<std::string>& shared_hashes) {
  ModelSide side;
  for (const auto& n : m.graph->nodes())
    if (shared_hashes.count(h.of(n.get()))) side.shared.insert(n.get());
  for (const auto& n : m.graph->nodes()) {
    if (!side.shared.count(n.get())) continue;
    for (const ir::Value* v : n->outputs()) {
      if (!v) continue;
      bool read_outside = v->is_graph_output();
      for (const ir::Use& u : v->uses()) read_outside = read_outside || !side.shared.count(u.node);
      if (read_outside) side.boundary.push_back(v);
    }
  }
  return side;
}

// Hashes that name a trunk output, with that output's name (set by plan_sharing).
using TrunkNames = std::map<std::string, std::string>;

// What plan_sharing computed beyond the public plan, recomputed from the models
// where needed (hashing is deterministic, so head and trunk agree).
struct Analysis {
  std::set<std::string> shared_hashes;
  TrunkNames trunk_names;
};

Analysis analyse(const std::vector<const ir::Model*>& models) {
  Analysis a;
  std::map<std::string, std::set<size_t>> models_of;
  for (size_t i = 0; i < models.size(); ++i) {
    ContentHasher h(*models[i], i);
    for (const auto& n : models[i]->graph->nodes()) models_of[h.of(n.get())].insert(i);
  }
  for (const auto& [hash, in] : models_of)
    if (in.size() >= 2) a.shared_hashes.insert(hash);
  std::set<std::string> used;
  for (size_t i = 0; i < models.size(); ++i) {
    ContentHasher h(*models[i], i);
    for (const ir::Value* v : side_of(*models[i], h, a.shared_hashes).boundary) {
      const std::string& hash = h.of(v);
      if (a.trunk_names.count(hash)) continue;
      std::string name = v->name();
      for (int k = 1; used.count(name); ++k) name = fmt::format("{}_{}", v->name(), k);
      used.insert(name);
      a.trunk_names[hash] = name;
    }
  }
  return a;
}

// The opset each domain of the shared nodes needs; one version per domain.
std::map<std::string, int64_t> trunk_opsets(const std::vector<const ir::Model*>& models, const Analysis& a) {
  std::map<std::string, int64_t> versions;
  for (size_t i = 0; i < models.size(); ++i) {
    ContentHasher h(*models[i], i);
    for (const auto& n : models[i]->graph->nodes()) {
      if (!a.shared_hashes.count(h.of(n.get()))) continue;
      std::string domain = n->domain == "ai.onnx" ? "" : n->domain;
      int64_t v = models[i]->opset(n->domain);
      auto [it, fresh] = versions.emplace(domain, v);
      if (!fresh && it->second != v)
        fail("the models import opset {} and {} of domain '{}'; raise them to one version first (the opset pass)",
             it->second, v, domain.empty() ? "ai.onnx" : domain);
    }
  }
  return versions;
}

}  // namespace

SharePlan plan_sharing(const std::vector<const ir::Model*>& models) {
  if (models.size() < 2) fail("sharing needs at least two models, got {}", models.size());
  Analysis a = analyse(models);
  trunk_opsets(models, a);  // refuses mixed opsets early
  SharePlan plan;
  plan.shared_nodes = 0;
  std::set<std::string> counted;
  for (size_t i = 0; i < models.size(); ++i) {
    ContentHasher h(*models[i], i);
    ModelSide side = side_of(*models[i], h, a.shared_hashes);
    for (const ir::Node* n : side.shared) counted.insert(h.of(n));
    std::map<std::string, std::string> reads;
    for (const ir::Value* v : side.boundary) reads[a.trunk_names.at(h.of(v))] = v->name();
    plan.head_inputs.push_back(std::move(reads));
  }
  plan.shared_nodes = counted.size();
  // Trunk outputs in the order the models first name them.
  std::set<std::string> seen;
  for (size_t i = 0; i < models.size(); ++i) {
    ContentHasher h(*models[i], i);
    for (const ir::Value* v : side_of(*models[i], h, a.shared_hashes).boundary) {
      const std::string& name = a.trunk_names.at(h.of(v));
      if (seen.insert(name).second) plan.trunk_outputs.push_back(name);
    }
  }
  return plan;
}

ir::Model build_trunk(const std::vector<const ir::Model*>& models, const SharePlan& plan) {
  Analysis a = analyse(models);
  ir::Model trunk;
  for (const auto& [domain, version] : trunk_opsets(models, a)) trunk.opsets.push_back({domain, version});
  if (trunk.opset("") == 0) trunk.opsets.insert(trunk.opsets.begin(), {"", models[0]->opset("")});
  for (const ir::Model* m : models) trunk.ir_version = std::max(trunk.ir_version, m->ir_version);
  trunk.producer_name = "pare";
  trunk.graph->name = "trunk";
  ir::Graph& g = *trunk.graph;

  std::set<std::string> names;
  for (const auto& [hash, name] : a.trunk_names) names.insert(name);
  auto fresh_name = [&](const std::string& base) {
    std::string n = base;
    for (int k = 1; names.count(n); ++k) n = fmt::format("{}_{}", base, k);
    names.insert(n);
    return n;
  };
  std::map<std::string, ir::Value*> by_hash;  // trunk values by content hash
  auto trunk_value_for = [&](const ir::Value* v, ContentHasher& h) -> ir::Value* {
    const std::string& hash = h.of(v);
    if (auto it = by_hash.find(hash); it != by_hash.end()) return it->second;
    ir::Value* t;
    if (v->is_constant()) {
      t = g.add_constant(fresh_name(v->name()), v->constant());
    } else {
      PARE_CHECK(!v->producer(), "shared node reads '{}', which no shared node computes", v->name());
      t = g.add_value(fresh_name(v->name()));
      t->dtype = v->dtype;
      t->shape = v->shape;
      t->has_value_info = true;
      g.inputs.push_back(t);
    }
    return by_hash[hash] = t;
  };

  for (size_t i = 0; i < models.size(); ++i) {
    ContentHasher h(*models[i], i);
    for (const auto& n : models[i]->graph->nodes()) {
      const std::string& nh = h.of(n.get());
      if (!a.shared_hashes.count(nh) || by_hash.count(nh)) continue;
      by_hash[nh] = nullptr;  // the node itself is placed
      std::vector<ir::Value*> ins;
      for (const ir::Value* in : n->inputs()) ins.push_back(in ? trunk_value_for(in, h) : nullptr);
      std::vector<std::string> outs;
      for (const ir::Value* o : n->outputs()) {
        if (!o) {
          outs.push_back("");
          continue;
        }
        auto named = a.trunk_names.find(h.of(o));
        outs.push_back(named != a.trunk_names.end() ? named->second : fresh_name(o->name()));
      }
      ir::Node* copy = g.add_node(n->op_type, ins, outs, n->domain);
      copy->name = n->name;
      copy->doc_string = n->doc_string;
      copy->attrs = n->attrs;
      for (size_t k = 0; k < n->outputs().size(); ++k) {
        const ir::Value* o = n->output(k);
        if (!o) continue;
        ir::Value* c = copy->output(k);
        c->dtype = o->dtype;
        c->shape = o->shape;
        c->has_value_info = o->has_value_info;
        by_hash[h.of(o)] = c;
      }
    }
  }
  for (const std::string& name : plan.trunk_outputs) {
    ir::Value* v = g.find_value(name);
    PARE_CHECK(v, "trunk output '{}' was not built", name);
    g.outputs.push_back(v);
  }
  g.compact();
  cut(trunk, {}, {});  // types of the outputs the models did not declare, from one run
  return trunk;
}

void make_head(ir::Model& model, const SharePlan& plan, size_t index) {
  PARE_CHECK(index < plan.head_inputs.size(), "no model {} in the plan", index);
  ir::Graph& g = *model.graph;
  // The names this model gives the trunk outputs it reads; by value, as renames follow.
  std::vector<std::pair<ir::Value*, std::string>> reads;  // value, trunk name
  for (const auto& [trunk_name, own] : plan.head_inputs[index]) {
    ir::Value* v = g.find_value(own);
    PARE_CHECK(v, "head {} has no value '{}'", index, own);
    reads.emplace_back(v, trunk_name);
  }
  // A model output the trunk computes: the head passes it on through an Identity.
  for (auto& [v, trunk_name] : reads) {
    if (!v->is_graph_output()) continue;
    std::string name = v->name();
    g.rename(v, g.unique_name(name + "_from_trunk"));
    ir::Node* id = g.add_node("Identity", {v}, {name});
    id->output(0)->dtype = v->dtype;
    id->output(0)->shape = v->shape;
    std::replace(g.outputs.begin(), g.outputs.end(), v, id->output(0));
  }
  // The head's inputs: the trunk outputs it reads, and the original inputs its
  // own nodes read (found walking back from the outputs, stopping at the trunk).
  std::set<const ir::Value*> boundary, seen;
  for (auto& [v, trunk_name] : reads) boundary.insert(v);
  std::vector<std::string> inputs;
  for (auto& [v, trunk_name] : reads) inputs.push_back(v->name());
  std::set<std::string> original_inputs;
  std::vector<const ir::Value*> stack(g.outputs.begin(), g.outputs.end());
  while (!stack.empty()) {
    const ir::Value* v = stack.back();
    stack.pop_back();
    if (!v || boundary.count(v) || !seen.insert(v).second || v->is_constant()) continue;
    const ir::Node* n = v->producer();
    if (!n) {
      original_inputs.insert(v->name());
      continue;
    }
    for (const ir::Value* in : n->inputs()) stack.push_back(in);
    for (const ir::Graph* body : n->subgraphs())
      for (const ir::Value* c : body->captured_values()) stack.push_back(c);
  }
  for (const ir::Value* in : g.inputs)
    if (original_inputs.count(in->name())) inputs.push_back(in->name());
  cut(model, inputs, {});
  // Head inputs take their trunk names; a value of the head already so named moves aside.
  for (auto& [v, trunk_name] : reads) {
    if (v->name() == trunk_name) continue;
    if (ir::Value* other = g.find_value(trunk_name)) g.rename(other, g.unique_name(trunk_name + "_head"));
    g.rename(v, trunk_name);
  }
}

}  // namespace pare::passes
