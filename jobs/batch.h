// The batch dispatcher: several models over a folder of inputs (a photo
// gallery), in small batches, resumable and throttled, as an app runs them on a
// phone.
//
// Work goes batch by batch; within a batch the models run in priority order.
// After each batch every model's results are on disk (one folder of output_K.pb
// per input, one JSON line per input) and a journal records how far the run got
// and how long each JSON-lines file was, so a run killed at any moment and
// started again with the same job truncates what the interrupted batch appended,
// reads back the output files that batch already wrote whole (nothing is run
// twice), and ends with the same bytes as an uninterrupted run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "formats/images/images.h"

namespace pare::jobs {

struct BatchJob {
  std::vector<std::string> models;  // ONNX files, in priority order
  // The sha256 a `pare build` manifest records for some of the models (by
  // path): a model whose bytes differ is refused, it is not what was built.
  std::map<std::string, std::string> recorded_sha256;
  std::string inputs;               // a folder of images or of sample folders
  std::string out;                  // results, JSON lines and the journal
  // Image decoding. When no size is given, each model's own input shape gives
  // the size and the layout ([1,3,H,W] or [1,H,W,3]).
  formats::ImageOptions images;
  std::map<std::string, int64_t> dims;  // sizes for symbolic input dims
  int64_t batch_size = 16;
  int threads = 1;
  double max_duty = 1.0;  // busy at most this fraction of the wall time, (0, 1]
  double max_rate = 0;    // at most this many inputs per second; 0 = no limit
  int64_t top_k = 5;      // classes listed for an output that looks like scores
  // Called after each batch with inputs done and total (for a progress bar).
  std::function<void(size_t done, size_t total)> progress;
};

struct BatchReport {
  size_t inputs = 0;        // in the folder
  size_t models = 0;
  size_t resumed_at = 0;    // inputs already done by an earlier, interrupted run
  size_t computed = 0;      // (model, input) pairs run now
  size_t read_back = 0;     // (model, input) pairs an interrupted batch had written whole
  double seconds = 0;       // wall time of this run, loading included
  double busy_seconds = 0;  // time spent working on inputs (the rest is throttling)
  double work_seconds = 0;  // wall time of the input loop (busy + throttling)

  size_t processed() const { return inputs - resumed_at; }
  double inputs_per_second() const { return work_seconds > 0 ? processed() / work_seconds : 0; }
  double busy_fraction() const { return work_seconds > 0 ? busy_seconds / work_seconds : 0; }
};

// Throws pare::Error on bad input (models, folder, a journal of another job).
BatchReport run_batch(const BatchJob& job);

// Appends the models of a `pare build` manifest (OUT/manifest.json, docs/plans.md)
// to job.models, in the manifest's order, as paths beside the manifest, with
// the sha256 it records. Throws pare::Error naming the manifest.
void add_manifest_models(const std::string& manifest_path, BatchJob& job);

}  // namespace pare::jobs
