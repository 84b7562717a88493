#!/usr/bin/env bash
# make test-arm64: the runtime cross-built for aarch64 (cmake/runtime with
# Debian's g++-aarch64-linux-gnu), run under qemu-aarch64 on the real models of
# the test set and on the ONNX conformance cases, against outputs this machine
# computed (the host's pare on the same seeded inputs; the cases' own expected
# outputs). Usage: scripts/test_arm64.sh [HOST_BUILD] [ARM_BUILD]
# PARE_ARM_OPTIONAL=1 makes a missing toolchain a skip (exit 0), as CI wants.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-build}
arm=${2:-build-arm64}
jobs=${JOBS:-2}
sysroot=/usr/aarch64-linux-gnu

if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  echo "test-arm64: needs g++-aarch64-linux-gnu and qemu-user (scripts/setup.sh --arm)" >&2
  [ "${PARE_ARM_OPTIONAL:-0}" = 1 ] && { echo "test-arm64: skipped"; exit 0; }
  exit 2
fi
[ -x "$host/pare" ] && [ -x "$host/pare-run" ] || { echo "test-arm64: build $host/pare and $host/pare-run first" >&2; exit 2; }

cmake -S cmake/runtime -B "$arm" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/aarch64-linux-gnu.cmake" ${CMAKE_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_LAUNCHER} >/dev/null
cmake --build "$arm" -j"$jobs" --target pare-run pare_runtime_shared >/dev/null
aarch64-linux-gnu-strip -o "$arm/pare-run.stripped" "$arm/pare-run"
echo "test-arm64: aarch64 pare-run $(stat -c %s "$arm/pare-run.stripped") bytes stripped"
run_arm() { qemu-aarch64 -L "$sysroot" "$arm/pare-run" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# Real models: seeded inputs and reference outputs from the host's pare
# (x86-64), then pare-run on aarch64, judged as tests/models/runner_vs_ort_test.cc
# judges pare against ONNX Runtime (docs/design.md decision 12): the two CPUs'
# kernels sum in different orders (AVX2 vs NEON widths, FMA contraction), so
# an element-wise rtol 1e-4 with an atol of 1e-5 scaled to each output's range;
# M-LSD, whose outputs amplify rounding (ORT differs from itself between its
# optimisation levels by as much), by SQNR >= 80 dB and its worst error within
# 1e-3 of the range. One model per line: "path|dims|criterion".
cache=${PARE_MODEL_CACHE:-$HOME/.cache/pare/models}
close="--rtol 1e-4 --atol 1e-5 --range-atol"
sensitive="--rtol 0 --atol 1e-3 --range-atol --min-sqnr 80"
models=(
  "testdata/models/face_detection_front_128x128_barracuda.onnx||$close"
  "testdata/models/ch_ppocr_mobile_v2.0_cls_infer.onnx|--dim p2o.DynamicDimension.0=1 --dim p2o.DynamicDimension.1=48 --dim p2o.DynamicDimension.2=192|$close"
  "$cache/ch_PP-OCRv4_det_infer.onnx|--dim p2o.DynamicDimension.0=1 --dim p2o.DynamicDimension.1=320 --dim p2o.DynamicDimension.2=320|$close"
  "$cache/ch_PP-OCRv4_rec_infer.onnx|--dim p2o.DynamicDimension.0=1 --dim p2o.DynamicDimension.1=320|$close"
  "$cache/mlsd_320x320_tiny.onnx||$sensitive"
  "$cache/hello_deepa.onnx||$close"
)
# matches_host NAME MODEL DIMS CRITERION: the host's outputs on seed 7, then
# aarch64's on the same inputs judged against them.
matches_host() {
  # shellcheck disable=SC2086
  "$host/pare" run "$2" $3 --seed 7 --save-inputs "$work/$1/in" --outputs "$work/$1/want" >/dev/null
  # shellcheck disable=SC2086
  if run_arm "$2" "$work/$1/in" "$work/$1/got" --expect "$work/$1/want" $4; then return 0; fi
  echo "test-arm64: FAILED $1" >&2
  failed=1
  return 1
}
real=0
for entry in "${models[@]}"; do
  IFS='|' read -r model dims criterion <<< "$entry"
  if [ ! -f "$model" ]; then echo "test-arm64: $model is missing (scripts/fetch_models.sh)" >&2; failed=1; continue; fi
  if matches_host "$(basename "$model" .onnx)" "$model" "$dims" "$criterion"; then real=$((real + 1)); fi
done
echo "test-arm64: real models: $real of ${#models[@]} match the host"

# Static int8 models, quantized here by the host's pare (calibrated on three
# seeded inputs): aarch64 runs the integer kernels' portable paths, the host
# its AVX2 or VNNI ones. Their sums are exact integers and their requantization
# the same float operations, so the int8 parts give the same bytes, and the
# outputs differ only where float layers follow (BlazeFace's heads): the
# float models' criterion holds (a byte off in a residual Add would move
# BlazeFace's outputs far beyond it).
int8_models=(
  "testdata/models/face_detection_front_128x128_barracuda.onnx|"
  "testdata/models/ch_ppocr_mobile_v2.0_cls_infer.onnx|--dim p2o.DynamicDimension.0=1 --dim p2o.DynamicDimension.1=48 --dim p2o.DynamicDimension.2=192"
)
int8=0
for entry in "${int8_models[@]}"; do
  IFS='|' read -r model dims <<< "$entry"
  name=$(basename "$model" .onnx)_int8
  for seed in 1 2 3; do
    # shellcheck disable=SC2086
    "$host/pare" run "$model" $dims --seed "$seed" --save-inputs "$work/$name/calib/$seed" >/dev/null
  done
  # shellcheck disable=SC2086
  "$host/pare" shrink "$model" -o "$work/$name.onnx" $dims -q \
    --passes "fold, fuse-bn, fuse-act, dce, quantize(int8, calib=$work/$name/calib), strip" >/dev/null
  if matches_host "$name" "$work/$name.onnx" "$dims" "$close"; then int8=$((int8 + 1)); fi
done
echo "test-arm64: int8 models: $int8 of ${#int8_models[@]} match the host"

# Conformance cases: every case the host's pare-run passes (the runner has its
# ops and matches the expected outputs within ONNX's rtol 1e-3) must pass on
# aarch64 too. One case per line: "dir".
root=/usr/share/libonnx-testdata/data
if [ -d "$root" ]; then
  find "$root/node" "$root/simple" "$root/pytorch-converted" "$root/pytorch-operator" -name model.onnx 2>/dev/null |
    sort | sed 's|/model.onnx$||' > "$work/cases"
  check_case() {  # $1 runner (host|arm), $2 case dir
    local out="$work/out/$1/$(basename "$2")"
    if [ "$1" = host ]; then
      "$host/pare-run" "$2/model.onnx" "$2/test_data_set_0" "$out" --expect "$2/test_data_set_0" --rtol 1e-3 --atol 1e-5 >/dev/null 2>&1
    else
      run_arm "$2/model.onnx" "$2/test_data_set_0" "$out" --expect "$2/test_data_set_0" --rtol 1e-3 --atol 1e-5 >/dev/null 2>&1
    fi
  }
  export -f check_case run_arm
  export work host arm sysroot
  # Each bash -c exits 0, so xargs does not report the cases that fail (as 123).
  xargs -P "$jobs" -I{} bash -c 'if check_case host {}; then echo {}; fi' < "$work/cases" | sort > "$work/host_pass"
  xargs -P "$jobs" -I{} bash -c 'if ! check_case arm {}; then echo {}; fi' < "$work/host_pass" | sort > "$work/arm_fail"
  echo "test-arm64: conformance: $(($(wc -l < "$work/host_pass") - $(wc -l < "$work/arm_fail"))) of $(wc -l < "$work/host_pass") cases the host passes also pass on aarch64 ($(wc -l < "$work/cases") cases in all)"
  if [ -s "$work/arm_fail" ]; then
    sed 's|^|test-arm64: FAILED |' "$work/arm_fail" >&2
    failed=1
  fi
fi
exit $failed
