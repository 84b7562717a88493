// The epilogue on 8 floats at a time, for kernels that keep their results in
// AVX registers. Sigmoid has no vector form here (callers apply it after the
// store, while the tile is still in L1). Internal to lib/runtime.
//
// Run-time dispatch (isa.h): on x86-64 the AVX2+FMA kernels are compiled
// whatever -march says, one function at a time: PARE_TARGET_AVX2 marks a kernel
// function (internal linkage, called only when the session's Isa has AVX2),
// PARE_AVX2_INLINE a helper that is always inlined into such a kernel, so no
// out-of-line AVX2 copy of it exists for the linker to pick. Nothing else in a
// file is compiled for AVX2: the standard library and Eigen templates that a
// kernel calls stay baseline code.
#pragma once

#include "lib/runtime/epilogue.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PARE_HAVE_AVX2_KERNELS 1
#define PARE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define PARE_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline))
// The kAvx512 kernels (isa.h): AVX-512 F on top of AVX2 and FMA.
#define PARE_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define PARE_AVX512_INLINE __attribute__((target("avx512f,avx2,fma"), always_inline))
// The kAvx512Vnni kernels: AVX-512 VNNI (vpdpbusd), with BW and VL for the byte
// and 128/256-bit forms of the AVX-512 instructions.
#define PARE_TARGET_AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define PARE_AVX512VNNI_INLINE \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma"), always_inline))
// Byte permutes across a whole 512-bit register (vpermi2b), taken where
// cpu_has_avx512vbmi() says so (Ice Lake and later, AMD Zen 4): not an Isa level,
// since some CPUs with VNNI lack it (Cascade Lake).
#define PARE_TARGET_AVX512VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi,avx2,fma")))
// Both: the int8 depthwise rows that gather taps with vpermb for vpdpbusd.
#define PARE_TARGET_AVX512VNNI_VBMI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2,fma")))
#else
#define PARE_HAVE_AVX2_KERNELS 0
#endif

namespace pare::rt {

#if PARE_HAVE_AVX2_KERNELS
struct EpilogueVec {
  const Epilogue* source;  // for what has no vector form (Sigmoid)
  Epilogue::Kind kind;
  bool round_trip;
  __m256 a, b, zero, one, sixth, half, scale, zero_point, qmin, qmax, shift;
  PARE_AVX2_INLINE explicit EpilogueVec(const Epilogue& e)
      : source(&e),
        kind(e.kind),
        round_trip(e.round_trip),
        a(_mm256_set1_ps(e.a)),
        b(_mm256_set1_ps(e.b)),
        zero(_mm256_setzero_ps()),
        one(_mm256_set1_ps(1.0f)),
        sixth(_mm256_set1_ps(6.0f)),
        half(_mm256_set1_ps(0.5f)),
        scale(_mm256_set1_ps(e.scale)),
        zero_point(_mm256_set1_ps(e.zero_point)),
        qmin(_mm256_set1_ps(e.qmin)),
        qmax(_mm256_set1_ps(e.qmax)),
        shift(_mm256_set1_ps(e.shift)) {}
  PARE_AVX2_INLINE __m256 operator()(__m256 x) const { return round(activate(x)); }
  // The QDQ round trip, when there is one.
  PARE_AVX2_INLINE __m256 round(__m256 x) const {
    if (!round_trip) return x;
    // _MM_FROUND_TO_NEAREST_INT rounds half to even, as nearbyint does.
    __m256 q = _mm256_add_ps(_mm256_round_ps(_mm256_div_ps(x, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                             zero_point);
    q = _mm256_min_ps(_mm256_max_ps(q, qmin), qmax);
    return _mm256_mul_ps(_mm256_sub_ps(q, zero_point), scale);
  }
  // Operand order follows the scalar formulas' NaN behaviour: _mm256_max_ps(p, q)
  // returns q when either is NaN.
  PARE_AVX2_INLINE __m256 activate(__m256 x) const {
    using K = Epilogue::Kind;
    switch (kind) {
      case K::kRelu: return _mm256_max_ps(x, zero);
      case K::kClip: return _mm256_min_ps(b, _mm256_max_ps(a, x));
      case K::kHardSigmoid:
        return _mm256_max_ps(_mm256_min_ps(_mm256_add_ps(_mm256_mul_ps(a, x), b), one), zero);
      case K::kHardSwish: {
        __m256 t = _mm256_add_ps(_mm256_div_ps(x, sixth), half);
        return _mm256_mul_ps(x, _mm256_max_ps(_mm256_min_ps(t, one), zero));
      }
      case K::kLeakyRelu: return _mm256_blendv_ps(x, _mm256_mul_ps(a, x), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
      case K::kMulClip: return _mm256_mul_ps(x, _mm256_min_ps(b, _mm256_max_ps(a, _mm256_add_ps(x, shift))));
      default: return x;
    }
  }
};
#endif

}  // namespace pare::rt
