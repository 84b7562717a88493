CMakeFiles/pare_lib.dir/formats/onnx/placeholder.cc.o: \
 /work/main/formats/onnx/placeholder.cc /usr/include/stdc-predef.h
