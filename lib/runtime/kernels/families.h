// Every kernel family exports its KernelDefs here; kernels/registry.cc joins them
// into the one explicit table. One family per file, one line per family.
#pragma once

#include <vector>

#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

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

}  // namespace pare::rt::kernels
