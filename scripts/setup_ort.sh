#!/usr/bin/env bash
# Installs ONNX Runtime for Node (npm onnxruntime-node, pinned) into a cache
# folder; tests and benchmarks compare pare's runner with it. Idempotent.
set -euo pipefail
version=1.30.0
dir="${PARE_ORT_DIR:-$HOME/.cache/pare/ort}"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "ort: error: node and npm are needed (make setup installs Debian's nodejs and npm)" >&2
  exit 1
fi
if [ -f "$dir/node_modules/onnxruntime-node/package.json" ] &&
   grep -q "\"version\": \"$version\"" "$dir/node_modules/onnxruntime-node/package.json"; then
  exit 0
fi
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"name":"pare-ort","private":true}' > package.json
# Its install script would download GPU files from outside the npm registry; the
# CPU library is inside the package, so skip that step.
ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund "onnxruntime-node@$version" >/dev/null
node -e "require('$dir/node_modules/onnxruntime-node')" || {
  echo "ort: error: onnxruntime-node@$version installed in $dir but does not load" >&2
  exit 1
}
echo "ort: onnxruntime-node@$version in $dir"
