// SHA-256 (FIPS 180-4), for manifests that let apps and CI check the files they ship.
#pragma once

#include <string>
#include <string_view>

namespace pare {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace pare
