#include "jobs/tune_suffix.h"

#include <algorithm>
#include <set>

#include "lib/base/error.h"
#include "lib/runtime/session.h"
#include "passes/content_hash.h"
#include "passes/cut.h"

namespace pare::jobs::tune_detail {
namespace {

std::vector<std::string> probe_names(const FidelityProbe& probe) {
  std::vector<std::string> names;
  for (const auto& o : probe.steps()) names.push_back(o.output);
  for (const auto& o : probe.steps()) names.insert(names.end(), o.tensors.begin(), o.tensors.end());
  return names;
}

// Declares `v`'s dtype and rank (dims unknown) from `t` where the model does
// not, so that cut needs no run of its own to find them.
void declare_like(ir::Value& v, const ir::Tensor& t) {
  if (v.dtype == ir::DataType::kUndefined) v.dtype = t.dtype();
  if (!v.shape) v.shape = ir::Shape(std::vector<ir::Dim>(t.rank()));
}

int64_t bytes_of(const std::vector<ir::Tensor>& values) {
  int64_t n = 0;
  for (const auto& t : values) n += static_cast<int64_t>(t.byte_size());
  return n;
}

}  // namespace

SuffixRuns::SuffixRuns(ir::Model prepared, std::vector<formats::Sample> samples, int64_t cache_bytes, int threads)
    : prepared_(std::move(prepared)), samples_(std::move(samples)), cache_bytes_(cache_bytes) {
  for (const auto& n : prepared_.graph->nodes())
    if (!n->subgraphs().empty()) usable_ = false;
  if (!usable_) return;
  // Without the opset: the palette and int4 choices raise it (packed 4-bit
  // indices need 21) and leave the nodes before their layer as they were.
  passes::ContentHasher hashes(prepared_, 0, /*with_opset=*/false);
  for (const auto& n : prepared_.graph->nodes())
    for (const ir::Value* v : n->is_dead() ? std::vector<ir::Value*>{} : n->outputs())
      if (v) by_hash_.emplace(hashes.of(v), v->name());
  for (const ir::Value* v : prepared_.graph->inputs)
    if (!v->is_constant()) by_hash_.emplace(hashes.of(v), v->name());
  FidelityProbe probe(prepared_);
  probed_names_ = probe_names(probe);
  rt::Session session(prepared_, rt::SessionOptions{threads});
  for (const auto& s : samples_) probed_.push_back(probe.run(session, s));
}

std::vector<std::vector<ir::Tensor>> SuffixRuns::prepared_values(const std::vector<std::string>& names) {
  std::vector<std::vector<ir::Tensor>> out(names.size());
  std::vector<std::string> missing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < names.size(); ++i)
      if (auto it = stored_.find(names[i]); it != stored_.end()) out[i] = it->second;
      else missing.push_back(names[i]);
  }
  if (missing.empty()) return out;
  // Captured by a run of the part of the prepared model they need (another
  // thread may compute the same ones meanwhile: the values are the same).
  std::map<std::string, std::vector<ir::Tensor>> got;
  std::vector<std::string> computed;
  for (const auto& name : missing) {
    bool input = false;
    for (const auto& s : samples_) input = input || s.count(name);
    if (input)
      for (const auto& s : samples_) got[name].push_back(s.at(name));
    else
      computed.push_back(name);
  }
  if (!computed.empty()) {
    // One name per run: a capture that asks for a value fusion removes runs
    // unfused, which could round its other values differently. Alone, a value
    // is the same whichever variant asked for it first.
    rt::Session session(prepared_);
    for (const auto& name : computed)
      for (const auto& s : samples_) got[name].push_back(session.run_capture(s, {name}, true).at(name));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [name, values] : got) {
    if (stored_.count(name)) continue;
    stored_bytes_ += bytes_of(values);
    stored_order_.push_back(name);
    stored_[name] = values;
  }
  while (stored_bytes_ > cache_bytes_ && !stored_order_.empty()) {
    stored_bytes_ -= bytes_of(stored_.at(stored_order_.front()));
    stored_.erase(stored_order_.front());
    stored_order_.pop_front();
  }
  for (size_t i = 0; i < names.size(); ++i)
    if (out[i].empty()) out[i] = got.at(names[i]);
  return out;
}

