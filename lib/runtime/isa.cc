#include "lib/runtime/isa.h"

#include <algorithm>
#include <cstdlib>

#include "lib/base/error.h"
#include "lib/runtime/epilogue_simd.h"

namespace pare::rt {

Isa cpu_isa() {
#if PARE_HAVE_AVX2_KERNELS
  // Asked once: the answer cannot change while the process runs.
  static const Isa isa = [] {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return Isa::kBaseline;
    if (!__builtin_cpu_supports("avx512f")) return Isa::kAvx2Fma;
    bool vnni = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512vnni");
    return vnni ? Isa::kAvx512Vnni : Isa::kAvx512;
  }();
  return isa;
#else
  return Isa::kBaseline;
#endif
}

bool cpu_has_avx512vbmi() {
#if PARE_HAVE_AVX2_KERNELS
  static const bool vbmi = [] {
    __builtin_cpu_init();
    return cpu_isa() >= Isa::kAvx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
  }();
  return vbmi;
#else
  return false;
#endif
}

std::optional<Isa> parse_isa_request(const std::string& value) {
  if (value.empty() || value == "auto") return std::nullopt;
  if (value == "baseline") return Isa::kBaseline;
  if (value == "avx2") return Isa::kAvx2Fma;
  throw Error(fmt::format("PARE_CPU is '{}'; it must be 'baseline' (the portable kernels), 'avx2' (at most the AVX2 "
                          "ones) or 'auto' (the best this CPU runs)", value));
}

Isa default_isa() {
  static const std::optional<Isa> requested = [] {
    const char* v = std::getenv("PARE_CPU");
    return parse_isa_request(v ? v : "");
  }();
  return requested ? *requested : cpu_isa();
}

Isa usable_isa(std::optional<Isa> wanted) {
  Isa isa = wanted ? *wanted : default_isa();
  return std::min(isa, cpu_isa());
}

std::vector<Isa> runnable_isas() {
  std::vector<Isa> all;
  for (Isa isa : {Isa::kBaseline, Isa::kAvx2Fma, Isa::kAvx512, Isa::kAvx512Vnni})
    if (isa <= cpu_isa()) all.push_back(isa);
  return all;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx2Fma: return "avx2+fma";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512+vnni";
    default: return "baseline";
  }
}

}  // namespace pare::rt
