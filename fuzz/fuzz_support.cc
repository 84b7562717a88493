#include "fuzz/fuzz_support.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <vector>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <new>

#include "lib/base/error.h"

namespace pare::fuzz {

void check_contract(const std::function<void()>& body) {
  try {
    body();
  } catch (const InternalError& e) {
    std::fprintf(stderr, "finding: internal error: %s\n", e.what());
    std::abort();
  } catch (const Error& e) {
    // bad input, refused with a message: what pare promises
    std::string line = e.what();
    if (line.find('\n') != std::string::npos) {
      std::fprintf(stderr, "finding: an error message spans lines: %s\n", line.c_str());
      std::abort();
    }
  } catch (const std::bad_alloc&) {
    // pare prints "out of memory" for it; the fuzzers run with a memory limit
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: unexpected exception: %s\n", e.what());
    std::abort();
  }
}

std::string scratch_file(const uint8_t* data, size_t size, const std::string& suffix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/pare_fuzz_" + std::to_string(::getpid()) + suffix;
  static std::vector<std::string> written;  // removed when the process exits
  if (std::find(written.begin(), written.end(), path) == written.end()) {
    if (written.empty())
      std::atexit([] {
        for (const auto& p : written) std::remove(p.c_str());
      });
    written.push_back(path);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace pare::fuzz
