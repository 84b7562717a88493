#include "lib/metrics/macs.h"

#include "lib/base/error.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"

namespace pare::metrics {

MacStats count_macs(const ir::Model& model, const std::map<std::string, int64_t>& dims) {
  try {
    rt::Session session(model);
    return count_macs(session, model, dims);
  } catch (const Error& e) {
    MacStats s;
    s.reason = e.what();
    return s;
  }
}

MacStats count_macs_static(const ir::Model& model, const std::map<std::string, std::vector<int64_t>>& shapes) {
  MacStats s;
  auto shape_of = [&](const ir::Value* v, std::vector<int64_t>& out) {
    if (!v) return true;  // an absent optional input
    if (v->is_constant()) {
      out = v->constant().dims();
      return true;
    }
    auto it = shapes.find(v->name());
    if (it == shapes.end()) return false;
    out = it->second;
    return true;
  };
  for (const auto& node : model.graph->nodes()) {
    const ir::Node& n = *node;
    if (!n.subgraphs().empty()) {
      s.reason = fmt::format("node '{}' ({}) has a subgraph", ir::node_label(n), n.op_type);
      return s;
    }
    const rt::KernelDef* def = rt::find_kernel(n, model.opset(n.domain));
    if (!def) {  // an op without a kernel has no MAC formula either: never undercount
      s.reason = fmt::format("node '{}' ({}): no kernel, so no MAC formula", ir::node_label(n), n.op_type);
      return s;
    }
    if (!def->macs) continue;
    rt::NodeShapes ns;
    ns.inputs.resize(n.inputs().size());
    ns.outputs.resize(n.outputs().size());
    bool known = true;
    for (size_t i = 0; i < n.inputs().size(); ++i) known = known && shape_of(n.input(i), ns.inputs[i]);
    for (size_t i = 0; i < n.outputs().size(); ++i) known = known && shape_of(n.output(i), ns.outputs[i]);
    if (!known) {
      s.reason = fmt::format("node '{}' ({}): shapes not known statically", ir::node_label(n), n.op_type);
      return s;
    }
    int64_t m = def->macs(n, ns);
    if (m > 0) s.by_op[n.op_type] += m;
    if (m > 0) s.by_node[ir::node_label(n)] += m;
    s.total += m;
  }
  s.known = true;
  return s;
}

MacStats count_macs(rt::Session& session, const ir::Model& model, const std::map<std::string, int64_t>& dims) {
  MacStats s;
  try {
    session.run(rt::random_feed(model, dims));
    const auto& stats = session.last_stats();
    for (size_t i = 0; i < stats.nodes.size(); ++i) {
      const ir::Node& n = *stats.nodes[i];
      const rt::KernelDef* def = rt::find_kernel(n, model.opset(n.domain));
      int64_t m = def && def->macs ? def->macs(n, stats.shapes[i]) : 0;
      if (m > 0) s.by_op[n.op_type] += m;
      if (m > 0) s.by_node[ir::node_label(n)] += m;
      s.total += m;
    }
    s.known = true;
  } catch (const Error& e) {
    s.reason = e.what();
  }
  return s;
}

}  // namespace pare::metrics
