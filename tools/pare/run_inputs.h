// Inputs for `pare run` and `pare bench`: a sample folder, or seeded synthetic data.
#pragma once

#include <map>
#include <string>

#include "lib/runtime/session.h"

namespace pare::cli {

// Reads `dir` (input_K.pb or NAME.npy) when given, else random_inputs(dims, seed).
std::map<std::string, ir::Tensor> inputs_for(const ir::Model& model, const rt::Session& session, const std::string& dir,
                                             const std::map<std::string, int64_t>& dims, uint64_t seed);

}  // namespace pare::cli
