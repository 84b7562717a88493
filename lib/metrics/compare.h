// How far an output moved: the figures every fidelity report carries.
//
// SQNR is 10*log10(sum(ref^2) / sum((ref - got)^2)) in dB (the definition ONNX
// Runtime's quantization debugger uses), capped at 200 dB and reported as
// identical when the difference is zero. Top-1 agreement applies to outputs that
// look like class scores: rank 1 or 2 with a last dimension of 2 or more; it is
// the fraction of rows whose argmax is the same.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/ir/tensor.h"
#include "lib/metrics/spread.h"

namespace pare::metrics {

// How an output's SQNR is spread over the samples (metrics/spread.h): what
// other samples of the same kind could have given, and the sample whose
// error weighs most in the sum.
struct SampleSpread {
  Range sqnr_db;              // 90% of resamples of the samples
  size_t loudest = 0;         // the sample with the largest squared error, in the order added
  std::string loudest_name;   // its name, where the job knows it
  double loudest_share = 0;   // its part of the summed squared error
  double loudest_sqnr_db = 0; // its own SQNR
};

struct OutputDiff {
  std::string name;
  double sqnr_db = 0;  // 200 when identical
  bool identical = false;
  double cosine = 1;
  double max_abs = 0;
  double mean_abs = 0;
  std::optional<double> top1_agreement;  // only for class-score-like outputs
  int64_t elements = 0;
  // An output computed through discontinuous steps (metrics/steps.h): the steps
  // ("Equal") and the last continuous tensors before them, compared as well
  // (named as in the reference model). Budgets and tune judge those instead of
  // the output, whose SQNR counts harmless tie flips.
  std::vector<std::string> steps;
  std::vector<OutputDiff> before_steps;
  // Over two or more samples, not identical (fidelity reports; not per-layer rows).
  std::optional<SampleSpread> spread;
};

// What budgets judge of the compared outputs: each output, or the tensors
// before its steps when it has them.
std::vector<OutputDiff> judged(const std::vector<OutputDiff>& outputs);

// Accumulates over samples: call add() once per sample, then result().
class OutputDiffAccumulator {
 public:
  explicit OutputDiffAccumulator(std::string name) : name_(std::move(name)) {}
  // Throws pare::Error when shapes differ. `weight` scales the sample's sums
  // (signal, noise, products: SQNR and cosine), as when it stands for `weight`
  // samples like it (tune's sensitivity samples); counts stay unweighted.
  void add(const ir::Tensor& reference, const ir::Tensor& got, double weight = 1.0);
  OutputDiff result() const;
  // With two or more samples and some error: the spread of SQNR over them.
  std::optional<SampleSpread> spread() const;

 private:
  std::string name_;
  std::vector<double> sample_signal_, sample_noise_;  // each add()'s weighted sums
  double signal_ = 0, noise_ = 0, dot_ = 0, ref_sq_ = 0, got_sq_ = 0, max_abs_ = 0, sum_abs_ = 0;
  int64_t elements_ = 0, rows_ = 0, rows_agree_ = 0;
  bool class_scores_ = true;
};

}  // namespace pare::metrics
