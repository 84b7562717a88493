# CMake generated Testfile for 
# Source directory: /work/main
# Build directory: /work/main/build
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/pare_base_tests[1]_include.cmake")
include("/work/main/build/pare_ir_tests[1]_include.cmake")
