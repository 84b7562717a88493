// Scan: runs its body once per slice of the scan inputs, carrying state
// variables from one iteration to the next and stacking the body's scan outputs.
// Opset 9+: scan_input_axes/directions and scan_output_axes/directions as in the
// spec. Opset 8: every input has a leading batch axis, run batch item by batch
// item, scanning axis 1; sequence_lens shorter than the sequence are refused.
// The body is compiled once (KernelInit::compile_subgraph). MACs: 0 here (the
// body's nodes are counted on their own).
#include <cstring>

#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/values.h"

namespace pare::rt::kernels {
namespace {

ir::Tensor to_tensor(const TensorView& v) {
  const auto* p = static_cast<const uint8_t*>(v.data);
  return ir::Tensor(v.dtype, v.dims, std::vector<uint8_t>(p, p + v.byte_size()));
}

// Slice `i` of t along `axis`, the axis removed.
ir::Tensor slice_along(const ir::Tensor& t, int64_t axis, int64_t i) {
  const auto& d = t.dims();
  int64_t outer = product(d, 0, static_cast<size_t>(axis)), len = d[axis], inner = product(d, static_cast<size_t>(axis) + 1, d.size());
  size_t es = ir::size_of(t.dtype());
  std::vector<uint8_t> bytes(static_cast<size_t>(outer * inner) * es);
  for (int64_t o = 0; o < outer; ++o) std::memcpy(bytes.data() + o * inner * es, t.raw() + (o * len + i) * inner * es, inner * es);
  std::vector<int64_t> dims = d;
  dims.erase(dims.begin() + axis);
  return ir::Tensor(t.dtype(), dims, std::move(bytes));
}

// Stacks equal-shaped tensors along a new `axis` (0..rank).
ir::Tensor stack_along(const KernelContext& ctx, const std::vector<ir::Tensor>& parts, int64_t axis) {
  const auto& d = parts.at(0).dims();
  for (const auto& p : parts)
    if (p.dims() != d || p.dtype() != parts[0].dtype()) compute_error(ctx, "scan outputs change shape or type between iterations");
  int64_t outer = product(d, 0, static_cast<size_t>(axis)), inner = product(d, static_cast<size_t>(axis), d.size()),
          n = static_cast<int64_t>(parts.size());
  size_t es = ir::size_of(parts[0].dtype());
  std::vector<uint8_t> bytes(static_cast<size_t>(outer * n * inner) * es);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(bytes.data() + (o * n + k) * inner * es, parts[k].raw() + o * inner * es, inner * es);
  std::vector<int64_t> dims = d;
  dims.insert(dims.begin() + axis, n);
  return ir::Tensor(parts[0].dtype(), dims, std::move(bytes));
}

class Scan : public Kernel {
 public:
  explicit Scan(const KernelInit& init) : opset_(init.opset) {
    const ir::Attribute* a = init.node.attr("body");
    if (!a || a->kind != ir::Attribute::Kind::kGraph || !a->g) init.reject("missing graph attribute 'body'");
    body_ = init.compile_subgraph(*a->g);
    m_ = init.attr_int("num_scan_inputs", -1);
    if (m_ < 1) init.reject("num_scan_inputs must be >= 1");
    in_axes_ = init.attr_ints("scan_input_axes");
    out_axes_ = init.attr_ints("scan_output_axes");
    in_dirs_ = init.attr_ints(opset_ < 9 ? "directions" : "scan_input_directions");
    out_dirs_ = init.attr_ints("scan_output_directions");
    if (opset_ < 9 && (!in_axes_.empty() || !out_axes_.empty())) init.reject("axes attributes need opset 9");
    body_outputs_ = a->g->outputs.size();
  }

