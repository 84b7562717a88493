#include "passes/bias_correct.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "lib/base/strings.h"
#include "lib/runtime/inputs.h"
#include "lib/runtime/session.h"

namespace pare::passes {
namespace {

bool is_layer(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul");
}

// The axis of a layer's data input that holds its input channels (-1: the last).
int64_t input_channel_axis(const ir::Node& n) {
  if (n.op_type == "Conv") return 1;
  if (n.op_type == "Gemm") return n.attr_int("transA", 0) ? 0 : 1;
  return -1;  // MatMul
}

// Per-channel means over `samples` of the tensors `axes` names (channel axis, -1
// for the last), captured from runs of `model`.
std::map<std::string, std::vector<double>> channel_means(const ir::Model& model, const std::vector<Sample>& samples,
                                                         const std::map<std::string, int64_t>& axes, int threads) {
  if (axes.empty()) return {};
  ChannelMeans means(axes);
  std::vector<std::string> names;
  for (const auto& [name, axis] : axes) names.push_back(name);
  for_each_capture(model, samples, names, "correct", [&](const auto& captured) { means.add(captured); }, threads);
  return means.means();
}

// The layers that read `v` as their weight (input 1).
std::vector<ir::Node*> weight_readers(const ir::Value* v) {
  std::vector<ir::Node*> out;
  for (const ir::Use& u : v->uses())
    if (u.index == 1 && is_layer(*u.node) && u.node->input(0) && !u.node->input(0)->is_constant())
      out.push_back(u.node);
  return out;
}

// Evaluates `v` from the constants it is computed from (the decoding nodes a
// weight pass put in front of it), with the runner; nullopt when it depends on
// anything else.
std::optional<ir::Tensor> decode(const ir::Model& model, const ir::Graph& g, const ir::Value* v) {
  if (v->is_constant()) return v->constant();
  std::set<const ir::Node*> cone;
  std::vector<const ir::Value*> todo = {v};
  while (!todo.empty()) {
    const ir::Value* x = todo.back();
    todo.pop_back();
    if (!x || x->is_constant()) continue;
    const ir::Node* n = x->producer();
    if (!n || n->owner() != &g || !n->subgraphs().empty()) return std::nullopt;
    if (!cone.insert(n).second) continue;
    for (const ir::Value* in : n->inputs()) todo.push_back(in);
  }
  ir::Model m;
  m.ir_version = model.ir_version;
  m.opsets = model.opsets;
  ir::Graph& out = *m.graph;
  for (const auto& n : g.nodes()) {
    if (!cone.count(n.get())) continue;
    std::vector<ir::Value*> inputs;
    for (const ir::Value* in : n->inputs()) {
      ir::Value* copy = nullptr;
      if (in) copy = out.find_value(in->name());
      if (in && !copy) copy = out.add_constant(in->name(), in->constant());
      inputs.push_back(copy);
    }
    std::vector<std::string> names;
    for (const ir::Value* o : n->outputs()) names.push_back(o ? o->name() : "");
    out.add_node(n->op_type, inputs, names, n->domain)->attrs = n->attrs;
  }
  out.outputs.push_back(out.find_value(v->name()));
  return rt::Session(m).run({})[0];
}

// (W' - W) E[x] per output channel of `layer`, or empty when the shapes do not fit.
std::vector<double> output_shift(const ir::Node& layer, const ir::Tensor& before, const ir::Tensor& after,
                                 const std::vector<double>& mean) {
  auto w = before.as_double(), w2 = after.as_double();
  const auto& d = before.dims();
  if (w.size() != w2.size() || d.size() < 2) return {};
  std::vector<double> shift;
  if (layer.op_type == "Conv") {
    int64_t out = d[0], per_group_in = d[1], groups = layer.attr_int("group", 1), taps = 1;
    for (size_t i = 2; i < d.size(); ++i) taps *= d[i];
    if (groups <= 0 || out % groups != 0 || static_cast<int64_t>(mean.size()) != groups * per_group_in) return {};
    shift.assign(static_cast<size_t>(out), 0.0);
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < per_group_in; ++i) {
        double m = mean[static_cast<size_t>(o / (out / groups) * per_group_in + i)];
        for (int64_t k = 0; k < taps; ++k) {
          size_t at = static_cast<size_t>((o * per_group_in + i) * taps + k);
          shift[static_cast<size_t>(o)] += (w2[at] - w[at]) * m;
        }
      }
    return shift;
  }
  // Gemm and MatMul: B is [K, N], or [N, K] for Gemm with transB.
  if (d.size() != 2) return {};
  bool trans = layer.op_type == "Gemm" && layer.attr_int("transB", 0);
  int64_t k_dim = trans ? d[1] : d[0], n_dim = trans ? d[0] : d[1];
  if (static_cast<int64_t>(mean.size()) != k_dim) return {};
  shift.assign(static_cast<size_t>(n_dim), 0.0);
  double alpha = layer.op_type == "Gemm" ? layer.attr_float("alpha", 1.0f) : 1.0;
  for (int64_t k = 0; k < k_dim; ++k)
    for (int64_t n = 0; n < n_dim; ++n) {
      size_t at = static_cast<size_t>(trans ? n * k_dim + k : k * n_dim + n);
      shift[static_cast<size_t>(n)] += alpha * (w2[at] - w[at]) * mean[static_cast<size_t>(k)];
    }
  return shift;
}

bool own_float_constant(const ir::Value* v) {
  return v && v->is_constant() && v->constant().dtype() == ir::DataType::kFloat && v->uses().size() == 1 &&
         !v->is_graph_output() && !v->is_graph_input();
}

// The bias value that takes the shift for `layer` (existing), or nullptr.
ir::Value* bias_of(ir::Node& layer, size_t channels) {
  if (layer.op_type == "Conv" || layer.op_type == "Gemm") {
    ir::Value* b = layer.input(2);
    if (!b) return nullptr;
    return own_float_constant(b) && b->constant().numel() == static_cast<int64_t>(channels) ? b : nullptr;
  }
  // MatMul: a single consumer Add of a per-column constant.
  const ir::Value* y = layer.output(0);
  if (!y || y->uses().size() != 1 || y->is_graph_output()) return nullptr;
  ir::Node& add = *y->uses()[0].node;
  if (add.op_type != "Add" || !add.domain.empty() || add.inputs().size() != 2) return nullptr;
  ir::Value* c = add.input(add.input(0) == y ? 1 : 0);
  if (!own_float_constant(c) || c->constant().numel() != static_cast<int64_t>(channels)) return nullptr;
  const auto& cd = c->constant().dims();
  return !cd.empty() && cd.back() == static_cast<int64_t>(channels) ? c : nullptr;
}

}  // namespace

