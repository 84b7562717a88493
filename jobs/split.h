// The split job (pare split): a model cut at tensors into chained parts.
//
// split assigns every node to a part: part k holds what the k-th cut tensor
// needs that no earlier part computes; the last part holds the rest. Each part is
// cut() from the original with, as inputs, what it reads from the model inputs or
// from earlier parts (skip connections included), and, as outputs, what later
// parts or the model's outputs read from it. Before anything is written, the parts
// run chained on seeded inputs and must reproduce the original outputs bit for bit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::jobs {

struct SplitPart {
  std::vector<std::string> inputs, outputs;
  ir::Model model;
  std::string bytes;  // as it will be written
};

// The parts of the model file `path` cut at `at` (dims: sizes of symbolic dims
// for the check run). Errors name the model file; parts that do not reproduce
// the original are a CheckFailed.
std::vector<SplitPart> split(const std::string& path, const std::vector<std::string>& at,
                             const std::map<std::string, int64_t>& dims);

}  // namespace pare::jobs
