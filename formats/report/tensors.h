// The views of pare inspect --tensors (lib/metrics/tensors.h): JSON, and the
// text tables of values and weights.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "lib/metrics/tensors.h"

namespace pare::formats {

// {"values": [{name, dtype, shape, shape_from, op, node, consumers, graph_output}],
//  "weights": [{name, op, input, parameters, raw_bytes, deflate_bytes, form, float_reason?}],
//  "run_unavailable"?}
nlohmann::json tensors_json(const metrics::TensorList& list);
// Two tables, indented under pare inspect's summary: the values, then the weights.
std::string tensors_text(const metrics::TensorList& list);

}  // namespace pare::formats
