// Dense 3x3 convolutions at stride 1 by Winograd's minimal filtering, F(4x4, 3x3)
// (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// each 4x4 block of outputs comes from a 6x6 block of input as
// Y = A^T [ (G g G^T) .* (B^T d B) ] A, summed over input channels. The
// element-wise products summed over channels are 36 GEMMs of [M x C] by
// [C x tiles], 36 multiplies per 16 outputs and channel where the direct
// convolution does 144: 4x fewer, run on pare's packed GEMM tile.
//
// The weights' transform U = G g G^T is done once, when the kernel is built
// (in double, rounded once to float), and packed as 36 GEMM operands. At run
// time, blocks of tiles (whole tile rows where they fit) are transformed into a
// per-thread buffer, multiplied, and transformed back; the output transform
// adds the bias, and the epilogue runs over each block's finished rows.
//
// The transforms are fixed expressions in one order, so every output has the
// same value whatever the block, thread count or Isa running the GEMM tile
// (AVX2 and AVX-512 give the same bits, design decision 11); only the plain
// (kBaseline) tile rounds its products apart and differs from them. The
// result differs from the direct sum by rounding: F(4x4, 3x3)'s transforms
// grow the error by about an order of magnitude over direct summation
// (tests/runtime/winograd_test.cc bounds it against the direct reference).
#pragma once

#include <vector>

#include "lib/runtime/epilogue.h"
#include "lib/runtime/isa.h"
#include "lib/runtime/kernel.h"
#include "lib/runtime/kernels/conv_geometry.h"
#include "lib/runtime/kernels/packed_gemm.h"

namespace pare::rt::kernels {

inline constexpr int kWinogradPoints = 36;  // 6x6 transformed values per tile

// The transformed weights: 36 operands of [m x c], packed for the GEMM tile.
struct WinogradWeights {
  std::vector<PackedA> u;  // kWinogradPoints of them
};

// Whether a Conv with this many input and output channels per group, kernel,
// strides and dilations runs by Winograd: one group, 3x3, stride 1,
// dilation 1, and enough channels for the GEMMs to outweigh the transforms.
bool winograd_applies(int64_t group, int64_t c, int64_t m, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                      int64_t dh, int64_t dw);

// A Conv's constant float weights packed for winograd_conv where
// winograd_applies (strides and dilations as the attributes give them, empty
// meaning ones); none (u empty) otherwise.
WinogradWeights winograd_weights(const ir::Tensor& w, int64_t group, const std::vector<int64_t>& strides,
                                 const std::vector<int64_t>& dilations);

// y (g.n x g.m x g.oh x g.ow) = epilogue(bias + conv(x (g.n x g.c x g.h x g.w),
// w)), with the geometry's pads; blocks of tiles are split over the context's
// threads, so threads do not change results.
void winograd_conv(const KernelContext& ctx, const Geometry& g, const WinogradWeights& w, const float* x,
                   const float* bias, const Epilogue& e, Isa isa, float* y);

}  // namespace pare::rt::kernels
