// The kernel families by op type, for the reduced-ops build (PARE_OPS) and
// its test. kernels/registry.cc holds the table.
#pragma once

#include <initializer_list>
#include <string_view>
#include <vector>

#include "lib/runtime/kernel.h"
#include "pare/kept_ops.h"

namespace pare::rt::kernels {

// Whether the build keeps `op`'s kernel (every op unless PARE_OPS is set).
constexpr bool op_kept(std::string_view op) {
  if (kAllOps) return true;
  for (std::string_view k : kKeptOps)
    if (k == op) return true;
  return false;
}

constexpr bool any_kept(std::initializer_list<std::string_view> ops) {
  for (std::string_view op : ops)
    if (op_kept(op)) return true;
  return false;
}

struct FamilyOps {
  std::string_view family;
  std::vector<std::string_view> ops;
};
// Every family with the op types registry.cc lists for it.
const std::vector<FamilyOps>& family_ops();
// The defs a family function returns, by family name (for the test of the
// lists); calling it links every family, so only tests do.
std::vector<KernelDef> family_kernels(std::string_view family);

}  // namespace pare::rt::kernels
