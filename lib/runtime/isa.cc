#include "lib/runtime/isa.h"

#include <cstdlib>

#include "lib/base/error.h"
#include "lib/runtime/epilogue_simd.h"

namespace pare::rt {

Isa cpu_isa() {
#if PARE_HAVE_AVX2_KERNELS
  // Asked once: the answer cannot change while the process runs.
  static const Isa isa = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? Isa::kAvx2Fma : Isa::kBaseline;
  }();
  return isa;
#else
  return Isa::kBaseline;
#endif
}

std::optional<Isa> parse_isa_request(const std::string& value) {
  if (value.empty() || value == "auto") return std::nullopt;
  if (value == "baseline") return Isa::kBaseline;
  throw Error(fmt::format("PARE_CPU is '{}'; it must be 'baseline' (the portable kernels) or 'auto' (the best this CPU "
                          "runs)", value));
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
  return isa == Isa::kAvx2Fma && cpu_isa() != Isa::kAvx2Fma ? Isa::kBaseline : isa;
}

std::vector<Isa> runnable_isas() {
  std::vector<Isa> all = {Isa::kBaseline};
  if (cpu_isa() == Isa::kAvx2Fma) all.push_back(Isa::kAvx2Fma);
  return all;
}

const char* isa_name(Isa isa) { return isa == Isa::kAvx2Fma ? "avx2+fma" : "baseline"; }

}  // namespace pare::rt
