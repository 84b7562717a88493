// What the fuzz targets share: the contract they check and a scratch file.
//
// A loader given any bytes may throw pare::Error (bad input: one line, exit 2),
// never anything else: an InternalError, another exception, a crash, a hang or a
// sanitizer report is a finding. check_contract() turns the first two into an
// abort() so that libFuzzer saves the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace pare::fuzz {

// Runs `body`; returns normally for success or a pare::Error, aborts on anything else.
void check_contract(const std::function<void()>& body);

// Writes the bytes to this process's scratch file with the given suffix
// (".npy", ".png", ".yaml") and returns its path; loaders that read files read it.
std::string scratch_file(const uint8_t* data, size_t size, const std::string& suffix);

}  // namespace pare::fuzz
