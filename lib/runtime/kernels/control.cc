// Control flow: If and Loop. Their bodies are compiled once with the session's
// own planner (KernelInit::compile_subgraph) and run through
// KernelContext::run_subgraph, which also resolves values the bodies capture
// from enclosing graphs. Loop carries its state between iterations and stacks
// scan outputs along a new first axis.
#include <cstring>

#include "lib/runtime/kernels/families.h"

namespace pare::rt::kernels {
namespace {

const ir::Graph* graph_attr(const KernelInit& init, const char* name) {
  const ir::Attribute* a = init.node.attr(name);
  if (!a || a->kind != ir::Attribute::Kind::kGraph || !a->g) init.reject(std::string("missing graph attribute '") + name + "'");
  return a->g.get();
}

void write_output(KernelContext& ctx, size_t i, const ir::Tensor& t) {
  if (t.dtype() == DataType::kString) compute_error(ctx, "string tensors are not supported");
  TensorView& y = ctx.allocate_output(i, t.dtype(), t.dims());
  if (t.byte_size()) std::memcpy(y.data, t.raw(), t.byte_size());
}

ir::Tensor tensor_of(const TensorView& v) {
  const auto* p = static_cast<const uint8_t*>(v.data);
  return ir::Tensor(v.dtype, v.dims, std::vector<uint8_t>(p, p + v.byte_size()));
}

class If : public Kernel {
 public:
  explicit If(const KernelInit& init)
      : then_(init.compile_subgraph(*graph_attr(init, "then_branch"))),
        else_(init.compile_subgraph(*graph_attr(init, "else_branch"))) {}
  void compute(KernelContext& ctx) override {
    const TensorView& c = *ctx.input(0);
    if (c.dtype != DataType::kBool || c.numel() != 1) compute_error(ctx, "the condition must be one bool");
    auto outs = ctx.run_subgraph(*c.as<bool>() ? *then_ : *else_, {});
    if (outs.size() != ctx.num_outputs())
      compute_error(ctx, fmt::format("the branch gives {} outputs, the node has {}", outs.size(), ctx.num_outputs()));
    for (size_t i = 0; i < outs.size(); ++i) write_output(ctx, i, outs[i]);
  }

 private:
  std::shared_ptr<CompiledGraph> then_, else_;
};

class Loop : public Kernel {
 public:
  explicit Loop(const KernelInit& init) : body_(init.compile_subgraph(*graph_attr(init, "body"))) {
    // A loop that runs no iteration still owes its scan outputs, shaped [0, ...]:
    // their element shape can only come from the body's declaration.
    for (const ir::Value* v : graph_attr(init, "body")->outputs) declared_.push_back(v);
  }
  void compute(KernelContext& ctx) override {
    const TensorView* m = ctx.input(0);
    const TensorView* c = ctx.input(1);
    int64_t max_trips = m ? read_ints(*m).at(0) : INT64_MAX;
    bool cond = c ? *c->as<bool>() : true;
    size_t carried = ctx.num_inputs() - 2;
    std::vector<ir::Tensor> state;
    for (size_t i = 0; i < carried; ++i) state.push_back(tensor_of(*ctx.input(i + 2)));
    size_t scans = ctx.num_outputs() - carried;
    std::vector<std::vector<ir::Tensor>> scanned(scans);
    int64_t iter = 0;
    for (; iter < max_trips && cond; ++iter) {
      std::vector<ir::Tensor> feeds = {ir::Tensor::scalar<int64_t>(iter), ir::Tensor::scalar<bool>(cond)};
      feeds.insert(feeds.end(), state.begin(), state.end());
      auto outs = ctx.run_subgraph(*body_, feeds);
      if (outs.size() != 1 + carried + scans) compute_error(ctx, "the body's outputs do not match the node's");
      cond = outs[0].as_int64().at(0) != 0;
      for (size_t i = 0; i < carried; ++i) state[i] = outs[1 + i];
      for (size_t i = 0; i < scans; ++i) scanned[i].push_back(outs[1 + carried + i]);
      if (iter > 100'000'000) compute_error(ctx, "more than 10^8 iterations");
    }
    for (size_t i = 0; i < carried; ++i) write_output(ctx, i, state[i]);
    for (size_t i = 0; i < scans; ++i) {
      if (scanned[i].empty()) {
        const ir::Value* v = declared_.at(1 + carried + i);
        if (!v->shape || !v->shape->is_static() || v->dtype == DataType::kUndefined)
          compute_error(ctx, "the loop ran no iteration and the body does not declare the scan output's shape");
        std::vector<int64_t> dims = v->shape->sizes();
        dims.insert(dims.begin(), 0);
        ctx.allocate_output(carried + i, v->dtype, dims);
        continue;
      }
      std::vector<int64_t> dims = scanned[i][0].dims();
      dims.insert(dims.begin(), static_cast<int64_t>(scanned[i].size()));
      TensorView& y = ctx.allocate_output(carried + i, scanned[i][0].dtype(), dims);
      auto* py = static_cast<uint8_t*>(y.data);
      for (const auto& t : scanned[i]) {
        if (t.dims() != scanned[i][0].dims()) compute_error(ctx, "scan outputs change shape between iterations");
        std::memcpy(py, t.raw(), t.byte_size());
        py += t.byte_size();
      }
    }
  }

 private:
  std::shared_ptr<CompiledGraph> body_;
  std::vector<const ir::Value*> declared_;
};

}  // namespace

std::vector<KernelDef> control_kernels() {
  return {
      onnx_op("If", 1, make_kernel<If>),
      onnx_op("Loop", 1, make_kernel<Loop>),
  };
}

}  // namespace pare::rt::kernels
