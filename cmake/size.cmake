# What is built for size rather than speed, shared by the main build and the
# runtime-alone build (cmake/runtime). docs/runtime.md, "Size", gives the figures.
#
# The reference kernels of issue 18's coverage (ops that real models use rarely
# or on small tensors) and the kernel table are built with -Os. The kernels real
# models spend their time in (conv and its GEMM tile, gemm, pools, elementwise,
# resize, normalisation, softmax, shape and tensor ops, reductions, pad, QDQ and
# the float16 bridge) stay at -O3.
set(PARE_COLD_KERNELS control create detection indexing linalg loss normalize_extra passthrough quant_linear
  reference_nd registry resize_general rnn rnn_simple scan signal text training unary_extra unique unpool)

# What runs once per model, not per element, is built with -Os too: the base
# and the IR, the ONNX reader, the C API. The session's step loop, the arena and
# the thread pool run once per node and run, which counts on small models (an
# MLP of 20 nodes takes 40 microseconds): they are built with -O2.
set(PARE_COLD_SOURCES lib/runtime/inputs.cc lib/runtime/isa.cc formats/onnx/wire.cc formats/onnx/messages.cc
  formats/onnx/tensor_msg.cc formats/onnx/read.cc formats/onnx/signatures.cc capi/capi.cc)
set(PARE_STEP_SOURCES lib/runtime/session.cc lib/runtime/kernel.cc lib/runtime/arena.cc lib/runtime/thread_pool.cc)

# pare_size_options(ROOT): -Os on the cold sources under ROOT, for every target
# of the calling directory.
function(pare_size_options root)
  set(files ${PARE_COLD_KERNELS})
  list(TRANSFORM files PREPEND lib/runtime/kernels/)
  list(TRANSFORM files APPEND .cc)
  file(GLOB base_ir RELATIVE ${root} ${root}/lib/base/*.cc ${root}/lib/ir/*.cc)
  list(APPEND files ${base_ir} ${PARE_COLD_SOURCES})
  list(TRANSFORM files PREPEND ${root}/)
  set_source_files_properties(${files} PROPERTIES COMPILE_OPTIONS -Os)
  set(files ${PARE_STEP_SOURCES})
  list(TRANSFORM files PREPEND ${root}/)
  set_source_files_properties(${files} PROPERTIES COMPILE_OPTIONS -O2)
endfunction()

# pare_run_size_options(ROOT SOURCES...): pare-run's own sources (SOURCES) and
# what its batch mode uses (the batch job, tensor files, images) get a section
# per function and datum, so --gc-sections keeps only what pare-run calls; all
# but the image decoder (photos in a gallery, stb) are built with -Os: they
# read and write files and print, and the time is the model's.
function(pare_run_size_options root)
  set(cold ${ARGN} ${root}/jobs/batch.cc ${root}/formats/tensors/pb.cc ${root}/formats/tensors/npy.cc
    ${root}/formats/tensors/samples.cc ${root}/formats/tensors/labels.cc)
  set_source_files_properties(${cold} PROPERTIES COMPILE_OPTIONS "-ffunction-sections;-fdata-sections;-Os")
  set_source_files_properties(${root}/formats/images/images.cc
    PROPERTIES COMPILE_OPTIONS "-ffunction-sections;-fdata-sections")
endfunction()
