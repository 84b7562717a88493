# Thin wrapper over CMake and the scripts: setup, build, demo, test, bench.
BUILD ?= build
# Parallel jobs for builds and ctest: every core (CI and the demo target have 2).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# The instruction set: portable by default (x86-64-v2); make PARE_MARCH=native
# for this CPU's (AVX2/FMA...), faster and not copyable (docs/performance.md).
PARE_MARCH ?=
CMAKE_CONFIG := -DCMAKE_BUILD_TYPE=Release $(if $(PARE_MARCH),-DPARE_MARCH=$(PARE_MARCH))
DEMO_MODEL := testdata/models/ch_ppocr_mobile_v2.0_cls_infer.onnx
DEMO_OUT := $(BUILD)/demo/cls.shrunk.onnx
DEMO_PASSES ?= fold, fuse-bn, fuse-act, dce, quantize(int8, weights-only), strip

.PHONY: setup build demo test bench clean install configure build-pare fuzz test-sanitize test-arm64 deb

setup:
	@scripts/setup.sh

configure:
	@cmake -S . -B $(BUILD) $(CMAKE_CONFIG) >/dev/null

build: setup configure
	@cmake --build $(BUILD) -j$(JOBS)

# The demo builds only what it runs, with only the packages building needs.
build-pare:
	@scripts/setup.sh --build
	@cmake -S . -B $(BUILD) $(CMAKE_CONFIG) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target pare

# make install PREFIX=/usr/local DESTDIR=/tmp/stage
PREFIX ?= /usr/local
install:
	@scripts/setup.sh --build
	@cmake -S . -B $(BUILD) $(CMAKE_CONFIG) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target pare pare-run pare_runtime_static pare_runtime_shared pare_man
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# A Debian package of what install puts in place: $(BUILD)/pare_VERSION_ARCH.deb
# (inspect it with dpkg-deb -c, install it with apt install ./$(BUILD)/pare_*.deb).
deb:
	@scripts/setup.sh --build
	@cmake -S . -B $(BUILD) $(CMAKE_CONFIG) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target pare pare-run pare_runtime_static pare_runtime_shared pare_man
	@cd $(BUILD) && cpack -G DEB

# Synthetic, seeded samples for the demo report; real accuracy needs real inputs (see docs/).
DEMO_DIMS := --dim p2o.DynamicDimension.0=8 --dim p2o.DynamicDimension.1=48 --dim p2o.DynamicDimension.2=192

demo: build-pare
	@mkdir -p $(BUILD)/demo
	$(BUILD)/pare inspect $(DEMO_MODEL) $(DEMO_DIMS)
	@for s in 1 2 3 4; do $(BUILD)/pare run $(DEMO_MODEL) $(DEMO_DIMS) --seed $$s --save-inputs $(BUILD)/demo/samples/$$s >/dev/null; done
	$(BUILD)/pare shrink $(DEMO_MODEL) -o $(DEMO_OUT) --passes '$(DEMO_PASSES)' \
	  --data $(BUILD)/demo/samples --report $(BUILD)/demo/report.json --html $(BUILD)/demo/report.html \
	  --max-download-bytes 1MB $(DEMO_DIMS)

test: build
	@scripts/fetch_models.sh
	@scripts/setup_ort.sh
	@cd $(BUILD) && ctest -j$(JOBS) --output-on-failure --timeout 1200

# AddressSanitizer and UndefinedBehaviorSanitizer, every finding fatal, in one
# clang build ($(FUZZ_BUILD)) that holds both the libFuzzer targets (make fuzz)
# and the whole test suite (make test-sanitize); see docs/security.md.
# SANITIZE_AREAS="base ir ..." builds and runs only those test areas (tests/<area>/),
# as CI does to fit its time.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
SANITIZE_AREAS ?=
FUZZ_CONFIG := -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ -DPARE_FUZZ=ON
# allocator_may_return_null: an allocation too large to make is an error pare
# reports (tests ask for one), not a sanitizer abort.
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SANITIZE_TARGETS := $(if $(SANITIZE_AREAS),--target $(patsubst %,pare_%_tests,$(SANITIZE_AREAS)))
SANITIZE_LABELS := $(if $(SANITIZE_AREAS),-L '^($(shell echo $(SANITIZE_AREAS) | tr ' ' '|'))$$')
test-sanitize: setup
	@cmake -S . -B $(FUZZ_BUILD) $(FUZZ_CONFIG) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) $(SANITIZE_TARGETS)
	@scripts/fetch_models.sh
	@scripts/setup_ort.sh
	@cd $(FUZZ_BUILD) && $(SANITIZER_ENV) ctest -j$(JOBS) --output-on-failure --timeout 2400 $(SANITIZE_LABELS)

# The libFuzzer targets (fuzz/), each run for FUZZ_SECONDS after replaying
# fuzz/regressions/.
fuzz: setup
	@cmake -S . -B $(FUZZ_BUILD) $(FUZZ_CONFIG) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_targets
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The runtime cross-built for aarch64 and run under qemu-user against this
# machine's outputs (scripts/test_arm64.sh, docs/runtime.md).
ARM_BUILD ?= build-arm64
test-arm64: build
	@scripts/fetch_models.sh
	@JOBS=$(JOBS) scripts/test_arm64.sh $(BUILD) $(ARM_BUILD)

# Figures comparable with docs/performance.md come from a native build: make bench PARE_MARCH=native
bench: build
	@scripts/fetch_models.sh
	@scripts/setup_ort.sh
	@bench/run.sh

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ARM_BUILD)
