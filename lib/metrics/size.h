// What a model costs: bytes on disk, bytes on the download, parameters and
// weight bytes by dtype, node counts and the op histogram.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::metrics {

// Size of `bytes` compressed with raw deflate (zlib level 9, no zlib/gzip header):
// the estimate of what an app store's compressed download adds for this file.
int64_t deflate_size(const std::string& bytes);

struct FileSize {
  int64_t file_bytes = 0;
  int64_t download_bytes = 0;
};
// The file and, when the model keeps tensors beside it, its .data file too.
FileSize measure_file(const std::string& path);
// The same for the file's bytes already in memory (read, or about to be
// written); `path`'s .data file counts when there is one ("" for no file).
FileSize measure_bytes(const std::string& bytes, const std::string& path);

struct WeightStats {
  int64_t parameters = 0;    // elements of every constant (initializers and Constant nodes), subgraphs included
  int64_t weight_bytes = 0;  // their bytes
  int64_t constants = 0;     // how many constant tensors
  std::map<std::string, int64_t> parameters_by_dtype;
  std::map<std::string, int64_t> bytes_by_dtype;
};
WeightStats count_weights(const ir::Model& model);

// The weights a compute node reads, wherever they are stored: a constant counts
// for the first node that reads it through any chain of constant-only nodes
// (DequantizeLinear, Cast, Mul of a scale), so an int8 weight and its scales
// count for the Conv that uses them. Sorted by bytes, largest first.
struct LayerWeights {
  std::string node;  // its name, or its first output's when unnamed
  std::string op;
  int64_t bytes = 0, parameters = 0;
};
std::vector<LayerWeights> weights_by_layer(const ir::Model& model);

struct GraphStats {
  int64_t nodes = 0;        // main graph; Constant nodes are constants, not counted here
  int64_t nodes_total = 0;  // subgraphs included
  std::map<std::string, int64_t> ops;  // op histogram, subgraphs included ("domain:Op" outside ai.onnx)
};
GraphStats count_nodes(const ir::Model& model);

}  // namespace pare::metrics
