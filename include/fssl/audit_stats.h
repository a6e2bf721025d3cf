// The audit's additive per-token statistics, reduced from every group to the coordinator. Every
// field is an integer — counts, and bit totals in fixed point (2^-20 bit units, |error| <= 2^-21
// bit per token) — so merging is exact and associative: the reduction gives identical results
// for any rank count, group count or arrival order.
//
// Per token of a Gumbel-max message (scoring.h): exact matches; tiers; tokens whose margin
// exceeds each admissible-grid threshold; a margin histogram on fixed edges; bits charged by the
// three-tier classifier (sum of ScoreBatch::bits); and, per grid threshold delta_j, the bits the
// admissible sets allow, sum log2 |A_t(delta_j)| (the extractable-information bound's input).
// Per message: counts of messages, and of messages with at least one non-safe token.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "fssl/scoring_types.h"

namespace fssl {
struct TokenScores;
}

namespace fssl {

class AuditStats {
 public:
  static constexpr double kBitUnit = 1.0 / (1 << 20);

  explicit AuditStats(const ScoreConfig& config);

  // One message's token scores (all rows one message); admissible widths must match the grid.
  void add_message(const TokenScores& scores);
  // Exact, associative and commutative. ConfigError if the grids differ.
  void merge(const AuditStats& other);

  // Flat int64 words (for MPI) and back; the config must match the sender's.
  std::vector<std::int64_t> to_words() const;
  static AuditStats from_words(const ScoreConfig& config, const std::vector<std::int64_t>& words);

  // The margin histogram's upper bin edges (last: +inf).
  const std::vector<double>& margin_edges() const { return edges_; }

  std::int64_t messages = 0, flagged_messages = 0, tokens = 0, exact = 0;
  std::array<std::int64_t, 3> tiers{};                // safe, suspicious, dangerous
  std::vector<std::int64_t> margin_over;              // per grid threshold: tokens with margin > t_j
  std::vector<std::int64_t> margin_histogram;         // per bin of margin_edges()
  std::int64_t charged_bits_fixed = 0;                // sum of tier bits, in kBitUnit
  std::vector<std::int64_t> allowed_bits_fixed;       // per grid threshold, in kBitUnit

  double charged_bits() const { return static_cast<double>(charged_bits_fixed) * kBitUnit; }
  double allowed_bits(std::size_t j) const { return static_cast<double>(allowed_bits_fixed[j]) * kBitUnit; }

 private:
  std::vector<double> grid_, edges_;
};

}  // namespace fssl
