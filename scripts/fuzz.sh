#!/usr/bin/env bash
# Runs each libFuzzer target of BUILD (make fuzz builds them) for SECONDS:
# first over fuzz/regressions/<target>/ (every input that once crashed pare must
# pass), then fuzzing from the seeds (fuzz/make_seeds.py) and the corpus the
# earlier runs grew in BUILD/corpus/<target>. FUZZ_JOBS fuzzers at a time (one
# by default), at the lowest CPU priority (FUZZ_NICE=0 for a fair share of a
# busy machine). Findings go to BUILD/findings/; exits 1 if there is one.
#   scripts/fuzz.sh BUILD SECONDS [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1
seconds=$2
shift 2
targets=("$@")
niceness=${FUZZ_NICE:-19}
# FUZZ_SEED fixes libFuzzer's random seed (CI: the same mutations on every run);
# unset, each run explores from a new one.
seed=()
[ -z "${FUZZ_SEED:-}" ] || seed=(-seed="$FUZZ_SEED")
[ ${#targets[@]} -gt 0 ] || targets=(model_fuzz tensor_fuzz image_fuzz pipeline_fuzz yaml_fuzz)

# Seeds of this run's own (two runs at once, on other targets, do not share them).
seeds=$(mktemp -d "$build/seeds.XXXXXX")
trap 'rm -rf "$seeds"' EXIT
python3 fuzz/make_seeds.py . "$seeds"
mkdir -p "$build/findings"
# Memory and time per input are bounded: a loader that allocates gigabytes for a
# small file, or takes seconds on one input, is a finding too.
common=(-rss_limit_mb=2560 -malloc_limit_mb=1024 -timeout=30 -print_final_stats=1 -max_len=1048576)
# One target: the replay, then the fuzzing; its messages go to $build/findings/$t.out
# (printed in the targets' order at the end), a finding makes it return 1.
fuzz_target() {
  local t=$1 bin="$build/$1" status=0
  if [ -d "fuzz/regressions/$t" ] && [ -n "$(ls -A "fuzz/regressions/$t")" ]; then
    echo "fuzz: $t: replaying fuzz/regressions/$t"
    nice -n "$niceness" "$bin" "${common[@]}" fuzz/regressions/"$t"/* >"$build/findings/$t.replay.log" 2>&1 || {
      echo "fuzz: $t: a regression input fails again (see $build/findings/$t.replay.log)"
      status=1
    }
  fi
  mkdir -p "$build/corpus/$t"
  echo "fuzz: $t: ${seconds}s"
  local log="$build/findings/$t.log"
  # The CPU time (user + system) is what docs/security.md counts, not the wall time
  # (GNU time, Debian's package "time"; without it the run is not timed).
  local timer=()
  rm -f "$build/findings/$t.time"
  [ ! -x /usr/bin/time ] || timer=(/usr/bin/time -f "%U %S" -o "$build/findings/$t.time")
  if ! ${timer[@]+"${timer[@]}"} nice -n "$niceness" "$bin" "${common[@]}" ${seed[@]+"${seed[@]}"} \
      -max_total_time="$seconds" -artifact_prefix="$build/findings/$t-" \
      "$build/corpus/$t" "$seeds/$t" >"$log" 2>&1; then
    echo "fuzz: $t: FINDING (see $log and $build/findings/$t-*)"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log" | sed "s/^/fuzz: $t: /" || true
  [ ! -f "$build/findings/$t.time" ] ||
    awk -v t="$t" 'END { printf "fuzz: %s: cpu_seconds: %.0f\n", t, $1 + $2 }' "$build/findings/$t.time" || true
  return $status
}

# FUZZ_JOBS targets at once (default one; CI runs two on its two cores).
jobs=${FUZZ_JOBS:-1}
[ "$jobs" -ge 1 ] || jobs=1
status=0
for t in "${targets[@]}"; do
  rm -f "$build/findings/$t.status"
  { if fuzz_target "$t" >"$build/findings/$t.out" 2>&1; then echo 0; else echo 1; fi; } >"$build/findings/$t.status" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
wait
for t in "${targets[@]}"; do
  cat "$build/findings/$t.out"
  [ "$(cat "$build/findings/$t.status" 2>/dev/null)" = 0 ] || status=1
done
exit $status
