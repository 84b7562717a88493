// What the pare build suites share: running `pare build PLAN -q` and finding a
// manifest or report entry by name.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/ort.h"

namespace pare::testing {

inline Command build(const std::string& plan, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {pare_bin(), "build", plan, "-q"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv);
}

// The entry of `list` (a manifest's or report's "subtasks") named `name`; a test failure when none is.
inline const nlohmann::json& entry(const nlohmann::json& list, const std::string& name) {
  for (const auto& e : list)
    if (e["name"] == name) return e;
  static const nlohmann::json none;
  ADD_FAILURE() << "no entry '" << name << "'";
  return none;
}

}  // namespace pare::testing
