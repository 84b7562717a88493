file(REMOVE_RECURSE
  "CMakeFiles/pare_lib.dir/pare_empty.cc.o"
  "CMakeFiles/pare_lib.dir/pare_empty.cc.o.d"
  "libpare_lib.a"
  "libpare_lib.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/pare_lib.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
