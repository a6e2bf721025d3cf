// Alarm control at the level of messages and audits (verification-math.md §14; docs/audit.md
// "Alarms"). Token-level calibration bounds information; operators act on messages and audits,
// so fssl decides there, with a stated false-alarm probability:
//
//   message   evidence S(m) = sum of its tokens' margins (logits for Gumbel-max, probability
//             distance for inverse-CDF); flagged when S(m) > t, t calibrated on N_c honest
//             messages for a target message FPR f*, or when a token no benign noise explains
//             ("impossible": dangerous even at the widest threshold of the grid).
//   audit     n scored, k flagged: alarm iff k > q_alpha = min{q : P[Binomial(n, p0) > q] <= alpha},
//             p0 = the calibration's Clopper-Pearson upper bound on the honest flag rate.
//   strata    p_s = P[Binomial(n_s, p0) >= k_s]; Holm's step-down over the fleet and its strata
//             (weighted: the fleet half of alpha, the strata the other half), so the whole audit
//             raises a false alarm with probability <= alpha.
//   power     an adversary on a share pi of the traffic whose messages are flagged with
//             probability d: k ~ Binomial(n, pi d + (1 - pi) p0), power = P[k > q_alpha].
//
// Why the sum of margins (measured, docs/audit.md "Why this statistic"): on bf16-served honest
// traffic against top-k and admissible-set steganography it had the highest ROC AUC of the
// candidates (count of dangerous tokens, of non-safe tokens, largest margin, sum of GM-LS), tied
// with the GM-LS sum, which needs a sigma; the dangerous-token count is blind to both adversaries.
//
// Pure functions: no MPI, no I/O. ConfigError names an argument outside its domain.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fssl {

struct TokenScores;  // results.h

// ---- Message level -----------------------------------------------------------------------------

// S(m): the sum of the message's finite token margins (an infinite margin is an impossible token,
// counted by impossible_tokens instead).
double message_evidence(const TokenScores& tokens);

// Tokens no benign noise explains: margin above `widest_threshold` (the grid's largest) and raw
// logit rank beyond `rank_cutoff`, or an infinite margin.
std::uint64_t impossible_tokens(const TokenScores& tokens, double widest_threshold, std::int64_t rank_cutoff);

// The message threshold of a calibration (verification-math.md §14). The threshold is the
// (k* + 1)-th largest honest value, k* = the most exceedances whose one-sided Clopper-Pearson
// upper bound at `confidence` stays <= the target: a fixed order statistic, so a new honest
// message exceeds it with a probability whose `confidence` quantile is exactly that bound
// (Beta(k* + 1, N - k*)). When no k qualifies (N < ln(1 / (1 - confidence)) / target, the rule
// of three), the largest honest value is the threshold and `certified` is false.
struct MessageThreshold {
  double threshold = 0.0;          // flag S(m) > threshold
  double target = 0.0;             // f*, a fraction
  double confidence = 0.95;        // of p0_upper
  std::uint64_t messages = 0;      // N_c
  std::uint64_t exceeding = 0;     // honest messages above the threshold
  std::int64_t order_k = -1;       // k*; -1 when not certified
  double p0 = 0.0;                 // exceeding / N_c
  double p0_upper = 1.0;           // the honest flag rate's upper bound the audits use
  bool certified = false;          // p0_upper <= target
  std::uint64_t messages_needed = 0;  // the smallest N_c that certifies the target
};
MessageThreshold message_threshold(std::vector<double> honest, double target, double confidence);

// ---- Audit level ---------------------------------------------------------------------------------

// q_alpha: the smallest q with P[Binomial(n, p0) > q] <= alpha.
std::uint64_t alarm_quantile(std::uint64_t n, double p0, double alpha);

// Holm's step-down with weights (weights > 0, any total): repeatedly take the remaining hypothesis
// of least p / w and reject it while p <= alpha * w / (sum of the remaining weights). Equal weights
// give Holm's procedure; the family-wise error rate is <= alpha. Returns which are rejected.
std::vector<bool> weighted_holm(const std::vector<double>& p_values, const std::vector<double>& weights, double alpha);

// ---- Power -----------------------------------------------------------------------------------------

// P[alarm] for an audit of n messages when a share `share` of the traffic is an adversary's whose
// messages are flagged with probability `detection` and the rest honest at p0.
double alarm_power(std::uint64_t n, double p0, double detection, double share, double alpha);

// The smallest share an audit of n detects with probability >= `power` (bisection to 1e-9);
// nullopt when even share 1 does not (detection <= p0, or n too small).
std::optional<double> min_detectable_share(std::uint64_t n, double p0, double detection, double alpha, double power);

// The smallest audit size n (found by doubling, then bisection: power is not monotone in n by a
// few messages because q_alpha steps) with alarm_power >= `power`. p0 = 0 and detection = 1 give
// samples_needed(share, power, 1) of detection.h. ConfigError when n would exceed 2^53.
std::uint64_t samples_needed_alarm(double p0, double detection, double share, double alpha, double power);

// ---- ROC of a message statistic ---------------------------------------------------------------------

// P[S_adversarial > S_honest] + P[=] / 2 (the Mann-Whitney form); +inf values allowed.
double roc_auc(std::vector<double> honest, std::vector<double> adversarial);

struct RocPoint {
  double threshold = 0.0, false_positive = 0.0, true_positive = 0.0;  // rule S > threshold
};
// The curve at every distinct value (and below the least), thinned to at most `max_points`.
std::vector<RocPoint> roc_curve(std::vector<double> honest, std::vector<double> adversarial, std::size_t max_points);

}  // namespace fssl
