// Tests of what a release build ships (sizes, linked libraries, an app built
// without sanitizer flags against the library) cannot hold in a sanitizer build
// (make test-sanitize): they skip there, saying why.
#pragma once

#include <gtest/gtest.h>

#ifdef PARE_SANITIZED
#define PARE_SKIP_IN_SANITIZER_BUILDS(why) GTEST_SKIP() << "a sanitizer build: " << (why)
#else
#define PARE_SKIP_IN_SANITIZER_BUILDS(why) (void)0
#endif