bool read_as_bias(const ir::Value* v) {
  for (const ir::Use& u : v->uses()) {
    if (u.index == 2 && (u.node->op_type == "Conv" || u.node->op_type == "Gemm")) return true;
    if (u.node->op_type == "Add")
      for (const ir::Value* in : u.node->inputs())
        if (in && in != v && in->producer() && in->producer()->op_type == "MatMul") return true;
  }
  return false;
}

void store_constants(ir::Model& model, ir::Graph& g, BiasCorrector* corrector, bool graph_order, PassContext& ctx,
                     const std::function<bool(ir::Value*)>& store) {
  std::vector<ir::Value*> constants = g.constants();
  if (graph_order) {
    std::map<const ir::Node*, size_t> position;
    for (const auto& n : g.nodes()) position.emplace(n.get(), position.size());
    auto first_reader = [&](const ir::Value* v) {
      size_t first = SIZE_MAX;
      for (const ir::Use& u : v->uses())
        if (auto it = position.find(u.node); it != position.end()) first = std::min(first, it->second);
      return first;
    };
    std::stable_sort(constants.begin(), constants.end(),
                     [&](const ir::Value* a, const ir::Value* b) { return first_reader(a) < first_reader(b); });
  }
  // In graph order the store may compact g (sequential GPTQ runs the model as
  // stored so far), freeing the constants it replaced: look each one up by
  // name at its turn.
  std::vector<std::string> names;
  for (const ir::Value* v : constants) names.push_back(v->name());
  auto at = [&](size_t i) -> ir::Value* {
    if (!graph_order) return constants[i];
    ir::Value* v = g.find_value(names[i]);
    return v && v->owner() == &g && v->is_constant() ? v : nullptr;
  };
  if (!corrector) {
    for (size_t i = 0; i < constants.size(); ++i)
      if (ir::Value* v = at(i)) store(v);
    return;
  }
  for (size_t i = 0; i < constants.size(); ++i) {
    ir::Value* v = at(i);
    if (!v) continue;
    if (read_as_bias(v)) continue;
    std::string name = v->name();
    std::optional<ir::Tensor> before;
    if (v->constant().dtype() == ir::DataType::kFloat) before = v->constant();
    if (store(v) && before) corrector->correct(model, g, name, *before, ctx);
  }
  for (ir::Value* v : g.constants())
    if (read_as_bias(v)) store(v);
}

