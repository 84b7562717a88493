#include "lib/metrics/spread.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "lib/base/error.h"

namespace pare::metrics {
namespace {

// SplitMix64: small, fast, and the same sequence everywhere (std's
// distributions are not specified bit for bit across libraries).
class Draws {
 public:
  explicit Draws(uint64_t seed) : state_(seed) {}
  // Uniform in [0, n) by multiply-shift of the top 32 bits (n < 2^32).
  size_t below(size_t n) {
    state_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<size_t>(((z >> 32) * static_cast<uint64_t>(n)) >> 32);
  }

 private:
  uint64_t state_;
};

// The 5th and 95th percentiles of `figure` over kResamples draws of n indices.
template <typename Figure>
Range bootstrap(size_t n, Figure figure) {
  PARE_CHECK(n >= 2, "a bootstrap over {} samples", n);
  Draws draws(0x70617265ull + n);  // "pare", and the count: one fixed sequence per sample count
  std::vector<double> figures;
  figures.reserve(kResamples);
  std::vector<size_t> pick(n);
  for (int r = 0; r < kResamples; ++r) {
    for (size_t& i : pick) i = draws.below(n);
    figures.push_back(figure(pick));
  }
  std::sort(figures.begin(), figures.end());
  return {figures[kResamples / 20], figures[kResamples - 1 - kResamples / 20]};
}

}  // namespace

Range sqnr_range_db(std::span<const double> signal, std::span<const double> noise) {
  PARE_CHECK(signal.size() == noise.size(), "{} signal and {} noise sums", signal.size(), noise.size());
  return bootstrap(signal.size(), [&](const std::vector<size_t>& pick) {
    double s = 0, e = 0;
    for (size_t i : pick) {
      s += signal[i];
      e += noise[i];
    }
    return e == 0 ? 200.0 : std::min(200.0, 10 * std::log10(std::max(s, 1e-300) / e));
  });
}

Range mean_change_range(std::span<const double> before, std::span<const double> after) {
  PARE_CHECK(before.size() == after.size(), "{} and {} paired values", before.size(), after.size());
  return bootstrap(before.size(), [&](const std::vector<size_t>& pick) {
    double change = 0;
    for (size_t i : pick) change += after[i] - before[i];
    return change / static_cast<double>(pick.size());
  });
}

}  // namespace pare::metrics
