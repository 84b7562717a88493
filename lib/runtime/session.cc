#include "lib/runtime/session.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>
#include <tuple>
#include <unordered_set>

#include "lib/base/strings.h"
#include "lib/runtime/arena.h"
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/epilogue.h"
#include "lib/runtime/kernels/epilogue_kernel.h"
#include "lib/runtime/pad_fusion.h"
#include "lib/runtime/qdq_groups.h"
#include "lib/runtime/thread_pool.h"

namespace pare::rt {

// ---------- compiled graphs ----------

class CompiledGraph {
 public:
  struct Step {
    const ir::Node* node;
    const KernelDef* def;
    std::unique_ptr<Kernel> kernel;
    std::vector<int> in, out;  // slots; -1 = absent
    std::vector<int> release;  // slots whose last use is this step
    std::vector<const ir::Node*> fused;  // nodes computed by this step's kernel (its epilogue), in order
    // A zero Pad before a Conv that the Conv's kernel does (pad_fusion.h): the
    // Pad node and its pads; step.in[0] is the Pad's input.
    const ir::Node* absorbed_pad = nullptr;
    std::vector<int64_t> absorbed_pads;
  };
  const ir::Graph* graph = nullptr;
  std::vector<Step> steps;
  std::unordered_map<const ir::Value*, int> slot_of;
  int num_slots = 0;
  std::vector<std::pair<int, ir::Tensor>> constants;
  std::vector<int> input_slots;
  std::vector<const ir::Value*> input_values;
  std::vector<int> output_slots;
  std::vector<std::pair<int, const ir::Value*>> captures;
  std::unordered_set<int> fused_away;  // slots of values no step writes (a Conv's output before its fused activation)
  std::deque<std::vector<float>> epilogue_factors;  // what fused epilogues point at (Epilogue::channel_mul)
  std::deque<ir::Node> rewritten;  // nodes whose kernels were built from changed attributes (a Conv taking a Pad's pads)
};

namespace {

struct Slot {
  TensorView view;
  void* buffer = nullptr;  // owned arena buffer, if any
  size_t capacity = 0;
  bool set = false;
};

struct Frame {
  const CompiledGraph* graph;
  std::vector<Slot> slots;
  const Frame* parent;
  std::vector<ir::Tensor> keep;  // tensors whose bytes slots point into (subgraph feeds)
};

TensorView view_of(const ir::Tensor& t) {
  TensorView v;
  v.dtype = t.dtype();
  v.dims = t.dims();
  v.data = const_cast<uint8_t*>(t.raw());
  return v;
}

ir::Tensor to_tensor(const TensorView& v) {
  if (v.dtype == DataType::kString) fail("string tensors are not supported by the runner");
  const auto* p = static_cast<const uint8_t*>(v.data);
  return ir::Tensor(v.dtype, v.dims, std::vector<uint8_t>(p, p + v.byte_size()));
}

std::string node_label(const ir::Node& n, int64_t opset) {
  return fmt::format("node {} ({}, opset {})", n.name.empty() ? "(unnamed)" : "'" + n.name + "'", n.op_type, opset);
}

bool has_subgraphs(const ir::Node& n) { return !n.subgraphs().empty(); }

// The bytes a tensor of `dims` needs, in 128 bits so that a shape whose size
// overflows 64 bits is still reported exactly; saturates beyond that.
unsigned __int128 bytes_needed(DataType dtype, const std::vector<int64_t>& dims) {
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) return 0;
  unsigned __int128 n = ir::is_4bit(dtype) ? 1 : ir::size_of(dtype);
  for (int64_t d : dims)
    if (__builtin_mul_overflow(n, static_cast<unsigned __int128>(d), &n)) return ~static_cast<unsigned __int128>(0);
  return ir::is_4bit(dtype) ? (n + 1) / 2 : n;
}

// A run over its RunLimits. It names the node of the main graph (or the node
// being pre-evaluated) where the run stopped, not the Identity deep in a Loop body.
class OverLimit : public Error {
 public:
  using Error::Error;
};

// Runs one step's kernel; an error that does not name the node yet gets its label.
void compute_step(const CompiledGraph::Step& step, KernelContext& ctx, int64_t opset) {
  try {
    step.kernel->compute(ctx);
  } catch (OverLimit&) {
    throw;
  } catch (Error& e) {
    if (e.message().rfind("node ", 0) != 0) e.with_context(node_label(*step.node, opset));
    throw;
  }
}

}  // namespace

// ---------- the session's shared state ----------

struct Session::Impl {
  const ir::Model& model;
  ThreadPool pool;
  std::shared_ptr<Arena> arena_owner;  // the options' shared arena, or one of its own
  Arena& arena;
  std::shared_ptr<CompiledGraph> main;
  RunStats* stats = nullptr;  // filled during a run of the main graph
  bool timing = false;        // RunStats::kernel_times
  std::vector<bool> keep;     // main-graph slots not to release (run_capture)
  std::vector<bool> skip;     // main-graph steps not to run (run_capture with only_named)
  RunLimits limits;
  int64_t steps = 0;                                // charged since the run (or compile) began
  std::chrono::steady_clock::time_point started;

  std::shared_ptr<CompiledGraph> plain;  // main compiled without fusion, for run_capture of fused-away values
  bool fuse = true;
  bool integer = true;  // QDQ groups as integer kernels (with fuse)
  Isa isa = Isa::kBaseline;  // for every kernel of every graph of the session

  Impl(const ir::Model& m, const SessionOptions& o)
      : model(m), pool(o.threads), arena_owner(o.arena ? o.arena : std::make_shared<Arena>()), arena(*arena_owner),
        limits(o.limits), fuse(o.fuse), integer(o.integer), isa(usable_isa(o.isa)) {}