namespace {

// The data input of every layer reading one of `weights`, with its channel axis.
template <typename Values>
std::map<std::string, int64_t> layer_inputs(const Values& weights) {
  std::map<std::string, int64_t> axes;
  for (const ir::Value* w : weights)
    for (const ir::Node* n : weight_readers(w)) axes.emplace(n->input(0)->name(), input_channel_axis(*n));
  return axes;
}

}  // namespace

void ChannelMeans::add(const std::map<std::string, ir::Tensor>& captured) {
  for (const auto& [name, a] : axes_) {
    const ir::Tensor& t = captured.at(name);
    int64_t rank = static_cast<int64_t>(t.rank()), axis = a < 0 ? rank - 1 : a;
    if (t.dtype() != ir::DataType::kFloat || axis < 0 || axis >= rank) continue;
    int64_t channels = t.dims()[static_cast<size_t>(axis)], inner = 1;
    for (int64_t i = axis + 1; i < rank; ++i) inner *= t.dims()[static_cast<size_t>(i)];
    auto& sum = sums_[name];
    if (sum.empty()) sum.assign(static_cast<size_t>(channels), 0.0);
    if (static_cast<int64_t>(sum.size()) != channels) continue;
    // Element order as laid out (every channel's sum adds in the same order as
    // one flat loop would), without a division per element.
    const float* x = t.span<float>().data();
    int64_t outer = channels * inner == 0 ? 0 : t.numel() / (channels * inner);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels; ++c) {
        double& s = sum[static_cast<size_t>(c)];
        for (int64_t i = 0; i < inner; ++i) s += *x++;
      }
    counts_[name] += t.numel() / std::max<int64_t>(1, channels);
  }
}

std::map<std::string, std::vector<double>> ChannelMeans::means() const {
  std::map<std::string, std::vector<double>> out = sums_;
  for (auto& [name, sum] : out)
    for (double& v : sum) {
      auto count = counts_.find(name);
      v /= static_cast<double>(std::max<int64_t>(1, count == counts_.end() ? 0 : count->second));
    }
  return out;
}

std::map<std::string, int64_t> layer_input_axes(const std::vector<const ir::Value*>& weights) {
  return layer_inputs(weights);
}

std::map<std::string, std::vector<double>> layer_input_means(const ir::Model& model, const std::vector<Sample>& samples,
                                                             int threads) {
  // correct= corrects the main graph's layers.
  return channel_means(model, samples, layer_inputs(model.graph->constants()), threads);
}

