// Depthwise convolution (group == input channels == output channels) with a
// square 3x3 or 5x5 kernel, no dilation, a column stride of 1 or 2 and any row
// stride: the layers mobile networks are made of (MobileNet's 3x3, PP-OCR's
// and MobileNetV3's 5x5, PP-OCR's stride (2, 1)).
//
// Each channel's input rows are first copied once into zero-padded rows, so
// every output column is computed the same way, with whole vector loads and no
// border case. Each output is bias, then the taps of the input rows that
// exist, row by row and column by column, multiplied and added (fused on the
// AVX2 and AVX-512 paths, which give each other's bits); taps in the row
// padding are skipped, as the general loop in conv.cc skips them. Several
// vectors of outputs are summed at once, so the chain of K*K dependent
// multiply-adds of one vector does not leave the FMA units waiting.
#pragma once

#include "lib/runtime/epilogue.h"
#include "lib/runtime/isa.h"
#include "lib/runtime/kernel.h"
#include "lib/runtime/kernels/conv_geometry.h"

namespace pare::rt::kernels {

// Whether depthwise_square_conv handles this geometry (group == c == m assumed).
bool depthwise_square_applies(const Geometry& g);

// y (g.c channels of g.oh x g.ow) = epilogue(depthwise conv of x (g.c x g.h x
// g.w) with weights w (g.c x K x K) and bias b (nullptr: zero)); channels are
// split over the context's threads, so threads do not change results.
void depthwise_square_conv(const KernelContext& ctx, const Geometry& g, const float* x, const float* w,
                           const float* b, const Epilogue& e, Isa isa, float* y);

}  // namespace pare::rt::kernels
