// The integer GEMM under the int8 Conv (qconv.cc): C[M, N] = requantize(A[M, K] x B[K, N]),
// A the int8 weights (packed once when the kernel is built), B the input's
// (or its im2col's) uint8/int8 values minus their zero point, so that padding
// is 0 and no zero-point correction is needed. Sums are exact int32.
//
// Arithmetic: both operands are widened to int16 and multiplied in pairs along
// K (AVX2 vpmaddwd: 16 products summed pairwise into 8 int32 per instruction).
// The u8 x s8 form (vpmaddubsw) would do twice the products per instruction but
// saturates its int16 pair sums (255 * 127 * 2 > 32767) with the full-range
// weights pare's quantizer writes; the int16 form is exact for any input, so
// every path (AVX2, portable, any blocking, any thread count) gives the same bits.
// Where the CPU has AVX-512 VNNI, vpdpbusd sums u8 x s8 products into int32
// without that saturation, and B is kept as bytes (below): the same bits again.
//
// Layout: A in panels of kQPanelRows rows; per pair of K rows, the panel holds
// each row's two weights side by side (one int32 a row, which the tile
// broadcasts). B in panels of kQTileCols columns; per pair of K rows, each
// column's two values side by side. K is padded to even with zeros.
//
// Requantization: y = saturate(round_half_even(float(acc) * scale[r] +
// offset[r]) + zero_point), clamped to [lo, hi] (the output type's range,
// narrowed by a Relu or Clip folded into the Conv), with scale = x_scale *
// w_scale / y_scale and offset = bias / y_scale: the float bias as the literal
// nodes add it. (ONNX Runtime rounds the bias to int32 at the sums' scale
// instead, which overflows where a channel's weights are all near zero, as in
// PP-OCRv4 det and M-LSD.) The files are compiled with -ffp-contract=off, so
// the multiply and the add round separately in every path.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/runtime/isa.h"

