// skip= and only=: the node-name globs that say which nodes a weight pass
// touches. A glob matches a node's label (its name, or its first output's name
// when it has none: ir::node_label). skip= leaves matching nodes alone; only=,
// when given, limits the pass to matching nodes. pare tune writes its per-layer
// choices as only= lists, so `pare shrink --passes` rebuilds them exactly.
#pragma once

#include <string>
#include <vector>

#include "lib/base/strings.h"
#include "lib/ir/graph.h"

namespace pare::passes {

struct NodeGlobs {
  std::vector<std::string> skip, only;

  // True when the pass may touch `n`: no skip glob matches it and, with only=, an only glob does.
  bool selects(const ir::Node& n) const {
    std::string label = ir::node_label(n);
    for (const auto& glob : skip)
      if (glob_match(glob, label)) return false;
    if (only.empty()) return true;
    for (const auto& glob : only)
      if (glob_match(glob, label)) return true;
    return false;
  }
};

}  // namespace pare::passes
