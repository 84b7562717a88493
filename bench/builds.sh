#!/usr/bin/env bash
# pare bench of several builds (or settings) of pare taking turns on each model
# in one run of the script (A B C A B C ...), so that a slow spell of a shared
# machine weighs on all of them. Prints a Markdown table: the medians of the
# rounds' medians, and each build's time over the first one's (median of the
# rounds' ratios).
#   bench/builds.sh ROUNDS RUNS 'LABEL=COMMAND'... -- 'MODEL[|bench options]'...
# Each timed run follows WARMUP (default 2) untimed ones. COMMAND is split on
# spaces, so it may set the environment:
#   bench/builds.sh 5 10 old=/tmp/pare-old 'dispatch=build/pare' \
#     'forced baseline=env PARE_CPU=baseline build/pare' native=build-native/pare -- testdata/models/face.onnx
set -euo pipefail
rounds=$1 runs=$2
shift 2
labels=() cmds=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  labels+=("${1%%=*}") cmds+=("${1#*=}")
  shift
done
[ $# -gt 0 ] && shift
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
n=${#labels[@]}
header="| model |" rule="|---|"
for ((i = 0; i < n; i++)); do header+=" ${labels[i]} ms |" rule+="---:|"; done
for ((i = 1; i < n; i++)); do header+=" ${labels[i]} / ${labels[0]} |" rule+="---:|"; done
echo "$header"
echo "$rule"
for spec in "$@"; do
  model=${spec%%|*}
  opts=""
  [ "$model" != "$spec" ] && opts=${spec#*|}
  declare -A times=() ratios=()
  for ((r = 0; r < rounds; r++)); do
    for ((i = 0; i < n; i++)); do
      # shellcheck disable=SC2086  # the command and opts are lists of words
      t=$(${cmds[i]} bench "$model" $opts --warmup "${WARMUP:-2}" --runs "$runs" --json | field median_ms)
      times[$i]+="$t "
      [ "$i" -eq 0 ] && first=$t
      ratios[$i]+="$(awk -v x="$t" -v y="$first" 'BEGIN {printf "%.4f", x / y}') "
    done
  done
  row="| $(basename "$model") |"
  for ((i = 0; i < n; i++)); do row+=" $(printf '%.3f' "$(tr ' ' '\n' <<<"${times[$i]}" | grep . | median)") |"; done
  for ((i = 1; i < n; i++)); do row+=" **$(printf '%.2f' "$(tr ' ' '\n' <<<"${ratios[$i]}" | grep . | median)")** |"; done
  echo "$row"
  unset times ratios
done
