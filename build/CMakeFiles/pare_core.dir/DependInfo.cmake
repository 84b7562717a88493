
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/lib/base/atomic_file.cc" "CMakeFiles/pare_core.dir/lib/base/atomic_file.cc.o" "gcc" "CMakeFiles/pare_core.dir/lib/base/atomic_file.cc.o.d"
  "/work/main/lib/base/strings.cc" "CMakeFiles/pare_core.dir/lib/base/strings.cc.o" "gcc" "CMakeFiles/pare_core.dir/lib/base/strings.cc.o.d"
  "/work/main/lib/ir/attr.cc" "CMakeFiles/pare_core.dir/lib/ir/attr.cc.o" "gcc" "CMakeFiles/pare_core.dir/lib/ir/attr.cc.o.d"
  "/work/main/lib/ir/dtype.cc" "CMakeFiles/pare_core.dir/lib/ir/dtype.cc.o" "gcc" "CMakeFiles/pare_core.dir/lib/ir/dtype.cc.o.d"
  "/work/main/lib/ir/graph.cc" "CMakeFiles/pare_core.dir/lib/ir/graph.cc.o" "gcc" "CMakeFiles/pare_core.dir/lib/ir/graph.cc.o.d"
  "/work/main/lib/ir/shape.cc" "CMakeFiles/pare_core.dir/lib/ir/shape.cc.o" "gcc" "CMakeFiles/pare_core.dir/lib/ir/shape.cc.o.d"
  "/work/main/lib/ir/tensor.cc" "CMakeFiles/pare_core.dir/lib/ir/tensor.cc.o" "gcc" "CMakeFiles/pare_core.dir/lib/ir/tensor.cc.o.d"
  "/work/main/lib/ir/verify.cc" "CMakeFiles/pare_core.dir/lib/ir/verify.cc.o" "gcc" "CMakeFiles/pare_core.dir/lib/ir/verify.cc.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
