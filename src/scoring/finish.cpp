// Admissible sets, GM-LS, tiers and bits from margins and counts (scoring/finish.h).
#include "scoring/finish.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fssl {

ThresholdOrder threshold_order(const ScoreConfig& config) {
  std::vector<double> configured = config.margin_grid;
  configured.push_back(config.margin_threshold);
  std::vector<std::size_t> order(configured.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return configured[a] < configured[b]; });
  ThresholdOrder out;
  out.position.resize(configured.size());
  for (std::size_t j = 0; j < order.size(); ++j) {
    out.ascending.push_back(configured[order[j]]);
    out.position[order[j]] = static_cast<std::int64_t>(j);
  }
  return out;
}

void finish_scores(ScoreBatch& out, const at::Tensor& ascending_counts, const ThresholdOrder& order,
                   const ScoreConfig& config, std::int64_t vocab_size) {
  const std::int64_t n = out.margin.size(0), grid = static_cast<std::int64_t>(config.margin_grid.size());
  out.admissible = ascending_counts.index_select(1, at::tensor(std::vector<std::int64_t>(
                                                        order.position.begin(), order.position.begin() + grid)))
                       .contiguous();
  const at::Tensor threshold_set = ascending_counts.select(1, order.position[static_cast<std::size_t>(grid)]).contiguous();
  out.gmls = at::empty({n, static_cast<std::int64_t>(config.sigmas.size())}, at::kFloat);
  out.tier = at::empty({n}, at::kByte);
  out.bits = at::empty({n}, at::kDouble);
  const float* m = out.margin.data_ptr<float>();
  const std::int64_t* rank = out.logit_rank.data_ptr<std::int64_t>();
  const std::int64_t* a = threshold_set.data_ptr<std::int64_t>();
  float* gmls = out.gmls.data_ptr<float>();
  std::uint8_t* tier = out.tier.data_ptr<std::uint8_t>();
  double* bits = out.bits.data_ptr<double>();
  const std::size_t n_sigmas = config.sigmas.size();
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::size_t s = 0; s < n_sigmas; ++s) {
      const double x = -static_cast<double>(m[r]) / (std::sqrt(2.0) * config.sigmas[s]);
      gmls[static_cast<std::size_t>(r) * n_sigmas + s] = static_cast<float>(std::isinf(x) ? -INFINITY : log_ndtr(x));
    }
    if (static_cast<double>(m[r]) <= config.margin_threshold) {
      tier[r] = static_cast<std::uint8_t>(TokenTier::kSafe);
      bits[r] = std::log2(static_cast<double>(std::max<std::int64_t>(a[r], 1)));
    } else if (rank[r] <= config.rank_cutoff) {
      tier[r] = static_cast<std::uint8_t>(TokenTier::kSuspicious);
      bits[r] = std::log2(static_cast<double>(config.rank_cutoff + 1));
    } else {
      tier[r] = static_cast<std::uint8_t>(TokenTier::kDangerous);
      bits[r] = std::log2(static_cast<double>(vocab_size));
    }
  }
}

}  // namespace fssl
