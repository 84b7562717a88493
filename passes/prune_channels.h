// prune(mode=channel): structured pruning that removes whole output channels of
// Conv layers and rewrites every consumer, so the file and the MACs shrink and
// the model stays valid. See prune_channels.cc for the rules.
#pragma once

#include <string>
#include <vector>

#include "lib/ir/graph.h"
#include "passes/pass.h"
#include "passes/select.h"

namespace pare::passes {

// Removes floor(sparsity * n) of the n channels of every prunable channel space
// (the least important by the L1, or with `l2` the L2, norm of their filters).
// Nodes matched by a skip glob (select.h) are left alone, and so is every
// channel they touch; with only= globs, a space is pruned only when one of its
// source layers (the Convs whose filters it removes) is matched, so a glob
// naming one layer prunes that layer's whole space (pare tune's channel
// choices). Writes stats into ctx; throws pare::Error when no channel space can
// be pruned at all.
void prune_channels(ir::Model& model, double sparsity, bool l2, const NodeGlobs& globs, PassContext& ctx);

// The channel spaces prune_channels could prune, each as the labels
// (ir::node_label) of its source layers in graph order.
std::vector<std::vector<std::string>> prunable_channel_spaces(const ir::Model& model);

}  // namespace pare::passes
