// prune(sparsity=S, mode=channel): remove whole output channels of Conv layers.
//
// Before:  a = Conv(x, W[64,..]);  b = Relu(BN(a));  y = Conv(b, V[32,64,..])
// After:   a = Conv(x, W'[48,..]); b = Relu(BN'(a)); y = Conv(b, V'[32,48,..])
// Every tensor with a channel axis (axis 1: NCHW activations, and [N,C] after a
// global pool and Flatten) gets one "slot" per channel. Ops that keep channel c
// as channel c unite the slots of their inputs and outputs (union-find), so a
// group of united slots is one channel that must be kept or removed everywhere
// at once; the tensors a group connects form a "channel space":
// - kept per channel: Relu, Clip, Sigmoid, HardSigmoid, HardSwish, LeakyRelu,
//   Tanh, Elu and similar, Identity, Dropout, BatchNormalization and
//   InstanceNormalization (constant per-channel parameters: sliced), MaxPool,
//   AveragePool, the global pools, Resize/Upsample scaling H and W only (a
//   constant `sizes` gets its channel entry rewritten), Pad not padding axis 1,
//   depthwise Conv (group == channels, one filter each: weight, bias and the
//   group attribute follow), Add/Sub/Mul/Div/Pow/Max/Min/PRelu with a constant
//   that is a scalar or per channel (sliced), or with a computed partner of the
//   same channel count (united: residual Adds and squeeze-excitation Muls);
// - Concat along axis 1 places its inputs' channels one after the other
//   (constant inputs, such as BlazeFace's zero channel padding, are sliced; a
//   ConstantOfShape gets its shape rewritten); along another axis it unites;
// - channels start at a Conv or ConvTranspose with group 1 and constant float
//   weights (their output filters are the "sources") and end at a Conv or
//   ConvTranspose with group 1 (weight input channels sliced), at Gemm/MatMul
//   reading [N, C] (weight rows sliced, transB respected), through Flatten or
//   Squeeze of a [N, C, 1, 1] tensor.
// Anything else touching a tensor blocks all of its channels, which are then
// left untouched: graph inputs and outputs, Reshape, Transpose, Slice, Shape,
// Softmax, reductions, grouped Convs other than depthwise, computed weights,
// uses from a subgraph, declared shapes that disagree, and nodes matched by a
// skip glob. In a space, the groups that are not blocked and contain at least
// one source filter are the candidates. A filter's importance is its L1 (norm=l2:
// L2) norm divided by the mean filter norm of its layer, so one big layer does
// not dominate; a group's importance is the mean over its source filters (the
// sum, up to a constant factor, when every group of the space has the same
// sources, i.e. without Concat: a channel that Concat added to fewer layers is
// not less important for that). Every tensor of the space loses floor(S * its
// candidate channels), the least important first; without Concat that is one
// choice of floor(S * C) channels for the space, with Concat the tensors holding
// fewer groups choose first and the others top up. Ties go by position (the
// later channel goes first), so the result is deterministic, and no tensor ever
// loses its last channel.
// The rewrite slices each constant where it is used (in place, keeping its name,
// when that is its only use), updates group attributes, shape constants and the
// declared channel dim of every value whose channels changed, then compacts.
// Stats: channels_removed (groups), filters_removed (source filters),
// spaces_pruned, spaces_blocked (spaces with Conv filters, none removable),
// blocked.<reason> (per blocked space, the first reason found) and
// layer.<source node> = output channels kept.
#include "passes/prune_channels.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <unordered_map>

#include "lib/base/strings.h"

