# Thin wrapper over CMake and the scripts: setup, build, demo, test, bench.
BUILD ?= build
JOBS ?= 2
DEMO_MODEL := testdata/models/ch_ppocr_mobile_v2.0_cls_infer.onnx
DEMO_OUT := $(BUILD)/demo/cls.shrunk.onnx
DEMO_PASSES ?= fold, fuse-bn, fuse-act, dce, quantize(int8, weights-only), strip

.PHONY: setup build demo test bench clean install configure build-pare

setup:
	@scripts/setup.sh

configure:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: setup configure
	@cmake --build $(BUILD) -j$(JOBS)

# The demo builds only what it runs, with only the packages building needs.
build-pare:
	@scripts/setup.sh --build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target pare

# make install PREFIX=/usr/local DESTDIR=/tmp/stage
PREFIX ?= /usr/local
install:
	@scripts/setup.sh --build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target pare pare-run pare_runtime_static pare_runtime_shared
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

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

bench: build
	@scripts/fetch_models.sh
	@scripts/setup_ort.sh
	@bench/run.sh

clean:
	rm -rf $(BUILD)
