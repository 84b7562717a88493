#include "tests/support/passes.h"

#include <algorithm>

#include "lib/metrics/compare.h"
#include "passes/pipeline.h"
#include "tests/support/text_model.h"

namespace pare::testing {

std::map<std::string, int64_t> run_pipeline(ir::Model& m, const std::string& pipeline) {
  passes::PassContext ctx;
  return passes::Pipeline::parse(pipeline).run(m, ctx, /*verify_each=*/true).back().stats;
}

Rewrite rewrite(const std::string& text, const std::string& pipeline) {
  Rewrite r{model_from_text(text), model_from_text(text), {}};
  r.stats = run_pipeline(r.model, pipeline);
  return r;
}

std::vector<std::string> op_types(const ir::Graph& g) {
  std::vector<std::string> out;
  for (const auto& n : g.nodes()) out.push_back(n->op_type);
  return out;
}

double worst_sqnr(const std::vector<ir::Tensor>& ref, const std::vector<ir::Tensor>& got) {
  double worst = 1e9;
  for (size_t k = 0; k < ref.size(); ++k) {
    metrics::OutputDiffAccumulator acc("out");
    acc.add(ref[k], got[k]);
    worst = std::min(worst, acc.result().sqnr_db);
  }
  return worst;
}

}  // namespace pare::testing
