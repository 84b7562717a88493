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
