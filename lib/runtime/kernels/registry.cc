// The explicit table of every kernel the runner has: one line per family.
#include "lib/runtime/kernels/families.h"

namespace pare::rt {

const std::vector<KernelDef>& all_kernels() {
  static const std::vector<KernelDef> table = [] {
    std::vector<KernelDef> all;
    for (auto family : {kernels::conv_kernels, kernels::gemm_kernels, kernels::norm_kernels, kernels::pool_kernels,
                        kernels::elementwise_kernels, kernels::softmax_kernels, kernels::reduce_kernels,
                        kernels::shape_kernels, kernels::tensor_kernels, kernels::resize_kernels, kernels::pad_kernels,
                        kernels::quant_kernels, kernels::rnn_kernels, kernels::control_kernels}) {
      auto defs = family();
      all.insert(all.end(), defs.begin(), defs.end());
    }
    // Operator coverage (issue 18).
    for (auto family : {kernels::loss_kernels, kernels::indexing_kernels, kernels::unary_extra_kernels,
                        kernels::normalize_extra_kernels, kernels::passthrough_kernels, kernels::linalg_kernels,
                        kernels::quant_linear_kernels, kernels::detection_kernels, kernels::signal_kernels,
                        kernels::unique_kernels, kernels::unpool_kernels, kernels::rnn_simple_kernels, kernels::text_kernels,
                        kernels::scan_kernels, kernels::training_kernels}) {
      auto defs = family();
      all.insert(all.end(), defs.begin(), defs.end());
    }
    return all;
  }();
  return table;
}

}  // namespace pare::rt
