// Seeded test data: the same values on every machine and standard library
// (mt19937_64 is specified to the bit; the distributions of <random> are not).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pare::testing {

// n floats in [lo, hi): u * (hi - lo) + lo for u uniform in [0, 1) at 53 bits,
// computed in double and rounded to float once.
std::vector<float> uniform_floats(size_t n, uint64_t seed, double lo, double hi);

}  // namespace pare::testing
