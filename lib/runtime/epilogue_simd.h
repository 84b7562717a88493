// The epilogue on 8 floats at a time, for kernels that keep their results in
// AVX registers. Sigmoid has no vector form here (callers apply it after the
// store, while the tile is still in L1). Internal to lib/runtime.
#pragma once

#include "lib/runtime/epilogue.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define PARE_EPILOGUE_AVX 1
#else
#define PARE_EPILOGUE_AVX 0
#endif

namespace pare::rt {

#if PARE_EPILOGUE_AVX
struct EpilogueVec {
  Epilogue::Kind kind;
  __m256 a, b, zero, one, sixth, half;
  explicit EpilogueVec(const Epilogue& e)
      : kind(e.kind),
        a(_mm256_set1_ps(e.a)),
        b(_mm256_set1_ps(e.b)),
        zero(_mm256_setzero_ps()),
        one(_mm256_set1_ps(1.0f)),
        sixth(_mm256_set1_ps(6.0f)),
        half(_mm256_set1_ps(0.5f)) {}
  // Operand order follows the scalar formulas' NaN behaviour: _mm256_max_ps(p, q)
  // returns q when either is NaN.
  __m256 operator()(__m256 x) const {
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
      default: return x;
    }
  }
};
#endif

}  // namespace pare::rt
