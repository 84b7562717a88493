CMakeFiles/pare.dir/tools/pare/main.cc.o: /work/main/tools/pare/main.cc \
 /usr/include/stdc-predef.h
