// Discontinuous steps before a model's outputs, and the continuous tensors
// fidelity should be judged at instead.
//
// An output computed through a step (peak picking by Equal or Greater after a
// MaxPool, ArgMax, TopK, NonMaxSuppression, a Cast to integers, Round...) moves
// by a whole unit when its input crosses a boundary by a hair: its SQNR counts
// tie flips that do not matter (M-LSD's `scores` keeps only the local maxima of
// a heat map) and hides a map that drifted without flipping. So fidelity also
// compares the last continuous tensors before the steps (the heat map), and
// budgets judge those.
#pragma once

#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::metrics {

// For one graph output: the steps its value passes through and the tensors
// just before them (empty when it is continuous in the graph inputs).
struct OutputSteps {
  std::string output;
  std::vector<std::string> steps;    // op types, each once, in graph order: "Equal", "ArgMax"
  std::vector<std::string> tensors;  // the last continuous tensors before them, in graph order
};

// Whether `n` is a discontinuous step on float data (a comparison, ArgMax or
// ArgMin, TopK, NonMaxSuppression, Round/Floor/Ceil/Sign, a Cast to an integer
// or bool). QuantizeLinear is not one: its rounding is what quantization is
// measured for.
bool is_discontinuous_step(const ir::Node& n);

// One entry per graph output of the main graph, in order. A tensor is found by
// walking back from each step's float inputs through ops that only move
// elements (Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Identity); a tensor
// that is a continuous function of another one found (MaxPool of the heat map
// the peak picking compares with) is left out. Steps on values that do not
// depend on the graph inputs (weight decoding, shape arithmetic on constants)
// and steps whose inputs are all integer are not counted.
std::vector<OutputSteps> output_steps(const ir::Model& model);

}  // namespace pare::metrics
