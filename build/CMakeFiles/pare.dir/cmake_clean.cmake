file(REMOVE_RECURSE
  "CMakeFiles/pare.dir/tools/pare/main.cc.o"
  "CMakeFiles/pare.dir/tools/pare/main.cc.o.d"
  "pare"
  "pare.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/pare.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
