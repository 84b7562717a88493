// What pare inspect --tensors reports (jobs/tensors.h lists it): every value a
// model computes, the names `cut` and `split` take, with what flows there, and
// every weight it stores (lib/metrics/storage.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/ir/shape.h"
#include "lib/metrics/storage.h"

namespace pare::metrics {

// A value a node of the main graph computes.
struct TensorInfo {
  std::string name;
  std::string dtype;               // "float32", ... or "?" when no inference gives it
  std::optional<ir::Shape> shape;  // nullopt: not even the rank is known
  // Where the shape comes from: "static" (ONNX's inference with the dims given),
  // "run" (one run on seeded inputs, where static inference stops), or
  // "declared" (the file's or inference's shape, symbolic dims left as they are).
  std::string shape_from;
  std::string op, node;  // the node that computes it: its op type and name
  int64_t consumers = 0;  // uses by nodes (a subgraph's included)
  bool graph_output = false;
};

struct TensorList {
  std::vector<TensorInfo> values;         // in graph order
  std::vector<TensorStorage> weights;     // largest download first
  std::string run_unavailable;  // why shapes static inference left open could not come from a run ("" if not needed)
};

}  // namespace pare::metrics
