#!/usr/bin/env bash
# The portable build against -march=native: bench/builds.sh with those two
# builds taking turns on each model (native first, so the ratio column reads
# portable / native). Prints its Markdown table.
#   bench/march.sh build/pare build-native/pare ROUNDS RUNS MODEL[|bench options]...
# e.g. bench/march.sh build/pare build-native/pare 7 20 testdata/models/face.onnx \
#        'testdata/models/cls.onnx|--input-shape x=1x3x48x192'
set -euo pipefail
portable=$1 native=$2 rounds=$3 runs=$4
shift 4
WARMUP=3 exec "$(dirname "$0")/builds.sh" "$rounds" "$runs" "native=$native" "portable=$portable" -- "$@"
