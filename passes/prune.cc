// prune(sparsity=S, mode=magnitude|channel): make Conv, ConvTranspose, Gemm and
// MatMul weights smaller.
//
// mode=magnitude (the default) zeroes the smallest-magnitude weights.
// The weight input of Conv, ConvTranspose, Gemm and MatMul (a float32 constant)
// loses its S smallest-magnitude fraction, per layer (scope=layer) or by one
// threshold over all of them (scope=global). The file keeps its size, but zeros
// compress: the download shrinks. Layers whose node name matches a skip glob are
// left alone, and so are weights with fewer than min-size elements (a 3x3 kernel
// of a depthwise channel has nothing to spare). Ties at the threshold are broken
// by position (the earlier one is kept), so the result is deterministic.
// Stats: weights_zeroed, layers, and sparsity per layer in permille
// (layer.<name>), so the report can show where the zeros went.
//
// mode=channel removes whole output channels of Conv layers (structured
// pruning, prune_channels.h): floor(S * C) of the C channels of every channel
// space, the least important by the filters' L1 norm (norm=l2: L2 norm), with
// every consumer rewritten, so the file and the MACs both shrink. scope and
// min-size apply to mode=magnitude only, norm to mode=channel only; skip globs
// apply to both. With mode=channel, only= selects channel spaces: a space is
// pruned when one of its source layers matches.
#include <algorithm>
#include <cmath>

#include "lib/base/strings.h"
#include "passes/pass.h"
#include "passes/prune_channels.h"
#include "passes/select.h"

namespace pare::passes {
namespace {

struct Layer {
  ir::Graph* graph;
  ir::Value* weight;
  std::string name;  // the node's name, or the weight's
};

bool is_weight_slot(const ir::Node& n, size_t index) {
  return index == 1 && n.domain.empty() &&
         (n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm" || n.op_type == "MatMul");
}

class Prune : public Pass {
 public:
  explicit Prune(const OptionValues& v)
      : sparsity_(v.number("sparsity")), global_(v.str("scope") == "global"), min_size_(v.integer("min-size")),
        globs_{v.list("skip"), v.list("only")}, channel_(v.str("mode") == "channel"), l2_(v.str("norm") == "l2") {
  }

  void run(ir::Model& model, PassContext& ctx) override {
    if (channel_) {
      return prune_channels(model, sparsity_, l2_, globs_, ctx);
    }
    std::vector<Layer> layers = collect(model);
    if (layers.empty()) fail("nothing to prune: no float32 Conv, ConvTranspose, Gemm or MatMul weight of {}+ elements", min_size_);
    if (global_) {
      std::vector<float> all;
      for (const Layer& l : layers)
        for (float w : l.weight->constant().span<float>()) all.push_back(std::fabs(w));
      float threshold = kth_smallest(all);
      int64_t budget = static_cast<int64_t>(std::floor(sparsity_ * static_cast<double>(all.size())));
      for (const Layer& l : layers) budget -= zero(l, threshold, budget, ctx);
    } else {
      for (const Layer& l : layers) {
        auto span = l.weight->constant().span<float>();
        std::vector<float> mags(span.size());
        for (size_t i = 0; i < span.size(); ++i) mags[i] = std::fabs(span[i]);
        int64_t budget = static_cast<int64_t>(std::floor(sparsity_ * static_cast<double>(mags.size())));
        zero(l, kth_smallest(mags), budget, ctx);
      }
    }
    ctx.stats["layers"] = static_cast<int64_t>(layers.size());
  }

 private:
  std::vector<Layer> collect(ir::Model& model) const {
    std::vector<Layer> out;
    ir::for_each_graph(*model.graph, [&](ir::Graph& g) {
      for (ir::Value* v : g.constants()) {
        const ir::Tensor& t = v->constant();
        if (t.dtype() != ir::DataType::kFloat || t.numel() < std::max<int64_t>(min_size_, 1) || v->uses().empty()) continue;
        bool ok = true;
        std::string name;
        for (const ir::Use& u : v->uses()) {
          ok = ok && is_weight_slot(*u.node, u.index);
          ok = ok && globs_.selects(*u.node);
          if (name.empty()) name = u.node->name.empty() ? v->name() : u.node->name;
        }
        if (ok) out.push_back({&g, v, name});
      }
    });
    return out;
  }

  // The magnitude at rank floor(S * n): values strictly below it are all zeroed.
  float kth_smallest(std::vector<float> mags) const {
    size_t k = static_cast<size_t>(std::floor(sparsity_ * static_cast<double>(mags.size())));
    if (k == 0) return 0.0f;
    std::nth_element(mags.begin(), mags.begin() + (k - 1), mags.end());
    return mags[k - 1];
  }

  // Zeroes weights below the threshold, then those equal to it in order, up to
  // `budget` in all. Returns how many it zeroed.
  int64_t zero(const Layer& l, float threshold, int64_t budget, PassContext& ctx) const {
    const ir::Tensor& t = l.weight->constant();
    std::vector<float> w(t.span<float>().begin(), t.span<float>().end());
    int64_t zeroed = 0;
    for (float& x : w)
      if (budget > 0 && std::fabs(x) < threshold && x != 0.0f) x = 0.0f, ++zeroed, --budget;
    for (float& x : w)
      if (budget > 0 && std::fabs(x) == threshold && x != 0.0f) x = 0.0f, ++zeroed, --budget;
    int64_t zeros = std::count(w.begin(), w.end(), 0.0f);
    l.weight->set_constant(ir::Tensor::from<float>(t.dims(), w));
    ctx.stats["weights_zeroed"] += zeroed;
    ctx.stats["layer." + l.name] = zeros * 1000 / std::max<int64_t>(1, static_cast<int64_t>(w.size()));
    return zeroed;
  }

  double sparsity_;
  bool global_;
  int64_t min_size_;
  NodeGlobs globs_;  // skip= and only=
  bool channel_;
  bool l2_;
};

}  // namespace

extern const PassInfo kPrunePass = {
    "prune",
    "zero the smallest weights of Conv, ConvTranspose, Gemm and MatMul (zeros compress), or remove whole Conv channels",
    {
        {"sparsity", OptionType::kNumber, "0.5",
         "fraction of each layer's weights (scope=global: of all) to zero; mode=channel: of each space's channels",
         0, 1, true},
        {"mode", OptionType::kChoice, "magnitude",
         "magnitude: zero single weights; channel: remove whole Conv output channels, consumers follow", 0, 0,
         false, {"magnitude", "channel"}},
        {"norm", OptionType::kChoice, "l1", "mode=channel: the filter norm that ranks channels", 0, 0, false,
         {"l1", "l2"}},
        {"scope", OptionType::kChoice, "layer", "one threshold per layer, or one for all layers", 0, 0, false,
         {"layer", "global"}},
        {"min-size", OptionType::kInteger, "64", "weights with fewer elements are left alone", 0, 1e12},
        {"skip", OptionType::kList, "", "node-name globs left alone"},
        {"only", OptionType::kList, "",
         "node-name globs: prune only these nodes' weights (mode=channel: the channel spaces these layers start)"},
    },
    [](const OptionValues& v) -> std::unique_ptr<Pass> { return std::make_unique<Prune>(v); },
};

}  // namespace pare::passes
