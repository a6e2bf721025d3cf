// Building blocks of the fused per-row scorer (scoring/fused_row.h) shared by its CUDA and host
// executors: float32 arithmetic with explicit rounding (no fused multiply-add, so the device
// rounds exactly like score_gumbel_rows on the CPU), order-preserving float keys for the top-k
// radix select, and the row's filter state. Plain C++ usable from host and device code, no
// libtorch. Private to src/.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "fssl/scoring_row_params.h"

#if defined(__CUDACC__)
#define FSSL_HD __host__ __device__
#else
#define FSSL_HD
#endif

namespace fssl::fused {

constexpr int kTopPBuckets = 1024;  // top-p mass buckets below the row maximum (as sampler_filter)
constexpr int kRadixBins = 256;     // top-k radix select, 8 bits per pass
constexpr float kInf = std::numeric_limits<float>::infinity();

FSSL_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
FSSL_HD inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
FSSL_HD inline float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
FSSL_HD inline float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

// Order-preserving map of float32 onto uint32 (ascending), and back.
FSSL_HD inline std::uint32_t float_key(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
FSSL_HD inline float key_float(std::uint32_t k) {
  const std::uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  float v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

struct ArgMax {
  float value;
  std::int64_t index;
};
// The larger value; equal values go to the smaller index (the CPU's first maximum).
FSSL_HD inline ArgMax argmax_combine(ArgMax a, ArgMax b) {
  return (b.value > a.value || (b.value == a.value && b.index < a.index)) ? b : a;
}

// The kept set of one row as sampler_filter builds it: min-p against the unfiltered maximum,
// top-k's k-th largest value, top-p's boundary. Each filter keeps s_i = RN(l_i / T) at or above a
// threshold, and RN(l / T) never decreases as l grows, so each is also "l_i at or above the
// smallest logit whose s reaches it": the passes compare raw logits against one threshold and
// divide only for the survivors.
struct Filter {
  const float* logits = nullptr;
  float temperature = 1.0f, row_max = -kInf, log_min_p = 0.0f;
  float threshold = -kInf;  // survivors: l_i >= threshold (and finite)
  bool greedy = false;
  FSSL_HD float scaled_of(float l) const { return greedy ? l : div_rn(l, temperature); }
  FSSL_HD float scaled(std::int64_t i) const { return scaled_of(logits[i]); }
  FSSL_HD bool survives(std::int64_t i) const { return logits[i] >= threshold && logits[i] != -kInf; }
  // s_i when i survives the filters applied so far, else -inf.
  FSSL_HD float survivor(std::int64_t i) const { return survives(i) ? scaled(i) : -kInf; }
  // Keeps only s >= t from now on.
  FSSL_HD void keep_scaled_at_least(float t) {
    const float l = smallest_logit_reaching(t);
    if (l > threshold) threshold = l;
  }
  // Keeps only s with RN(s - row_max) >= log_min_p (min-p).
  FSSL_HD void keep_min_p() {
    // The smallest s passing, by bisection over float keys (RN(s - m) never decreases in s).
    std::uint32_t lo = float_key(-kInf), hi = float_key(row_max);  // row_max passes: ln(min_p) <= 0
    while (lo < hi) {
      const std::uint32_t mid = lo + (hi - lo) / 2;
      if (sub_rn(key_float(mid), row_max) >= log_min_p) hi = mid; else lo = mid + 1;
    }
    keep_scaled_at_least(key_float(lo));
  }
  // The smallest logit l with RN(l / T) >= t (greedy: t itself), by bisection over float keys.
  FSSL_HD float smallest_logit_reaching(float t) const {
    if (greedy || t == -kInf) return t;
    std::uint32_t lo = float_key(-kInf), hi = float_key(kInf);
    while (lo < hi) {
      const std::uint32_t mid = lo + (hi - lo) / 2;
      if (scaled_of(key_float(mid)) >= t) hi = mid; else lo = mid + 1;
    }
    return key_float(lo);
  }
};

// sampler_filter's top-p scan over survivor values sorted descending: the smallest value whose
// mass strictly above it is < p, starting from the mass `above` of larger survivors not in v.
FSSL_HD inline float scan_top_p(const float* v, int n, float log_norm, float p, double above) {
  float boundary = -kInf;
  int i = 0;
  while (i < n && v[i] > -kInf) {
    if (above >= static_cast<double>(p)) break;
    int j = i;
    double group = 0.0;
    while (j < n && v[j] == v[i]) group += exp(static_cast<double>(v[j++]) - static_cast<double>(log_norm));
    boundary = v[i];
    above += group;
    i = j;
  }
  return boundary;
}

}  // namespace fssl::fused