  void start_clock() {
    steps = 0;
    started = std::chrono::steady_clock::now();
  }
  // One unit of work; throws once the run is over its step or time bound.
  void charge_step() {
    if (limits.max_steps > 0 && ++steps > limits.max_steps)
      over_limit(fmt::format("the run took more than {} steps", limits.max_steps));
    if (limits.max_seconds > 0) {
      std::chrono::duration<double> spent = std::chrono::steady_clock::now() - started;
      if (spent.count() > limits.max_seconds)
        over_limit(fmt::format("the run took more than {} seconds", limits.max_seconds));
    }
  }
  [[noreturn]] void over_limit(const std::string& what) const {
    std::string raise = limits.how_to_raise.empty() ? "" : " (" + limits.how_to_raise + ")";
    throw OverLimit(fmt::format("{}, the bound for running a model{}", what, raise));
  }

  int64_t opset_of(const ir::Node& n) const { return model.opset(n.domain); }

  std::shared_ptr<CompiledGraph> compile(const ir::Graph& g, bool fuse);
  // RunStats::nodes and shapes of one step (its absorbed Pad and fused nodes
  // included), written over the previous run's entries so that their vectors'
  // memory is reused: allocating them anew was 5% of a small model's run.
  size_t recorded = 0;
  NodeShapes& record(const ir::Node* n) {
    if (recorded == stats->nodes.size()) {
      stats->nodes.push_back(n);
      stats->shapes.emplace_back();
    } else {
      stats->nodes[recorded] = n;
    }
    return stats->shapes[recorded++];
  }
  void record_step(const CompiledGraph::Step& step, const Frame& frame);
  void run_frame(Frame& frame, bool is_main);
  const TensorView* lookup_capture(const Frame& frame, const ir::Value* v) const;
};

class StepContext : public KernelContext {
 public:
  StepContext(Session::Impl& s, Frame& f, const CompiledGraph::Step& step) : s_(s), f_(f), step_(step) {}
  ~StepContext() override {
    for (auto [p, cap] : scratch_) s_.arena.release(p, cap);
  }
  size_t num_inputs() const override { return step_.in.size(); }
  const TensorView* input(size_t i) const override {
    if (i >= step_.in.size() || step_.in[i] < 0) return nullptr;
    const Slot& slot = f_.slots[step_.in[i]];
    return slot.set ? &slot.view : nullptr;
  }
  size_t num_outputs() const override { return step_.out.size(); }
  TensorView& allocate_output(size_t i, DataType dtype, std::vector<int64_t> dims) override {
    PARE_CHECK(i < step_.out.size(), "{} allocates output {} of {}", step_.node->op_type, i, step_.out.size());
    static TensorView discard;
    int idx = step_.out[i];
    TensorView v;
    v.dtype = dtype;
    v.dims = std::move(dims);
    for (int64_t d : v.dims)
      if (d < 0) compute_error(*this, fmt::format("computed a negative dimension for output {}", i));
    // Beyond PTRDIFF_MAX no allocation can succeed, and numel() and byte_size() would overflow.
    unsigned __int128 need = bytes_needed(dtype, v.dims);
    if (need > PTRDIFF_MAX)
      compute_error(*this, fmt::format("output {} of shape [{}] needs {}{} bytes", i, fmt::join(v.dims, ","),
                                       need == ~static_cast<unsigned __int128>(0) ? "more than " : "", need));
    std::string what = fmt::format("output {}", i);
    if (idx < 0) {  // an omitted optional output: give the kernel a buffer to write anyway
      discard = v;
      scratch_.emplace_back(nullptr, 0);
      size_t cap;
      discard.data = allocate(discard.byte_size(), cap, what);
      scratch_.back() = {discard.data, cap};
      return discard;
    }
    Slot& slot = f_.slots[idx];
    PARE_CHECK(!slot.set, "output {} of {} allocated twice", i, step_.node->op_type);
    v.data = allocate(v.byte_size(), slot.capacity, what);
    slot.buffer = v.data;
    slot.view = std::move(v);
    slot.set = true;
    return slot.view;
  }
  void* scratch(size_t bytes) override {
    size_t cap;
    void* p = allocate(bytes, cap, "scratch memory");
    scratch_.emplace_back(p, cap);
    return p;
  }
  int threads() const override { return s_.pool.threads(); }
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) const override {
    s_.pool.parallel_for(n, fn);
  }
  std::vector<ir::Tensor> run_subgraph(const CompiledGraph& g, const std::vector<ir::Tensor>& feeds) override;
  const ir::Node& node() const override { return *step_.node; }

 private:
  // An arena buffer; running out of memory is the model's size, not a bug: say which node and how much.
  void* allocate(size_t bytes, size_t& capacity, const std::string& what) {
    const RunLimits& l = s_.limits;
    if (l.max_bytes > 0 && static_cast<int64_t>(bytes) > l.max_bytes - s_.arena.in_use_bytes())
      s_.over_limit(fmt::format("{} needs {} bytes with {} in use, more than the {} bytes allowed", what,
                                             bytes, s_.arena.in_use_bytes(), l.max_bytes));
    try {
      return s_.arena.allocate(bytes, capacity);
    } catch (const std::bad_alloc&) {
      compute_error(*this, fmt::format("cannot allocate {} bytes for {}", bytes, what));
    }
  }

  Session::Impl& s_;
  Frame& f_;
  const CompiledGraph::Step& step_;
  std::vector<std::pair<void*, size_t>> scratch_;
};

const TensorView* Session::Impl::lookup_capture(const Frame& frame, const ir::Value* v) const {
  for (const Frame* f = &frame; f; f = f->parent) {
    auto it = f->graph->slot_of.find(v);
    if (it != f->graph->slot_of.end() && f->slots[it->second].set) return &f->slots[it->second].view;
  }
  return nullptr;
}

