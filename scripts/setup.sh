#!/usr/bin/env bash
# Installs the Debian packages pare needs, only those that are missing
# (--build: only those building needs).
# Run as root or with sudo available. Idempotent and quiet when nothing is missing.
set -euo pipefail

# What building pare needs (make build, make demo, make install).
build_packages=(
  build-essential cmake pkg-config
  libonnx-dev libprotobuf-dev protobuf-compiler   # ONNX schema, checker, shape inference
  libeigen3-dev                                    # the runner's linear algebra
  libcli11-dev libfmt-dev nlohmann-json3-dev       # CLI, formatting, JSON reports
  zlib1g-dev                                       # download-size estimate (deflate)
  libstb-dev                                       # image decoding for sample data
  libyaml-cpp-dev                                  # plan and budget files
)
# What the tests and benchmarks need on top (make test, make bench).
test_packages=(
  libgtest-dev                                     # tests
  fonts-dejavu-core                                # tests: text lines rendered for the labeled accuracy check
  libonnx-testdata python3-onnx                    # ONNX conformance cases; independent counts in tests
  nodejs npm                                       # ONNX Runtime (npm onnxruntime-node) for comparisons
  chromium                                         # tests: the HTML report rendered headless
  clang libclang-rt-dev                            # make fuzz: libFuzzer and the sanitizer runtimes for clang
  time                                             # make fuzz: GNU time, the CPU time of each fuzz run
)
# Optional: the aarch64 cross build and its test under qemu (make test-arm64),
# installed only by scripts/setup.sh --arm.
arm_packages=(
  g++-aarch64-linux-gnu                            # cross compiler for libpare_runtime and pare-run
  qemu-user                                        # runs the aarch64 pare-run on this machine
)
# scripts/setup.sh --build installs only what building needs.
packages=("${build_packages[@]}")
case "${1:-}" in
  --build) ;;
  --arm) packages+=("${test_packages[@]}" "${arm_packages[@]}") ;;
  *) packages+=("${test_packages[@]}") ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may have node/npm from elsewhere (not Debian's packages): that is fine.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
filtered=()
for p in "${missing[@]}"; do [ -n "$p" ] && filtered+=("$p"); done

if [ ${#filtered[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "setup: installing ${filtered[*]}"
$SUDO apt-get update -qq
# Chromium is installed with its recommended packages (fonts, Mesa's software
# renderer, udev), as Debian sets it up to run; everything else without.
plain=()
with_recommends=()
for p in "${filtered[@]}"; do
  if [ "$p" = chromium ]; then with_recommends+=("$p"); else plain+=("$p"); fi
done
if [ ${#plain[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${plain[@]}" >/dev/null
fi
if [ ${#with_recommends[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${with_recommends[@]}" >/dev/null
fi
