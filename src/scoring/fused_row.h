// One row of fused Gumbel-max scoring (fssl/scoring_fused.h), written once for two executors: the CUDA
// kernel (scoring/fused_cuda.cu, one thread block per row) and the host emulation of that block
// (scoring/fused_host.cpp). Each step is a pass over the row with per-thread partials that the
// Block combines; the noise is regenerated in every pass, nothing of row length is stored.
//
// Block (every member is called by all threads of the block):
//   int thread() const, threads() const
//   T reduce(F partial, C combine)     partial(t) -> T for thread t; the combined value everywhere
//   void count(unsigned* bins, int n, F body)       zeroes bins; body(t, add) calls add(bin)
//   void accumulate(double* bins, int n, F body)    zeroes bins; body(t, add) calls add(bin, x)
//   int collect(float* buf, int cap, F body)        body(t, push) calls push(v); the total pushed
//   void sort_descending(float* buf, int n)
//   T once(F f)                        f() on one thread, its value everywhere
//   unsigned* bins(); double* dbins(); float* buffer()   scratch (kRadixBins, kTopPBuckets + 1,
//                                                        kTopPCandidates)
// Noise: float e(i) (Exp(1) noise E of column i), float g(i) (G as the profile rounds it) and
// float g_from(i, e) (the same G, given e = e(i): generated noise is drawn once for both).
// FSSL_ROW marks the row function __device__ in the CUDA translation unit. Private to src/.
#pragma once

#include <cmath>

#include "scoring/fused_row_types.h"

#ifndef FSSL_ROW
#define FSSL_ROW
#endif

namespace fssl::fused {

template <int N>
struct Maxima {
  float v[N];
};
template <int N>
struct Tally {
  std::int64_t v[N];
};

// The k-th largest survivor logit (k >= 1), by radix select on order-preserving keys: s = RN(l / T)
// keeps the order, so RN(l_k / T) is the k-th largest s.
template <class Block>
FSSL_ROW float kth_largest(Block& b, const Filter& f, std::int64_t V, std::int64_t k) {
  std::uint32_t prefix = 0, mask = 0;
  struct Step {
    unsigned digit;
    std::int64_t remaining;
  };
  std::int64_t remaining = k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned* bins = b.bins();
    b.count(bins, kRadixBins, [&](int t, auto add) {
      for (std::int64_t i = t; i < V; i += b.threads()) {
        const std::uint32_t key = float_key(f.survives(i) ? f.logits[i] : -kInf);
        if ((key & mask) == prefix) add(static_cast<int>((key >> shift) & 0xffu));
      }
    });
    const Step step = b.once([&] {
      std::int64_t left = remaining;
      for (int d = kRadixBins - 1; d > 0; --d) {
        if (static_cast<std::int64_t>(bins[d]) >= left) return Step{static_cast<unsigned>(d), left};
        left -= bins[d];
      }
      return Step{0u, left};
    });
    prefix |= step.digit << shift;
    mask |= 0xffu << shift;
    remaining = step.remaining;
  }
  return key_float(prefix);
}

// m + ln sum exp(s - m) over the current survivors.
template <class Block>
FSSL_ROW float log_norm(Block& b, const Filter& f, std::int64_t V) {
  const double sum = b.reduce(
      [&](int t) {
        double acc = 0.0;
        for (std::int64_t i = t; i < V; i += b.threads()) {
          const float s = f.survivor(i);
          if (s != -kInf) acc += static_cast<double>(expf(sub_rn(s, f.row_max)));  // float32 terms, as the CPU
        }
        return acc;
      },
      [](double x, double y) { return x + y; });
  return add_rn(f.row_max, static_cast<float>(log(sum)));
}

