#include "jobs/tune_space.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "lib/base/error.h"
#include "lib/base/strings.h"
#include "passes/options.h"
#include "passes/prune_channels.h"

namespace pare::jobs::tune_detail {
namespace {

const std::set<std::string> kWeightOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
// The activation ops static int8 quantizes (passes/quantize_static.cc): when
// they read a quantized layer's output, quantizing them too lets a runtime keep
// that layer's output in int8.
const std::set<std::string> kFollowerOps = {"Add", "Mul", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool",
                                            "HardSwish", "HardSigmoid", "Sigmoid"};

bool addressable(const std::string& label, const std::map<std::string, int>& count) {
  return !label.empty() && label.find_first_of("*?") == std::string::npos && count.at(label) == 1;
}

std::string only_args(const std::vector<std::string>& only) {
  std::string out;
  for (const auto& l : only) out += ", only=" + passes::quote_if_needed(l);
  return out;
}

}  // namespace

const std::vector<Choice>& all_choices() {
  // Storage from the gentlest to the coarsest: a coarser palette is measured only
  // when the finer one stayed within the noise cap (errors grow with fewer levels).
  static const std::vector<Choice> choices = {
      {"fp16", Axis::kStorage, 0, ""},   {"int8", Axis::kStorage, 0, "fp16"}, {"int7", Axis::kStorage, 0, "int8"},
      {"int6", Axis::kStorage, 0, "int7"}, {"p6", Axis::kStorage, 0, "int8"}, {"p4", Axis::kStorage, 0, "p6"},
      {"p3", Axis::kStorage, 0, "p4"},   {"int4", Axis::kStorage, 0, "int8"},
      {"s25", Axis::kSparsity, 0.25, ""}, {"s50", Axis::kSparsity, 0.5, "s25"}, {"s75", Axis::kSparsity, 0.75, "s50"},
      {"qdq", Axis::kActivations, 0, ""},
      {"c25", Axis::kChannels, 0.25, ""}, {"c50", Axis::kChannels, 0.5, "c25"},
  };
  return choices;
}

const Choice& choice(const std::string& key) {
  for (const Choice& c : all_choices())
    if (c.key == key) return c;
  throw InternalError("tune: unknown choice " + key);
}

std::vector<Layer> find_layers(const ir::Model& prepared) {
  const ir::Graph& g = *prepared.graph;
  std::map<std::string, int> count;
  for (const auto& n : g.nodes()) ++count[ir::node_label(*n)];
  std::vector<Layer> out;
  for (const auto& n : g.nodes()) {
    if (n->is_dead() || !n->domain.empty() || !kWeightOps.count(n->op_type) || n->inputs().size() < 2) continue;
    const ir::Value* w = n->input(1);
    if (!w || !w->is_constant() || w->constant().dtype() != ir::DataType::kFloat || w->constant().numel() < 16 ||
        w->uses().size() != 1 || w->is_graph_output())
      continue;
    std::string label = ir::node_label(*n);
    if (!addressable(label, count)) continue;
    Layer l{label, n->op_type, w->name(), w->constant().numel(), 0, {label}};
    for (const ir::Use& u : n->output(0)->uses())
      if (u.node->domain.empty() && kFollowerOps.count(u.node->op_type) && addressable(ir::node_label(*u.node), count))
        l.static_labels.push_back(ir::node_label(*u.node));
    out.push_back(std::move(l));
  }
  // The head of each prunable channel space: its first source that is a layer.
  for (const auto& space : passes::prunable_channel_spaces(prepared))
    for (const auto& label : space) {
      auto it = std::find_if(out.begin(), out.end(), [&](const Layer& l) { return l.label == label; });
      if (it == out.end()) continue;
      it->channel_head = true;
      break;
    }
  return out;
}

std::string Config::str() const {
  std::string s = storage.empty() ? "fp32" : storage;
  if (!sparsity.empty()) s += "+" + sparsity;
  return channels.empty() ? s : channels + "+" + s;
}

std::string step_text(const Choice& c, const std::vector<std::string>& only, const std::string& calib, bool composed) {
  std::string o = only_args(only);
  // Static int8 as it is: with gptq= (PP-OCRv4 det --objective latency
  // --min-sqnr 25, calibrated on 8 other pages) 30 convolutions with int8
  // activations at 25.0 dB on 8 held-out pages against 29 at 24.4 dB, in 541 s
  // against 195 s; smoothed too (smooth=0.5), 35 at 23.3 dB.
  if (c.key == "qdq") return "quantize(dtype=int8, calib=" + passes::quote_if_needed(calib) + o + ")";
  // With samples, the weight-storage choices take back their mean shift
  // (correct=): PP-OCR cls with --max-top1-drop 1, 78.8% -> 67.6% of int8's download (docs/tuning.md).
  std::string corrected = (calib.empty() ? "" : ", correct=" + passes::quote_if_needed(calib)) +
                          (composed ? ", if-any" : "") + o;
  // They also choose their stored values by GPTQ on the same samples (gptq=,
  // passes/gptq.h): PP-OCRv4 rec's 4-bit palettes 1% -> 89% of characters,
  // det's int8 weights 22.7 -> 29.5 dB with the correction.
  // Each layer on the float model's inputs (sequential=false): the search
  // measures every layer's noise alone, where sequential rounding makes the
  // whole model's noise fall below the sum, so the search went further than
  // other pages bear (PP-OCRv4 det --min-sqnr 30: 18.8% of the download at
  // 30 dB on the search pages but 27.0 dB on 8 other pages, in 1036 s against 302 s).
  std::string rounded =
      calib.empty() ? corrected : ", gptq=" + passes::quote_if_needed(calib) + ", sequential=false" + corrected;
  // The fp16 choice stores biases as float16 too (quantize(fp16) keeps them
  // float32 by default): the search measures each layer's noise, so a layer
  // whose bias rounding matters stays float32 anyway, and the two bytes per bias
  // count: with float32 biases the classifier's corrected searches ended at
  // 63.3%, 49.1% and 66.6% of int8's download instead of 61.4%, 50.6% and 50.8%
  // (three search seeds), PP-OCRv4 det's at 22.5% instead of 21.7%.
  if (c.key == "fp16") return "quantize(dtype=fp16, float16-biases" + rounded + ")";
  if (c.key == "int8") return "quantize(dtype=int8, weights-only" + rounded + ")";
  // int7 and int6: int8 storage with a narrower integer's steps, which deflate
  // codes in fewer bits (quantize.cc): on a large layer's weights less noise
  // per downloaded byte than a 6-bit palette; det --min-sqnr 30 corrected,
  // 925,169 -> 917,484 B with 30.4 -> 30.9 dB on 8 other pages.
  if (c.key == "int7" || c.key == "int6")
    return "quantize(dtype=int8, weights-only, bits=" + c.key.substr(3) + rounded + ")";
  if (c.key == "int4") return "quantize(dtype=int4, weights-only" + rounded + ")";
  if (c.key[0] == 'p') return "palettize(bits=" + c.key.substr(1) + ", depthwise=true, first" + rounded + ")";
  if (c.axis == Axis::kSparsity) return fmt::format("prune(sparsity={}, min-size=16{})", c.sparsity, o);
  if (c.axis == Axis::kChannels) return fmt::format("prune(sparsity={}, mode=channel{})", c.sparsity, o);
  throw InternalError("tune: no step for choice " + c.key);
}

std::string pipeline_text(const std::vector<Layer>& layers, const std::vector<Config>& configs, const std::string& calib) {
  std::vector<std::string> steps = {kPreparation};
  auto add = [&](const std::string& key, auto picks) {
    std::vector<std::string> only;
    for (size_t i = 0; i < layers.size(); ++i)
      if (picks(configs[i]))
        for (const auto& l : key == "qdq" ? layers[i].static_labels : std::vector<std::string>{layers[i].label})
          if (std::find(only.begin(), only.end(), l) == only.end()) only.push_back(l);
    if (!only.empty()) steps.push_back(step_text(choice(key), only, calib, true));
  };
  // Magnitude pruning first, then channel pruning: measured alone, both may
  // find the same dead weights harmless to remove (a squeeze-excite gate's dead
  // channels); after magnitude pruning those channels have the least L1 and go
  // first, where the other order would make magnitude pruning take live weights
  // instead (PP-OCRv4 rec: 28 dB where each alone changed nothing). Static int8
  // before the storage steps (its calibration sees the float model), then storage.
  for (const char* s : {"s25", "s50", "s75"}) add(s, [&](const Config& c) { return c.sparsity == s; });
  for (const char* s : {"c25", "c50"}) add(s, [&](const Config& c) { return c.channels == s; });
  for (const char* s : {"qdq", "p6", "p4", "p3", "int4", "int6", "int7", "int8", "fp16"})
    add(s, [&](const Config& c) { return c.storage == s; });
  steps.push_back("strip");
  return join(steps, ", ");
}

std::vector<std::vector<Config>> config_path(const std::vector<Config>& from, const std::vector<Config>& to,
                                             const std::function<std::pair<double, double>(size_t layer)>& estimate) {
  struct Move {
    size_t layer;
    double efficiency;  // cost saved per noise added
  };
  std::vector<Move> moves;
  for (size_t l = 0; l < from.size() && l < to.size(); ++l) {
    if (from[l] == to[l]) continue;
    auto [saved, added] = estimate(l);
    double efficiency = saved <= 0 ? -1 : added <= 0 ? std::numeric_limits<double>::infinity() : saved / added;
    moves.push_back({l, efficiency});
  }
  std::stable_sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) { return a.efficiency > b.efficiency; });
  std::vector<std::vector<Config>> out = {from};
  for (const Move& m : moves) {
    out.push_back(out.back());
    out.back()[m.layer] = to[m.layer];
  }
  return out;
}

double shortfall(const metrics::TunePoint& p, const metrics::Budget& b) {
  constexpr double kMissing = std::numeric_limits<double>::infinity();
  double s = 0;
  auto add = [&](double by) { s = std::max(s, by); };
  if (b.min_sqnr) add(p.sqnr ? (*b.min_sqnr - *p.sqnr) / std::max(1.0, std::fabs(*b.min_sqnr)) : kMissing);
  if (b.min_cosine) add(p.cosine ? (*b.min_cosine - *p.cosine) / std::max(1e-9, 1.0 - *b.min_cosine) : kMissing);
  if (b.max_top1_drop) add(p.top1_drop ? (*p.top1_drop - *b.max_top1_drop) / std::max(0.1, *b.max_top1_drop) : kMissing);
  if (b.min_accuracy) add(p.accuracy ? (*b.min_accuracy - *p.accuracy) / std::max(0.01, *b.min_accuracy) : kMissing);
  return s;
}

}  // namespace pare::jobs::tune_detail
