// Calibration on honest traffic (verification-math.md §7.3-§7.4): sweep the margin threshold
// over the scorer's admissible grid and the rank cutoff R over a list, and for each operating
// point (delta, R) classify every token with the three-tier classifier:
//   safe        margin <= delta            charged log2 |A(delta)| bits
//   suspicious  margin > delta, rank <= R  charged log2 (R + 1) bits (conservative, §6)
//   dangerous   otherwise                  charged log2 V bits
// FPR% = 100 x dangerous / N, Info% = 100 x sum bits / (N log2 V). Points with more than
// `max_suspicious_percent` suspicious tokens are dropped (the paper's 0.5 %); the frontier keeps
// the points no other point dominates (<= in both, < in one). The operating point for a target
// FPR is the frontier point of least Info% whose FPR% <= target.
// Pure functions over token columns; no MPI.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fssl {

struct TokenScores;  // results.h

struct CalibrationOptions {
  double target_fpr_percent = 0.01;                   // the paper's headline 0.01 % of tokens
  std::vector<std::int64_t> rank_cutoffs = {1, 4, 8, 16, 32};
  double max_suspicious_percent = 0.5;
  // Message level (alarm.h): the target message FPR f*, and adversarial archives with ground truth
  // (fssl simulate --adversary) audited at the calibrated point for power and ROC curves.
  double target_message_fpr_percent = 1.0;
  std::vector<std::string> adversarial_archives;
  std::uint64_t power_messages = 25000;               // the audit size the smallest detected share is stated for
};

struct FrontierPoint {
  double threshold = 0.0;        // delta (margin in logits; distance for inverse-CDF)
  std::int64_t rank_cutoff = 0;  // R
  double fpr_percent = 0.0, info_percent = 0.0, suspicious_percent = 0.0;
  bool kept = false;             // suspicious share within the limit
  bool on_frontier = false;
};

struct Calibration {
  std::uint64_t tokens = 0;
  double log2_vocab = 0.0;
  std::vector<FrontierPoint> points;     // grid-major: every threshold x every R
  std::optional<FrontierPoint> chosen;   // none: no kept point meets the target
};

// `messages`: scored token columns of one sampler family; `grid`: the thresholds their admissible
// columns were counted at. ConfigError if a message's admissible width differs from the grid's.
Calibration calibrate(const std::vector<const TokenScores*>& messages, const std::vector<double>& grid,
                      double log2_vocab, const CalibrationOptions& options);

}  // namespace fssl
