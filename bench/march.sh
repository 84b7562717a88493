#!/usr/bin/env bash
# The portable build against -march=native: pare bench of two builds of pare,
# taking turns on each model in one run of the script (A B A B ...), so that a
# slow spell of a shared machine weighs on both. Prints a Markdown table of the
# medians of the rounds' medians and the median of the rounds' ratios.
#   bench/march.sh build/pare build-native/pare ROUNDS RUNS MODEL[|bench options]...
# e.g. bench/march.sh build/pare build-native/pare 7 20 testdata/models/face.onnx \
#        'testdata/models/cls.onnx|--input-shape x=1x3x48x192'
set -euo pipefail
a=$1 b=$2 rounds=$3 runs=$4
shift 4
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
echo "| model | portable ms | native ms | portable/native |"
echo "|---|---:|---:|---:|"
for spec in "$@"; do
  model=${spec%%|*}
  opts=""
  [ "$model" != "$spec" ] && opts=${spec#*|}
  ta=() tb=() ratios=()
  for ((r = 0; r < rounds; r++)); do
    # shellcheck disable=SC2086  # opts is a list of options
    x=$("$a" bench "$model" $opts --warmup 3 --runs "$runs" --json | field median_ms)
    # shellcheck disable=SC2086
    y=$("$b" bench "$model" $opts --warmup 3 --runs "$runs" --json | field median_ms)
    ta+=("$x") tb+=("$y") ratios+=("$(awk -v x="$x" -v y="$y" 'BEGIN {printf "%.4f", x / y}')")
  done
  printf '| %s | %.3f | %.3f | **%.2f** |\n' "$(basename "$model")" "$(printf '%s\n' "${ta[@]}" | median)" \
    "$(printf '%s\n' "${tb[@]}" | median)" "$(printf '%s\n' "${ratios[@]}" | median)"
done