std::vector<ir::Tensor> StepContext::run_subgraph(const CompiledGraph& g, const std::vector<ir::Tensor>& feeds) {
  s_.charge_step();  // a Loop whose body computes nothing still costs a step per iteration
  Frame child{&g, std::vector<Slot>(g.num_slots), &f_, feeds};
  if (feeds.size() != g.input_slots.size())
    compute_error(*this, fmt::format("subgraph takes {} inputs, given {}", g.input_slots.size(), feeds.size()));
  for (size_t i = 0; i < feeds.size(); ++i) {
    Slot& s = child.slots[g.input_slots[i]];
    s.view = view_of(child.keep[i]);
    s.set = true;
  }
  s_.run_frame(child, false);
  std::vector<ir::Tensor> out;
  for (int idx : g.output_slots) {
    if (!child.slots[idx].set) compute_error(*this, "a subgraph output was not computed");
    out.push_back(to_tensor(child.slots[idx].view));
  }
  for (Slot& s : child.slots)
    if (s.buffer) s_.arena.release(s.buffer, s.capacity);
  return out;
}

// ---------- compile ----------

namespace {

// Kernels that apply an Epilogue they are given (KernelInit::epilogue): Conv,
// and a float Add (the residual Add -> Relu of BlazeFace and ResNets), whose
// rows get the activation while in cache.
bool fusable_producer(const ir::Node& n) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  return n.op_type == "Conv" || (n.op_type == "Add" && n.outputs().size() == 1 && n.outputs()[0] &&
                                 n.outputs()[0]->dtype == ir::DataType::kFloat);
}

// For each value: how many node inputs, subgraph captures and graph outputs read
// it, and its one reader when that count is 1.
struct Readers {
  std::unordered_map<const ir::Value*, int> count;
  std::unordered_map<const ir::Value*, const ir::Node*> only, first;  // the last reader seen, and the first
  explicit Readers(const ir::Graph& g) {
    for (const auto& n : g.nodes()) {
      for (const ir::Value* in : n->inputs())
        if (in) {
          if (++count[in] == 1) first[in] = n.get();
          only[in] = n.get();
        }
      for (const ir::Graph* sub : n->subgraphs())
        for (const ir::Value* v : sub->captured_values()) count[v] += 2;  // never fused away
    }
    for (const ir::Value* v : g.outputs) count[v] += 2;
  }
  const ir::Node* sole_reader(const ir::Value* v) const {
    auto it = count.find(v);
    return it != count.end() && it->second == 1 ? only.at(v) : nullptr;
  }
  // The two nodes reading v, when exactly two inputs of two nodes do.
  std::pair<const ir::Node*, const ir::Node*> two_readers(const ir::Value* v) const {
    // Graph outputs and captures count 2 each and are not in `first`: a count
    // of 2 with a first reader is two node inputs.
    auto it = count.find(v);
    auto f = first.find(v);
    if (it == count.end() || it->second != 2 || f == first.end() || f->second == only.at(v)) return {nullptr, nullptr};
    return {f->second, only.at(v)};
  }
};

// The epilogue of the nodes after `n` that its kernel can compute, appending
// them to `chain`; nullopt when there are none. Each must be the only reader of
// the previous output, have a kernel, and compute elementwise on it.
template <typename ConstantsOf>
struct ChainFinder {
  const ir::Model& model;
  const Readers& readers;
  const ConstantsOf& constants_of;
  // Quantized values an integer kernel reads: their QuantizeLinear must write
  // them, so it is not fused into a float round trip.
  const std::unordered_set<const ir::Value*>& read_quantized;
  // Where fused BatchNormalizations' factors live (the compiled graph's; a
  // deque, so that what an Epilogue points at never moves).
  std::deque<std::vector<float>>& factors;

  // r when it is an ONNX node with one output and a kernel.
  const ir::Node* plain_node(const ir::Node* r) const {
    bool onnx = r && (r->domain.empty() || r->domain == "ai.onnx");
    bool one_output = onnx && r->outputs().size() == 1 && r->outputs()[0] && r->subgraphs().empty();
    return one_output && find_kernel(*r, model.opset(r->domain)) ? r : nullptr;
  }
  // The only reader of v when it computes elementwise on v (its first input).
  const ir::Node* next(const ir::Value* v) const {
    const ir::Node* r = plain_node(readers.sole_reader(v));
    return r && r->inputs()[0] == v ? r : nullptr;
  }

  // Appends to `steps` the nodes from v's reader on that are arithmetic with a
  // constant (Epilogue::Step), each the only reader of the one before; returns
  // the value after the last one taken.
  const ir::Value* take_steps(const ir::Value* v, Epilogue::Step* steps, int& count,
                              std::vector<const ir::Node*>& chain) const {
    while (count < Epilogue::kMaxSteps) {
      const ir::Node* r = plain_node(readers.sole_reader(v));
      auto step = r ? step_of(*r, v, constants_of(*r)) : std::nullopt;
      if (!step) break;
      steps[count++] = *step;
      chain.push_back(r);
      v = r->outputs()[0];
    }
    return v;
  }

  // HardSwish spelled out around v: Add(v, c) -> Clip(constant bounds) -> Mul
  // with v, the Mul and the Add v's only readers, each of the others the only
  // reader of the one before. Adds Epilogue::kMulClip to `e` and the three
  // nodes to `chain`; returns the Mul's output, or nullptr.
  const ir::Value* take_mul_clip(const ir::Value* v, Epilogue& e, std::vector<const ir::Node*>& chain) const {
    auto [r1, r2] = readers.two_readers(v);
    for (int i = 0; i < 2 && r1; ++i, std::swap(r1, r2)) {
      const ir::Node *add = plain_node(r1), *mul = plain_node(r2);
      if (!add || !mul || add->op_type != "Add" || mul->op_type != "Mul") continue;
      auto shift = step_of(*add, v, constants_of(*add));
      const ir::Node* clip = plain_node(readers.sole_reader(add->outputs()[0]));
      if (!shift || !clip || clip->op_type != "Clip" || clip->inputs()[0] != add->outputs()[0]) continue;
      if (readers.sole_reader(clip->outputs()[0]) != mul || mul->inputs().size() != 2) continue;
      const ir::Value* other = mul->inputs()[0] == v ? mul->inputs()[1] : mul->inputs()[0];
      if (other != clip->outputs()[0]) continue;
      auto bounds = clip_bounds(*clip, model.opset(clip->domain), constants_of(*clip));
      if (!bounds) continue;
      e.kind = Epilogue::Kind::kMulClip;
      e.shift = shift->c;
      std::tie(e.a, e.b) = *bounds;
      chain.insert(chain.end(), {add, clip, mul});
      return mul->outputs()[0];
    }
    return nullptr;
  }

