#include "tools/pare-run/expect.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace pare::run_tool {
namespace {

// 10*log10(sum(e^2) / sum((g-e)^2)) in dB, 200 when identical (as lib/metrics
// reports it); elements NaN in both are left out.
double sqnr_db(const std::vector<double>& g, const std::vector<double>& e) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i]) && std::isnan(e[i])) continue;
    signal += e[i] * e[i];
    noise += (g[i] - e[i]) * (g[i] - e[i]);
  }
  if (noise == 0) return 200;
  return std::min(200.0, 10 * std::log10(std::max(signal, 1e-300) / noise));
}

}  // namespace

std::string mismatch(const std::string& name, const ir::Tensor& got, const ir::Tensor& want, const Criterion& c) {
  if (got.dims() != want.dims())
    return fmt::format("{}: shape [{}] != expected [{}]", name, fmt::join(got.dims(), ","), fmt::join(want.dims(), ","));
  auto g = got.as_double(), e = want.as_double();
  double atol = c.atol;
  std::string scale;
  if (c.range_atol) {
    double range = 1;
    for (double x : e)
      if (std::isfinite(x)) range = std::max(range, std::fabs(x));
    atol *= range;
    scale = fmt::format(" x range {:g}", range);
  }
  for (size_t i = 0; i < g.size(); ++i)
    if (std::isnan(g[i]) != std::isnan(e[i]) || std::fabs(g[i] - e[i]) > atol + c.rtol * std::fabs(e[i]))
      return fmt::format("{}: element {} is {} but {} was expected (tolerance rtol {} atol {}{})", name, i, g[i], e[i],
                         c.rtol, c.atol, scale);
  if (c.min_sqnr) {
    double db = sqnr_db(g, e);
    if (db < *c.min_sqnr) return fmt::format("{}: SQNR {:.1f} dB < {:g} dB", name, db, *c.min_sqnr);
  }
  return "";
}

}  // namespace pare::run_tool
