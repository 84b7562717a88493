// Calibration: the value range of activation tensors on real samples, from
// which static int8 quantization takes each tensor's scale and zero point.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/ir/graph.h"
#include "passes/pass.h"

namespace pare::passes {

enum class CalibrationMethod {
  kMinMax,      // the extremes seen: nothing clipped, coarse steps when there are outliers
  kPercentile,  // the given percentile of |x| (symmetric) or of x at both ends: outliers clipped
  kEntropy,     // the clipping threshold whose 128-level histogram is closest (KL divergence) to the float one
};

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::kPercentile;
  double percentile = 99.999;
  bool symmetric = false;  // ranges symmetric around 0 (else [lo, hi] as measured)
  int threads = 1;         // runner threads (the ranges do not depend on it)
  // Called after each sample (done, total) and each pass over the samples.
  std::function<void(const std::string& what, size_t done, size_t total)> progress;
};

struct Range {
  float lo = 0, hi = 0;  // always lo <= 0 <= hi: zero must be exactly representable
};

// Runs `model` with pare's runner on every sample and returns the range of each
// float32 tensor of `names` (main-graph values, or graph inputs; others are left out). Minmax needs one pass
// over the samples; percentile and entropy a second one to fill 2048-bin histograms.
// Throws pare::Error when there are no samples or a sample does not fit the model.
std::map<std::string, Range> calibrate(const ir::Model& model, const std::vector<Sample>& samples,
                                       const std::vector<std::string>& names, const CalibrationOptions& options);

// The threshold (a bin edge) that minimises the KL divergence between the
// histogram of |x| (bins of equal width over [0, width * bins)) and its
// 128-level quantization; exposed for tests.
double entropy_threshold(const std::vector<double>& hist, double bin_width);

}  // namespace pare::passes
