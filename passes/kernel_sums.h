// Rounding that keeps each convolution kernel's sum, shared by quantize's fp16
// and int8 weight storage.
//
// A Conv kernel's taps for one (output, input) channel pair sum to its response
// to a flat input. Edge and high-pass kernels (common in a network's first
// layers) have large taps that cancel: M-LSD 512 large's first depthwise layer
// has channels whose 9 taps add up to |sum| < 0.002 of sum |w|. Rounding each tap
// to its nearest value moves that sum by a random walk of rounding errors,
// which can be many times the sum itself, and every flat image region then
// carries an offset that later layers amplify (float16 alone took that model's
// `offsets` output to 16 dB). Taking, for a few taps, the representable value
// on the other side instead (each tap then within one step of its value,
// rather than half a step) brings each kernel's sum back to the closest the
// storage allows.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/ir/graph.h"

namespace pare::passes {

// The taps per (output, input) channel pair of `v` when every use reads it as a
// Conv's weight with a spatial kernel of two or more taps; 0 otherwise.
int64_t conv_kernel_taps(const ir::Value* v);

// For each group of `taps` consecutive elements: `exact` the values, `nearest`
// their rounding, `other` the representable value on the other side of each
// exact value (equal to nearest when there is none). Returns which elements
// take `other` so that the group's sum comes closest to the exact sum: every
// subset for kernels of up to 12 taps (the fewest flips among equals), one
// greedy flip at a time beyond. Deterministic.
std::vector<bool> sum_keeping_flips(const std::vector<double>& exact, const std::vector<double>& nearest,
                                    const std::vector<double>& other, int64_t taps);

}  // namespace pare::passes