// sampler_filter's top-p boundary over the current survivors; false when the row is not fused.
template <class Block>
FSSL_ROW bool top_p_boundary(Block& b, const Filter& f, std::int64_t V, float norm, float p, bool listed,
                             float* boundary) {
  float* buf = b.buffer();
  double above = 0.0;
  int n = 0;
  if (listed) {  // top-k ran: the survivors are few
    n = b.collect(buf, kTopPCandidates, [&](int t, auto push) {
      for (std::int64_t i = t; i < V; i += b.threads()) {
        const float s = f.survivor(i);
        if (s != -kInf) push(s);
      }
    });
  } else {  // mass per bucket of width 40/1024 below the maximum, then the boundary's bucket exactly
    constexpr float kWidth = 40.0f / kTopPBuckets;
    auto bucket_of = [&](float s) {
      const float x = floorf(div_rn(sub_rn(f.row_max, s), kWidth));
      return x >= static_cast<float>(kTopPBuckets) ? kTopPBuckets : (x <= 0.0f ? 0 : static_cast<int>(x));
    };
    double* mass = b.dbins();
    b.accumulate(mass, kTopPBuckets + 1, [&](int t, auto add) {
      for (std::int64_t i = t; i < V; i += b.threads()) {
        const float s = f.survivor(i);
        if (s != -kInf) add(bucket_of(s), exp(static_cast<double>(s) - static_cast<double>(norm)));
      }
    });
    struct Found {
      int bucket;
      double above;
    };
    const Found found = b.once([&] {
      double acc = 0.0;
      int j = 0;
      while (j < kTopPBuckets && acc + mass[j] < static_cast<double>(p)) acc += mass[j++];
      return Found{j, acc};
    });
    if (found.bucket == kTopPBuckets) return false;
    above = found.above;
    n = b.collect(buf, kTopPCandidates, [&](int t, auto push) {
      for (std::int64_t i = t; i < V; i += b.threads()) {
        const float s = f.survivor(i);
        if (s != -kInf && bucket_of(s) == found.bucket) push(s);
      }
    });
  }
  if (n > kTopPCandidates) return false;
  b.sort_descending(buf, n);
  *boundary = b.once([&] { return scan_top_p(buf, n, norm, p, above); });
  return true;
}

