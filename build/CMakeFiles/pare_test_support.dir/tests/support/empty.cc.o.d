CMakeFiles/pare_test_support.dir/tests/support/empty.cc.o: \
 /work/main/tests/support/empty.cc /usr/include/stdc-predef.h