namespace pare::passes {
namespace {

// A constant a rewrite may change (a constant that is also a graph input can be overridden by the caller).
const ir::Tensor* constant_of(const ir::Value* v) {
  return v && v->is_constant() && !v->is_graph_input() && ir::size_of(v->constant().dtype()) > 0 ? &v->constant()
                                                                                                   : nullptr;
}

const ir::Tensor* stored_float_constant(const ir::Value* v) {
  const ir::Tensor* t = constant_of(v);
  return t && t->dtype() == ir::DataType::kFloat ? t : nullptr;
}

bool used(const ir::Value* v) { return v && (!v->uses().empty() || v->is_graph_output()); }

// `t` with only the indices `keep` (ascending) along `axis`.
ir::Tensor take_along(const ir::Tensor& t, size_t axis, const std::vector<int64_t>& keep) {
  int64_t inner = static_cast<int64_t>(ir::size_of(t.dtype())), outer = 1;
  for (size_t i = 0; i < axis; ++i) outer *= t.dims()[i];
  for (size_t i = axis + 1; i < t.rank(); ++i) inner *= t.dims()[i];
  int64_t n = t.dims()[axis];
  std::vector<uint8_t> bytes;
  bytes.reserve(static_cast<size_t>(outer * static_cast<int64_t>(keep.size()) * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : keep) {
      const uint8_t* p = t.raw() + (o * n + k) * inner;
      bytes.insert(bytes.end(), p, p + inner);
    }
  std::vector<int64_t> dims = t.dims();
  dims[axis] = static_cast<int64_t>(keep.size());
  return ir::Tensor(t.dtype(), std::move(dims), std::move(bytes));
}

// The L1 or L2 norm of each slice of `w` along `axis` (one output filter each).
std::vector<double> filter_norms(const ir::Tensor& w, size_t axis, bool l2) {
  int64_t inner = 1;
  for (size_t i = axis + 1; i < w.rank(); ++i) inner *= w.dims()[i];
  int64_t n = w.dims()[axis];
  std::vector<double> norms(static_cast<size_t>(n), 0.0);
  auto v = w.span<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    double x = v[i];
    norms[static_cast<size_t>((static_cast<int64_t>(i) / inner) % n)] += l2 ? x * x : std::fabs(x);
  }
  if (l2)
    for (double& x : norms) x = std::sqrt(x);
  return norms;
}

// A 1x1 Conv without padding keeps a [N, C, 1, 1] tensor at 1x1.
bool keeps_unit(const ir::Node& n, const ir::Tensor& w) {
  for (size_t i = 2; i < w.rank(); ++i)
    if (w.dims()[i] != 1) return false;
  for (int64_t p : n.attr_ints("pads"))
    if (p != 0) return false;
  std::string pad = n.attr_string("auto_pad", "NOTSET");
  return pad == "NOTSET" || pad == "VALID";
}

const std::set<std::string> kUnary = {"Relu",  "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu",
                                      "Tanh",  "Elu",  "Selu",    "Celu",        "Softplus",  "Softsign",
                                      "ThresholdedRelu", "Identity", "Dropout",  "Abs",       "Neg",
                                      "Erf",   "Mish", "Gelu"};
const std::set<std::string> kPool = {"MaxPool", "AveragePool", "LpPool"};
const std::set<std::string> kGlobalPool = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"};
const std::set<std::string> kBinary = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"};

// A tensor with a channel axis: its channels are the slots base .. base + channels - 1.
struct Act {
  ir::Value* value;
  int64_t base, channels, rank;
  bool unit;  // every axis after the channel axis has size 1
};

struct SliceEdit {  // a constant input sliced along `axis`; slots[k] is the channel of index k
  ir::Node* node;
  size_t input, axis;
  std::vector<int64_t> slots;
};
struct ShapeEdit {  // an int64 shape input whose `element` is the channel count of `act`
  ir::Node* node;
  size_t input, element, act;
};
struct Source {  // a Conv (weight axis 0) or ConvTranspose (axis 1) whose output `act` it starts
  ir::Node* node;
  size_t axis, act;
};

struct Totals {
  int64_t sources = 0, skipped = 0, candidates = 0, removed = 0, filters_removed = 0;
  int64_t spaces_pruned = 0, spaces_blocked = 0;
  std::map<std::string, int64_t> blocked;  // reason -> spaces
  std::map<std::string, int64_t> layers;   // source node -> channels kept
  int64_t spaces_not_selected = 0;          // candidate spaces with no source matched by only=
  std::vector<std::vector<std::string>> spaces;  // per candidate space, its sources' labels in graph order
};

// The channel analysis and rewrite of one graph.
class ChannelPruner {
 public:
  ChannelPruner(ir::Graph& g, int64_t opset, const std::vector<std::string>& skip, const std::vector<std::string>& only)
      : g_(g), opset_(opset), skip_(skip), only_(only) {}

  void analyse() {
    for (ir::Value* v : g_.inputs) {
      if (v->is_constant() || !v->shape || v->shape->rank() < 2 || !v->shape->dims[1].is_known()) continue;
      make(v, v->shape->dims[1].value, static_cast<int64_t>(v->shape->rank()), false);
      block(v, "graph input");
    }
    for (ir::Node* n : g_.nodes_snapshot()) visit(*n);
    for (const Act& a : std::vector<Act>(acts_)) {
      if (a.value->is_graph_output()) block(a.value, "graph output");
      for (const ir::Use& u : a.value->uses())
        if (u.node->owner() != &g_) block(a.value, "subgraph");
    }
  }

