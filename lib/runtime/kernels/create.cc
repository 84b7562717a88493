// create_kernel: how the session builds the kernel of a node. Three steps, so
// that the family files stay simple and fast:
//  1. the table's kernel (def.create);
//  2. where that kernel refuses the node at compile time (Resize cubic or
//     tf_crop_and_resize, 3-D pools, MaxPool's Indices output, 3-D Conv with
//     constant weights, BatchNormalization in training mode) and a reference
//     kernel exists for the op, the reference kernel instead; Conv also
//     switches at run time when X has more than 2 spatial dims (its weights
//     may be a graph input);
//  3. the float16 bridge (kernels/float16.cc) around float32 kernels.
#include "lib/runtime/kernels/families.h"

namespace pare::rt {
namespace {

using Factory = std::unique_ptr<Kernel> (*)(const KernelInit&);

Factory reference_for(std::string_view op) {
  if (op == "Resize") return kernels::make_general_resize;
  if (op == "Conv") return kernels::make_reference_conv;
  if (op == "MaxPool") return [](const KernelInit& i) { return kernels::make_reference_pool(i, true); };
  if (op == "AveragePool") return [](const KernelInit& i) { return kernels::make_reference_pool(i, false); };
  if (op == "BatchNormalization") return kernels::make_batchnorm_training;
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
  Factory reference = def.domain.empty() ? reference_for(def.op_type) : nullptr;
  std::unique_ptr<Kernel> k;
  try {
    k = def.create(init);
  } catch (const Error& refused) {
    if (!reference) throw;
    try {
      k = reference(init);
    } catch (const Error&) {
      throw refused;  // neither runs it: the table kernel's reason is the one to give
    }
  }
  if (reference && def.op_type == "Conv") k = std::make_unique<ByRank>(std::move(k), reference(init));
  return kernels::bridge_float16(def, std::move(k));
}

}  // namespace pare::rt
