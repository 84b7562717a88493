#include "tests/support/random.h"

#include <random>

namespace pare::testing {

std::vector<float> uniform_floats(size_t n, uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 * (hi - lo) + lo);
  return v;
}

}  // namespace pare::testing
