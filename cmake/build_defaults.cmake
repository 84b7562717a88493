# The language and build type of both projects (CMakeLists.txt, and the runtime
# alone in cmake/runtime): C++20 without extensions, and optimised unless asked
# otherwise, because Eigen at -O0 is 10-100x slower: tests and the CLI are always
# built optimised.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_CXX_FLAGS_RELEASE "-O2 -DNDEBUG")
