// cut: the one primitive behind split, extract and trim.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::passes {

// Keeps the part of the main graph that computes `outputs` (default: the current
// outputs) from `inputs` (default: whichever original inputs are still needed).
// With `inputs` given, the result takes exactly those inputs: needing another one
// is an error naming it. New inputs and outputs get their dtype and shape from the
// model, or from one run of the runner (sizes of symbolic dims from `dims`, else
// the dims stay unknown). Constants and subgraph captures the kept nodes use come
// along; everything else goes. Throws pare::Error for a name that does not exist
// (with a "did you mean"), that lives inside a subgraph, or that is a constant.
void cut(ir::Model& model, const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
         const std::map<std::string, int64_t>& dims = {});

// The main-graph value named `name`, or a pare::Error explaining why there is none.
ir::Value* main_graph_value(ir::Model& model, const std::string& name);

}  // namespace pare::passes
