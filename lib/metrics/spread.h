// How much a figure measured over samples depends on which samples were
// measured: a percentile bootstrap. The samples are drawn with replacement
// kResamples times, the figure is computed on each draw, and the range holds
// the middle 90% of those figures. A wide range says the samples are too few
// or too unlike each other to pin the figure down (PP-OCRv4 rec: five lines of
// 256 carry 87% of an int8 model's noise, docs/tuning.md), which a single
// number hides. The draws come from a fixed-seed generator: the same sums give
// the same range on every machine.
#pragma once

#include <span>

namespace pare::metrics {

struct Range {
  double low = 0, high = 0;  // the 5th and 95th percentiles of the resampled figure
};

inline constexpr int kResamples = 1000;

// 10*log10(sum signal / sum noise) over resamples of the samples, each
// sample's sums at one index (capped at 200 dB as OutputDiff's SQNR is).
// Needs at least two samples.
Range sqnr_range_db(std::span<const double> signal, std::span<const double> noise);

// mean(after) - mean(before) over resamples of the pairs (a paired bootstrap:
// a sample moves both means together). Needs at least two pairs.
Range mean_change_range(std::span<const double> before, std::span<const double> after);

}  // namespace pare::metrics
