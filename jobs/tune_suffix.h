// Runs of a one-layer variant that skip what it shares with the model it was
// made from (jobs/tune_measure.h). Tune's sensitivity phase changes one layer
// of the prepared model at a time; every node before that layer computes what
// the prepared model computes. So a variant runs only its changed part (the
// nodes that differ and everything after them), fed with the prepared model's
// values where that part begins; outputs the change does not reach are the
// prepared model's own. On PP-OCRv4 det the part after a layer holds about 60%
// of the MACs on average, on PP-OCRv4 rec about 43%.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "formats/tensors/tensors.h"
#include "jobs/measure.h"
#include "lib/ir/graph.h"

namespace pare::jobs::tune_detail {

class SuffixRuns {
 public:
  // `prepared`: what every variant is made from; `samples`: the samples the
  // variants run on; `cache_bytes`: the most the stored boundary values may take
  // (past it the oldest go, and are computed again when needed); `threads`: for
  // the prepared model's own run over the samples.
  SuffixRuns(ir::Model prepared, std::vector<formats::Sample> samples, int64_t cache_bytes, int threads = 1);

  // Whether variants can be run so (not when the model has subgraphs).
  bool usable() const { return usable_; }

  // `probe`'s tensors of `variant` on each sample, in FidelityProbe::run's order,
  // running only the nodes that differ from the prepared model's and what
  // follows them; `variant` is cut to that part. nullopt when it cannot be run
  // so (the probes do not line up with the prepared model's): run it whole.
  std::optional<std::vector<std::vector<ir::Tensor>>> run(ir::Model& variant, const FidelityProbe& probe);

 private:
  // The prepared model's values named `names` on every sample, stored or computed.
  std::vector<std::vector<ir::Tensor>> prepared_values(const std::vector<std::string>& names);

  ir::Model prepared_;
  std::vector<formats::Sample> samples_;
  bool usable_ = true;
  std::unordered_map<std::string, std::string> by_hash_;  // a prepared value's name by content hash
  std::vector<std::string> probed_names_;                      // the prepared model's probe, in order
  std::vector<std::vector<ir::Tensor>> probed_;                // its values per sample
  std::mutex mutex_;
  std::map<std::string, std::vector<ir::Tensor>> stored_;  // by prepared value name, per sample
  std::deque<std::string> stored_order_;                   // oldest first
  int64_t stored_bytes_ = 0, cache_bytes_ = 0;
};

}  // namespace pare::jobs::tune_detail
