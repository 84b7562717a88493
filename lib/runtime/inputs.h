// Deterministic synthetic inputs, for runs and benchmarks without sample data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::rt {

// One tensor per graph input (constants excluded), in order: floats uniform in
// [-1, 1) from a seeded generator (the same seed always gives the same bytes),
// integers and bools zero. Symbolic dims take their size from `dims`; a missing
// one is a pare::Error naming the input and the dim.
std::vector<ir::Tensor> random_inputs(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                      uint64_t seed = 1);

// The names of the inputs a run takes: the graph inputs that are not constants,
// in order (what Session::input_names() gives, without compiling a session).
std::vector<std::string> input_names(const ir::Model& model);

// random_inputs() keyed by input name, ready for Session::run.
std::map<std::string, ir::Tensor> random_feed(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                              uint64_t seed = 1);

}  // namespace pare::rt
