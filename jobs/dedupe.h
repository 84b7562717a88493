// The dedupe job: several models that compute some of the same things become
// one trunk and a head per model (passes/share.h), checked bit for bit and
// written with a manifest an app reads to chain them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pare::jobs {

struct DedupeJob {
  std::vector<std::string> models;      // ONNX files; each head keeps its model's file name
  std::string out_dir;                  // trunk.onnx, one head per model, weights.data, manifest.json
  std::map<std::string, int64_t> dims;  // sizes of symbolic dims for the check runs
  uint64_t seed = 1;                    // of the check runs' inputs
};

struct DedupeFile {
  std::string file;  // name inside out_dir
  int64_t bytes = 0, download_bytes = 0;
  std::string sha256;
  std::vector<std::string> inputs, outputs;
};

struct DedupeHead {
  std::string model;  // the input model's path
  int64_t model_bytes = 0, model_download_bytes = 0;
  DedupeFile file;
  std::map<std::string, std::string> reads;  // trunk output -> the model's own name for it
};

struct DedupeReport {
  DedupeFile trunk;  // file "" when the models share no computation, only weights
  // The tensors two or more heads hold with the same bytes, stored once in
  // weights.data that those heads reference (file "" when none, or not smaller).
  DedupeFile weights;
  size_t shared_tensors = 0;
  std::vector<DedupeHead> heads;
  size_t shared_nodes = 0;
  int64_t bytes_before() const;
  int64_t bytes_after() const;
  int64_t download_before() const;
  int64_t download_after() const;
};

// Throws pare::Error on bad input, when the models share nothing (no computation
// and no weights), or when a head after the trunk does not reproduce its model
// (nothing is written then).
DedupeReport run_dedupe(const DedupeJob& job);

// manifest.json, as written (sorted keys, two-space indent).
std::string dedupe_manifest(const DedupeReport& report);

}  // namespace pare::jobs
