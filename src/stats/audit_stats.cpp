// Exact, order-free audit statistics (audit_stats.h).
#include "fssl/audit_stats.h"

#include <cmath>
#include <limits>

#include "fssl/results.h"
#include "fssl/error.h"

namespace fssl {
namespace {

std::int64_t to_fixed(double bits) { return std::llround(bits / AuditStats::kBitUnit); }

// Fixed edges: 0 (exact winner), then 1e-4 .. 1e2 logits at 4 per decade, then +inf.
std::vector<double> histogram_edges() {
  std::vector<double> edges{0.0};
  for (int k = -16; k <= 8; ++k) edges.push_back(std::pow(10.0, k / 4.0));
  edges.push_back(std::numeric_limits<double>::infinity());
  return edges;
}

}  // namespace

AuditStats::AuditStats(const ScoreConfig& config)
    : margin_over(config.margin_grid.size(), 0),
      allowed_bits_fixed(config.margin_grid.size(), 0),
      grid_(config.margin_grid),
      edges_(histogram_edges()) {
  margin_histogram.assign(edges_.size(), 0);
}


void AuditStats::add_message(const TokenScores& s) {
  const auto n = static_cast<std::int64_t>(s.size());
  const auto g = static_cast<std::int64_t>(grid_.size());
  FSSL_CHECK(s.admissible.size() == static_cast<std::size_t>(n * g), ConfigError,
             "audit statistics: {} admissible-set sizes for {} tokens and a grid of {}", s.admissible.size(), n, g);
  bool flagged = false;
  for (std::int64_t r = 0; r < n; ++r) {
    const auto row = static_cast<std::size_t>(r);
    const double m = s.margin[row];
    const std::uint8_t tier = s.tier[row];
    FSSL_CHECK(tier < tiers.size(), ConfigError, "audit statistics: token tier {} out of range", tier);
    exact += s.exact[row] ? 1 : 0;
    tiers[tier] += 1;
    flagged = flagged || tier != 0;
    for (std::int64_t j = 0; j < g; ++j) {
      const auto jj = static_cast<std::size_t>(j);
      margin_over[jj] += m > grid_[jj] ? 1 : 0;
      const double set = static_cast<double>(std::max<std::int64_t>(s.admissible[row * grid_.size() + jj], 1));
      allowed_bits_fixed[jj] += to_fixed(std::log2(set));
    }
    std::size_t bin = 0;
    while (bin + 1 < edges_.size() && !(m <= edges_[bin])) ++bin;  // first edge >= m; NaN: the last bin
    margin_histogram[bin] += 1;
    charged_bits_fixed += to_fixed(s.bits[row]);
  }
  tokens += n;
  messages += 1;
  flagged_messages += flagged ? 1 : 0;
}

void AuditStats::merge(const AuditStats& o) {
  FSSL_CHECK(o.grid_ == grid_, ConfigError, "audit statistics: merging different margin grids");
  messages += o.messages;
  flagged_messages += o.flagged_messages;
  tokens += o.tokens;
  exact += o.exact;
  for (std::size_t k = 0; k < tiers.size(); ++k) tiers[k] += o.tiers[k];
  for (std::size_t j = 0; j < grid_.size(); ++j) {
    margin_over[j] += o.margin_over[j];
    allowed_bits_fixed[j] += o.allowed_bits_fixed[j];
  }
  for (std::size_t b = 0; b < edges_.size(); ++b) margin_histogram[b] += o.margin_histogram[b];
  charged_bits_fixed += o.charged_bits_fixed;
}

std::vector<std::int64_t> AuditStats::to_words() const {
  std::vector<std::int64_t> w{messages, flagged_messages, tokens, exact, tiers[0], tiers[1], tiers[2], charged_bits_fixed};
  w.insert(w.end(), margin_over.begin(), margin_over.end());
  w.insert(w.end(), allowed_bits_fixed.begin(), allowed_bits_fixed.end());
  w.insert(w.end(), margin_histogram.begin(), margin_histogram.end());
  return w;
}

AuditStats AuditStats::from_words(const ScoreConfig& config, const std::vector<std::int64_t>& w) {
  AuditStats s(config);
  const std::size_t g = s.grid_.size(), bins = s.edges_.size();
  FSSL_CHECK(w.size() == 8 + 2 * g + bins, CommError, "audit statistics: {} words, expected {}", w.size(),
             8 + 2 * g + bins);
  s.messages = w[0];
  s.flagged_messages = w[1];
  s.tokens = w[2];
  s.exact = w[3];
  s.tiers = {w[4], w[5], w[6]};
  s.charged_bits_fixed = w[7];
  std::copy(w.begin() + 8, w.begin() + 8 + static_cast<std::ptrdiff_t>(g), s.margin_over.begin());
  std::copy(w.begin() + 8 + static_cast<std::ptrdiff_t>(g), w.begin() + 8 + static_cast<std::ptrdiff_t>(2 * g),
            s.allowed_bits_fixed.begin());
  std::copy(w.begin() + 8 + static_cast<std::ptrdiff_t>(2 * g), w.end(), s.margin_histogram.begin());
  return s;
}

}  // namespace fssl
