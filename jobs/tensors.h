// The values a model computes and the weights it stores, for pare inspect
// --tensors: the names `cut` and `split` take, with what flows there (dtype and
// shape), and where the download goes, tensor by tensor.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/ir/graph.h"
#include "lib/metrics/storage.h"

namespace pare::jobs {

// A value a node of the main graph computes.
struct TensorInfo {
  std::string name;
  std::string dtype;                // "float32", ... or "?" when no inference gives it
  std::optional<ir::Shape> shape;   // nullopt: not even the rank is known
  // Where the shape comes from: "static" (ONNX's inference with the dims given),
  // "run" (one run on seeded inputs, where static inference stops), or
  // "declared" (the file's or inference's shape, symbolic dims left as they are).
  std::string shape_from;
  std::string op, node;             // the node that computes it: its op type and name
  int64_t consumers = 0;            // uses by nodes (a subgraph's included)
  bool graph_output = false;
};

struct TensorList {
  std::vector<TensorInfo> values;                 // in graph order
  std::vector<metrics::TensorStorage> weights;    // largest download first
  std::string run_unavailable;  // why shapes static inference left open could not come from a run ("" if not needed)
};

// Lists `model`'s values and weights. Inference runs on a copy of the model's
// types (ONNX's, then one run of pare's runner where it stops); `dims` fixes
// symbolic input dims as --dim does. Never throws for a model that loaded: what
// cannot be known is said.
TensorList list_tensors(ir::Model& model, const std::map<std::string, int64_t>& dims);

}  // namespace pare::jobs