  // A BatchNormalization reading v, the output of a Conv of `channels` output
  // channels, alone, its four parameters constant floats of one value per
  // channel: adds its per-channel factors to `e` and the node to `chain`;
  // returns its output, or v.
  const ir::Value* take_batch_norm(const ir::Value* v, int64_t channels, Epilogue& e,
                                   std::vector<const ir::Node*>& chain) const {
    const ir::Node* bn = next(v);
    if (!bn || bn->op_type != "BatchNormalization" || bn->inputs().size() != 5 || channels < 1) return v;
    int64_t opset = model.opset(bn->domain);
    if (bn->attr_int("training_mode", 0) != 0 || (opset < 7 && bn->attr_int("is_test", 1) == 0)) return v;
    auto params = constants_of(*bn);
    for (size_t i = 1; i < 5; ++i)
      if (!params[i] || params[i]->dtype() != ir::DataType::kFloat || params[i]->numel() != channels) return v;
    auto scale = params[1]->as_float(), bias = params[2]->as_float(), mean = params[3]->as_float(),
         var = params[4]->as_float();
    float eps = bn->attr_float("epsilon", 1e-5f);
    std::vector<float>& mul = factors.emplace_back(static_cast<size_t>(channels));
    std::vector<float>& add = factors.emplace_back(static_cast<size_t>(channels));
    for (size_t c = 0; c < mul.size(); ++c) batch_norm_factors(scale[c], bias[c], mean[c], var[c], eps, mul[c], add[c]);
    e.channel_mul = mul.data();
    e.channel_add = add.data();
    chain.push_back(bn);
    return bn->outputs()[0];
  }

  // After a Conv writing v (its weights' first dim, or 0 when they are not
  // constant): a BatchNormalization, steps, an activation (a node, or
  // kMulClip's three), more steps, then what extend() takes.
  void extend_after(Epilogue& e, const ir::Value* v, int64_t channels, std::vector<const ir::Node*>& chain) const {
    v = take_batch_norm(v, channels, e, chain);
    v = take_steps(v, e.pre, e.n_pre, chain);
    size_t before = chain.size();
    if (const ir::Value* out = take_mul_clip(v, e, chain)) {
      v = out;
    } else if (const ir::Node* act = next(v); act && act->op_type != "QuantizeLinear") {
      if (auto a = epilogue_of(*act, model.opset(act->domain), constants_of(*act))) {
        Epilogue with = *a;
        std::copy(e.pre, e.pre + e.n_pre, with.pre);
        with.n_pre = e.n_pre;
        with.channel_mul = e.channel_mul;
        with.channel_add = e.channel_add;
        e = with;
        chain.push_back(act);
        v = act->outputs()[0];
      }
    }
    // Steps after no activation are steps before one: the same order.
    if (chain.size() > before) v = take_steps(v, e.post, e.n_post, chain);
    else v = take_steps(v, e.pre, e.n_pre, chain);
    extend(e, next(v), chain, false);
  }

  // Adds to `e` and `chain` an activation `act` (when it is one and `activation`
  // allows), then a QuantizeLinear -> DequantizeLinear round trip reading
  // `act`'s output, or `act` itself when it is the QuantizeLinear.
  void extend(Epilogue& e, const ir::Node* act, std::vector<const ir::Node*>& chain, bool activation = true) const {
    const ir::Node* q = act;
    if (activation && act && act->op_type != "QuantizeLinear")
      if (auto a = epilogue_of(*act, model.opset(act->domain), constants_of(*act))) {
        e = *a;
        chain.push_back(act);
        q = next(act->outputs()[0]);
      }
    const ir::Node* dq = q && q->op_type == "QuantizeLinear" ? next(q->outputs()[0]) : nullptr;
    bool keep_q = q && read_quantized.count(q->outputs()[0]);
    if (dq && dq->op_type == "DequantizeLinear" && !keep_q && add_round_trip(e, *q, constants_of(*q), *dq, constants_of(*dq))) {
      chain.push_back(q);
      chain.push_back(dq);
    }
  }

  // The epilogue of the nodes after `n` its kernel can compute, appended to `chain`.
  std::optional<Epilogue> after(const ir::Node& n, std::vector<const ir::Node*>& chain) const {
    Epilogue e;
    auto constants = constants_of(n);
    const ir::Tensor* w = constants.size() > 1 && n.op_type == "Conv" ? constants[1] : nullptr;
    int64_t channels = w && !w->dims().empty() ? w->dims()[0] : 0;  // for a BatchNormalization after it
    extend_after(e, n.outputs()[0], channels, chain);
    if (chain.empty()) return std::nullopt;
    return e;
  }

  // The epilogue of `n` and the nodes after it when that includes a QDQ round
  // trip (an activation alone already has its own one-pass kernel).
  std::optional<Epilogue> from(const ir::Node& n, std::vector<const ir::Node*>& chain) const {
    if (n.domain != "" && n.domain != "ai.onnx") return std::nullopt;
    Epilogue e;
    extend(e, &n, chain);
    if (!e.round_trip) {
      chain.clear();
      return std::nullopt;
    }
    return e;
  }
};

