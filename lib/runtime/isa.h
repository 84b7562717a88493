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

// Ordered: each level runs everything the one before it runs.
enum class Isa {
  kBaseline,  // the build's own instruction set (plain loops the compiler vectorises)
  kAvx2Fma,   // x86-64 with AVX2 and FMA (Haswell, 2013; AMD Excavator, 2015; and later)
  // kAvx2Fma's kernels, and the float GEMM tile over 512-bit registers, twice
  // as wide (x86-64 with AVX-512 F: Skylake-SP, 2017; AMD Zen 4, 2022). Every
  // output is the same chain of fused multiply-adds as in the AVX2 tile, so
  // results are bit-identical to kAvx2Fma's (tests/runtime/packed_gemm_test.cc).
  kAvx512,
  // kAvx512's kernels, and the int8 Conv's GEMM on bytes with vpdpbusd (u8 x s8,
  // four products summed into each int32 lane) where kAvx2Fma widens to int16
  // (AVX-512 F, BW, VL and VNNI: Ice Lake and Cascade Lake, 2019; AMD Zen 4).
  // Integer sums are exact either way, so results are bit-identical to kAvx512's
  // (tests/runtime/qvnni_test.cc).
  kAvx512Vnni,
};

// Whether `isa` runs the AVX2+FMA kernels (kAvx2Fma and every level above).
inline bool has_avx2(Isa isa) { return isa >= Isa::kAvx2Fma; }

// What this CPU and build can run, asked once with __builtin_cpu_supports:
// kAvx512Vnni with AVX-512 F, BW, VL and VNNI, AVX2 and FMA; kAvx512 with
// AVX-512 F, AVX2 and FMA; kAvx2Fma with AVX2 and FMA; kBaseline elsewhere.
Isa cpu_isa();

// Whether this CPU and build have AVX-512 VBMI (byte permutes, vpermi2b), asked
// once; a kernel takes its VBMI form only at an Isa of kAvx512 or above, so
// PARE_CPU=avx2 and SessionOptions::isa still turn it off.
bool cpu_has_avx512vbmi();

// The Isa new sessions use: cpu_isa(), or at most kBaseline or kAvx2Fma when
// the environment says PARE_CPU=baseline or PARE_CPU=avx2 (read once).
// PARE_CPU=auto or unset is cpu_isa(); any other value is a pare::Error naming it.
Isa default_isa();

// `wanted` (or default_isa() when empty), limited to what the CPU runs: asking
// for AVX2 on a CPU without it gives kBaseline, for AVX-512 on an AVX2 CPU
// kAvx2Fma, never a crash.
Isa usable_isa(std::optional<Isa> wanted);

// Every Isa this CPU runs, kBaseline first (for tests comparing the paths).
std::vector<Isa> runnable_isas();

// "baseline", "avx2+fma", "avx512" or "avx512+vnni".
const char* isa_name(Isa isa);

// PARE_CPU's value as an Isa request: "baseline" -> kBaseline, "avx2" -> kAvx2Fma,
// "" or "auto" -> nullopt (the CPU's best); anything else throws pare::Error.
std::optional<Isa> parse_isa_request(const std::string& value);

}  // namespace pare::rt
