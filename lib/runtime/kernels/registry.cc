// The explicit table of every kernel the runner has: one line per family, with
// the op types it defines. The op lists serve the reduced-ops build (PARE_OPS,
// docs/runtime.md): a family none of whose ops is kept is never called, so its
// code stays out of the binary; within a kept family, only kept ops enter the
// table. tests/runtime/registry_test.cc checks each list against its family.
#include "lib/runtime/kernels/families.h"
#include "lib/runtime/kernels/registry.h"
#include "pare/kept_ops.h"

namespace pare::rt {
namespace {

// Every family, by its op types (what kernels::family_ops lists).
#define PARE_FAMILIES(X)                                                                                              \
  X(conv, "Conv", "ConvTranspose")                                                                                   \
  X(gemm, "Gemm", "MatMul")                                                                                          \
  X(norm, "BatchNormalization", "InstanceNormalization", "LayerNormalization")                                       \
  X(pool, "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "MaxPool")                                            \
  X(elementwise, "Abs", "Add", "And", "Ceil", "Clip", "Cos", "Div", "Elu", "Equal", "Erf", "Exp", "Floor", "Greater", \
    "GreaterOrEqual", "HardSigmoid", "HardSwish", "LeakyRelu", "Less", "LessOrEqual", "Log", "Max", "Mean", "Min",    \
    "Mod", "Mul", "Neg", "Not", "Or", "PRelu", "Pow", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin", \
    "Softplus", "Softsign", "Sqrt", "Sub", "Sum", "Tanh", "Where", "Xor")                                            \
  X(softmax, "LogSoftmax", "Softmax")                                                                                \
  X(reduce, "ArgMax", "ArgMin", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", \
    "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare")                                                       \
  X(shape, "Expand", "Flatten", "Identity", "NonZero", "Range", "Reshape", "Shape", "Size", "Squeeze", "Tile",       \
    "Transpose", "Unsqueeze")                                                                                        \
  X(tensor, "Cast", "Concat", "ConstantOfShape", "Gather", "Slice", "Split")                                         \
  X(resize, "Resize", "Upsample")                                                                                    \
  X(pad, "Pad")                                                                                                      \
  X(quant, "DequantizeLinear", "QuantizeLinear")                                                                     \
  X(rnn, "GRU", "LSTM")                                                                                              \
  X(control, "If", "Loop")                                                                                           \
  X(loss, "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss")                                                    \
  X(indexing, "Compress", "CumSum", "DepthToSpace", "EyeLike", "GatherElements", "GatherND", "OneHot",               \
    "ReverseSequence", "Scatter", "ScatterElements", "ScatterND", "SpaceToDepth", "Trilu")                           \
  X(unary_extra, "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "BitShift", "Celu", "Cosh", "Gelu", "IsInf",     \
    "IsNaN", "Shrink", "Sinh", "Tan", "ThresholdedRelu")                                                             \
  X(normalize_extra, "Hardmax", "LRN", "MeanVarianceNormalization")                                                  \
  X(passthrough, "CastLike", "Dropout")                                                                              \
  X(linalg, "Det", "Einsum")                                                                                         \
  X(quant_linear, "ConvInteger", "DynamicQuantizeLinear", "MatMulInteger", "QLinearConv", "QLinearMatMul")           \
  X(detection, "GridSample", "NonMaxSuppression", "RoiAlign")                                                        \
  X(signal, "BlackmanWindow", "DFT", "HammingWindow", "HannWindow", "MelWeightMatrix", "STFT")                       \
  X(unique, "TopK", "Unique")                                                                                        \
  X(unpool, "MaxUnpool")                                                                                             \
  X(rnn_simple, "RNN")                                                                                               \
  X(text, "TfIdfVectorizer")                                                                                         \
  X(scan, "Scan")                                                                                                    \
  X(training, "Adagrad", "Adam", "Momentum")

// Appends a family's kept defs; a constant expression decides whether the
// family is called at all, so a left-out family is not linked.
#define PARE_ADD_FAMILY(name, ...)                                      \
  if constexpr (kernels::any_kept({__VA_ARGS__})) {                     \
    for (auto& def : kernels::name##_kernels())                         \
      if (kernels::op_kept(def.op_type)) all.push_back(std::move(def)); \
  }

#define PARE_LIST_FAMILY(name, ...) {#name, {__VA_ARGS__}},

}  // namespace

const std::vector<KernelDef>& all_kernels() {
  static const std::vector<KernelDef> table = [] {
    std::vector<KernelDef> all;
    PARE_FAMILIES(PARE_ADD_FAMILY)
    return all;
  }();
  return table;
}

namespace kernels {

const std::vector<FamilyOps>& family_ops() {
  static const std::vector<FamilyOps> table = {PARE_FAMILIES(PARE_LIST_FAMILY)};
  return table;
}

std::vector<KernelDef> family_kernels(std::string_view name) {
#define PARE_CALL_FAMILY(family, ...) \
  if (name == #family) return family##_kernels();
  PARE_FAMILIES(PARE_CALL_FAMILY)
#undef PARE_CALL_FAMILY
  return {};
}

}  // namespace kernels
}  // namespace pare::rt