  void compute(KernelContext& ctx) override {
    size_t first = opset_ < 9 ? 1 : 0;  // opset 8: sequence_lens comes first
    size_t total = ctx.num_inputs() - first;
    if (static_cast<int64_t>(total) < m_) compute_error(ctx, "fewer inputs than num_scan_inputs");
    size_t n = total - static_cast<size_t>(m_);
    std::vector<ir::Tensor> inputs;
    for (size_t i = 0; i < total; ++i) inputs.push_back(to_tensor(required(ctx, first + i)));
    if (opset_ >= 9) {
      auto outs = run(ctx, inputs, n, 0);
      for (size_t i = 0; i < outs.size(); ++i) write(ctx, i, outs[i]);
      return;
    }
    // Opset 8: split the batch, run each item, stack the results back on axis 0.
    int64_t batch = inputs.at(0).dims().empty() ? 0 : inputs[0].dims()[0];
    if (const TensorView* lens = ctx.input(0); lens && lens->numel() > 0) {
      int64_t seq = inputs[n].dims().size() > 1 ? inputs[n].dims()[1] : 0;
      for (int64_t b = 0; b < lens->numel(); ++b)
        if (get_int(*lens, b) != seq) compute_error(ctx, "sequence_lens shorter than the sequence are not supported");
    }
    std::vector<std::vector<ir::Tensor>> per_output;
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<ir::Tensor> item;
      for (const auto& t : inputs) {
        if (t.dims().empty() || t.dims()[0] != batch) compute_error(ctx, "every input needs the batch axis first");
        item.push_back(slice_along(t, 0, b));
      }
      auto outs = run(ctx, item, n, 0);
      per_output.resize(outs.size());
      for (size_t i = 0; i < outs.size(); ++i) per_output[i].push_back(outs[i]);
    }
    for (size_t i = 0; i < per_output.size(); ++i) write(ctx, i, stack_along(ctx, per_output[i], 0));
  }

 private:
  // One scan over `inputs` (n states, then the scan inputs); returns states then stacked scan outputs.
  std::vector<ir::Tensor> run(KernelContext& ctx, const std::vector<ir::Tensor>& inputs, size_t n, int) {
    size_t m = static_cast<size_t>(m_);
    std::vector<ir::Tensor> state(inputs.begin(), inputs.begin() + n);
    int64_t steps = -1;
    std::vector<int64_t> axes(m, 0);
    for (size_t j = 0; j < m; ++j) {
      const auto& t = inputs[n + j];
      axes[j] = normalize_axis(j < in_axes_.size() ? in_axes_[j] : 0, static_cast<int64_t>(t.dims().size()));
      int64_t len = t.dims()[axes[j]];
      if (steps >= 0 && len != steps) compute_error(ctx, "scan inputs differ in length along their axes");
      steps = len;
    }
    size_t k = body_outputs_ - n;
    std::vector<std::vector<ir::Tensor>> scanned(k);
    for (int64_t s = 0; s < steps; ++s) {
      std::vector<ir::Tensor> feeds = state;
      for (size_t j = 0; j < m; ++j) {
        bool rev = j < in_dirs_.size() && in_dirs_[j] != 0;
        feeds.push_back(slice_along(inputs[n + j], axes[j], rev ? steps - 1 - s : s));
      }
      auto outs = ctx.run_subgraph(*body_, feeds);
      if (outs.size() != n + k) compute_error(ctx, "the body's outputs do not match the node's");
      for (size_t i = 0; i < n; ++i) state[i] = outs[i];
      for (size_t i = 0; i < k; ++i) scanned[i].push_back(outs[n + i]);
    }
    std::vector<ir::Tensor> result = state;
    for (size_t i = 0; i < k; ++i) {
      if (scanned[i].empty()) compute_error(ctx, "a scan of length 0 is not supported");
      if (i < out_dirs_.size() && out_dirs_[i] != 0) std::reverse(scanned[i].begin(), scanned[i].end());
      int64_t rank = static_cast<int64_t>(scanned[i][0].dims().size()) + 1;
      result.push_back(stack_along(ctx, scanned[i], normalize_axis(i < out_axes_.size() ? out_axes_[i] : 0, rank)));
    }
    return result;
  }

  static void write(KernelContext& ctx, size_t i, const ir::Tensor& t) {
    if (i >= ctx.num_outputs()) return;
    TensorView& y = ctx.allocate_output(i, t.dtype(), t.dims());
    if (t.byte_size()) std::memcpy(y.data, t.raw(), t.byte_size());
  }

  int64_t opset_;
  std::shared_ptr<CompiledGraph> body_;
  int64_t m_ = 0;
  std::vector<int64_t> in_axes_, out_axes_, in_dirs_, out_dirs_;
  size_t body_outputs_ = 0;
};

}  // namespace

std::vector<KernelDef> scan_kernels() {
  return {
      onnx_op("Scan", 8, make_kernel<Scan>),
  };
}

}  // namespace pare::rt::kernels
