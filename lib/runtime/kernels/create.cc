// create_kernel: how the session builds the kernel of a node. Three steps, so
// that the family files stay simple and fast:
//  0. packed 4-bit constant inputs are refused but by Cast and DequantizeLinear;
//  1. a reference kernel, for the nodes the table's fast kernel does not take
//     by design (handed_over below: Resize cubic or tf_crop_and_resize, pools
//     with more than 2 spatial dims or MaxPool's Indices / storage_order, Conv
//     with constant weights of more than 2 spatial dims, BatchNormalization in
//     training mode);
//  2. otherwise the table's kernel (def.create), whose refusals keep their
//     messages; Conv switches to the reference at run time when X has more
//     than 2 spatial dims (its weights may be a graph input);
//  3. the float16 bridge (kernels/float16.cc) around float32 kernels.
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/registry.h"

namespace pare::rt {
namespace {

bool has_output(const ir::Node& n, size_t i) { return n.outputs().size() > i && n.output(i); }

// The reference kernel for `init`'s node when the fast kernel does not take it, else nullptr.
std::unique_ptr<Kernel> handed_over(const KernelDef& def, const KernelInit& init) {
  if (!def.domain.empty()) return nullptr;
  std::string_view op = def.op_type;
  // Each reference kernel is named only when its op is kept, so a reduced-ops
  // build (registry.h) links none it cannot use.
  if constexpr (kernels::op_kept("Resize"))
    if (op == "Resize" && (init.attr_string("mode", "nearest") == "cubic" ||
                         (init.opset >= 11 && init.attr_string("coordinate_transformation_mode", "") == "tf_crop_and_resize")))
      return kernels::make_general_resize(init);
  if (kernels::any_kept({"MaxPool", "AveragePool"}) && (op == "MaxPool" || op == "AveragePool")) {
    bool max = op == "MaxPool";
    if (init.attr_ints("kernel_shape").size() > 2 || (max && (has_output(init.node, 1) || init.attr_int("storage_order", 0) != 0)))
      return kernels::make_reference_pool(init, max);
  }
  if (kernels::op_kept("Conv") && op == "Conv" && init.constant(1) && init.constant(1)->dims().size() > 4) return kernels::make_reference_conv(init);
  if (kernels::op_kept("BatchNormalization") && op == "BatchNormalization" && init.attr_int("training_mode", 0) != 0) return kernels::make_batchnorm_training(init);
  return nullptr;
}

// Runs the fast kernel on inputs of rank <= 4 and the reference on the rest.
class ByRank : public Kernel {
 public:
  ByRank(std::unique_ptr<Kernel> fast, std::unique_ptr<Kernel> reference) : fast_(std::move(fast)), reference_(std::move(reference)) {}
  void compute(KernelContext& ctx) override {
    const TensorView* x = ctx.input(0);
    if (x && x->rank() > 4) return reference_->compute(ctx);
    fast_->compute(ctx);
  }

 private:
  std::unique_ptr<Kernel> fast_, reference_;
};

}  // namespace

std::unique_ptr<Kernel> create_kernel(const KernelDef& def, const KernelInit& init) {
  // Only Cast and DequantizeLinear read packed int4/uint4; the other kernels copy
  // elements by size_of, which is 0 for them.
  if (def.op_type != "Cast" && def.op_type != "DequantizeLinear")
    for (const ir::Tensor* t : init.constant_inputs)
      if (t && ir::is_4bit(t->dtype()))
        init.reject(fmt::format("{} inputs are only read by Cast and DequantizeLinear", ir::name(t->dtype())));
  std::unique_ptr<Kernel> k = handed_over(def, init);
  if (!k) {
    k = def.create(init);
    if (kernels::op_kept("Conv") && def.domain.empty() && def.op_type == "Conv") k = std::make_unique<ByRank>(std::move(k), kernels::make_reference_conv(init));
  }
  return kernels::bridge_float16(def, std::move(k));
}

}  // namespace pare::rt
