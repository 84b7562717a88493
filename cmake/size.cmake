# What is built for size rather than speed, shared by the main build and the
# runtime-alone build (cmake/runtime). docs/runtime.md, "Size", gives the figures.
#
# The reference kernels of issue 18's coverage (ops that real models use rarely
# or on small tensors) and the kernel table are built with -Os. The kernels real
# models spend their time in (conv and its GEMM tile, gemm, pools, elementwise,
# resize, normalisation, softmax, shape and tensor ops, reductions, QDQ and the
# float16 bridge) stay at -O3. Pad joined the -Os list when the Conv after a
# zero Pad began to absorb it (pad_fusion.h): what is left runs a memcpy per row.
# The float16 bridge (only models computing in float16 take it; 10.7 KB less
# text at -Os), the quantized Concat (byte copies and table lookups) and the
# reductions (8.5 KB less: real models reduce small tensors, PP-OCRv4 rec's
# LayerNorms over 120 values, an MLP's mean) too.
set(PARE_COLD_KERNELS control conv_transpose create detection float16 indexing linalg loss normalize_extra pad passthrough qconcat quant_linear reduce
  reference_nd registry resize_general rnn rnn_simple scan signal text training unary_extra unique unpool)

# What runs once per model, not per element, is built with -Os too: the base
# and the IR, the ONNX reader, the C API, the matching of QDQ groups and the
# convolutions' attributes and geometry. The session's step loop, the arena and
# the thread pool run once per node and run, which counts on small models (an
# MLP of 20 nodes takes 40 microseconds): they are built with -O2. The
# matching of Pads a Conv absorbs (pad_fusion.cc) runs at compile time: -Os.
set(PARE_COLD_SOURCES lib/runtime/inputs.cc lib/runtime/isa.cc lib/runtime/qdq_groups.cc lib/runtime/pad_fusion.cc
  lib/runtime/kernels/conv_geometry.cc formats/onnx/wire.cc formats/onnx/messages.cc
  formats/onnx/tensor_msg.cc formats/onnx/read.cc formats/onnx/signatures.cc capi/capi.cc)
set(PARE_STEP_SOURCES lib/runtime/session.cc lib/runtime/kernel.cc lib/runtime/arena.cc lib/runtime/thread_pool.cc)

# pare_level_files(ROOT): the files built at -Os (PARE_SIZE_FILES) and at -O2
# (PARE_STEP_FILES), absolute paths, set in the caller's scope.
function(pare_level_files root)
  set(files ${PARE_COLD_KERNELS})
  list(TRANSFORM files PREPEND lib/runtime/kernels/)
  list(TRANSFORM files APPEND .cc)
  file(GLOB base_ir RELATIVE ${root} ${root}/lib/base/*.cc ${root}/lib/ir/*.cc)
  list(APPEND files ${base_ir} ${PARE_COLD_SOURCES})
  list(TRANSFORM files PREPEND ${root}/)
  set(PARE_SIZE_FILES ${files} PARENT_SCOPE)
  set(files ${PARE_STEP_SOURCES})
  list(TRANSFORM files PREPEND ${root}/)
  set(PARE_STEP_FILES ${files} PARENT_SCOPE)
endfunction()

# pare_size_options(ROOT): -Os and -O2 on those files under ROOT, for every
# target of the calling directory (the runtime-alone build; the main build
# gives each level an object library of its own instead, so that the unity
# build can batch them: CMake never batches a file with options of its own).
function(pare_size_options root)
  pare_level_files(${root})
  set_source_files_properties(${PARE_SIZE_FILES} PROPERTIES COMPILE_OPTIONS -Os)
  set_source_files_properties(${PARE_STEP_FILES} PROPERTIES COMPILE_OPTIONS -O2)
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

# pare_exact_fp_files(ROOT) sets PARE_EXACT_FP_FILES: the files holding the epilogue's scalar formulas
# and their vector forms (epilogue_simd.h) must give the same bits on every path,
# so the compiler may fuse no multiply-add the code does not write (the GEMM
# tiles' and depthwise rows' explicit FMAs); otherwise GCC fuses HardSigmoid's
# a*x+b in the AVX2 functions (and in -march=native builds everywhere) but not
# in the portable scalar code. BatchNormalization's x * mul + add is one
# function in epilogue.cc (batch_norm_row), which its kernel and the Conv
# epilogue it fuses into both call. Shared by the main and the runtime-alone builds.
function(pare_exact_fp_files root)
  set(files lib/runtime/epilogue.cc lib/runtime/kernels/packed_gemm.cc lib/runtime/kernels/conv.cc
    lib/runtime/kernels/depthwise.cc lib/runtime/kernels/winograd.cc
    lib/runtime/kernels/epilogue_kernel.cc lib/runtime/kernels/qgemm.cc lib/runtime/kernels/qconv.cc
    lib/runtime/kernels/qadd.cc)
  list(TRANSFORM files PREPEND ${root}/)
  set(PARE_EXACT_FP_FILES ${files} PARENT_SCOPE)
endfunction()
function(pare_exact_fp_options root)
  pare_exact_fp_files(${root})
  set_source_files_properties(${PARE_EXACT_FP_FILES} PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
  pare_exact_size_options(${root} -ffp-contract=off)
endfunction()

# pare_exact_size_options(ROOT [OPTIONS...]): -Os (after OPTIONS) on the exact
# files that are built for size too. Winograd's transforms (winograd.cc) are
# written in vectors of the build's width, which -O3 only unrolls: M-LSD tiny
# ran at the same speed either way (2026-12-04, interleaved), and -O3 cost
# pare-run 4 KB. In the main build the exact files' object library gives
# -O3 -ffp-contract=off first and this file's -Os comes after it.
function(pare_exact_size_options root)
  set_source_files_properties(${root}/lib/runtime/kernels/winograd.cc PROPERTIES COMPILE_OPTIONS "${ARGN};-Os")
endfunction()

# pare_fold_identical_code(TARGET): link TARGET with gold's identical code
# folding where the toolchain has it (Debian's binutils does, for the host and
# the aarch64 cross linker). Template instances that compile to the same bytes
# (a kernel's per-type loops, std::function handlers, per-op lambdas) are kept
# once; "safe" folds only functions whose address is never compared. Measured
# on pare-run: 53 KB less (1,503,216 -> 1,450,184 bytes stripped). Without gold
# the link is as before.
function(pare_fold_identical_code target)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fuse-ld=gold -Wl,--icf=safe)
  check_cxx_source_compiles("int main() { return 0; }" PARE_HAVE_GOLD_ICF)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(PARE_HAVE_GOLD_ICF)
    target_link_options(${target} PRIVATE -fuse-ld=gold -Wl,--icf=safe)
  endif()
endfunction()
