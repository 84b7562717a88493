#include "lib/metrics/layers.h"

#include <algorithm>

#include "lib/base/error.h"
#include "lib/runtime/session.h"

namespace pare::metrics {

std::vector<LayerDiff> per_layer_error(const ir::Model& before, const ir::Model& after,
                                       const std::vector<std::map<std::string, ir::Tensor>>& samples) {
  rt::Session a(before), b(after);
  return per_layer_error(before, after, a, b, samples);
}

std::vector<LayerDiff> per_layer_error(const ir::Model& before, const ir::Model& after, rt::Session& a,
                                       rt::Session& b, const std::vector<std::map<std::string, ir::Tensor>>& samples) {
  // Tensors produced by a node in both main graphs, float32 in both.
  std::vector<std::string> names;
  std::vector<LayerDiff> layers;
  for (const auto& n : before.graph->nodes()) {
    for (const ir::Value* v : n->outputs()) {
      // Exporters often leave intermediate types unrecorded: the captured tensors decide.
      auto maybe_float = [](const ir::Value* x) {
        return x->dtype == ir::DataType::kFloat || x->dtype == ir::DataType::kUndefined;
      };
      if (!v || !maybe_float(v) || v->is_graph_output()) continue;
      const ir::Value* w = after.graph->find_value(v->name());
      if (!w || w->is_constant() || !w->producer() || !maybe_float(w)) continue;
      names.push_back(v->name());
      layers.push_back({v->name(), n->name, n->op_type, {}});
    }
  }
  std::vector<OutputDiffAccumulator> acc;
  for (const auto& n : names) acc.emplace_back(n);
  std::vector<bool> compared(names.size(), true);
  for (const auto& sample : samples) {
    auto ya = a.run_capture(sample, names), yb = b.run_capture(sample, names);
    for (size_t k = 0; k < names.size(); ++k) {
      auto ia = ya.find(names[k]), ib = yb.find(names[k]);
      if (ia == ya.end() || ib == yb.end()) throw InternalError("per-layer capture missed " + names[k]);
      if (ia->second.dtype() != ir::DataType::kFloat || ib->second.dtype() != ir::DataType::kFloat ||
          ia->second.dims() != ib->second.dims()) {
        compared[k] = false;
        continue;
      }
      acc[k].add(ia->second, ib->second);
    }
  }
  std::vector<LayerDiff> kept;
  for (size_t k = 0; k < names.size(); ++k)
    if (compared[k]) {
      layers[k].diff = acc[k].result();
      kept.push_back(layers[k]);
    }
  layers = std::move(kept);
  std::stable_sort(layers.begin(), layers.end(),
                   [](const LayerDiff& x, const LayerDiff& y) { return x.diff.sqnr_db < y.diff.sqnr_db; });
  return layers;
}

namespace {
// Per sample, whether its first output's largest score is at the label's index.
std::vector<bool> top1_hits(const std::vector<ir::Tensor>& scores, const std::vector<int64_t>& labels) {
  if (scores.size() != labels.size() || scores.empty())
    throw InternalError(fmt::format("{} score tensors for {} labels", scores.size(), labels.size()));
  std::vector<bool> hits;
  for (size_t i = 0; i < scores.size(); ++i) {
    auto v = scores[i].as_double();
    if (labels[i] >= static_cast<int64_t>(v.size()))
      fail("label {} of sample {} is beyond the model's {} classes", labels[i], i + 1, v.size());
    size_t best = std::max_element(v.begin(), v.end()) - v.begin();
    hits.push_back(static_cast<int64_t>(best) == labels[i]);
  }
  return hits;
}
}  // namespace

double top1_accuracy(const std::vector<ir::Tensor>& scores, const std::vector<int64_t>& labels) {
  std::vector<bool> hits = top1_hits(scores, labels);
  return static_cast<double>(std::count(hits.begin(), hits.end(), true)) / static_cast<double>(hits.size());
}

double top1_lost(const std::vector<ir::Tensor>& before, const std::vector<ir::Tensor>& after,
                 const std::vector<int64_t>& labels) {
  std::vector<bool> a = top1_hits(before, labels), b = top1_hits(after, labels);
  size_t lost = 0;
  for (size_t i = 0; i < a.size(); ++i) lost += a[i] && !b[i];
  return static_cast<double>(lost) / static_cast<double>(a.size());
}

Range top1_change_range(const std::vector<ir::Tensor>& before, const std::vector<ir::Tensor>& after,
                        const std::vector<int64_t>& labels) {
  std::vector<bool> a = top1_hits(before, labels), b = top1_hits(after, labels);
  return mean_change_range(std::vector<double>(a.begin(), a.end()), std::vector<double>(b.begin(), b.end()));
}

}  // namespace pare::metrics
