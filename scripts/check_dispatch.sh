#!/bin/sh
# Checks that a portable build of pare (x86-64, PARE_MARCH below AVX) runs AVX
# code only inside the kernels dispatched at run time (docs/design.md, decision
# 36): lists every function of BINARY that holds a VEX-encoded instruction (any
# AVX instruction, on xmm or ymm registers) and fails if one of them is not a
# dispatched kernel. It also fails where a function using ymm or zmm registers
# jumps to another function (a tail call) without vzeroupper first: GCC left
# one so, and the SSE code after it ran several times slower (the upper
# halves stayed dirty). Usage: scripts/check_dispatch.sh BINARY [BINARY...]
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BINARY [BINARY...]" >&2; exit 2; }
# The functions compiled for AVX2 or AVX-512 on purpose (PARE_TARGET_AVX2, PARE_TARGET_AVX512,
# PARE_TARGET_AVX512VNNI), as demangled names contain them.
allowed='tile_avx<|gemm_tiles_avx2|gemm_tiles_avx512|tiles_avx512<|apply_avx2|depthwise_row_avx2\(|row_avx2<|row_avx512<|group_avx2<|group_avx512<|split_columns_avx512\(|split_columns_avx2\(|tile_avx2\(|requantize_row_avx2\(|requantize_sums_row_avx2\(|depthwise_row_bytes_avx2<|interleave_pairs_avx2\(|quantize_tensor_avx2<|dequantize_tensor_avx2<|qadd_avx2\(|qadd_avx512\(|sum_lanes_avx2\(|mul_same_avx2\(|tiles_vnni<|store_tile_vnni\(|interleave_quads\(|interleave_quad_row\(|lookup_vbmi\(|depthwise_row_vnni\(|fill_plane_vnni\('
status=0
for bin in "$@"; do
  found=$(objdump -d --no-show-raw-insn -C "$bin" | awk '
    /^[0-9a-f]+ <.*>:$/ { fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn); next }
    /^ +[0-9a-f]+:\t/ { split($0, f, "\t"); split(f[2], m, " "); if (m[1] ~ /^v[a-z]/) avx[fn]++ }
    END { for (fn in avx) print avx[fn] "\t" fn }' | sort -t "$(printf '\t')" -k2)
  echo "$bin: functions with AVX instructions:"
  echo "$found" | sed 's/^/  /'
  stray=$(echo "$found" | grep -v -E "$allowed" | grep . || true)
  if [ -n "$stray" ]; then
    echo "$bin: AVX outside the dispatched kernels:" >&2
    echo "$stray" | sed 's/^/  /' >&2
    status=1
  fi
  [ -n "$found" ] || { echo "$bin: no AVX code at all: the AVX2 kernels are missing" >&2; status=1; }
  dirty=$(objdump -d --no-show-raw-insn -C "$bin" | awk '
    /^[0-9a-f]+ <.*>:$/ { fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn); wide = 0; prev = ""; next }
    /^ +[0-9a-f]+:\t/ {
      split($0, f, "\t"); split(f[2], m, " ")
      if (f[2] ~ /%[yz]mm/) wide = 1
      if (wide && m[1] == "jmp" && f[2] ~ /<[^>+]*>$/ && prev != "vzeroupper") print fn " -> " substr(f[2], index(f[2], "<"))
      prev = m[1]
    }' | grep -v -E " -> <($allowed)" || true)
  if [ -n "$dirty" ]; then
    echo "$bin: tail calls from ymm/zmm code without vzeroupper:" >&2
    echo "$dirty" | sed 's/^/  /' >&2
    status=1
  fi
done
exit $status
