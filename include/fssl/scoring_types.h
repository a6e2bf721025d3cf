// The scoring configuration and token tiers as plain values, without libtorch: the coordinator
// side (statistics, reports, the audit's identity) reads them, the scorers (scoring.h,
// scoring_ipt.h) compute with them. What each field means is stated where it is used: the
// margin grid and three-tier classifier in scoring.h, the IPT distances in scoring_ipt.h.
// Nothing here is collective; all types are values.
#pragma once
#include <cstdint>
#include <vector>

namespace fssl {

// Gumbel-max profiles (scoring.h).
struct ScoreConfig {
  std::vector<double> sigmas = {0.01, 0.1, 1.0};               // GM-LS noise scales (raw-logit units)
  std::vector<double> margin_grid = {0.0, 0.1, 0.5, 1.0, 2.0, 5.0};  // admissible-set thresholds
  double margin_threshold = 1.0;                               // tau_Delta of the three-tier class
  std::int64_t rank_cutoff = 32;                               // R
};

// The widest margin a ScoreConfig scores (its largest grid value or tier threshold): columns whose
// entry cost exceeds it are never admissible (SGLang's rank-keyed noise needs exact ranks only
// within it, sampler_sort_ranks).
inline double score_widest_margin(const ScoreConfig& c) {
  double widest = c.margin_threshold;
  for (double t : c.margin_grid) widest = t > widest ? t : widest;
  return widest;
}

// Inverse-CDF profiles (scoring_ipt.h).
struct IptConfig {
  std::vector<double> sigmas = {0.001, 0.01, 0.1};              // jitter of u, probability units
  std::vector<double> distance_grid = {0.0, 0.001, 0.01, 0.05};  // admissible-set distances
  double distance_threshold = 0.01;
  std::int64_t rank_cutoff = 32;
};

// The three-tier classifier of every scored token (verification-math.md §6): safe (margin within
// the threshold), suspicious (rank within the cutoff), dangerous (neither).
enum class TokenTier : std::uint8_t { kSafe = 0, kSuspicious = 1, kDangerous = 2 };

}  // namespace fssl