  // Picks the channel groups to remove; adds to `t`.
  void choose(double sparsity, bool l2, Totals& t) {
    size_t n = parent_.size();
    root_.resize(n);
    for (size_t s = 0; s < n; ++s) root_[s] = find(static_cast<int64_t>(s));
    std::vector<const std::string*> blocked(n, nullptr);
    for (const auto& [s, reason] : blocks_)
      if (!blocked[root_[s]]) blocked[root_[s]] = &reason;
    std::vector<double> score(n, 0.0);
    std::vector<int64_t> sourced(n, 0);  // source filters in the group
    for (const Source& src : sources_) {
      const Act& a = acts_[src.act];
      std::vector<double> norms = filter_norms(src.node->input(1)->constant(), src.axis, l2);
      double mean = std::accumulate(norms.begin(), norms.end(), 0.0) / static_cast<double>(norms.size());
      for (int64_t c = 0; c < a.channels; ++c) {
        int64_t r = root_[a.base + c];
        score[r] += mean > 0 ? norms[c] / mean : 0.0;
        ++sourced[r];
      }
      ++t.sources;
    }
    t.skipped += skipped_convs_;
    // A group that Concat joined to fewer layers is not less important for that:
    // rank by the mean over the group's filters (the sum when all have the same).
    for (size_t r = 0; r < n; ++r)
      if (sourced[r] > 0) score[r] /= static_cast<double>(sourced[r]);
    // Spaces: the tensors that groups connect (union-find over tensors).
    std::vector<int64_t> space(acts_.size());
    std::iota(space.begin(), space.end(), 0);
    auto find_space = [&](int64_t a) {
      while (space[a] != a) a = space[a] = space[space[a]];
      return a;
    };
    std::vector<int64_t> first_act(n, -1);
    std::vector<std::vector<size_t>> members(n);  // the tensors of each group, one entry per slot
    for (size_t i = 0; i < acts_.size(); ++i)
      for (int64_t c = 0; c < acts_[i].channels; ++c) {
        int64_t r = root_[acts_[i].base + c];
        members[r].push_back(i);
        if (first_act[r] < 0) {
          first_act[r] = static_cast<int64_t>(i);
        } else {
          int64_t x = find_space(static_cast<int64_t>(i)), y = find_space(first_act[r]);
          if (x != y) space[std::max(x, y)] = std::min(x, y);
        }
      }
    std::map<int64_t, std::vector<int64_t>> groups;  // space (its first tensor) -> groups in order of appearance
    std::map<int64_t, std::vector<size_t>> tensors;  // space -> its tensors in graph order
    std::vector<char> seen(n, 0);
    for (size_t i = 0; i < acts_.size(); ++i) {
      int64_t s = find_space(static_cast<int64_t>(i));
      tensors[s].push_back(i);
      for (int64_t c = 0; c < acts_[i].channels; ++c) {
        int64_t r = root_[acts_[i].base + c];
        if (!seen[r]) seen[r] = 1, groups[s].push_back(r);
      }
    }
    std::map<int64_t, std::vector<const Source*>> space_sources;
    for (const Source& src : sources_) space_sources[find_space(static_cast<int64_t>(src.act))].push_back(&src);
    std::vector<int64_t> remaining(acts_.size());
    for (size_t i = 0; i < acts_.size(); ++i) remaining[i] = acts_[i].channels;
    removed_.assign(n, 0);
    std::vector<char> candidate(n, 0);
    auto less_important = [&](int64_t a, int64_t b) { return score[a] != score[b] ? score[a] < score[b] : a > b; };
    for (const auto& [s, roots] : groups) {
      int64_t candidates = 0;
      const std::string* reason = nullptr;
      for (int64_t r : roots) {
        if (!sourced[r]) continue;
        if (blocked[r]) reason = reason ? reason : blocked[r];
        else candidate[r] = 1, ++candidates;
      }
      if (candidates == 0) {
        if (reason) ++t.spaces_blocked, ++t.blocked[*reason];
        continue;
      }
      std::vector<std::string> labels;
      bool selected = only_.empty();
      for (const Source* src : space_sources[s]) {
        labels.push_back(ir::node_label(*src->node));
        for (const auto& glob : only_) selected = selected || glob_match(glob, labels.back());
      }
      t.spaces.push_back(labels);
      if (!selected) {
        ++t.spaces_not_selected;
        continue;
      }
      t.candidates += candidates;
      // Every tensor loses floor(S * its candidate channels). Without Concat all
      // tensors of a space hold the same groups, so this is floor(S * C) once;
      // with Concat, the tensors holding fewer groups choose first.
      std::vector<std::pair<int64_t, size_t>> order;  // candidate channels, tensor
      for (size_t i : tensors.at(s)) {
        int64_t k = 0;
        for (int64_t c = 0; c < acts_[i].channels; ++c) k += candidate[root_[acts_[i].base + c]];
        order.emplace_back(k, i);
      }
      std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      int64_t done = 0;
      for (const auto& [k, i] : order) {
        auto target = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(k)));
        int64_t gone = 0;
        std::vector<int64_t> options;
        for (int64_t c = 0; c < acts_[i].channels; ++c) {
          int64_t r = root_[acts_[i].base + c];
          if (!candidate[r]) continue;
          if (removed_[r]) ++gone;
          else options.push_back(r);
        }
        std::sort(options.begin(), options.end(), less_important);
        options.erase(std::unique(options.begin(), options.end()), options.end());
        for (int64_t r : options) {
          if (gone >= target) break;
          bool ok = true;  // no tensor may lose its last channel
          for (size_t j : members[r]) ok = ok && remaining[j] > std::count(members[r].begin(), members[r].end(), j);
          if (!ok) continue;
          removed_[r] = 1;
          for (size_t j : members[r]) --remaining[j];
          gone += std::count(members[r].begin(), members[r].end(), i);
          ++done;
        }
      }
      t.removed += done;
      if (done > 0) ++t.spaces_pruned;
    }
    kept_ = remaining;
    for (const Source& src : sources_) {
      const Act& a = acts_[src.act];
      std::string name = src.node->name.empty() ? a.value->name() : src.node->name;
      t.layers[name] = kept_[src.act];
      t.filters_removed += a.channels - kept_[src.act];
    }
  }

