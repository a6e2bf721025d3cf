// Detection confidence of sampled verification and the numbers capacity planning derives from it
// (verification-math.md §8; hpc-and-anchors.md "Capacity planning"). Pure functions: no MPI, no
// I/O. Binomial tails and Clopper-Pearson use Boost.Math's incomplete beta; hypergeometric tails
// are summed from the mode outwards by exact pmf ratios (Boost's takes 32-bit sizes), never by
// multiplying raw binomial coefficients. Binomial trial counts are limited to 2^53 (exact in a
// double). Every function throws ConfigError (naming the argument) for arguments outside its domain.
#pragma once
#include <cstdint>
#include <optional>

namespace fssl {

// ---- Binomial (fraction p malicious, n messages sampled independently) --------------------

// Pr[X >= k], X ~ Binomial(n, p).
double binomial_at_least(std::uint64_t n, double p, std::uint64_t k);
// The smallest n with Pr[X >= k] >= c, X ~ Binomial(n, p) (§8.1: 459 for p = 1 %, c = 99 %, k = 1;
// 12,460 for k = 100).
std::uint64_t samples_needed(double p, double c, std::uint64_t k);

// ---- Urn (N messages, m malicious, a uniform n-subset) -------------------------------------

// Pr[X >= k], X ~ Hypergeometric(N, m, n). O(1) memory, O(sd) time with sd = sqrt(Var X) <= sqrt(n) / 2
// (N = 10^9: about a millisecond; n = 10^17: about 10 s).
double hypergeometric_at_least(std::uint64_t population, std::uint64_t malicious, std::uint64_t sample,
                               std::uint64_t k);
// Bernoulli sampling with probability f: Pr[>= k of m malicious messages sampled].
double bernoulli_at_least(std::uint64_t malicious, double f, std::uint64_t k);
// k = 1 with Bernoulli sampling: the smallest f * m with Pr[caught] >= c, i.e. ln(1 / (1 - c))
// (§8.2: 4.61 at 99 %, 13.8 at 99.9999 %).
double expected_catches_needed(double c);

// ---- Bounds from an audit's sample -----------------------------------------------------------

struct Interval {
  double lower = 0.0, upper = 1.0;
};

// Two-sided Clopper-Pearson interval for a proportion with k successes in n trials at
// confidence c (each tail (1 - c) / 2). n = 0 gives [0, 1].
Interval clopper_pearson(std::uint64_t k, std::uint64_t n, double c);

// One-sided upper confidence bound on the malicious *fraction* of a population of N messages
// when k of a uniform sample of n were flagged: the largest m / N such that
// Pr[X <= k | N, m, n] >= 1 - c (hypergeometric, exact); with N unknown (nullopt) the binomial
// (Clopper-Pearson one-sided) bound. k = 0 gives the rule-of-three style bound (~3 / n at 95 %).
// n = 0 gives 1. With N, the result is a multiple of 1 / N, found by bisection on m.
double malicious_fraction_upper(std::uint64_t k, std::uint64_t n, std::optional<std::uint64_t> population, double c);

// ---- Capacity planning ---------------------------------------------------------------------

// A calibrated alarm rule (alarm.h): honest messages flagged at p0 (its upper bound), malicious
// ones at `detection`, audits alarming at probability alpha. With it, capacity planning asks for
// the audit size that alarms with probability >= c (samples_needed_alarm), not for k catches of
// messages every one of which is assumed caught.
struct CalibratedAlarm {
  double p0 = 0.0, detection = 1.0, alpha = 0.01;
};

struct CapacityInputs {
  double messages_per_day = 0.0;       // fleet traffic
  double prompt_tokens = 0.0;          // mean per message
  double output_tokens = 0.0;          // mean per message
  double inference_gpus = 0.0;         // fleet size (for the ratio)
  double verifier_tokens_per_s = 0.0;  // measured prefill+score throughput per verifier GPU (prompt + output tokens)
  double confidence = 0.99;            // c
  double malicious_fraction = 0.01;    // smallest fraction p of messages to detect
  std::uint64_t catches = 1;           // k: messages to catch at least
  double prefill_advantage = 10.0;     // s: generation cost / verification cost per message
  std::optional<double> sampling_fraction;  // fix f instead of deriving it
  std::optional<CalibratedAlarm> alarm;     // calibrated: n from the alarm's power, catches unused
};

struct CapacityPlan {
  std::uint64_t samples_per_day = 0;   // n = samples_needed(p, c, k) (or round(f * messages/day) when f is fixed)
  double sampling_fraction = 0.0;      // f = n / messages per day
  double tokens_per_day = 0.0;         // prompt + output tokens to verify per day
  double verifier_gpus = 0.0;          // tokens_per_day / (86400 * verifier_tokens_per_s)
  double verifier_ratio_gpus = 0.0;    // f / s * inference GPUs (the coarse ratio form, §8.3)
  double expected_catches = 0.0;       // f * p * messages per day
  double catch_probability = 0.0;      // Pr[>= k caught in a day] = binomial_at_least(n, p, k); calibrated:
                                       // Pr[the day's audit alarms] = alarm_power(n, p0, d, p, alpha)
};

// Throws ConfigError when the derived n exceeds messages per day (fix sampling_fraction = 1 to see
// what a full audit reaches).
CapacityPlan capacity_plan(const CapacityInputs& in);

// Days to move `secret_bytes` through `traffic_bytes_per_day` of output at `info_fraction` of
// its raw capacity (1 = everything, the baseline); the paper's 1 TB model over 1 TB/day: 1 day at
// 100 %, 200 days at 0.5 %.
double exfiltration_days(double secret_bytes, double traffic_bytes_per_day, double info_fraction);

}  // namespace fssl