// The step of a QDQ group: the group's kernel reads the quantized inputs (a
// Conv also its weight and bias slots, constants, so a run's shapes give its
// MACs) and writes y_q; the nodes after the op are computed by it.
template <typename SlotOf>
CompiledGraph::Step integer_step(const QdqGroup& grp, const KernelDef* def, const KernelInit& init, SlotOf& slot,
                                 CompiledGraph& cg) {
  const ir::Node& op = *grp.op;
  bool movement = std::holds_alternative<Movement>(grp.spec);
  CompiledGraph::Step step{&op, def, movement ? create_kernel(*def, init) : make_group_kernel(grp, init), {}, {}, {}, grp.fused};
  for (const ir::Value* v : grp.inputs) step.in.push_back(slot(v));
  if (op.op_type == "Conv" || movement)
    for (size_t i = 1; i < op.inputs().size(); ++i) step.in.push_back(op.inputs()[i] ? slot(op.inputs()[i]) : -1);
  step.out.push_back(slot(grp.output));
  cg.fused_away.insert(slot(op.outputs()[0]));
  for (const ir::Node* n : grp.fused)
    if (n->outputs()[0] != grp.output) cg.fused_away.insert(slot(n->outputs()[0]));
  return step;
}

// Drops the DequantizeLinear steps whose output nothing reads any more (an
// integer kernel reads their input instead); their values become fused away.
void drop_unread_dequantize(CompiledGraph& cg) {
  std::vector<int> readers(cg.num_slots, 0);
  for (const auto& step : cg.steps) {
    for (int s : step.in)
      if (s >= 0) ++readers[s];
    for (const ir::Graph* sub : step.node->subgraphs())
      for (const ir::Value* v : sub->captured_values())
        if (auto it = cg.slot_of.find(v); it != cg.slot_of.end()) ++readers[it->second];
  }
  for (const ir::Value* v : cg.graph->outputs)
    if (auto it = cg.slot_of.find(v); it != cg.slot_of.end()) ++readers[it->second];
  std::vector<bool> dropped(cg.steps.size(), false);
  // Backwards: a step's readers all come after it.
  for (size_t i = cg.steps.size(); i-- > 0;) {
    const auto& step = cg.steps[i];
    bool dq = step.node->op_type == "DequantizeLinear" && (step.node->domain.empty() || step.node->domain == "ai.onnx");
    if (!dq || step.out.size() != 1 || step.out[0] < 0 || readers[step.out[0]] > 0 || !step.fused.empty()) continue;
    dropped[i] = true;
    cg.fused_away.insert(step.out[0]);
    for (int s : step.in)
      if (s >= 0) --readers[s];
  }
  std::vector<CompiledGraph::Step> kept;
  for (size_t i = 0; i < cg.steps.size(); ++i)
    if (!dropped[i]) kept.push_back(std::move(cg.steps[i]));
  cg.steps = std::move(kept);
}

}  // namespace

