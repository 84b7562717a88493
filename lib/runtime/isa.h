// The instruction set of the runner's hand-written kernels (the packed GEMM
// tile, depthwise rows, vector epilogues), chosen at run time.
//
// The default build is portable (-march=x86-64-v2): no file is compiled for a
// newer CPU. The AVX2+FMA kernels are single functions marked
// PARE_TARGET_AVX2 (epilogue_simd.h), compiled for AVX2 on their own, and
// called only when the CPU has AVX2 and FMA; everything else, Eigen and the
// standard library included, stays baseline code (docs/design.md, "Run-time
// dispatch"). A session picks its Isa once, when it is built; results depend on
// the Isa (fused multiply-adds round once) but never on the thread count.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pare::rt {

enum class Isa {
  kBaseline,  // the build's own instruction set (plain loops the compiler vectorises)
  kAvx2Fma,   // x86-64 with AVX2 and FMA (Haswell, 2013; AMD Excavator, 2015; and later)
};

// What this CPU and build can run: kAvx2Fma on an x86-64 CPU with AVX2 and FMA
// (asked once, with __builtin_cpu_supports), kBaseline elsewhere.
Isa cpu_isa();

// The Isa new sessions use: cpu_isa(), or kBaseline when the environment says
// PARE_CPU=baseline (read once). PARE_CPU=auto or unset is cpu_isa(); any other
// value is a pare::Error naming it.
Isa default_isa();

// `wanted` (or default_isa() when empty), limited to what the CPU runs: asking
// for AVX2 on a CPU without it gives kBaseline, never a crash.
Isa usable_isa(std::optional<Isa> wanted);

// Every Isa this CPU runs, kBaseline first (for tests comparing the paths).
std::vector<Isa> runnable_isas();

// "baseline" or "avx2+fma".
const char* isa_name(Isa isa);

// PARE_CPU's value as an Isa request: "baseline" -> kBaseline, "" or "auto" -> nullopt
// (the CPU's best); anything else throws pare::Error.
std::optional<Isa> parse_isa_request(const std::string& value);

}  // namespace pare::rt
