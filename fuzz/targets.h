// The fuzz targets' bodies, one per untrusted input format. Each takes any
// bytes and checks the contract of fuzz_support.h (a pare::Error or success,
// nothing else). The *_fuzz.cc files hand them to libFuzzer; the regression
// test (tests/fuzz) replays fuzz/regressions/<target>/ through them in the
// ordinary test suite, so a fixed finding stays fixed without clang.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pare::fuzz {

void model_input(const uint8_t* data, size_t size);     // model_fuzz
void tensor_input(const uint8_t* data, size_t size);    // tensor_fuzz
void image_input(const uint8_t* data, size_t size);     // image_fuzz
void pipeline_input(const uint8_t* data, size_t size);  // pipeline_fuzz
void yaml_input(const uint8_t* data, size_t size);      // yaml_fuzz

}  // namespace pare::fuzz