std::shared_ptr<CompiledGraph> Session::Impl::compile(const ir::Graph& g, bool fuse) {
  auto cg = std::make_shared<CompiledGraph>();
  cg->graph = &g;
  auto slot = [&](const ir::Value* v) {
    auto [it, added] = cg->slot_of.emplace(v, cg->num_slots);
    if (added) ++cg->num_slots;
    return it->second;
  };
  std::unordered_map<const ir::Value*, ir::Tensor> known;  // constants, including pre-evaluated ones
  for (const ir::Value* v : g.values()) {
    slot(v);
    if (v->is_constant()) known.emplace(v, v->constant());
  }
  for (const ir::Value* v : g.captured_values()) cg->captures.emplace_back(slot(v), v);
  for (const ir::Value* v : g.inputs)
    if (!v->is_constant()) {
      cg->input_slots.push_back(slot(v));
      cg->input_values.push_back(v);
    }

  Readers readers(g);
  std::unordered_set<const ir::Node*> fused_nodes;  // activations computed by their producer's kernel
  auto constants_of = [&](const ir::Node& n) {
    std::vector<const ir::Tensor*> c;
    for (const ir::Value* in : n.inputs()) {
      auto it = in ? known.find(in) : known.end();
      c.push_back(it != known.end() ? &it->second : nullptr);
    }
    return c;
  };
  // QDQ groups (qdq_groups.h), found before any node is compiled: the
  // QuantizeLinear of every value they read must not be fused away.
  std::unordered_map<const ir::Node*, QdqGroup> groups;
  std::unordered_set<const ir::Value*> read_quantized;
  if (fuse && integer)
    for (const auto& n : g.nodes())
      if (auto grp = match_qdq_group(*n, opset_of(*n), [&](const ir::Value* v) { return readers.sole_reader(v); })) {
        read_quantized.insert(grp->inputs.begin(), grp->inputs.end());
        groups.emplace(n.get(), std::move(*grp));
      }
  // Zero Pads before Convs (pad_fusion.h), each the Conv's only reader: decided
  // at the Pad, whose pads may be computed from constants by then.
  std::unordered_map<const ir::Node*, std::pair<const ir::Node*, AbsorbedPad>> pad_into_conv;  // Conv -> (Pad, how)
  auto absorb_into_conv = [&](const ir::Node& pad) {
    if (!pad.input(0) || known.count(pad.input(0)) || pad.outputs().empty() || !pad.outputs()[0]) return false;
    const ir::Node* reader = readers.sole_reader(pad.outputs()[0]);
    if (!reader || groups.count(reader)) return false;
    auto absorbed = conv_absorbing(pad, opset_of(pad), reader, [&](const ir::Value* v) -> const ir::Tensor* {
      auto it = known.find(v);
      return it != known.end() ? &it->second : nullptr;
    });
    if (!absorbed) return false;
    pad_into_conv.emplace(absorbed->conv, std::make_pair(&pad, std::move(*absorbed)));
    cg->fused_away.insert(slot(pad.outputs()[0]));
    return true;
  };
  ChainFinder<decltype(constants_of)> finder{model, readers, constants_of, read_quantized, cg->epilogue_factors};
  for (const auto& owned : g.nodes()) {
    const ir::Node& n = *owned;
    if (fused_nodes.count(&n)) continue;
    if (fuse && n.op_type == "Pad" && absorb_into_conv(n)) continue;
    int64_t opset = opset_of(n);
    const KernelDef* def = find_kernel(n, opset);
    if (!def) throw Error(node_label(n, opset) + ": the runner has no kernel for this op");
    const ir::Node* kernel_node = &n;
    auto absorbed = pad_into_conv.find(&n);
    if (absorbed != pad_into_conv.end()) {
      kernel_node = &cg->rewritten.emplace_back(conv_with_pads(n, absorbed->second.second.conv_pads));
    }
    KernelInit init{*kernel_node, opset, constants_of(n),
                    [this, fuse](const ir::Graph& sub) { return compile(sub, fuse); }};
    init.isa = isa;
    bool all_constant = !has_subgraphs(n);
    for (size_t i = 0; i < n.inputs().size(); ++i)
      if (n.inputs()[i] && !init.constant_inputs[i]) all_constant = false;
    if (auto it = groups.find(&n); it != groups.end() && !all_constant) {
      cg->steps.push_back(integer_step(it->second, def, init, slot, *cg));
      for (const ir::Node* fused : cg->steps.back().fused) fused_nodes.insert(fused);
      continue;
    }
    // Epilogue fusion: the nodes after this one, each alone reading the previous
    // one's only output (an activation, then a QuantizeLinear -> DequantizeLinear
    // round trip), are computed by this node's kernel, which writes the last one's output.
    // A chain that starts at the node itself (an activation or QuantizeLinear
    // before a round trip) runs as one epilogue kernel, the node's own included.
    std::vector<const ir::Node*> chain;
    std::optional<Epilogue> epilogue;
    bool single_output = n.outputs().size() == 1 && n.outputs()[0];
    if (fuse && !all_constant && single_output)
      epilogue = fusable_producer(n) ? finder.after(n, chain) : finder.from(n, chain);
    bool own = epilogue && !fusable_producer(n);  // n is chain[0], computed by the epilogue kernel
    if (epilogue) init.epilogue = &*epilogue;
    if (own) chain.erase(chain.begin());
    CompiledGraph::Step step{&n, def, own ? kernels::make_epilogue_kernel(*epilogue, isa) : create_kernel(*def, init), {}, {}, {}, chain};
    for (const ir::Value* in : n.inputs()) step.in.push_back(in ? slot(in) : -1);
    for (const ir::Value* out : n.outputs()) step.out.push_back(out ? slot(out) : -1);
    if (absorbed != pad_into_conv.end()) {
      step.absorbed_pad = absorbed->second.first;
      step.absorbed_pads = absorbed->second.second.pad_pads;
      step.in[0] = slot(step.absorbed_pad->input(0));
    }
    for (const ir::Node* fused : chain) {
      cg->fused_away.insert(step.out[0]);
      step.out[0] = slot(fused->outputs()[0]);
      fused_nodes.insert(fused);
    }
    if (all_constant && !n.outputs().empty()) {
      // Constant pre-evaluation: run the node now, once, and keep its outputs as constants.
      Frame frame{cg.get(), std::vector<Slot>(cg->num_slots), nullptr, {}};
      for (size_t i = 0; i < n.inputs().size(); ++i)
        if (init.constant_inputs[i]) {
          frame.slots[step.in[i]].view = view_of(*init.constant_inputs[i]);
          frame.slots[step.in[i]].set = true;
        }
      try {
        StepContext ctx(*this, frame, step);
        charge_step();
        compute_step(step, ctx, opset);
      } catch (OverLimit& e) {
        e.with_context(node_label(n, opset));
        throw;
      }
      for (size_t i = 0; i < n.outputs().size(); ++i) {
        if (step.out[i] < 0) continue;
        Slot& s = frame.slots[step.out[i]];
        if (s.set) known.emplace(n.outputs()[i], to_tensor(s.view));
        arena.release(s.buffer, s.capacity);
      }
      continue;
    }
    cg->steps.push_back(std::move(step));
  }
  if (!groups.empty()) drop_unread_dequantize(*cg);
  for (const auto& [v, t] : known) cg->constants.emplace_back(cg->slot_of.at(v), t);
  // Sort for a deterministic layout (the map above is unordered).
  std::sort(cg->constants.begin(), cg->constants.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const ir::Value* v : g.outputs) cg->output_slots.push_back(slot(v));

  // Lifetimes: a computed value is released after its last use; outputs never.
  std::vector<int> last_use(cg->num_slots, -1);
  std::vector<bool> computed(cg->num_slots, false);
  for (size_t i = 0; i < cg->steps.size(); ++i) {
    const auto& step = cg->steps[i];
    for (int s : step.in)
      if (s >= 0) last_use[s] = static_cast<int>(i);
    for (const ir::Graph* sub : step.node->subgraphs())
      for (const ir::Value* v : sub->captured_values())
        if (auto it = cg->slot_of.find(v); it != cg->slot_of.end()) last_use[it->second] = static_cast<int>(i);
    for (int s : step.out)
      if (s >= 0) {
        computed[s] = true;
        if (last_use[s] < static_cast<int>(i)) last_use[s] = static_cast<int>(i);  // unused: free at once
      }
  }
  for (int s : cg->output_slots) computed[s] = false;
  for (int s = 0; s < cg->num_slots; ++s)
    if (computed[s] && last_use[s] >= 0) cg->steps[last_use[s]].release.push_back(s);
  return cg;
}

// ---------- run ----------