  // Applies the choice. Returns whether anything changed.
  bool rewrite() {
    bool changed = false;
    for (const SliceEdit& e : slices_) {
      std::vector<int64_t> keep;
      for (size_t k = 0; k < e.slots.size(); ++k)
        if (e.slots[k] < 0 || !removed_[root_[e.slots[k]]]) keep.push_back(static_cast<int64_t>(k));
      if (keep.size() == e.slots.size()) continue;
      const ir::Tensor& t = e.node->input(e.input)->constant();
      PARE_CHECK(t.dims()[e.axis] == static_cast<int64_t>(e.slots.size()),
                 "channel slice of '{}' has {} entries, not {}", e.node->input(e.input)->name(), t.dims()[e.axis],
                 e.slots.size());
      replace_constant(*e.node, e.input, take_along(t, e.axis, keep));
      changed = true;
    }
    for (const ShapeEdit& e : shapes_) {
      const ir::Tensor& t = e.node->input(e.input)->constant();
      std::vector<int64_t> dims = t.as_int64();
      if (dims[e.element] == kept_[e.act]) continue;
      dims[e.element] = kept_[e.act];
      replace_constant(*e.node, e.input, ir::Tensor::from<int64_t>(t.dims(), dims));
      changed = true;
    }
    for (const auto& [node, act] : group_edits_)
      if (kept_[act] != acts_[act].channels) node->set_attr(ir::Attribute::of_int("group", kept_[act]));
    for (size_t i = 0; i < acts_.size(); ++i) {
      ir::Value* v = acts_[i].value;
      if (kept_[i] == acts_[i].channels || !v->shape || v->shape->rank() < 2) continue;
      if (v->shape->dims[1].is_known()) v->shape->dims[1] = ir::Dim::known(kept_[i]);
    }
    if (changed) g_.compact();
    return changed;
  }

 private:
  // --- slots and groups ---
  std::optional<Act> act(const ir::Value* v) const {
    auto it = v ? index_.find(v) : index_.end();
    if (it == index_.end()) return std::nullopt;
    return acts_[it->second];
  }
  size_t act_id(const ir::Value* v) const { return index_.at(v); }
  std::vector<int64_t> slots(const Act& a, int64_t offset = 0, int64_t count = -1) const {
    std::vector<int64_t> s(static_cast<size_t>(count < 0 ? a.channels : count));
    std::iota(s.begin(), s.end(), a.base + offset);
    return s;
  }

