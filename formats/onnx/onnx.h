// ONNX <-> IR, at the edge. Nothing else in pare includes the protobuf types.
//
// load_model: parses the file, resolves external data (which must stay inside
// the model's folder, symlinks included), converts to the IR and verifies it.
// Every problem is a pare::Error whose context names the file.
// save_model: deterministic (same model and options, same bytes) and atomic.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "formats/onnx/read.h"
#include "lib/ir/graph.h"

namespace pare::formats::onnx {

// The reader (read.h) with libonnx's signatures (onnx_signature); the runtime's
// read_model checks only the ops the runner has, with the same signatures.
ir::Model load_model(const std::string& path);
// Parses bytes already in memory; `base_dir` resolves external data ("" = none allowed).
ir::Model load_model_from_bytes(const std::string& bytes, const std::string& label, const std::string& base_dir);

// A node signature from libonnx's schema (and pare's table for opsets newer
// than libonnx knows), as the reader checks it.
bool onnx_signature(const std::string& op, const std::string& domain, int64_t opset, NodeSignature& out);

struct SaveOptions {
  // Write tensors of at least `external_threshold` bytes into `<model file name>.data`
  // beside the model. Forced on when the model would exceed protobuf's 2 GiB limit.
  bool external_data = false;
  int64_t external_threshold = 1024;
};

void save_model(const ir::Model& model, const std::string& path, const SaveOptions& options = {});
// The serialized ModelProto (no external data); what save_model writes.
std::string serialize_model(const ir::Model& model);

// One weights file that several models reference (ONNX external data): a tensor
// whose bytes are among `contents` (their sha256) is stored in `data` once,
// however many models or tensors hold them; every other tensor stays inline.
struct SharedWeights {
  std::string file_name;                   // the file, beside the models that reference it
  std::set<std::string> contents;          // sha256 of the bytes to store there
  size_t min_bytes = 0;                    // no tensor of `contents` is smaller: smaller ones are not hashed
  std::string data;                        // the file's bytes so far
  std::map<std::string, int64_t> offsets;  // sha256 -> where its bytes start in `data`
};
// serialize_model, with the tensors `shared` takes stored in its file.
std::string serialize_model(const ir::Model& model, SharedWeights& shared);

// Runs onnx::checker (full check) on the model; throws pare::Error with its message.
// Beyond libonnx's opset 17 / IR version 8: pare's own checks (IR invariants and
// the runner's kernel checks of every node), see save.cc.
void check_model(const ir::Model& model);

// Runs ONNX shape inference and fills in dtype/shape of values that lack them
// (never overrides what the model states). Returns how many values gained a shape.
int infer_shapes(ir::Model& model);

// The shapes ONNX's static inference (with its data propagation through Shape,
// Gather, Concat...) gives the model's values when its inputs have
// `input_shapes`: only fully known shapes, by value name. The shapes the file
// declares for inner values and outputs are set aside (they may be symbolic, or
// stale after an edit). Throws pare::Error when inference stops on an error.
std::map<std::string, std::vector<int64_t>> static_shapes(
    const ir::Model& model, const std::map<std::string, std::vector<int64_t>>& input_shapes);

}  // namespace pare::formats::onnx
