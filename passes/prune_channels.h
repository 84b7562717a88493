// prune(mode=channel): structured pruning that removes whole output channels of
// Conv layers and rewrites every consumer, so the file and the MACs shrink and
// the model stays valid. See prune_channels.cc for the rules.
#pragma once

#include <string>
#include <vector>

#include "lib/ir/graph.h"
#include "passes/pass.h"

namespace pare::passes {

// Removes floor(sparsity * n) of the n channels of every prunable channel space
// (the least important by the L1, or with `l2` the L2, norm of their filters).
// Nodes whose name matches one of `skip_globs` are left alone, and so is every
// channel they touch. Writes stats into ctx; throws pare::Error when no channel
// space can be pruned at all.
void prune_channels(ir::Model& model, double sparsity, bool l2, const std::vector<std::string>& skip_globs,
                    PassContext& ctx);

}  // namespace pare::passes
