// What tune chooses among (jobs/tune.h): the weight layers of a model, the
// choices for each (storage, sparsity, int8 activations), a layer's
// configuration, and the pipeline text a whole configuration is built with.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lib/ir/graph.h"
#include "lib/metrics/budget.h"
#include "lib/metrics/report.h"

namespace pare::jobs::tune_detail {

// One tunable layer: a Conv, ConvTranspose, Gemm or MatMul whose weight is a
// float32 constant read by it alone, addressed by its label (ir::node_label).
struct Layer {
  std::string label, op, weight;  // weight: the name of its weight value
  int64_t parameters = 0;
  int64_t macs = 0;
  // only= globs of a static int8 choice: the layer and the activation ops that
  // read its output (so a runtime can run it as an integer kernel end to end).
  std::vector<std::string> static_labels;
  // The first source layer (in graph order) of a channel space prune(mode=channel)
  // can prune: its channel choices prune that whole space (every layer whose
  // filters it removes, and their consumers), so only one layer per space has them.
  bool channel_head = false;
};

enum class Axis { kStorage, kSparsity, kActivations, kChannels };

struct Choice {
  std::string key;  // "fp16", "int8", "int7", "int6", "p6", "p4", "p3", "int4", "s25", "s50", "s75", "qdq", "c25", "c50"
  Axis axis;
  double sparsity = 0;  // s25..s75: of the layer's weights; c25, c50: of its channel space's channels
  std::string after;  // the choice whose noise must be within the cap before this one is measured ("": none)
};

// Every choice tune knows, in measuring order.
const std::vector<Choice>& all_choices();
const Choice& choice(const std::string& key);

// The layers of `prepared` (after kPreparation), in graph order; labels
// that are not unique or that hold glob characters are left out (a glob must
// address one node).
std::vector<Layer> find_layers(const ir::Model& prepared);

// A layer's configuration: sparsity (0 or a choice's), storage ("" = float32
// as it is, or fp16 int8 int7 int6 p6 p4 p3 int4 qdq) and, on a channel head, the
// fraction of its space's channels removed.
struct Config {
  std::string sparsity;  // "" or s25 s50 s75
  std::string storage;   // "" or a storage choice or "qdq"
  std::string channels;  // "" or c25 c50
  bool operator==(const Config&) const = default;
  std::string str() const;  // "p4+s50", "c25+int8", "fp32"
};

// The pipeline step that applies `choice` to the nodes `only` (canonical text
// of one step); `calib` is the folder of static int8's calibration samples,
// which the weight-storage choices also correct their mean shift on (correct=).
// `composed`: a step of a whole configuration, where a storage step whose
// layers no longer qualify (channel pruning took a weight below min-size) is
// a no-op (if-any) instead of a failure.
std::string step_text(const Choice& choice, const std::vector<std::string>& only, const std::string& calib,
                      bool composed = false);

// The whole pipeline of a configuration (one Config per layer, in layer
// order): kPreparation, the magnitude prunes, the channel prunes, static
// int8, each storage, strip.
std::string pipeline_text(const std::vector<Layer>& layers, const std::vector<Config>& configs, const std::string& calib);

// The configurations from `from` to `to`, one layer moving at a time from its
// `from` configuration to its `to` one. `estimate(layer)` gives that move's
// estimated cost saved and noise added; the moves that save most per noise
// added go first (ones that add none, first of all; ones that save nothing,
// last). Element k holds the first k moves: the first is `from`, the last `to`.
std::vector<std::vector<Config>> config_path(const std::vector<Config>& from, const std::vector<Config>& to,
                                             const std::function<std::pair<double, double>(size_t layer)>& estimate);

// How far verified point `p` falls short of the limits of `b`, relative to
// each limit (the largest shortfall; 0 when it meets them all, infinity when a
// limited figure was not measured).
double shortfall(const metrics::TunePoint& p, const metrics::Budget& b);

// The steps that prepare a model before any choice (the start of every pipeline).
inline constexpr const char* kPreparation = "fold, fuse-bn, fuse-act, dce";

}  // namespace pare::jobs::tune_detail