namespace pare::rt::kernels {

inline constexpr int64_t kQPanelRows = 6;   // rows of A (output channels) per tile
inline constexpr int64_t kQTileCols = 16;   // columns of B (pixels) per tile

// Per output channel: what the int32 sum becomes.
struct Requant {
  std::vector<float> scale;   // x_scale * w_scale / y_scale
  std::vector<float> offset;  // bias / y_scale
  int32_t zero_point = 0, lo = 0, hi = 255;
  // The quantized value of an exact sum `acc` of channel r (the reference formula).
  int32_t apply(int32_t acc, int64_t r) const;
};

// A [m, k] int8 (row stride lda) in panels; rows past m and the K pad are zero.
// In int16 pairs (`data`), or with `quads` in the byte path's layout (below).
struct PackedQA {
  int64_t m = 0, k = 0, kp = 0;  // kp: k rounded up to even, or with quads to a multiple of 4
  std::vector<int16_t> data;
  std::vector<int32_t> quads, sums;  // the byte path's A and its rows' weight sums (below)
  int64_t panels() const { return (m + kQPanelRows - 1) / kQPanelRows; }
  const int16_t* panel(int64_t p) const { return data.data() + p * kQPanelRows * kp; }
  const int32_t* quad_panel(int64_t p) const { return quads.data() + p * kQPanelRows * (kp / 4); }
};
PackedQA pack_qa(const int8_t* a, int64_t m, int64_t k, int64_t lda, bool quads = false);

// The int16 elements of B's panels for `n` columns over `kp` rows (n rounded up to kQTileCols).
inline int64_t qb_panel_elements(int64_t kp, int64_t n) { return (n + kQTileCols - 1) / kQTileCols * kQTileCols * kp; }
// B [k, n] (row stride ldb, values already minus the zero point) into panels.
void pack_qb(const int16_t* b, int64_t ldb, int64_t k, int64_t n, int16_t* out);
// Index of element (row i, column j) of B in its panels.
inline int64_t qb_index(int64_t kp, int64_t i, int64_t j) {
  return (j / kQTileCols) * kQTileCols * kp + (i / 2) * 2 * kQTileCols + (j % kQTileCols) * 2 + i % 2;
}

// Rows [panel0 * kQPanelRows, min(m, panel1 * kQPanelRows)) and columns [0, n) of
// C: c[r * ldc + j] = rq(sum_k A[r, k] * B[k, j], row0 + r), stored as the
// output's bytes (int8 values as their two's complement). `b` holds B's panels.
void qgemm_panels(const PackedQA& a, int64_t panel0, int64_t panel1, const int16_t* b, int64_t n, const Requant& rq,
                  int64_t row0, uint8_t* c, int64_t ldc, Isa isa);

// out[j] = rq.apply(acc[j], r) for j in [0, n): the depthwise rows' requantization.
void requantize_row(const int32_t* acc, int64_t n, const Requant& rq, int64_t r, uint8_t* out, Isa isa);
// The same for sums held as floats, each an exact integer of magnitude below
// 2^24 (the float depthwise kernel's on integer inputs): the same bytes.
void requantize_sums_row(const float* sums, int64_t n, const Requant& rq, int64_t r, uint8_t* out, Isa isa);

// ---------- bytes, with AVX-512 VNNI (Isa::kAvx512Vnni) ----------
// The same C with B as bytes: vpdpbusd multiplies unsigned bytes by signed
// bytes and sums each four products into an int32 lane (64 per instruction,
// without saturation). So B holds the input bytes themselves (int8 ones as
// x ^ 0x80 with zero point zp + 128: the same x - zp), padded with the zero point
// zp, and each sum is corrected once: sum_k A * (x - zp) = sum_k A * x - zp * sum_k A,
// the row's weight sum computed when A is packed (the accumulators start at
// -zp * sum). Wrapping int32 arithmetic is exact modulo 2^32 and the true sum
// fits int32 (|sum| <= k * 255 * 128 <= 2^30, qconv_refusal), so the partial sums
// may wrap but C is the int16 path's, bit for bit.
//
// Layout (pack_qa with quads): K padded to a multiple of 4 (zeros in A). A in
// panels of kQPanelRows rows; per quad of K rows, each row's four weights as one
// int32 (which the tile broadcasts); `sums` per row, panels() * kQPanelRows of
// them (zeros past m). B in panels of kQTileCols columns; per quad of K rows,
// each column's four bytes side by side (64 bytes: one 512-bit register).

// Whether `isa` takes the byte path (and this build has its kernels).
bool qgemm_vnni(Isa isa);

// B's panels take qb_panel_elements(kq, n) bytes (kq: K rounded up to a multiple of 4,
// PackedQA::kp with quads). Index of element (row i, column j):
inline int64_t qb_vnni_index(int64_t kq, int64_t i, int64_t j) {
  return (j / kQTileCols) * kQTileCols * kq + (i / 4) * 4 * kQTileCols + (j % kQTileCols) * 4 + i % 4;
}
// B [k, n] (row stride ldb, unsigned bytes) into panels, padded with `zero_point`.
void pack_qb_vnni(const uint8_t* b, int64_t ldb, int64_t k, int64_t n, uint8_t zero_point, uint8_t* out);

// qgemm_panels on the byte layout (A packed with quads), for B's bytes minus
// `zero_point`; only where qgemm_vnni(isa).
void qgemm_vnni_panels(const PackedQA& a, int64_t panel0, int64_t panel1, const uint8_t* b, int32_t zero_point,
                       int64_t n, const Requant& rq, int64_t row0, uint8_t* c, int64_t ldc);

// B's quad rows read in place, where they lie in a layout of the caller's
// (the direct int8 convolution, qconv.cc): quad row s * quads + q of the 16
// columns from j is the 64 bytes at base + offset[s] + q * quad_stride + 4 * j,
// each column's four bytes side by side. Columns up to n rounded up to 16 are
// read (they must be readable) but only [0, n) stored.
struct QuadRows {
  const uint8_t* base;
  const int64_t* offset;  // per run of quads (a kernel tap)
  int64_t taps, quads, quad_stride;
};
// qgemm_vnni_panels with B as `b` describes it: K = 4 * taps * quads, which
// must be A's kp. Only where qgemm_vnni(isa).
void qgemm_vnni_quad_rows(const PackedQA& a, int64_t panel0, int64_t panel1, const QuadRows& b, int32_t zero_point,
                          int64_t n, const Requant& rq, int64_t row0, uint8_t* c, int64_t ldc);

// The plain triple loop the tests compare against: A int8 [m, k], B int16 [k, n].
void qgemm_reference(const int8_t* a, int64_t m, int64_t k, const int16_t* b, int64_t n, const Requant& rq,
                     int64_t row0, uint8_t* c, int64_t ldc);

}  // namespace pare::rt::kernels
