// Lists the values a model computes and the weights it stores, for pare
// inspect --tensors (the report: lib/metrics/tensors.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "lib/ir/graph.h"
#include "lib/metrics/tensors.h"

namespace pare::jobs {

// Lists `model`'s values and weights. Inference runs on the model's types
// (ONNX's, then one run of pare's runner where it stops); `dims` fixes symbolic
// input dims as --dim does. Never throws for a model that loaded: what cannot be
// known is said.
metrics::TensorList list_tensors(ir::Model& model, const std::map<std::string, int64_t>& dims);

}  // namespace pare::jobs