std::optional<std::vector<std::vector<ir::Tensor>>> SuffixRuns::run(ir::Model& variant, const FidelityProbe& probe) {
  if (!usable_) return std::nullopt;
  if (samples_.empty()) return std::vector<std::vector<ir::Tensor>>{};
  ir::Graph& g = *variant.graph;
  passes::ContentHasher hashes(variant, 1, /*with_opset=*/false);
  // A value is clean when the prepared model computes it too (by content hash).
  auto prepared_name = [&](const ir::Value* v) -> const std::string* {
    auto it = by_hash_.find(hashes.of(v));
    return it == by_hash_.end() ? nullptr : &it->second;
  };
  // Where the changed part begins: clean tensors its nodes read (constants and
  // what constants alone compute come along with the cut).
  std::set<const ir::Value*> from_constants = ir::constant_derived_values(g);
  std::vector<std::string> frontier, frontier_prepared;
  std::set<const ir::Value*> seen;
  for (const auto& n : g.nodes()) {
    if (n->is_dead()) continue;
    bool dirty = false;
    for (const ir::Value* o : n->outputs()) dirty = dirty || (o && !prepared_name(o));
    if (!dirty) continue;
    for (const ir::Value* in : n->inputs()) {
      if (!in || in->is_constant() || from_constants.count(in) || !seen.insert(in).second) continue;
      if (const std::string* p = prepared_name(in)) {
        frontier.push_back(in->name());
        frontier_prepared.push_back(*p);
      }
    }
  }
  // Each probed tensor: the prepared model's where the change does not reach it.
  std::vector<std::string> names = probe_names(probe);
  if (names.size() != probed_names_.size()) return std::nullopt;
  std::vector<int> from_prepared(names.size(), -1);  // index into probed_names_
  std::vector<std::string> dirty_names;
  std::vector<size_t> dirty_at;
  for (size_t i = 0; i < names.size(); ++i) {
    const ir::Value* v = passes::main_graph_value(variant, names[i]);
    if (const std::string* p = prepared_name(v)) {
      auto it = std::find(probed_names_.begin(), probed_names_.end(), *p);
      if (it == probed_names_.end()) return std::nullopt;
      from_prepared[i] = static_cast<int>(it - probed_names_.begin());
    } else {
      dirty_at.push_back(i);
      if (std::find(dirty_names.begin(), dirty_names.end(), names[i]) == dirty_names.end()) dirty_names.push_back(names[i]);
    }
  }
  std::vector<std::vector<ir::Tensor>> out(samples_.size(), std::vector<ir::Tensor>(names.size()));
  for (size_t s = 0; s < samples_.size(); ++s)
    for (size_t i = 0; i < names.size(); ++i)
      if (from_prepared[i] >= 0) out[s][i] = probed_[s][from_prepared[i]];
  if (dirty_names.empty()) return out;

  std::vector<std::vector<ir::Tensor>> fed = prepared_values(frontier_prepared);
  for (size_t f = 0; f < frontier.size(); ++f) declare_like(*passes::main_graph_value(variant, frontier[f]), fed[f][0]);
  for (size_t i : dirty_at) declare_like(*passes::main_graph_value(variant, names[i]), probed_[0][i]);
  passes::cut(variant, frontier, dirty_names);
  rt::Session session(variant);
  for (size_t s = 0; s < samples_.size(); ++s) {
    std::map<std::string, ir::Tensor> feed;
    for (size_t f = 0; f < frontier.size(); ++f) feed[frontier[f]] = fed[f][s];
    std::vector<ir::Tensor> got = session.run(feed);
    for (size_t i : dirty_at) {
      size_t k = std::find(dirty_names.begin(), dirty_names.end(), names[i]) - dirty_names.begin();
      out[s][i] = got[k];
    }
  }
  return out;
}

}  // namespace pare::jobs::tune_detail
