// The measurements tune's search is made of (jobs/tune.h): the reference
// outputs, the noise of one-layer variants (in parallel, cached on disk), the
// per-layer cost of every configuration, and the verification of a whole
// configuration built from its pipeline text.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "jobs/tune.h"
#include "jobs/tune_space.h"
#include "jobs/tune_suffix.h"
#include "lib/metrics/report.h"
#include "passes/gptq.h"

namespace pare::jobs::tune_detail {

// Noise-to-signal ratio of each output (sum of squared differences over the sum
// of squared reference values, over the samples); nullopt: the choice does not
// apply to the layer (the pass refused it).
using Noise = std::optional<std::vector<double>>;

// Stored bytes of each layer's weight under one configuration (raw, deflated).
struct LayerBytes {
  int64_t raw = 0, deflated = 0;
};

// What a channel choice on a channel head removes from the whole model (its
// space's filters and their consumers' inputs, in float32): weight bytes stored
// and deflated, and MACs.
struct SpaceEffect {
  double raw = 0, deflated = 0, macs = 0;
};

// A sample that measures sensitivity, and how many samples it stands for.
struct WeightedSample {
  size_t index = 0;
  double weight = 1;
  bool operator==(const WeightedSample&) const = default;
};

// Which `k` of the samples measure the one-layer sensitivities, and their
// weights. `proxy[s][o]`: the squared error a perturbation of every layer puts
// on output `o` of sample `s`. On some models a few samples hold most of the
// error (PP-OCRv4 rec, 256 lines: five lines near a decision between two
// characters, 87% of a tuned model's noise), and a verification on all samples
// is judged by them; the first k samples seldom hold one. So samples are drawn
// with probability half in proportion to their share of the proxy's error and
// half alike: a sample whose probability reaches 1 is taken (weight 1), the
// rest by systematic sampling over the others, heaviest first, each weighted
// by the inverse of its probability (Horvitz-Thompson), so the weighted noise
// estimates the noise over all samples. All samples (weight 1) when k covers
// them. Deterministic; sorted by index. Used under SQNR and cosine limits,
// whose verdict is such a sum; under top-1 and accuracy limits the Measurer
// takes the first k (design.md, decision 45).
std::vector<WeightedSample> choose_sensitivity_samples(const std::vector<std::vector<double>>& proxy, size_t k);

class Measurer {
 public:
  Measurer(const TuneJob& job, std::string original_bytes, Progress& progress);

  const std::vector<Layer>& layers() const { return layers_; }
  size_t outputs() const { return output_names_.size(); }
  size_t sensitivity_samples() const { return sensitivity_.size(); }
  // Their names and weights, in sample order.
  std::vector<std::pair<std::string, double>> sensitivity_set() const;
  size_t samples() const { return data_.samples.size(); }

  // The noise of each (layer, choice) variant, measured job.threads at a time
  // (cache first). A run starts only while `may_start()` says so (called under
  // a lock); what was not run is absent from the result.
  std::map<std::pair<size_t, std::string>, Noise> noise(const std::vector<std::pair<size_t, std::string>>& tasks,
                                                         const std::function<bool()>& may_start, Progress& progress);
  // What the channel choice `key` on `layer` (a channel head) removes; measured
  // with its noise, so known for every head whose noise is known.
  std::optional<SpaceEffect> effect(size_t layer, const std::string& key) const;
  int64_t measured() const { return measured_; }
  int64_t cached() const { return cached_; }

  // Bytes of every layer's weight with `sparsity` then `storage` applied to all
  // layers ("" for none), from the cache or measured.
  std::vector<LayerBytes> layer_bytes(const std::string& sparsity, const std::string& storage);

  // The whole configuration built from `pipeline` on the original model and
  // run on every sample: its size and fidelity (not ok, with `error`, when a
  // step of it fails).
  metrics::TunePoint verify(const std::string& pipeline, const metrics::Budget& fidelity);

  void save_cache() const;

 private:
  Noise measure(size_t layer, const std::string& choice);
  // Each output of `session` (compiled from `model`) against the reference on
  // `samples`, with the tensors before discontinuous steps (the first output of
  // each sample into `first`, when given, for labels).
  std::vector<metrics::OutputDiff> against_reference(const ir::Model& model, rt::Session& session,
                                                     const std::vector<WeightedSample>& samples,
                                                     std::vector<ir::Tensor>* first) const;
  // Per output: its noise-to-signal ratio, or the worst of the tensors before its steps.
  std::vector<double> noise_of(const ir::Model& model, rt::Session& session,
                               const std::vector<WeightedSample>& samples) const;
  // Every sample's squared error per probed tensor with int8 weights on every
  // layer (choose_sensitivity_samples' proxy); empty when that cannot be built.
  std::vector<std::vector<double>> proxy_errors(int threads, Progress& progress) const;
  // The same for a variant on the sensitivity samples, run from where it differs
  // from the prepared model (SuffixRuns) when it can be, else whole.
  std::vector<double> variant_noise(ir::Model& variant, const std::function<ir::Model()>& rebuild);
  // A context whose calibration samples are read once per folder (calib_samples).
  passes::PassContext pass_context();
  std::vector<formats::Sample> calib_samples(const std::string& dir, const std::vector<std::string>& inputs);

  const TuneJob& job_;
  std::string original_bytes_, prepared_bytes_, base_dir_;
  std::vector<Layer> layers_;
  formats::SampleSet data_;
  std::map<std::string, int64_t> dims_;  // job.shrink.dims, and every input dim as the first sample has it
  std::vector<int64_t> labels_;
  std::vector<std::string> output_names_;
  std::optional<FidelityProbe> reference_probe_;
  std::vector<std::vector<ir::Tensor>> reference_;  // per sample, the original's probed outputs
  std::vector<double> base_noise_;                  // the prepared model's own (fold, fuse-bn rounding)
  std::vector<double> base_noise_all_;              // the same on every sample (for channel choices)
  std::vector<WeightedSample> all_;                 // every sample, weight 1
  std::vector<WeightedSample> sensitivity_;         // the samples that measure sensitivity
  std::unique_ptr<SuffixRuns> suffix_;               // the one-layer variants' runs
  std::map<std::string, std::pair<float, float>> ranges_;  // static int8 ranges on the prepared model
  std::map<std::string, std::vector<double>> means_;        // correct='s layer input means on the prepared model
  std::optional<passes::InputMoments> moments_;             // gptq='s layer input moments on the prepared model
  std::mutex samples_mutex_;
  std::map<std::string, std::vector<formats::Sample>> calib_;  // by folder
  std::string cache_file_;
  std::map<std::string, Noise> noise_cache_;                   // "label|choice"
  std::map<std::string, std::vector<LayerBytes>> bytes_cache_;  // "sparsity|storage"
  mutable std::mutex effects_mutex_;
  std::map<std::string, SpaceEffect> effects_;  // "label|choice" of channel choices
  SpaceEffect prepared_totals_;                 // the prepared model's weight bytes and MACs
  int64_t measured_ = 0, cached_ = 0;
};

}  // namespace pare::jobs::tune_detail
