// The GEMM under Conv: C[M, N] = epilogue(bias + A[M, K] x B[K, N]), where A
// (the weights) is packed once when the kernel is built and B is the input
// (1x1 convolutions) or a block of its im2col matrix.
//
// A is packed into panels of kPanelRows rows, stored column by column, so the
// micro-kernel reads it sequentially. The micro-kernel computes a tile of
// kPanelRows x kTileCols outputs in registers over the whole of K, then adds
// nothing else: every output is the same sequence of multiply-adds (bias first,
// then k = 0, 1, ... K-1) whatever block, tile or thread computes it, so results
// never depend on the blocking or the thread count (design decision 11).
//
// `isa` picks the tile: AVX2 with fused multiply-adds (kAvx2Fma, only where
// the CPU has them, see isa.h) or the portable one of the same shape.
//
// gemm_reference() is the plain triple loop the tests compare against.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/runtime/epilogue.h"
#include "lib/runtime/isa.h"
#include "lib/runtime/kernel.h"

namespace pare::rt::kernels {

inline constexpr int64_t kPanelRows = 6;   // rows of A (output channels) per tile
inline constexpr int64_t kTileCols = 16;   // columns of B (pixels) per tile

// A [m, k] (row stride lda) in panels; rows past m are zero.
struct PackedA {
  int64_t m = 0, k = 0;
  std::vector<float> data;
  int64_t panels() const { return (m + kPanelRows - 1) / kPanelRows; }
  const float* panel(int64_t p) const { return data.data() + p * kPanelRows * k; }
};
// A [m, k] (row stride lda) packed; values below float's smallest normal
// become zero (each product by one is below 1.2e-38 times its input; a
// multiply by a subnormal is a microcode assist on x86, 25x slower).
PackedA pack_a(const float* a, int64_t m, int64_t k, int64_t lda);

// Rows [panel0 * kPanelRows, min(m, panel1 * kPanelRows)) and columns [0, n) of C:
// C[r, j] = epilogue(bias[r] + sum_k A[r, k] * B[k, j]) with B[k, j] = b[k * ldb + j],
// C[r, j] = c[r * ldc + j]; bias may be nullptr (zero). Reads B only inside [0, n).
void packed_gemm(const PackedA& a, int64_t panel0, int64_t panel1, const float* b, int64_t ldb, int64_t n,
                 const float* bias, const Epilogue& epilogue, float* c, int64_t ldc, Isa isa);

// All of C = A * B (no bias, no epilogue), its columns in blocks of 256 over
// the context's threads: each output's sum in one order whatever the split,
// so threads give the same bits (a MatMul of few rows, ConvTranspose).
void packed_gemm_columns(const KernelContext& ctx, const PackedA& a, const float* b, int64_t ldb, int64_t n, float* c,
                         int64_t ldc, Isa isa);

// B in column panels: B[k, j] = b[(j / kTileCols) * k_total * kTileCols + k * kTileCols + j % kTileCols],
// the last panel zero-padded to kTileCols columns. The tile then reads B
// sequentially: no cache-set conflicts from a row stride that is a multiple of
// 4 KB (a 1x1 convolution's B rows are whole feature maps apart).
void packed_gemm_panels(const PackedA& a, int64_t panel0, int64_t panel1, const float* b, int64_t n,
                        const float* bias, const Epilogue& epilogue, float* c, int64_t ldc, Isa isa);
// Writes rows [0, k) and columns [0, n) of B (b[i * ldb + j]) as packed_gemm_panels reads them.
void pack_b_panels(const float* b, int64_t ldb, int64_t k, int64_t n, float* out);

// B's row k is rows[k][0, n): the rows of an im2col matrix read where they lie
// (a stride-1 convolution's input rows, shifted per kernel tap), none copied.
// The same sums in the same order as packed_gemm over the copied matrix.
void packed_gemm_rows(const PackedA& a, int64_t panel0, int64_t panel1, const float* const* rows, int64_t n,
                      const float* bias, const Epilogue& epilogue, float* c, int64_t ldc, Isa isa);

// The reference: the same sums in the same order (the optimised path may fuse
// each multiply-add), one output at a time.
void gemm_reference(const float* a, int64_t m, int64_t k, int64_t lda, const float* b, int64_t ldb, int64_t n,
                    const float* bias, const Epilogue& epilogue, float* c, int64_t ldc);

}  // namespace pare::rt::kernels
