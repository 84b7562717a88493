file(REMOVE_RECURSE
  "CMakeFiles/pare_core.dir/lib/base/atomic_file.cc.o"
  "CMakeFiles/pare_core.dir/lib/base/atomic_file.cc.o.d"
  "CMakeFiles/pare_core.dir/lib/base/strings.cc.o"
  "CMakeFiles/pare_core.dir/lib/base/strings.cc.o.d"
  "CMakeFiles/pare_core.dir/lib/ir/attr.cc.o"
  "CMakeFiles/pare_core.dir/lib/ir/attr.cc.o.d"
  "CMakeFiles/pare_core.dir/lib/ir/dtype.cc.o"
  "CMakeFiles/pare_core.dir/lib/ir/dtype.cc.o.d"
  "CMakeFiles/pare_core.dir/lib/ir/graph.cc.o"
  "CMakeFiles/pare_core.dir/lib/ir/graph.cc.o.d"
  "CMakeFiles/pare_core.dir/lib/ir/shape.cc.o"
  "CMakeFiles/pare_core.dir/lib/ir/shape.cc.o.d"
  "CMakeFiles/pare_core.dir/lib/ir/tensor.cc.o"
  "CMakeFiles/pare_core.dir/lib/ir/tensor.cc.o.d"
  "CMakeFiles/pare_core.dir/lib/ir/verify.cc.o"
  "CMakeFiles/pare_core.dir/lib/ir/verify.cc.o.d"
  "libpare_core.a"
  "libpare_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/pare_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
