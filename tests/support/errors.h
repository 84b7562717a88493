// What the suites ask of a call that should fail: the message of the pare::Error
// it throws, compared whole or searched, with "" meaning it did not throw.
#pragma once

#include <string>

#include "lib/base/error.h"

namespace pare::testing {

// The pare::Error message of calling `f`, or "" when it returns.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace pare::testing
