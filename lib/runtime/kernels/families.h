// Every kernel family exports its KernelDefs here; kernels/registry.cc joins them
// into the one explicit table. One family per file, one line per family.
#pragma once

#include <memory>
#include <vector>

#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

// The KernelDef::create of a kernel class built from the KernelInit, then from
// fixed arguments that pick one of the ops it serves: a family's table names the
// class, `make_kernel<Conv>`, `make_kernel<Pool, true>` (MaxPool).
template <typename K, auto... Args>
std::unique_ptr<Kernel> make_kernel(const KernelInit& init) {
  return std::make_unique<K>(init, Args...);
}

// The same for a kernel that reads nothing from its node (no attribute, no
// constant input at build time): `make_fixed_kernel<Where>`, `make_fixed_kernel<GlobalPool, true>`.
template <typename K, auto... Args>
std::unique_ptr<Kernel> make_fixed_kernel(const KernelInit&) {
  return std::make_unique<K>(Args...);
}

// Calls f(T{}) for the T among Ts whose element type is `dtype` and says whether
// there was one: what a kernel's switch over the types it computes in would do,
// written as the list of those types.
template <typename... Ts, typename F>
bool visit_dtype(DataType dtype, F&& f) {
  return ((dtype == ir::dtype_of<Ts>() && (f(Ts{}), true)) || ...);
}

// A row of a family's table for an op of the default ONNX domain that is still
// current: defined from opset `since` on, counting `macs` (none by default).
// Rows of another domain or that end at an opset spell the KernelDef out.
constexpr KernelDef onnx_op(std::string_view op_type, int since, decltype(KernelDef::create) create,
                            decltype(KernelDef::macs) macs = nullptr) {
  return {"", op_type, since, kLatestOpset, create, macs};
}

std::vector<KernelDef> conv_kernels();         // Conv, ConvTranspose
std::vector<KernelDef> gemm_kernels();         // Gemm, MatMul
std::vector<KernelDef> norm_kernels();         // BatchNormalization (+ LayerNormalization, InstanceNormalization if added)
std::vector<KernelDef> pool_kernels();         // MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
std::vector<KernelDef> elementwise_kernels();  // unary math, activations, binary arithmetic, comparisons, logic, Where
std::vector<KernelDef> softmax_kernels();      // Softmax, LogSoftmax
std::vector<KernelDef> reduce_kernels();       // ReduceMean/Sum/Max/Min/Prod/L2..., ArgMax, ArgMin, TopK
std::vector<KernelDef> shape_kernels();        // Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size, Identity, Expand, Tile, Transpose, ...
std::vector<KernelDef> tensor_kernels();       // Concat, Split, Slice, Gather, Cast, Constant, ConstantOfShape, Range, ...
std::vector<KernelDef> resize_kernels();       // Resize, Upsample
std::vector<KernelDef> pad_kernels();          // Pad
std::vector<KernelDef> quant_kernels();        // QuantizeLinear, DequantizeLinear
std::vector<KernelDef> rnn_kernels();          // LSTM, GRU
std::vector<KernelDef> control_kernels();      // If, Loop

// Operator coverage (issue 18): one line per family, each in its own file.
std::vector<KernelDef> loss_kernels();             // NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
std::vector<KernelDef> indexing_kernels();         // GatherElements/ND, Scatter*, OneHot, Compress, Trilu, CumSum, DepthToSpace, ...
std::vector<KernelDef> unary_extra_kernels();      // trigonometric/hyperbolic, Gelu, Celu, Shrink, IsNaN, IsInf, BitShift
std::vector<KernelDef> normalize_extra_kernels();  // Hardmax, LRN, MeanVarianceNormalization
std::vector<KernelDef> passthrough_kernels();      // Dropout, CastLike
std::vector<KernelDef> linalg_kernels();           // Einsum, Det
std::vector<KernelDef> quant_linear_kernels();     // MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv, DynamicQuantizeLinear
std::vector<KernelDef> detection_kernels();        // NonMaxSuppression, RoiAlign, GridSample
std::vector<KernelDef> signal_kernels();           // DFT, STFT, Hann/Hamming/BlackmanWindow, MelWeightMatrix
std::vector<KernelDef> unique_kernels();           // Unique
std::vector<KernelDef> unpool_kernels();           // MaxUnpool
std::vector<KernelDef> rnn_simple_kernels();       // RNN
std::vector<KernelDef> text_kernels();             // TfIdfVectorizer
std::vector<KernelDef> scan_kernels();             // Scan
std::vector<KernelDef> training_kernels();         // Adagrad, Momentum, Adam (ai.onnx.preview.training)
// Reference kernels that kernels/create.cc uses where a fast kernel refuses a node:
// Resize's cubic mode and tf_crop_and_resize; N-D Conv; N-D pools and MaxPool's Indices.
std::unique_ptr<Kernel> make_general_resize(const KernelInit& init);
std::unique_ptr<Kernel> make_reference_conv(const KernelInit& init);
std::unique_ptr<Kernel> make_reference_pool(const KernelInit& init, bool max);
std::unique_ptr<Kernel> make_batchnorm_training(const KernelInit& init);
// Wraps a float32 kernel so it also runs float16 tensors (kernels/float16.cc).
std::unique_ptr<Kernel> bridge_float16(const KernelDef& def, std::unique_ptr<Kernel> k);

}  // namespace pare::rt::kernels

namespace pare::rt {

// The kernel the session runs for a node: def.create(init), or a reference
// kernel where that one refuses the node, wrapped so that float32 kernels also
// run float16 tensors (kernels/create.cc).
std::unique_ptr<Kernel> create_kernel(const KernelDef& def, const KernelInit& init);

}  // namespace pare::rt