void Session::Impl::record_step(const CompiledGraph::Step& step, const Frame& frame) {
  auto dims_into = [&](const std::vector<int>& slots, std::vector<std::vector<int64_t>>& out) {
    out.resize(slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
      int s = slots[i];
      if (s >= 0 && frame.slots[s].set) out[i] = frame.slots[s].view.dims;
      else out[i].clear();
    }
  };
  if (step.absorbed_pad) {  // the Pad's shapes as if it had run: its input, padded
    NodeShapes& pad = record(step.absorbed_pad);
    dims_into(step.in, pad.inputs);
    pad.inputs.resize(1);  // the data input; the pads were constants
    pad.outputs = pad.inputs;
    size_t rank = step.absorbed_pads.size() / 2;
    for (size_t d = 0; d < rank && d < pad.outputs[0].size(); ++d)
      pad.outputs[0][d] += step.absorbed_pads[d] + step.absorbed_pads[rank + d];
  }
  size_t own = recorded;
  NodeShapes& shapes = record(step.node);
  dims_into(step.in, shapes.inputs);
  dims_into(step.out, shapes.outputs);
  if (step.absorbed_pad) shapes.inputs[0] = stats->shapes[own - 1].outputs[0];
  if (step.def->macs) stats->macs += step.def->macs(*step.node, shapes);
  ++stats->kernels_run;
  for (const ir::Node* fused : step.fused) {  // epilogue nodes keep their input's shape
    NodeShapes& f = record(fused);
    f.inputs = stats->shapes[own].outputs;
    f.outputs = stats->shapes[own].outputs;
  }
}

void Session::Impl::run_frame(Frame& frame, bool is_main) {
  const CompiledGraph& g = *frame.graph;
  for (const auto& [idx, t] : g.constants) {
    frame.slots[idx].view = view_of(t);
    frame.slots[idx].set = true;
  }
  for (const auto& [idx, v] : g.captures) {
    if (frame.slots[idx].set) continue;
    const TensorView* outer = frame.parent ? lookup_capture(*frame.parent, v) : nullptr;
    if (!outer) fail("value '{}' used inside a subgraph is not available", v->name());
    frame.slots[idx].view = *outer;
    frame.slots[idx].set = true;
  }
  for (size_t i = 0; i < g.steps.size(); ++i) {
    const auto& step = g.steps[i];
    if (!is_main || skip.empty() || !skip[i]) {
      StepContext ctx(*this, frame, step);
      bool timed = is_main && stats && timing;
      auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      try {
        charge_step();
        compute_step(step, ctx, opset_of(*step.node));
      } catch (OverLimit& e) {
        if (is_main) e.with_context(node_label(*step.node, opset_of(*step.node)));
        throw;
      }
      if (timed) {
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        int out = step.out.empty() ? -1 : step.out[0];
        stats->kernel_times.push_back(
            {step.node, step.fused, out >= 0 && frame.slots[out].set ? frame.slots[out].view.dims : std::vector<int64_t>{},
             ms});
      }
      if (is_main && stats) record_step(step, frame);
    }
    for (int s : step.release) {
      if (is_main && s < static_cast<int>(keep.size()) && keep[s]) continue;
      Slot& slot = frame.slots[s];
      arena.release(slot.buffer, slot.capacity);
      slot = Slot{};
    }
  }
}

Session::Session(const ir::Model& model, SessionOptions options)
    : impl_(std::make_unique<Impl>(model, options)) {
  impl_->start_clock();
  impl_->main = impl_->compile(*model.graph, options.fuse);
  for (const ir::Value* v : impl_->main->input_values) {
    input_names_.push_back(v->name());
    inputs_.push_back(v);
  }
  for (const ir::Value* v : model.graph->outputs) output_names_.push_back(v->name());
}

Session::~Session() = default;

int Session::threads() const { return impl_->pool.threads(); }
Isa Session::isa() const { return impl_->isa; }
void Session::set_timing(bool on) { impl_->timing = on; }

namespace {

void check_input(const ir::Value& declared, const ir::Tensor& t) {
  auto shape_text = [](const std::vector<int64_t>& d) { return "[" + fmt::format("{}", fmt::join(d, ",")) + "]"; };
  if (declared.dtype != DataType::kUndefined && declared.dtype != t.dtype())
    fail("input '{}': expected {}, got {}", declared.name(), ir::name(declared.dtype), ir::name(t.dtype()));
  if (!declared.shape) return;
  const auto& dims = declared.shape->dims;
  bool ok = dims.size() == t.rank();
  for (size_t i = 0; ok && i < dims.size(); ++i) ok = !dims[i].is_known() || dims[i].value == t.dims()[i];
  if (!ok) fail("input '{}': expected shape {}, got {}", declared.name(), declared.shape->str(), shape_text(t.dims()));
}

}  // namespace

namespace {

// The steps of `g` that computing `slots` does not need: none before a step
// with subgraphs (what its subgraphs read from outside is not among its inputs).
std::vector<bool> steps_not_needed(const CompiledGraph& g, const std::vector<bool>& slots) {
  std::vector<bool> needed_slot = slots, skip(g.steps.size(), true);
  needed_slot.resize(static_cast<size_t>(g.num_slots), false);
  for (size_t i = g.steps.size(); i-- > 0;) {
    const auto& step = g.steps[i];
    bool needed = std::any_of(step.out.begin(), step.out.end(), [&](int o) { return o >= 0 && needed_slot[o]; });
    if (!needed) continue;
    if (!step.node->subgraphs().empty()) return std::vector<bool>(g.steps.size(), false);
    skip[i] = false;
    for (int in : step.in)
      if (in >= 0) needed_slot[in] = true;
  }
  return skip;
}

}  // namespace

