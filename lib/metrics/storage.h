// Where the download goes, tensor by tensor: each value an op reads that is
// stored as constants (directly, or decoded by constant-only nodes such as
// DequantizeLinear, Cast or a palette's Gather), with the bytes those constants
// take raw and deflated, the form they are stored in, and for float32 weights
// left as they were, the reason that can be read off the graph.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::metrics {

struct TensorStorage {
  std::string name;      // the value the op reads (the weight's name)
  std::string op;        // the op that reads it
  int64_t input = 0;     // at which input
  int64_t parameters = 0;         // elements of the value the op reads
  int64_t raw_bytes = 0;          // bytes of every constant stored for it (indices, tables, scales...)
  int64_t deflate_bytes = 0;      // those bytes, concatenated, raw-deflated alone (level 9)
  // float32, float16, int8-dq (int8-dq-<N>bit when its steps fit N < 8 bits),
  // int4-block, palette-<N>bit, or the dtype of any other stored constant
  // (int64 for shapes ...).
  std::string form;
  // For a float32 value: why it is float32. "weight, depthwise" (Conv with one
  // input channel per group), "weight, first layer" (a Conv reading a graph
  // input), "weight, small" (fewer than 16 elements), "weight" (nothing
  // marks it: no weight pass ran, or a skip= kept it), "bias", or "not a
  // weight" (any other input). Empty for the other forms.
  std::string float_reason;
};

// Every stored value of the model, subgraphs included, largest deflate_bytes
// first (ties: graph order). A constant feeding several values counts for the
// first; deflating each value alone overstates the whole file's download a
// little (deflate's window spans tensors), so the figures attribute, they do
// not add up to the download.
std::vector<TensorStorage> storage_by_tensor(const ir::Model& model);

}  // namespace pare::metrics