  // Gives `v` a channel axis of `channels` slots; blocks it if its declared shape disagrees.
  void make(ir::Value* v, int64_t channels, int64_t rank, bool unit) {
    if (!v || index_.count(v) || channels < 1) return;
    index_[v] = acts_.size();
    acts_.push_back({v, static_cast<int64_t>(parent_.size()), channels, rank, unit});
    for (int64_t c = 0; c < channels; ++c) parent_.push_back(static_cast<int64_t>(parent_.size()));
    if (v->shape && (static_cast<int64_t>(v->shape->rank()) != rank ||
                     (v->shape->dims[1].is_known() && v->shape->dims[1].value != channels)))
      block(v, "declared shape");
  }
  int64_t find(int64_t s) {
    while (parent_[s] != s) s = parent_[s] = parent_[parent_[s]];
    return s;
  }
  void join(int64_t a, int64_t b) {
    a = find(a), b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);  // the root is the earliest slot
  }
  // Channel offset + c of `a` is channel c of `b`.
  void unite(const ir::Value* a, const Act& b, int64_t offset = 0) {
    Act x = *act(a);
    for (int64_t c = 0; c < b.channels; ++c) join(x.base + offset + c, b.base + c);
  }
  void same_as(ir::Value* y, const Act& x, bool unit) {
    if (!y) return;
    make(y, x.channels, x.rank, unit);
    if (act(y) && act(y)->channels == x.channels) unite(y, x);
    else block(y, "internal");
  }
  void block(const ir::Value* v, const std::string& reason) {
    if (auto a = act(v))
      for (int64_t c = 0; c < a->channels; ++c) blocks_.emplace_back(a->base + c, reason);
  }

  // --- one node ---
  void visit(ir::Node& n) {
    std::vector<bool> claimed(n.inputs().size(), false);
    std::string reason = n.op_type;
    bool skipped = false;
    for (const auto& glob : skip_) skipped = skipped || glob_match(glob, n.name);
    if (!n.domain.empty()) reason = n.domain + ":" + n.op_type;
    else if (skipped) reason = "skip", skipped_convs_ += n.op_type == "Conv" || n.op_type == "ConvTranspose";
    else if (!n.subgraphs().empty()) reason = n.op_type;
    else handle(n, claimed, reason);
    for (size_t i = 0; i < n.inputs().size(); ++i)
      if (!claimed[i]) block(n.input(i), reason);
  }

  void handle(ir::Node& n, std::vector<bool>& claimed, std::string& reason) {
    const std::string& op = n.op_type;
    ir::Value* y = n.output(0);
    auto x = act(n.input(0));
    if (op == "Conv") return conv(n, claimed, reason);
    if (op == "ConvTranspose") return conv_transpose(n, claimed, reason);
    if (op == "Concat") return concat(n, claimed);
    if (op == "ConstantOfShape") return constant_of_shape(n);
    if (kBinary.count(op)) return binary(n, claimed, reason);
    if (!x || !y) return;
    if (kUnary.count(op)) {
      claimed[0] = true;
      same_as(y, *x, x->unit);
      if (op == "Dropout") same_as(n.output(1), *x, x->unit);  // the mask, if any
    } else if (kPool.count(op)) {
      if (used(n.output(1))) return void(reason = "MaxPool indices");  // they count channels
      claimed[0] = true;
      same_as(y, *x, false);
    } else if (kGlobalPool.count(op)) {
      claimed[0] = true;
      same_as(y, *x, true);
    } else if (op == "BatchNormalization" || op == "InstanceNormalization") {
      size_t params = op == "BatchNormalization" ? 4 : 2;
      if (n.attr_int("training_mode", 0) != 0) return;
      for (size_t i = 1; i < n.outputs().size(); ++i)
        if (used(n.output(i))) return;
      for (size_t i = 1; i <= params; ++i) {
        const ir::Tensor* p = stored_float_constant(n.input(i));
        if (!p || p->rank() != 1 || p->numel() != x->channels) return void(reason = op + " parameters");
      }
      claimed[0] = true;
      same_as(y, *x, x->unit);
      for (size_t i = 1; i <= params; ++i) slices_.push_back({&n, i, 0, slots(*x)});
    } else if (op == "Resize" || op == "Upsample") {
      resize(n, *x, claimed, reason);
    } else if (op == "Pad") {
      std::vector<int64_t> pads;
      if (opset_ < 11) {
        pads = n.attr_ints("pads", n.attr_ints("paddings"));
      } else {
        const ir::Tensor* p = constant_of(n.input(1));
        if (!p || n.input(3)) return void(reason = "Pad with computed pads");
        pads = p->as_int64();
      }
      if (static_cast<int64_t>(pads.size()) != 2 * x->rank || pads[1] != 0 || pads[x->rank + 1] != 0)
        return void(reason = "Pad of the channel axis");
      claimed[0] = true;
      same_as(y, *x, false);
    } else if (op == "Flatten" || op == "Squeeze") {
      int64_t out_rank;
      if (op == "Flatten") {
        int64_t axis = n.attr_int("axis", 1);
        if ((axis != 1 && axis != 1 - x->rank) || (x->rank != 2 && !x->unit)) return;
        out_rank = 2;
      } else {
        std::vector<int64_t> axes = n.attr_ints("axes");
        if (opset_ >= 13) {
          const ir::Tensor* a = constant_of(n.input(1));
          axes = a ? a->as_int64() : std::vector<int64_t>{};
        }
        std::set<int64_t> unique;
        for (int64_t a : axes) unique.insert(a < 0 ? a + x->rank : a);
        if (!x->unit || unique.empty() || *unique.begin() < 2 || *unique.rbegin() >= x->rank) return;
        out_rank = x->rank - static_cast<int64_t>(unique.size());
      }
      claimed[0] = true;
      make(y, x->channels, out_rank, true);
      unite(y, *x);
    } else if (op == "Gemm" || op == "MatMul") {
      const ir::Tensor* w = stored_float_constant(n.input(1));
      if (x->rank != 2 || !w || w->rank() != 2 || n.attr_int("transA", 0) != 0) return;
      size_t axis = n.attr_int("transB", 0) != 0 ? 1 : 0;
      if (w->dims()[axis] != x->channels) return;
      claimed[0] = true;
      slices_.push_back({&n, 1, axis, slots(*x)});
    }
  }

  void conv(ir::Node& n, std::vector<bool>& claimed, std::string& reason) {
    const ir::Tensor* w = stored_float_constant(n.input(1));
    ir::Value* y = n.output(0);
    if (!w || w->rank() < 3 || !y) return void(reason = "Conv with a computed weight");
    int64_t m = w->dims()[0], group = n.attr_int("group", 1), rank = static_cast<int64_t>(w->rank());
    const ir::Tensor* b = n.input(2) ? stored_float_constant(n.input(2)) : nullptr;
    bool bias_ok = !n.input(2) || (b && b->rank() == 1 && b->numel() == m);
    auto x = act(n.input(0));
    bool unit = x && x->unit && keeps_unit(n, *w);
    if (group == 1) {
      if (x && x->rank == rank && x->channels == w->dims()[1]) {
        claimed[0] = true;
        slices_.push_back({&n, 1, 1, slots(*x)});
      }
      make(y, m, rank, unit);
      if (!act(y)) return;
      if (!bias_ok) return block(y, "Conv with a computed bias");
      sources_.push_back({&n, 0, act_id(y)});
      slices_.push_back({&n, 1, 0, slots(*act(y))});
      if (b) slices_.push_back({&n, 2, 0, slots(*act(y))});
      return;
    }
    if (x && x->rank == rank && group == x->channels && m == x->channels && w->dims()[1] == 1 && bias_ok) {
      claimed[0] = true;  // depthwise: channel c stays channel c
      same_as(y, *x, unit);
      slices_.push_back({&n, 1, 0, slots(*x)});
      if (b) slices_.push_back({&n, 2, 0, slots(*x)});
      group_edits_.emplace_back(&n, act_id(y));
      return;
    }
    reason = "grouped Conv";
    make(y, m, rank, false);
    block(y, reason);
  }

  void conv_transpose(ir::Node& n, std::vector<bool>& claimed, std::string& reason) {
    const ir::Tensor* w = stored_float_constant(n.input(1));
    ir::Value* y = n.output(0);
    if (!w || w->rank() < 3 || !y) return void(reason = "ConvTranspose with a computed weight");
    int64_t group = n.attr_int("group", 1), m = w->dims()[1] * group, rank = static_cast<int64_t>(w->rank());
    if (group != 1) {
      reason = "grouped ConvTranspose";
      make(y, m, rank, false);
      return block(y, reason);
    }
    auto x = act(n.input(0));
    if (x && x->rank == rank && x->channels == w->dims()[0]) {
      claimed[0] = true;
      slices_.push_back({&n, 1, 0, slots(*x)});
    }
    const ir::Tensor* b = n.input(2) ? stored_float_constant(n.input(2)) : nullptr;
    make(y, m, rank, false);
    if (!act(y)) return;
    if (n.input(2) && !(b && b->rank() == 1 && b->numel() == m)) return block(y, "ConvTranspose with a computed bias");
    sources_.push_back({&n, 1, act_id(y)});
    slices_.push_back({&n, 1, 1, slots(*act(y))});
    if (b) slices_.push_back({&n, 2, 0, slots(*act(y))});
  }

  void binary(ir::Node& n, std::vector<bool>& claimed, std::string& reason) {
    ir::Value* y = n.output(0);
    if (n.inputs().size() != 2 || !y) return;
    auto a = act(n.input(0)), b = act(n.input(1));
    if (a && b) {
      if (a->rank != b->rank) return;
      bool unit = a->unit && b->unit;
      if (a->channels == b->channels) {
        claimed[0] = claimed[1] = true;
        same_as(y, *a, unit);
        unite(y, *b);
      } else if (b->channels == 1 || (a->channels == 1 && n.op_type != "PRelu")) {
        size_t wide = b->channels == 1 ? 0 : 1;  // the one-channel side broadcasts and stays blocked
        claimed[wide] = true;
        reason = "channel broadcast";
        same_as(y, wide == 0 ? *a : *b, unit);
      }
      return;
    }
    if (!a && !b) return;
    size_t xi = a ? 0 : 1;
    if (n.op_type == "PRelu" && xi != 0) return;
    const Act x = a ? *a : *b;
    const ir::Tensor* p = constant_of(n.input(1 - xi));
    if (!p) return;
    int64_t k = static_cast<int64_t>(p->rank()), axis = k - x.rank + 1;  // p's axis lined up with axis 1
    if (k > x.rank) return;
    bool unit = x.unit;
    for (int64_t j = std::max<int64_t>(axis + 1, 0); j < k; ++j) unit = unit && p->dims()[j] == 1;
    if (axis >= 0 && p->dims()[axis] != 1) {
      if (p->dims()[axis] != x.channels) return void(reason = n.op_type + " with a constant of another channel count");
      slices_.push_back({&n, 1 - xi, static_cast<size_t>(axis), slots(x)});
    }
    claimed[xi] = true;
    same_as(y, x, unit);
  }

  void concat(ir::Node& n, std::vector<bool>& claimed) {
    ir::Value* y = n.output(0);
    int64_t rank = -1;
    for (const ir::Value* v : n.inputs())
      if (auto a = act(v)) rank = a->rank;
    if (!y || rank < 2) return;
    int64_t axis = n.attr_int("axis", 1);
    if (axis < 0) axis += rank;
    std::vector<int64_t> channels;
    bool unit = true;
    for (const ir::Value* v : n.inputs()) {
      if (auto a = act(v)) {
        if (a->rank != rank) return;
        channels.push_back(a->channels);
        unit = unit && a->unit;
      } else if (const ir::Tensor* t = constant_of(v); t && static_cast<int64_t>(t->rank()) == rank) {
        channels.push_back(t->dims()[1]);
        for (size_t j = 2; j < t->rank(); ++j) unit = unit && t->dims()[j] == 1;
      } else {
        return;
      }
    }
    bool stacked = axis == 1;
    if (!stacked)
      for (int64_t c : channels)
        if (c != channels[0]) return;
    int64_t total = stacked ? std::accumulate(channels.begin(), channels.end(), int64_t{0}) : channels[0];
    make(y, total, rank, unit);
    auto out = act(y);
    if (!out || out->channels != total) return;
    int64_t offset = 0;
    for (size_t i = 0; i < n.inputs().size(); ++i) {
      if (auto a = act(n.input(i))) {
        claimed[i] = true;
        unite(y, *a, offset);
      } else {
        slices_.push_back({&n, i, 1, slots(*out, offset, channels[i])});
      }
      if (stacked) offset += channels[i];
    }
  }

  void constant_of_shape(ir::Node& n) {
    const ir::Tensor* s = constant_of(n.input(0));
    if (!s || s->dtype() != ir::DataType::kInt64 || s->numel() < 2 || !n.output(0)) return;
    std::vector<int64_t> d = s->as_int64();
    bool unit = true;
    for (size_t j = 2; j < d.size(); ++j) unit = unit && d[j] == 1;
    make(n.output(0), d[1], static_cast<int64_t>(d.size()), unit);
    if (act(n.output(0))) shapes_.push_back({&n, 0, 1, act_id(n.output(0))});
  }

  void resize(ir::Node& n, const Act& x, std::vector<bool>& claimed, std::string& reason) {
    reason = n.op_type + " of the channel axis";
    if (n.has_attr("axes") || n.attr_string("coordinate_transformation_mode", "") == "tf_crop_and_resize") return;
    bool modern = n.op_type == "Resize" && opset_ >= 11;
    size_t scales_at = modern ? 2 : 1;
    std::optional<ShapeEdit> sizes;
    if (n.op_type == "Upsample" && opset_ < 9 && n.has_attr("scales")) {
      std::vector<float> s = n.attr_floats("scales");
      if (static_cast<int64_t>(s.size()) != x.rank || s[1] != 1.0f) return;
    } else if (ir::Value* sv = n.input(scales_at); sv && !(sv->is_constant() && sv->constant().numel() == 0)) {
      const ir::Tensor* s = constant_of(sv);
      if (!s || s->numel() != x.rank || s->as_double()[1] != 1.0) return;
    } else if (ir::Value* zv = modern ? n.input(3) : nullptr) {
      const ir::Tensor* z = constant_of(zv);
      if (!z || z->dtype() != ir::DataType::kInt64 || z->numel() != x.rank || z->as_int64()[1] != x.channels) return;
      sizes = ShapeEdit{&n, 3, 1, 0};
    } else {
      return;
    }
    claimed[0] = true;
    same_as(n.output(0), x, false);
    if (sizes && act(n.output(0))) sizes->act = act_id(n.output(0)), shapes_.push_back(*sizes);
  }

  // Gives the use of a constant at `node`'s input `index` the tensor `t`.
  void replace_constant(ir::Node& node, size_t index, ir::Tensor t) {
    ir::Value* v = node.input(index);
    if (v->owner() == &g_ && v->uses().size() == 1 && !v->is_graph_output()) return v->set_constant(std::move(t));
    auto origin = v->constant_origin;
    if (origin == ir::ConstantOrigin::kNone) origin = ir::ConstantOrigin::kInitializer;
    ir::Value* nv = g_.add_constant(g_.unique_name(v->name()), std::move(t), origin);
    g_.set_input(&node, index, nv);
    g_.erase_if_unused(v);
  }

  ir::Graph& g_;
  int64_t opset_;
  const std::vector<std::string>& skip_;
  const std::vector<std::string>& only_;
  std::unordered_map<const ir::Value*, size_t> index_;  // lookups only; iteration goes by acts_
  std::vector<Act> acts_;                                // in creation (= graph) order
  std::vector<int64_t> parent_;                          // union-find over slots
  std::vector<std::pair<int64_t, std::string>> blocks_;  // slot, reason
  std::vector<SliceEdit> slices_;
  std::vector<ShapeEdit> shapes_;
  std::vector<std::pair<ir::Node*, size_t>> group_edits_;  // depthwise Conv, its output
  std::vector<Source> sources_;
  std::vector<int64_t> root_, kept_;
  std::vector<char> removed_;
  int64_t skipped_convs_ = 0;
};

}  // namespace

