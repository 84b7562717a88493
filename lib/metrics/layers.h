// Per-layer error: where in the graph a shrunk model drifts from the original.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"
#include "lib/metrics/compare.h"
#include "lib/metrics/spread.h"

namespace pare::rt {
class Session;
}

namespace pare::metrics {

struct LayerDiff {
  std::string tensor;  // a main-graph tensor present, as float32, in both models
  std::string node;    // its producer in the original model
  std::string op;
  OutputDiff diff;
};

// Runs both models on every sample and compares every intermediate float32
// tensor the two share by name (quantize keeps names, so each compared tensor is
// the shrunk model's version of the original one). Sorted worst SQNR first, ties
// by graph order.
std::vector<LayerDiff> per_layer_error(const ir::Model& before, const ir::Model& after,
                                       const std::vector<std::map<std::string, ir::Tensor>>& samples);
// The same on sessions the caller compiled from `before` and `after`.
std::vector<LayerDiff> per_layer_error(const ir::Model& before, const ir::Model& after, rt::Session& a,
                                       rt::Session& b, const std::vector<std::map<std::string, ir::Tensor>>& samples);

// The fraction of samples whose first output's largest score is at the label's index.
double top1_accuracy(const std::vector<ir::Tensor>& scores, const std::vector<int64_t>& labels);
// The fraction of samples `before` classifies right and `after` wrong: the
// top-1 accuracy lost, in which a sample `after` newly gets right does not buy
// back one it broke (on a few hundred samples such trades are mostly chance, and
// a search keeping the net figure within a limit picks the lucky ones).
double top1_lost(const std::vector<ir::Tensor>& before, const std::vector<ir::Tensor>& after,
                 const std::vector<int64_t>& labels);

// The change of top-1 accuracy (after - before, a fraction) over 90% of
// resamples of the samples (metrics/spread.h): how far the measured change
// could move with other samples like these. Needs two or more samples.
Range top1_change_range(const std::vector<ir::Tensor>& before, const std::vector<ir::Tensor>& after,
                        const std::vector<int64_t>& labels);

}  // namespace pare::metrics
