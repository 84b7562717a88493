# Thin wrapper over CMake and the scripts: setup, build, demo, test, bench.
BUILD ?= build
JOBS ?= 2
DEMO_MODEL := testdata/models/ch_ppocr_mobile_v2.0_cls_infer.onnx
DEMO_OUT := $(BUILD)/demo/cls.shrunk.onnx
DEMO_PASSES ?= dce

.PHONY: setup build demo test bench clean

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	@mkdir -p $(BUILD)/demo
	$(BUILD)/pare inspect $(DEMO_MODEL)
	$(BUILD)/pare shrink $(DEMO_MODEL) -o $(DEMO_OUT) --passes '$(DEMO_PASSES)'

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
