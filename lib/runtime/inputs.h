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
//
// `dims` may also size an input's dims by position, named or not (silero VAD's
// input is [?, 512]): input_dim_key(INPUT, i) sizes dim i of INPUT, and
// input_rank_key(INPUT) states its rank; INPUT "" means the model's only input.
// A positional size wins over the dim's symbol; one that contradicts a known
// dim or the rank, or names no input, is a pare::Error.
std::vector<ir::Tensor> random_inputs(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                      uint64_t seed = 1);

// Throws pare::Error when a tensor of `dims` with `element_bytes` per element
// could not be held within a run's memory bound (default_run_limits()) or its
// byte count overflows: "SUBJECT [dims] needs N bytes, more than the M allowed
// for a run (how to raise it)".
void check_fits_a_run(const std::string& subject, const std::vector<int64_t>& dims, int64_t element_bytes);

// The shapes random_inputs() gives the inputs (by name), without making them.
std::map<std::string, std::vector<int64_t>> input_shapes(const ir::Model& model,
                                                         const std::map<std::string, int64_t>& dims);

// "x[1]" and "x[rank]": the keys of `dims` that size an input by position.
std::string input_dim_key(const std::string& input, size_t index);
std::string input_rank_key(const std::string& input);

// The names of the inputs a run takes: the graph inputs that are not constants,
// in order (what Session::input_names() gives, without compiling a session).
std::vector<std::string> input_names(const ir::Model& model);

// random_inputs() keyed by input name, ready for Session::run.
std::map<std::string, ir::Tensor> random_feed(const ir::Model& model, const std::map<std::string, int64_t>& dims,
                                              uint64_t seed = 1);

}  // namespace pare::rt
