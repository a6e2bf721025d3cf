// The per-token tail of Gumbel-max scoring shared by score_gumbel_rows (scoring/gumbel.cpp) and
// the fused scorer (scoring/fused_host.cpp, the CUDA path): thresholds in ascending order for one
// counting pass, then admissible sets, GM-LS, tiers and bits from margins, ranks and counts.
// Private to src/.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "fssl/scoring.h"

namespace fssl {

// The configured thresholds (margin grid..., then the tier threshold) sorted ascending, and where
// each configured threshold j sits in that order: ascending[position[j]] == configured[j].
struct ThresholdOrder {
  std::vector<double> ascending;
  std::vector<std::int64_t> position;
};
ThresholdOrder threshold_order(const ScoreConfig& config);

// From out.margin and out.logit_rank, and counts [n, g] of admissible columns per ascending
// threshold: sets out.admissible (configured grid order), out.gmls, out.tier and out.bits.
void finish_scores(ScoreBatch& out, const at::Tensor& ascending_counts, const ThresholdOrder& order,
                   const ScoreConfig& config, std::int64_t vocab_size);

}  // namespace fssl
