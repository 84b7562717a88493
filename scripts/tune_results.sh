#!/usr/bin/env bash
# Measures the figures of docs/tuning.md: pare tune on rendered text-direction
# lines (the PP-OCR classifier, judged on lines held back from the search) and
# on rendered text pages (PP-OCRv4 det, judged on other pages), beside fp16 and
# int8 weights for every layer; each tune once with a cold cache, then again with
# another budget to show the cache at work. Prints Markdown rows; times are the
# wall clock of this (possibly shared) machine.
#   scripts/tune_results.sh [BUILD_DIR]
set -euo pipefail
B=${1:-build}
M=${PARE_MODEL_CACHE:-$HOME/.cache/pare/models}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$B/pare_render_samples" lines "$W/lines" 256 3
# The classifier's search lines: 1000, as top-1 limits count lines (one of 256 is 0.4 points).
"$B/pare_render_samples" lines "$W/search" 1000 3
"$B/pare_render_samples" lines "$W/held" 400 4
"$B/pare_render_samples" lines "$W/held2" 400 7
"$B/pare_render_samples" lines "$W/cal" 64 5
"$B/pare_render_samples" pages "$W/pages" 8 1
"$B/pare_render_samples" pages "$W/pages_held" 8 2
"$B/pare_render_samples" pages "$W/pages_cal" 8 3
# Two more held-out page sets, and all 24 held-out pages in one folder.
"$B/pare_render_samples" pages "$W/pages_h2" 8 5
"$B/pare_render_samples" pages "$W/pages_h3" 8 6
mkdir "$W/pages_h24"
for d in pages_held pages_h2 pages_h3; do for f in "$W/$d"/*.png; do ln -s "$f" "$W/pages_h24/${d}_${f##*/}"; done; done
CLS=testdata/models/ch_ppocr_mobile_v2.0_cls_infer.onnx
DET=$M/ch_PP-OCRv4_det_infer.onnx
REC=$M/ch_PP-OCRv4_rec_infer.onnx
LINE=(--image-size 192x48 --mean 0.5 --std 0.5)
PAGE=(--image-size 640x640 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
RECL=(--image-size 320x48 --mean 0.5 --std 0.5)

json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# tune NAME MODEL ARGS...: one run, its wall time, download and report.
tune() {
  local name=$1 model=$2; shift 2
  local t0=$(date +%s.%N)
  "$B/pare" tune "$model" -o "$W/$name.onnx" --report "$W/$name.json" -q "$@" > "$W/$name.log" || true
  local t1=$(date +%s.%N)
  printf '| %s | %s | %s | %s | %.0f s | %s runs, %s cached, %s verifications |\n' "$name" \
    "$(json "$W/$name.json" "r['after']['download_bytes']")" \
    "$(json "$W/$name.json" "round(100*r['after']['download_bytes']/r['before']['download_bytes'],1)")" \
    "$(json "$W/$name.json" "round(min(f['sqnr_db'] for f in r['fidelity']),1)")" \
    "$(echo "$t1 - $t0" | bc)" \
    "$(json "$W/$name.json" "r['tune']['evaluations']")" "$(json "$W/$name.json" "r['tune']['cached']")" \
    "$(json "$W/$name.json" "r['tune']['verifications']")"
}
# uniform NAME MODEL PIPELINE: every layer alike, for comparison.
uniform() {
  "$B/pare" shrink "$2" -o "$W/$1.onnx" --passes "fold, fuse-bn, dce, $3, strip" --report "$W/$1.json" -q > /dev/null
  printf '| %s | %s | %s |\n' "$1" "$(json "$W/$1.json" "r['after']['download_bytes']")" \
    "$(json "$W/$1.json" "round(100*r['after']['download_bytes']/r['before']['download_bytes'],1)")"
}
held_accuracy() {  # MODEL TUNED DATA: accuracy before -> after on held-out labeled data
  "$B/pare" compare "$1" "$2" --data "$3" --labels "$3/labels.txt" "${LINE[@]}" --json "$W/cmp.json" -q > /dev/null
  json "$W/cmp.json" "'%.2f%% -> %.2f%%' % (100*r['accuracy']['before'], 100*r['accuracy']['after'])"
}
held_sqnr() {  # MODEL TUNED DATA
  "$B/pare" compare "$1" "$2" --data "$3" "${PAGE[@]}" --json "$W/cmp.json" -q > /dev/null
  json "$W/cmp.json" "round(min(f['sqnr_db'] for f in r['fidelity']),1)"
}

echo "| run | download B | of original | SQNR dB (search) | time | evaluations |"
echo "|---|---:|---:|---:|---:|---|"
C="$W/cache"
tune cls-top1 "$CLS" --data "$W/search" --labels "$W/search/labels.txt" "${LINE[@]}" --max-top1-drop 1 --cache "$C" --sensitivity-samples 32
# Another top-1 budget reads the same cached sensitivities (an SQNR limit measures on drawn lines: its own cache entry).
tune cls-top1-2 "$CLS" --data "$W/search" --labels "$W/search/labels.txt" "${LINE[@]}" --max-top1-drop 2 --cache "$C" --sensitivity-samples 32
# The same limit with the weight choices corrected on other lines (--calib; no qdq, as in the runs above).
tune cls-top1-corrected "$CLS" --data "$W/search" --labels "$W/search/labels.txt" "${LINE[@]}" --max-top1-drop 1 \
  --cache "$C" --sensitivity-samples 32 --calib "$W/cal" --choices fp16,int8,p6,p4,p3,int4,s25,s50,s75,c25,c50
tune det-sqnr30 "$DET" --data "$W/pages" "${PAGE[@]}" --min-sqnr 30 --cache "$C"
tune det-sqnr25 "$DET" --data "$W/pages" "${PAGE[@]}" --min-sqnr 25 --cache "$C"
DETW=fp16,int8,int7,int6,p6,p4,p3,int4,s25,s50,s75,c25,c50  # the weight choices (no qdq)
tune det-sqnr30-corrected "$DET" --data "$W/pages" "${PAGE[@]}" --min-sqnr 30 --cache "$C" --calib "$W/pages_cal" \
  --choices "$DETW"
# The same with the one-layer sensitivities on 4 of the 8 search pages (drawn; the default takes all 8).
tune det-sqnr30-corrected4 "$DET" --data "$W/pages" "${PAGE[@]}" --min-sqnr 30 --cache "$C" --calib "$W/pages_cal" \
  --choices "$DETW" --sensitivity-samples 4
tune det-latency "$DET" --data "$W/pages" --calib "$W/pages" "${PAGE[@]}" --objective latency --min-sqnr 25 --cache "$C"
tune rec-sqnr30 "$REC" --data "$W/lines" "${RECL[@]}" --min-sqnr 30 --cache "$C"
echo
echo "| uniform | download B | of original |"
echo "|---|---:|---:|"
uniform cls-fp16 "$CLS" "quantize(fp16)"
uniform cls-int8 "$CLS" "quantize(int8, weights-only)"
uniform det-fp16 "$DET" "quantize(fp16)"
uniform det-int8 "$DET" "quantize(int8, weights-only)"
uniform rec-fp16 "$REC" "quantize(fp16)"
uniform rec-int8 "$REC" "quantize(int8, weights-only)"
echo
for h in held held2; do
  echo "held-out ($h): cls-top1 accuracy $(held_accuracy "$CLS" "$W/cls-top1.onnx" "$W/$h"); cls-top1-corrected $(held_accuracy "$CLS" "$W/cls-top1-corrected.onnx" "$W/$h"); fp16 $(held_accuracy "$CLS" "$W/cls-fp16.onnx" "$W/$h")"
done
echo "held-out: det-sqnr30 SQNR $(held_sqnr "$DET" "$W/det-sqnr30.onnx" "$W/pages_held") dB; det-sqnr30-corrected $(held_sqnr "$DET" "$W/det-sqnr30-corrected.onnx" "$W/pages_held") dB; det-latency $(held_sqnr "$DET" "$W/det-latency.onnx" "$W/pages_held") dB"
for m in det-sqnr30-corrected det-sqnr30-corrected4; do
  echo "held-out: $m SQNR $(for d in pages_held pages_h2 pages_h3 pages_h24; do printf '%s %s dB; ' "$d" "$(held_sqnr "$DET" "$W/$m.onnx" "$W/$d")"; done)"
done
echo "det-latency int8 layers: $(json "$W/det-latency.json" "sum(1 for l in r['tune']['layers'] if 'qdq' in l['choice'])") of $(json "$W/det-latency.json" "sum(1 for l in r['tune']['layers'] if l['op']=='Conv')") Conv layers"
