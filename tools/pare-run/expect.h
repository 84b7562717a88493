// How pare-run --expect judges outputs against expected ones: element by
// element within rtol and atol (atol optionally scaled to the output's range)
// and, optionally, each output's SQNR against a bound (docs/runtime.md, "On ARM";
// docs/design.md decision 12).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/ir/tensor.h"

namespace pare::run_tool {

// How outputs are compared with the expected ones.
struct Criterion {
  double rtol = 1e-4, atol = 1e-5;
  bool range_atol = false;          // atol * max(1, max|expected|): atol as a fraction of the output's range
  std::optional<double> min_sqnr;  // dB; each output's SQNR must reach it as well
};

// "" when `got` meets the criterion against `want`, else one phrase naming the
// output and the figure: the shape, the first element out of tolerance, or the SQNR.
std::string mismatch(const std::string& name, const ir::Tensor& got, const ir::Tensor& want, const Criterion& c);

}  // namespace pare::run_tool
