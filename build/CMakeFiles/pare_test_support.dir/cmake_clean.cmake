file(REMOVE_RECURSE
  "CMakeFiles/pare_test_support.dir/pare_empty.cc.o"
  "CMakeFiles/pare_test_support.dir/pare_empty.cc.o.d"
  "CMakeFiles/pare_test_support.dir/tests/support/models.cc.o"
  "CMakeFiles/pare_test_support.dir/tests/support/models.cc.o.d"
  "libpare_test_support.a"
  "libpare_test_support.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/pare_test_support.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