BiasCorrector::BiasCorrector(const ir::Model& model, const std::vector<const ir::Value*>& weights,
                             const std::string& dir, PassContext& ctx) {
  std::map<std::string, int64_t> axes = layer_inputs(weights);  // every layer's data input
  // Means the caller measured on this same model: used when it has every layer's
  // (static int8's smoothing gives layers new inputs, which it has not measured).
  if (const auto* known = ctx.known_means ? ctx.known_means(dir) : nullptr) {
    for (const auto& [name, axis] : axes)
      if (auto it = known->find(name); it != known->end()) means_.insert(*it);
    if (means_.size() == axes.size()) return;
    means_.clear();
  }
  means_ = channel_means(model, weight_pass_samples(model, dir, "correct", ctx), axes, ctx.threads);
}

void for_each_capture(const ir::Model& model, const std::vector<Sample>& samples, const std::vector<std::string>& names,
                      const char* option, const std::function<void(const std::map<std::string, ir::Tensor>&)>& visit,
                      int threads) {
  rt::Session session(model, rt::SessionOptions{std::max(1, threads)});
  for (size_t s = 0; s < samples.size(); ++s) {
    std::map<std::string, ir::Tensor> captured;
    try {
      captured = session.run_capture(samples[s], names, true);
    } catch (Error& e) {
      e.with_context(fmt::format("{}: sample {} of {}", option, s + 1, samples.size()));
      throw;
    }
    for (const auto& [name, t] : samples[s]) captured.emplace(name, t);
    visit(captured);
  }
}

std::vector<Sample> weight_pass_samples(const ir::Model& model, const std::string& dir, const char* option,
                                        PassContext& ctx) {
  if (!ctx.load_samples) fail("{}={}: this caller cannot read sample folders", option, dir);
  std::vector<Sample> samples;
  try {
    samples = ctx.load_samples(dir, rt::input_names(model));
  } catch (Error& e) {
    e.with_context(option);
    throw;
  }
  if (samples.empty()) fail("{}={}: holds no samples", option, dir);
  return samples;
}

void BiasCorrector::correct(ir::Model& model, ir::Graph& g, const std::string& name, const ir::Tensor& before,
                            PassContext& ctx) {
  ir::Value* v = g.find_value(name);
  if (!v) return;
  std::vector<ir::Node*> layers = weight_readers(v);
  if (layers.empty()) return;
  std::optional<ir::Tensor> after = decode(model, g, v);
  for (ir::Node* layer : layers) {
    auto mean = means_.find(layer->input(0)->name());
    std::vector<double> shift =
        after && mean != means_.end() ? output_shift(*layer, before, *after, mean->second) : std::vector<double>{};
    if (shift.empty()) {
      ++ctx.stats["bias_correction_skipped"];
      continue;
    }
    ir::Value* bias = bias_of(*layer, shift.size());
    bool add_own = !bias && (layer->op_type == "Conv" || layer->op_type == "Gemm") && !layer->input(2) &&
                   (layer->op_type == "Conv" || layer->attr_float("beta", 1.0f) == 1.0f);
    if (!bias && !add_own) {
      ++ctx.stats["bias_correction_skipped"];
      continue;
    }
    std::vector<float> b(shift.size(), 0.0f);
    if (bias) b = bias->constant().as_float();
    double beta = layer->op_type == "Gemm" ? layer->attr_float("beta", 1.0f) : 1.0;
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(b[i] - shift[i] / beta);
    if (bias) {
      bias->set_constant(ir::Tensor::from<float>(bias->constant().dims(), b));
    } else {
      bias = g.add_constant(g.unique_name(name + "_bias"), ir::Tensor::from<float>({static_cast<int64_t>(b.size())}, b));
      if (layer->inputs().size() < 3) g.append_input(layer, bias);
      else g.set_input(layer, 2, bias);
    }
    ++ctx.stats["bias_corrected"];
  }
}

}  // namespace pare::passes