namespace {

// Analyses every graph of `model` and picks the channels to remove (nothing with sparsity 0).
std::vector<std::unique_ptr<ChannelPruner>> analyse_and_choose(ir::Model& model, double sparsity, bool l2,
                                                               const NodeGlobs& globs, Totals& t) {
  if (!(sparsity >= 0 && sparsity < 1)) fail("sparsity must be in [0, 1), got {}", sparsity);
  std::vector<ir::Graph*> graphs;
  ir::for_each_graph(*model.graph, [&](ir::Graph& g) { graphs.push_back(&g); });
  std::vector<std::unique_ptr<ChannelPruner>> pruners;
  for (ir::Graph* g : graphs) {
    pruners.push_back(std::make_unique<ChannelPruner>(*g, model.opset(), globs.skip, globs.only));
    pruners.back()->analyse();
    pruners.back()->choose(sparsity, l2, t);
  }
  return pruners;
}

}  // namespace

std::vector<std::vector<std::string>> prunable_channel_spaces(const ir::Model& model) {
  Totals t;
  // Analysing and choosing only read the graph; nothing is rewritten here.
  analyse_and_choose(const_cast<ir::Model&>(model), 0.0, false, {}, t);
  return t.spaces;
}

void prune_channels(ir::Model& model, double sparsity, bool l2, const NodeGlobs& globs, PassContext& ctx) {
  Totals t;
  auto pruners = analyse_and_choose(model, sparsity, l2, globs, t);
  if (t.sources == 0 && t.skipped > 0) fail("nothing to prune by channel: every Conv matches a skip glob");
  if (t.sources == 0)
    fail("nothing to prune by channel: no Conv or ConvTranspose with group 1 and constant float weights");
  if (t.candidates == 0 && t.spaces_not_selected > 0)
    fail("nothing to prune by channel: no prunable channel space has a source layer matched by only=");
  if (t.candidates == 0) {
    std::vector<std::string> reasons;
    for (const auto& [r, count] : t.blocked)
      reasons.push_back(fmt::format("{} ({} space{})", r, count, count == 1 ? "" : "s"));
    fail("nothing to prune by channel: every channel space is blocked, by {}", join(reasons, ", "));
  }
  for (auto& p : pruners) p->rewrite();
  ctx.stats["channels_removed"] = t.removed;
  ctx.stats["filters_removed"] = t.filters_removed;
  ctx.stats["spaces_pruned"] = t.spaces_pruned;
  ctx.stats["spaces_blocked"] = t.spaces_blocked;
  for (const auto& [reason, count] : t.blocked) ctx.stats["blocked." + reason] = count;
  for (const auto& [name, kept] : t.layers) ctx.stats["layer." + name] = kept;
}

}  // namespace pare::passes