std::map<std::string, ir::Tensor> Session::run_capture(const std::map<std::string, ir::Tensor>& inputs,
                                                       const std::vector<std::string>& names, bool only_named) {
  Impl& s = *impl_;
  // A value fused away (a Conv's output that its activation consumed in the same
  // kernel) exists only in the graph compiled without fusion.
  const CompiledGraph* chosen = s.main.get();
  for (const auto& n : names) {
    const ir::Value* v = s.model.graph->find_value(n);
    auto it = v ? s.main->slot_of.find(v) : s.main->slot_of.end();
    if (it != s.main->slot_of.end() && s.main->fused_away.count(it->second)) {
      if (!s.plain) s.plain = s.compile(*s.model.graph, false);
      chosen = s.plain.get();
      break;
    }
  }
  const CompiledGraph& g = *chosen;
  for (const auto& [name, t] : inputs)
    if (std::find(input_names_.begin(), input_names_.end(), name) == input_names_.end())
      fail("'{}' is not an input of the model (its inputs: {})", name, fmt::join(input_names_, ", "));
  Frame frame{&g, std::vector<Slot>(g.num_slots), nullptr, {}};
  frame.keep.reserve(inputs.size());
  for (size_t i = 0; i < g.input_slots.size(); ++i) {
    const ir::Value* v = g.input_values[i];
    auto it = inputs.find(v->name());
    if (it == inputs.end()) fail("input '{}' is missing", v->name());
    check_input(*v, it->second);
    frame.slots[g.input_slots[i]].view = view_of(it->second);
    frame.slots[g.input_slots[i]].set = true;
  }
  s.keep.assign(g.num_slots, false);
  for (const auto& n : names) {
    const ir::Value* v = s.model.graph->find_value(n);
    auto it = v ? g.slot_of.find(v) : g.slot_of.end();
    if (it == g.slot_of.end()) fail("no value named '{}' in the main graph", n);
    s.keep[it->second] = true;
  }
  s.skip = only_named ? steps_not_needed(g, s.keep) : std::vector<bool>{};
  // Reset, keeping the vectors' memory for this run's entries (Impl::record).
  stats_.peak_bytes = stats_.macs = stats_.kernels_run = 0;
  stats_.kernel_times.clear();
  s.recorded = 0;
  s.stats = &stats_;
  s.arena.reset_peak();
  s.start_clock();
  int64_t base = s.arena.in_use_bytes();
  try {
    s.run_frame(frame, true);
  } catch (...) {
    for (Slot& slot : frame.slots) s.arena.release(slot.buffer, slot.capacity);
    stats_.nodes.resize(s.recorded);  // the steps that ran
    stats_.shapes.resize(s.recorded);
    throw;
  }
  stats_.peak_bytes = s.arena.peak_bytes() - base;
  stats_.nodes.resize(s.recorded);
  stats_.shapes.resize(s.recorded);
  std::map<std::string, ir::Tensor> out;
  for (size_t i = 0; i < (only_named ? 0 : g.output_slots.size()); ++i) {
    const Slot& slot = frame.slots[g.output_slots[i]];
    if (!slot.set) fail("output '{}' was not computed", output_names_[i]);
    out.emplace(output_names_[i], to_tensor(slot.view));
  }
  for (const auto& n : names) {
    const Slot& slot = frame.slots[g.slot_of.at(s.model.graph->find_value(n))];
    if (slot.set) out.emplace(n, to_tensor(slot.view));
  }
  for (Slot& slot : frame.slots) s.arena.release(slot.buffer, slot.capacity);
  s.keep.clear();
  s.skip.clear();
  return out;
}

std::vector<ir::Tensor> Session::run(const std::map<std::string, ir::Tensor>& inputs) {
  auto named = run_capture(inputs, {});
  std::vector<ir::Tensor> out;
  for (const auto& n : output_names_) out.push_back(named.at(n));
  return out;
}

RunLimits& default_run_limits() {
  static RunLimits limits;
  return limits;
}

RunLimits untrusted_model_limits() {
  return RunLimits{10'000'000, int64_t{8} << 30, 900,
                   "raise it with PARE_MAX_STEPS, PARE_MAX_MEMORY or PARE_MAX_SECONDS; 0 removes a bound"};
}

RunLimits limits_from_environment(const RunLimits& defaults) {
  RunLimits l = defaults;
  auto read = [](const char* name, auto parse) {
    const char* text = std::getenv(name);
    if (!text) return false;
    try {
      parse(std::string(text));
    } catch (const Error& e) {
      throw Error(fmt::format("environment variable {}: {}", name, e.message()));
    }
    return true;
  };
  read("PARE_MAX_STEPS", [&](const std::string& t) {
    auto v = whole_number(t);
    if (!v || *v < 0) fail("'{}' is not a whole number of steps (0: no bound)", t);
    l.max_steps = *v;
  });
  read("PARE_MAX_MEMORY", [&](const std::string& t) { l.max_bytes = parse_size(t); });
  read("PARE_MAX_SECONDS", [&](const std::string& t) {
    auto v = finite_number(t);
    if (!v || *v < 0) fail("'{}' is not a number of seconds (0: no bound)", t);
    l.max_seconds = *v;
  });
  return l;
}

std::vector<std::string> unsupported_nodes(const ir::Model& model) {
  std::vector<std::string> out;
  ir::for_each_graph(*model.graph, [&](const ir::Graph& g) {
    for (const auto& n : g.nodes()) {
      int64_t opset = model.opset(n->domain);
      const KernelDef* def = find_kernel(*n, opset);
      if (!def) {
        out.push_back(node_label(*n, opset) + ": the runner has no kernel for this op");
        continue;
      }
      std::vector<const ir::Tensor*> constants;
      for (const ir::Value* in : n->inputs()) constants.push_back(in && in->is_constant() ? &in->constant() : nullptr);
      // Subgraphs are checked on their own by for_each_graph.
      KernelInit init{*n, opset, constants, [](const ir::Graph&) { return std::shared_ptr<CompiledGraph>(); }};
      try {
        create_kernel(*def, init);
      } catch (const Error& e) {
        out.push_back(e.what());
      }
    }
  });
  return out;
}

}  // namespace pare::rt
