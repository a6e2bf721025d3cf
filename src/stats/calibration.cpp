// The FPR vs extractable-information frontier (calibration.h).
#include "fssl/calibration.h"
#include "fssl/results.h"

#include <algorithm>
#include <cmath>

#include "fssl/error.h"

namespace fssl {

Calibration calibrate(const std::vector<const TokenScores*>& messages, const std::vector<double>& grid,
                      double log2_vocab, const CalibrationOptions& o) {
  FSSL_CHECK(!grid.empty() && !o.rank_cutoffs.empty(), ConfigError, "calibrate: empty threshold grid or rank list");
  Calibration out;
  out.log2_vocab = log2_vocab;
  const std::size_t g = grid.size(), nr = o.rank_cutoffs.size();
  // Per (threshold, R): dangerous and suspicious counts and charged bits, one pass over tokens.
  std::vector<std::uint64_t> dangerous(g * nr, 0), suspicious(g * nr, 0);
  std::vector<double> bits(g * nr, 0.0);
  for (const TokenScores* m : messages) {
    const std::size_t n = m->size();
    FSSL_CHECK(m->admissible.size() == n * g, ConfigError,
               "calibrate: {} admissible-set sizes for {} tokens and a grid of {}", m->admissible.size(), n, g);
    out.tokens += n;
    for (std::size_t t = 0; t < n; ++t) {
      const double margin = m->margin[t];
      for (std::size_t j = 0; j < g; ++j) {
        const bool safe = margin <= grid[j];
        const double safe_bits = std::log2(static_cast<double>(std::max<std::int64_t>(m->admissible[t * g + j], 1)));
        for (std::size_t r = 0; r < nr; ++r) {
          const std::size_t k = j * nr + r;
          if (safe) {
            bits[k] += safe_bits;
          } else if (m->logit_rank[t] <= o.rank_cutoffs[r]) {
            ++suspicious[k];
            bits[k] += std::log2(static_cast<double>(o.rank_cutoffs[r] + 1));
          } else {
            ++dangerous[k];
            bits[k] += log2_vocab;
          }
        }
      }
    }
  }
  if (out.tokens == 0) return out;
  const double n = static_cast<double>(out.tokens);
  for (std::size_t j = 0; j < g; ++j) {
    for (std::size_t r = 0; r < nr; ++r) {
      const std::size_t k = j * nr + r;
      FrontierPoint p;
      p.threshold = grid[j];
      p.rank_cutoff = o.rank_cutoffs[r];
      p.fpr_percent = 100.0 * static_cast<double>(dangerous[k]) / n;
      p.suspicious_percent = 100.0 * static_cast<double>(suspicious[k]) / n;
      p.info_percent = log2_vocab > 0 ? 100.0 * bits[k] / (n * log2_vocab) : 0.0;
      p.kept = p.suspicious_percent <= o.max_suspicious_percent;
      out.points.push_back(p);
    }
  }
  for (std::size_t a = 0; a < out.points.size(); ++a) {
    FrontierPoint& p = out.points[a];
    if (!p.kept) continue;
    // Dominated, or the same point as an earlier one (a smaller R or threshold reaching it first).
    bool beaten = false;
    for (std::size_t b = 0; b < out.points.size() && !beaten; ++b) {
      const FrontierPoint& q = out.points[b];
      const bool same = q.fpr_percent == p.fpr_percent && q.info_percent == p.info_percent;
      beaten = q.kept && q.fpr_percent <= p.fpr_percent && q.info_percent <= p.info_percent && (!same || b < a);
    }
    p.on_frontier = !beaten;
  }
  for (const FrontierPoint& p : out.points) {
    if (!p.on_frontier || p.fpr_percent > o.target_fpr_percent) continue;
    if (!out.chosen || p.info_percent < out.chosen->info_percent ||
        (p.info_percent == out.chosen->info_percent && p.fpr_percent < out.chosen->fpr_percent)) {
      out.chosen = p;
    }
  }
  return out;
}

}  // namespace fssl