// Scores row `l` (V columns) for claimed token y.
template <class Block, class Noise>
FSSL_ROW RowResult score_row(Block& b, const float* l, std::int64_t V, std::int64_t y, const Noise& noise,
                             const RowParams& p) {
  RowResult r;
  const bool greedy = p.greedy();
  const float T = p.temperature;
  Filter f;
  f.logits = l;
  f.temperature = T;
  f.greedy = greedy;
  f.log_min_p = p.log_min_p;
  f.row_max = f.scaled_of(b.reduce(  // max s = RN(max l / T)
      [&](int t) {
        float m = -kInf;
        for (std::int64_t i = t; i < V; i += b.threads()) m = fmaxf(m, l[i]);
        return m;
      },
      [](float x, float z) { return fmaxf(x, z); }));
  float norm;
  if (greedy) {
    norm = log_norm(b, f, V);
  } else {
    if (p.min_p > 0.0f && !p.min_p_last) f.keep_min_p();
    if (p.top_k > 0 && p.top_k <= V) f.keep_scaled_at_least(f.scaled_of(kth_largest(b, f, V, p.top_k)));
    norm = log_norm(b, f, V);
    if (p.top_p < 1.0f) {
      float boundary = -kInf;
      if (!top_p_boundary(b, f, V, norm, p.top_p, p.top_k > 0, &boundary)) {
        r.status = kRowTopPOverflow;
        return r;
      }
      f.keep_scaled_at_least(boundary);
      norm = log_norm(b, f, V);
    }
    if (p.min_p_last && p.min_p > 0.0f) {
      f.keep_min_p();
      norm = log_norm(b, f, V);
    }
  }
  // z and pi / E of column i (s its survivor value): one noise draw for both. Filtered columns
  // are -inf in both; greedy rows use the raw logits.
  // sg = RN(s + G) is what vllm-mrv2 servers maximise (the scaled logit plus the noise).
  struct Perturbed {
    float z, ratio, sg;
  };
  auto perturbed = [&](std::int64_t i, float s) {
    if (greedy) return Perturbed{l[i], l[i], l[i]};
    if (s == -kInf) return Perturbed{-kInf, -kInf, -kInf};
    const float e = noise.e(i);
    const float g = noise.g_from(i, e);
    return Perturbed{add_rn(l[i], mul_rn(T, g)), div_rn(expf(sub_rn(s, norm)), e), add_rn(s, g)};
  };
  auto z_any = [&](std::int64_t i) {  // z' = l + T G of any column, filtered ones too (greedy: l)
    return greedy ? l[i] : add_rn(l[i], mul_rn(T, noise.g(i)));
  };
  // The kept-set boundary l_b and the largest filtered logit l_d come with the winners.
  struct Decision {
    ArgMax z, ratio, sg;
    float lb, ld;
  };
  const Decision d = b.reduce(
      [&](int t) {
        Decision acc{{-kInf, V}, {-kInf, V}, {-kInf, V}, kInf, -kInf};
        for (std::int64_t i = t; i < V; i += b.threads()) {
          const float s = f.survivor(i);
          const Perturbed zr = perturbed(i, s);
          acc.z = argmax_combine(acc.z, ArgMax{zr.z, i});
          acc.ratio = argmax_combine(acc.ratio, ArgMax{zr.ratio, i});
          if (p.scaled_plus_rule) acc.sg = argmax_combine(acc.sg, ArgMax{zr.sg, i});
          if (s != -kInf)
            acc.lb = fminf(acc.lb, l[i]);
          else if (l[i] != -kInf)
            acc.ld = fmaxf(acc.ld, l[i]);
        }
        return acc;
      },
      [](Decision x, Decision w) {
        return Decision{argmax_combine(x.z, w.z), argmax_combine(x.ratio, w.ratio), argmax_combine(x.sg, w.sg),
                        fminf(x.lb, w.lb), fmaxf(x.ld, w.ld)};
      });
  r.choice = greedy                 ? d.ratio.index
             : p.max_perturbed_rule ? d.z.index
             : p.scaled_plus_rule   ? d.sg.index
                                    : d.ratio.index;
  const float s_y = f.survivor(y), l_y = l[y];
  const bool kept_y = s_y != -kInf;
  const float zp_y = z_any(y);
  const float ratio_y = perturbed(y, s_y).ratio;
  r.prob = kept_y ? expf(sub_rn(s_y, norm)) : 0.0f;
  const int g = p.n_thresholds;
  // Ranks, the claimed token's rivals, and per threshold bucket the strongest kept z.
  struct Rivals {
    std::int64_t logit_rank, gumbel_rank;
    float rivals;
    Maxima<kMaxThresholds + 1> top;
  };
  const Rivals rv = b.reduce(
      [&](int t) {
        Rivals acc{0, 0, 0.0f, {}};
        for (int k = 0; k <= g; ++k) acc.top.v[k] = -kInf;
        for (std::int64_t i = t; i < V; i += b.threads()) {
          acc.logit_rank += l[i] > l_y;
          const float s = f.survivor(i);
          const Perturbed zr = perturbed(i, s);
          acc.gumbel_rank += zr.ratio > ratio_y;
          if (s == -kInf) continue;
          const float z = zr.z, removal = sub_rn(l[i], d.ld);
          if (z > zp_y) acc.rivals = fmaxf(acc.rivals, fminf(sub_rn(z, zp_y), removal));
          int bucket = 0;
          while (bucket < g && p.thresholds[bucket] < removal) ++bucket;
          acc.top.v[bucket] = fmaxf(acc.top.v[bucket], z);
        }
        return acc;
      },
      [g](Rivals x, const Rivals& w) {
        x.logit_rank += w.logit_rank;
        x.gumbel_rank += w.gumbel_rank;
        x.rivals = fmaxf(x.rivals, w.rivals);
        for (int k = 0; k <= g; ++k) x.top.v[k] = fmaxf(x.top.v[k], w.top.v[k]);
        return x;
      });
  r.logit_rank = rv.logit_rank;
  r.gumbel_rank = ratio_y == -kInf ? -1 : rv.gumbel_rank;
  r.margin = fmaxf(kept_y ? 0.0f : sub_rn(d.lb, l_y), rv.rivals);
  // Rival floors F_k = M_k - t_k with M_k the strongest kept z whose removal costs more than t_k.
  float floors[kMaxThresholds];
  float strongest = -kInf;
  for (int k = g - 1; k >= 0; --k) {
    strongest = fmaxf(strongest, rv.top.v[k + 1]);
    floors[k] = sub_rn(strongest, p.thresholds[k]);
  }
  // Column i is admissible from the first threshold both its entry cost and z' allow.
  const Tally<kMaxThresholds + 1> hist = b.reduce(
      [&](int t) {
        Tally<kMaxThresholds + 1> acc{};
        for (std::int64_t i = t; i < V; i += b.threads()) {
          if (l[i] == -kInf) continue;
          const bool kept = f.survives(i);
          const float entry = kept ? 0.0f : sub_rn(d.lb, l[i]);
          if (g == 0 || entry > p.thresholds[g - 1]) {  // beyond every threshold: skip its noise
            ++acc.v[g];
            continue;
          }
          const float zp = z_any(i);
          int by_entry = 0, by_rivals = 0;
          while (by_entry < g && p.thresholds[by_entry] < entry) ++by_entry;
          while (by_rivals < g && floors[by_rivals] > zp) ++by_rivals;
          ++acc.v[by_entry > by_rivals ? by_entry : by_rivals];
        }
        return acc;
      },
      [g](Tally<kMaxThresholds + 1> x, const Tally<kMaxThresholds + 1>& w) {
        for (int k = 0; k <= g; ++k) x.v[k] += w.v[k];
        return x;
      });
  std::int64_t running = 0;
  for (int k = 0; k < g; ++k) r.counts[k] = running += hist.v[k];
  return r;
}

}  // namespace fssl::fused
