#!/usr/bin/env bash
# The peer comparison: every CNN of the test set through pare's runner and ONNX
# Runtime (npm onnxruntime-node), one thread each, on the same input files, in
# the same run. Writes docs/performance.md with the date, the machine and the
# pare/ORT ratios. Never run by the tests (timings are not assertions).
#   bench/run.sh [RUNS] [ROUNDS]        (make bench)
# Shared machines (CI runners, cloud VMs) slow down in bursts that last seconds,
# so the two runtimes take turns: ROUNDS rounds (default 7) of RUNS timed runs
# (default 15) each, pare then ORT, and the ratio is the median of the rounds'
# ratios. A burst then hits both sides of a round instead of one runtime's whole
# measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
rounds=${2:-7}
pare=build/pare
cache="${PARE_MODEL_CACHE:-$HOME/.cache/pare/models}"
ort_lib=$(ls "${PARE_ORT_DIR:-$HOME/.cache/pare/ort}"/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so.1 2>/dev/null | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | model | cnn or other | --dim flags
models=(
  "BlazeFace front 128|testdata/models/face_detection_front_128x128_barracuda.onnx|cnn|"
  "PP-OCR direction classifier 1x3x48x192|testdata/models/ch_ppocr_mobile_v2.0_cls_infer.onnx|cnn|--dim p2o.DynamicDimension.0=1 --dim p2o.DynamicDimension.1=48 --dim p2o.DynamicDimension.2=192"
  "PP-OCRv4 detector 1x3x640x640|$cache/ch_PP-OCRv4_det_infer.onnx|cnn|--dim p2o.DynamicDimension.0=1 --dim p2o.DynamicDimension.1=640 --dim p2o.DynamicDimension.2=640"
  "M-LSD tiny 320|$cache/mlsd_320x320_tiny.onnx|cnn|"
  "openWakeWord head (hello_deepa), an MLP|$cache/hello_deepa.onnx|other|"
)

# Medians over rounds of JSON timings: `summary A... -- B...` prints
# "median(A)|min(A)|median(B)|min(B)|median of the rounds' A/B ratios".
summary() {
  node -e '
    const args = process.argv.slice(1), cut = args.indexOf("--");
    const a = args.slice(0, cut).map((s) => JSON.parse(s)), b = args.slice(cut + 1).map((s) => JSON.parse(s));
    const median = (v) => { const s = [...v].sort((x, y) => x - y), m = s.length >> 1;
                            return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
    const min = (v) => Math.min(...v);
    console.log([median(a.map((x) => x.median_ms)).toFixed(3), min(a.map((x) => x.min_ms)).toFixed(3),
                 median(b.map((x) => x.median_ms)).toFixed(3), min(b.map((x) => x.min_ms)).toFixed(3),
                 median(a.map((x, i) => x.median_ms / b[i].median_ms)).toFixed(2)].join("|"));' "$@"
}
pare_bench() { $pare bench "$1" --inputs "$2" --runs "$runs" --warmup 3 --threads "$3" --json; }
ort_bench() { node bench/ort_bench.js "$1" "$2" --runs "$runs" --warmup 3 --threads "$3"; }

rows=""
thread_rows=""
int8_rows=""
ratios=()
for entry in "${models[@]}"; do
  IFS='|' read -r name model kind dims <<<"$entry"
  in="$work/$(basename "$model" .onnx)"
  # shellcheck disable=SC2086
  $pare run "$model" $dims --save-inputs "$in" >/dev/null
  # The int8 model: pare's static quantization, calibrated on four seeded inputs.
  int8=""
  if [ "$kind" = cnn ]; then
    for seed in 1 2 3 4; do
      # shellcheck disable=SC2086
      $pare run "$model" $dims --seed "$seed" --save-inputs "$work/calib/$seed" >/dev/null
    done
    int8="$work/$(basename "$model" .onnx).int8.onnx"
    # shellcheck disable=SC2086
    $pare shrink "$model" -o "$int8" --passes "fold, fuse-bn, dce, quantize(int8, calib=$work/calib)" $dims -q >/dev/null ||
      int8=""
    rm -rf "$work/calib"
  fi
  p1=() o1=() p2=() o2=() q1=() qo=()
  for _ in $(seq "$rounds"); do
    p1+=("$(pare_bench "$model" "$in" 1)")
    o1+=("$(ort_bench "$model" "$in" 1)")
    if [ "$kind" = cnn ]; then
      p2+=("$(pare_bench "$model" "$in" 2)")
      o2+=("$(ort_bench "$model" "$in" 2)")
    fi
    if [ -n "$int8" ]; then
      q1+=("$(pare_bench "$int8" "$in" 1)")
      qo+=("$(ort_bench "$int8" "$in" 1)")
    fi
  done
  IFS='|' read -r pm pmin om omin ratio <<<"$(summary "${p1[@]}" -- "${o1[@]}")"
  line=$(node -e 'const j = JSON.parse(process.argv[1]);
    console.log([(j.peak_bytes / 1e6).toFixed(2), (j.macs / 1e6).toFixed(1), j.compile_ms.toFixed(1), j.p90_ms.toFixed(3),
                 (j.peak_rss_bytes / 1e6).toFixed(1)].join("|"))' "${p1[0]}")
  IFS='|' read -r peak macs compile p90 rss <<<"$line"
  rows+="| $name | $macs | $pm | $om | **$ratio** | $pmin | $omin | $peak | $rss | $compile |"$'\n'
  [ "$kind" = cnn ] && ratios+=("$ratio")
  echo "bench: $name: pare $pm ms, ORT $om ms, ratio $ratio" >&2
  if [ "$kind" = cnn ]; then
    IFS='|' read -r t1 _ t2 _ speedup <<<"$(summary "${p1[@]}" -- "${p2[@]}")"
    IFS='|' read -r _ _ ort2 _ ratio2 <<<"$(summary "${p2[@]}" -- "${o2[@]}")"
    thread_rows+="| $name | $t1 | $t2 | **$speedup** | $ort2 | $ratio2 |"$'\n'
    echo "bench: $name: 2 threads ${speedup}x" >&2
  fi
  if [ -n "$int8" ]; then
    IFS='|' read -r qm _ qom _ qratio <<<"$(summary "${q1[@]}" -- "${qo[@]}")"
    IFS='|' read -r _ _ _ _ vs_fp32 <<<"$(summary "${q1[@]}" -- "${p1[@]}")"
    int8_rows+="| $name | $qm | **$vs_fp32** | $qom | **$qratio** |"$'\n'
    echo "bench: $name: int8 ${vs_fp32}x fp32, ${qratio}x ORT" >&2
  elif [ "$kind" = cnn ]; then
    int8_rows+="| $name | (quantize failed) | | | |"$'\n'
  fi
done
median_ratio=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')

strip -o "$work/pare-run" build/pare-run
pare_run_bytes=$(stat -c %s "$work/pare-run")
ort_bytes=$( [ -n "$ort_lib" ] && stat -c %s "$ort_lib" || echo "?")
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
simd=$(grep -o -w -E 'sse4_2|avx|avx2|fma|f16c|avx512f|avx512bw|avx512_vnni|avx_vnni|asimd|asimddp' /proc/cpuinfo | sort -u | tr '\n' ' ')
load=$(cut -d' ' -f1-3 /proc/loadavg)
# The build measured: its -march, and the kernels its sessions ran (run-time dispatch, PARE_CPU).
march=$(sed -n 's/^PARE_MARCH:STRING=//p' build/CMakeCache.txt 2>/dev/null)
# The level a session picks (lib/runtime/isa.cc), unless PARE_CPU caps it.
has() { grep -q -w "$1" /proc/cpuinfo; }
kernels="the portable kernels"
if [ "${PARE_CPU:-auto}" = baseline ]; then kernels="the portable kernels (PARE_CPU=baseline)"
elif has avx2 && has fma; then
  kernels="the AVX2+FMA kernels"
  if [ "${PARE_CPU:-auto}" != avx2 ] && has avx512f; then
    kernels="the AVX-512 float GEMM tile and the AVX2+FMA kernels"
    has avx512bw && has avx512vl && has avx512_vnni && kernels="$kernels, with the AVX-512 VNNI int8 GEMM"
  fi
  kernels="$kernels, chosen at run time"
fi

{
cat <<DOC
# Performance: pare's runner against ONNX Runtime

Measured by \`bench/run.sh\` (\`make bench\`) on $(date -u +%Y-%m-%d): $cpu, $(nproc) cores
(SIMD: $simd), $(uname -sr); load average at the end: $load. pare is \`build/pare\`
built with -march=${march:-the compiler default}, running $kernels. Each model runs on
the same input files (seeded, written by \`pare run --save-inputs\`) through pare's
runner (\`pare bench\`) and ONNX Runtime
$(node -e "console.log(require('${PARE_ORT_DIR:-$HOME/.cache/pare/ort}/node_modules/onnxruntime-node/package.json').version)")
(npm onnxruntime-node, graph optimisation "all"), in one run of the script: $rounds
rounds in which pare and ORT take turns, each making 3 warm-up and $runs timed runs.
Medians are over the rounds' medians; a ratio is the median of the rounds' ratios,
so that a slow spell of a shared machine weighs on both sides of a round. Compare
ratios only, never absolute times across runs of the script. The tests never assert on time.
The sections after the size table are bench/notes.md, which the script appends: edit them there.

## fp32, one thread

| model | MMACs | pare median ms | ORT median ms | pare/ORT | pare min ms | ORT min ms | pare peak arena MB | pare peak RSS MB | pare compile ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$rows
Median pare/ORT over the CNNs (the target is at most 0.9, no model above 1.2): **$median_ratio**.

## Two threads

\`--threads 2\` against \`--threads 1\` in the same rounds (outputs are bit-identical;
tests/models/runner_vs_ort_test.cc and tests/runtime check it). The target is 1.6x on
the detector and M-LSD.

| model | pare 1 thread ms | pare 2 threads ms | speed-up | ORT 2 threads ms | pare/ORT at 2 threads |
|---|---:|---:|---:|---:|---:|
$thread_rows
## int8 (static, \`quantize(int8, calib=...)\` on four seeded inputs)

The QDQ model pare's quantize pass writes, timed in pare and in ORT on the same file.
Targets: at most 0.67x the fp32 original in pare, at most 1.0x ORT.

| model | pare int8 median ms | pare int8 / pare fp32 | ORT int8 median ms | pare int8 / ORT int8 |
|---|---:|---:|---:|---:|
$int8_rows
## Size

| binary | bytes |
|---|---:|
| \`pare-run\` (the runner, its ONNX reader and tensor I/O, stripped; needs only libstdc++, libm and libc at run time, docs/runtime.md) | $pare_run_bytes |
| ONNX Runtime's \`libonnxruntime.so.1\` (linux x64, from onnxruntime-node) | $ort_bytes |

DOC
cat bench/notes.md
} > docs/performance.md
echo "bench: wrote docs/performance.md (median ratio $median_ratio)" >&2
