// palettize: weights as a table of 2^bits values plus one index per weight
// (passes/palettize.cc). The clustering is exposed for the tests, which rebuild
// each weight from table and indices by hand and compare it with what the
// stored graph computes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace pare::passes {

struct Palette {
  std::vector<float> table;     // sorted ascending, no two equal, at most 2^bits values
  std::vector<uint8_t> index;   // one per input value: the nearest table entry (ties: the lower)
};

// Deterministic weighted 1-D k-means of `values` into at most 2^bits clusters:
// Lloyd iterations over the sorted distinct values (weighted by how often each
// occurs), from two fixed starts (the quantiles (j + 0.5) / 2^bits of the
// sorted values, and 2^bits evenly spaced levels over [min, max]), each stopping
// when nothing moves or after kPaletteIterations; the start with the lower
// squared error wins (so the table never does worse than evenly spaced levels). With at most 2^bits
// distinct values the table holds exactly those (lossless). Values must be finite.
inline constexpr int kPaletteIterations = 300;
Palette palettize_values(std::span<const float> values, int bits);

}  // namespace pare::passes
