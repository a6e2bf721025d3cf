// Detection confidence, audit bounds and capacity planning (detection.h; verification-math.md §8).
// Binomial tails and Clopper-Pearson come from Boost.Math's incomplete beta; the hypergeometric
// tail is summed here because Boost's takes 32-bit sizes and sums the cdf one pdf at a time.
#include "fssl/detection.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/special_functions/erf.hpp>

#include "fssl/alarm.h"
#include "fssl/error.h"

namespace fssl {
namespace {

using Binomial = boost::math::binomial_distribution<double>;

// Integer counts stay exact as doubles up to 2^53; beyond that the tails would be of a different n.
constexpr std::uint64_t kMaxExact = std::uint64_t{1} << 53;

double to_double(std::uint64_t x) { return static_cast<double>(x); }

void check_probability(double x, const char* name) {
  FSSL_CHECK(x >= 0.0 && x <= 1.0, ConfigError, "{} = {} is not a probability in [0, 1]", name, x);
}

void check_confidence(double c) {
  FSSL_CHECK(c > 0.0 && c < 1.0, ConfigError, "confidence = {} must lie strictly between 0 and 1", c);
}

struct Tails {
  double below = 0.0;     // Pr[X < k]
  double at_least = 0.0;  // Pr[X >= k]
};

// Hypergeometric(N, m, n) tails at k. Terms are taken relative to the mode (t_mode = 1) and walked
// outwards by the exact pmf ratio, so no lgamma of 10^9-sized arguments (whose rounding alone is
// ~1e-6 of the log-pmf) and no O(N) memory; the total is summed too, so the truncation error is
// relative. The log-concave pmf falls at least like a Gaussian beyond the mode: both walks stop
// within ~40 standard deviations (<= sqrt(n) / 2 each), where terms underflow.
Tails hypergeometric_tails(std::uint64_t big_n, std::uint64_t m, std::uint64_t n, std::uint64_t k) {
  const std::uint64_t lo = n + m > big_n ? n + m - big_n : 0;
  const std::uint64_t hi = std::min(n, m);
  if (k <= lo) return {0.0, 1.0};
  if (k > hi) return {1.0, 0.0};
  // t(j + 1) / t(j); j >= lo keeps (N - m) - (n - j) from wrapping.
  const auto ratio_up = [&](std::uint64_t j) {
    return (to_double(m - j) / to_double(j + 1)) * (to_double(n - j) / to_double((big_n - m) - (n - j) + 1));
  };
  const double mode_estimate = std::floor((to_double(n) + 1.0) * (to_double(m) + 1.0) / (to_double(big_n) + 2.0));
  const std::uint64_t mode = std::clamp(static_cast<std::uint64_t>(mode_estimate), lo, hi);
  constexpr double kNegligible = 1e-18;
  constexpr double kTiny = std::numeric_limits<double>::min();

  // The side of the mode that holds the requested tail accumulates it; the other side only
  // contributes to the total.
  const bool tail_above = k > mode;
  double total = 1.0, tail = 0.0;
  double term = 1.0;
  for (std::uint64_t j = mode; j < hi;) {
    term *= ratio_up(j);
    ++j;
    total += term;
    if (tail_above && j >= k) tail += term;
    if (term < kTiny || term < kNegligible * (tail_above ? tail : total)) break;
  }
  term = 1.0;
  for (std::uint64_t j = mode; j > lo;) {
    term /= ratio_up(j - 1);
    --j;
    total += term;
    if (!tail_above && j < k) tail += term;
    if (term < kTiny || term < kNegligible * (tail_above ? total : tail)) break;
  }
  if (tail_above) return {(total - tail) / total, tail / total};
  return {tail / total, (total - tail) / total};
}

// Start for samples_needed: k = 1 is the closed form ln(1 - c) / ln(1 - p); otherwise the normal
// approximation n p - z sqrt(n p (1 - p)) = k - 1/2 solved for sqrt(n).
double samples_estimate(double p, double c, std::uint64_t k) {
  if (k == 1 && p < 1.0) return std::ceil(std::log1p(-c) / std::log1p(-p));
  const double z = std::sqrt(2.0) * boost::math::erf_inv(2.0 * c - 1.0);
  const double s = std::sqrt(p * (1.0 - p));
  const double x = (z * s + std::sqrt(z * z * s * s + 4.0 * p * (to_double(k) - 0.5))) / (2.0 * p);
  return std::ceil(x * x);
}

}  // namespace

double binomial_at_least(std::uint64_t n, double p, std::uint64_t k) {
  check_probability(p, "p");
  FSSL_CHECK(n <= kMaxExact, ConfigError, "n = {} exceeds 2^53", n);
  if (k == 0) return 1.0;
  if (k > n) return 0.0;
  // Pr[X > k - 1] through the incomplete beta: accurate in the tail, no coefficients.
  return boost::math::cdf(boost::math::complement(Binomial(to_double(n), p), to_double(k - 1)));
}

std::uint64_t samples_needed(double p, double c, std::uint64_t k) {
  FSSL_CHECK(p > 0.0 && p <= 1.0, ConfigError, "p = {} must lie in (0, 1]", p);
  check_confidence(c);
  if (k == 0) return 0;
  const auto enough = [&](std::uint64_t n) { return binomial_at_least(n, p, k) >= c; };
  // Bracket lo < answer <= hi around the estimate by galloping, then bisect on the exact tail;
  // the estimate is usually within a few samples, so this costs a handful of incomplete betas.
  const double estimate = samples_estimate(p, c, k);
  FSSL_CHECK(estimate < to_double(kMaxExact / 2), ConfigError,
             "catching {} of a fraction {} at confidence {} needs more than 2^52 samples", k, p, c);
  std::uint64_t hi = std::max<std::uint64_t>(k, static_cast<std::uint64_t>(estimate));
  std::uint64_t lo = k - 1;  // Pr[X >= k] = 0 < c with fewer than k samples
  if (enough(hi)) {
    for (std::uint64_t step = 1; step < hi - lo; step *= 2) {
      if (!enough(hi - step)) {
        lo = hi - step;
        break;
      }
      hi -= step;
    }
  } else {
    lo = hi;
    for (std::uint64_t step = 1;; step *= 2) {
      FSSL_CHECK(lo + step <= kMaxExact, ConfigError, "samples_needed({}, {}, {}) exceeds 2^53", p, c, k);
      if (enough(lo + step)) {
        hi = lo + step;
        break;
      }
      lo += step;
    }
  }
  while (hi - lo > 1) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    (enough(mid) ? hi : lo) = mid;
  }
  return hi;
}

double hypergeometric_at_least(std::uint64_t population, std::uint64_t malicious, std::uint64_t sample,
                               std::uint64_t k) {
  FSSL_CHECK(malicious <= population, ConfigError, "malicious = {} exceeds population = {}", malicious, population);
  FSSL_CHECK(sample <= population, ConfigError, "sample = {} exceeds population = {}", sample, population);
  return hypergeometric_tails(population, malicious, sample, k).at_least;
}

double bernoulli_at_least(std::uint64_t malicious, double f, std::uint64_t k) {
  check_probability(f, "f");
  return binomial_at_least(malicious, f, k);
}

double expected_catches_needed(double c) {
  check_confidence(c);
  return -std::log1p(-c);
}

Interval clopper_pearson(std::uint64_t k, std::uint64_t n, double c) {
  check_confidence(c);
  FSSL_CHECK(k <= n, ConfigError, "k = {} successes exceed n = {} trials", k, n);
  FSSL_CHECK(n <= kMaxExact, ConfigError, "n = {} exceeds 2^53", n);
  Interval out;
  if (n == 0) return out;
  const double alpha = (1.0 - c) / 2.0;
  if (k > 0) out.lower = Binomial::find_lower_bound_on_p(to_double(n), to_double(k), alpha);
  if (k < n) out.upper = Binomial::find_upper_bound_on_p(to_double(n), to_double(k), alpha);
  return out;
}

double malicious_fraction_upper(std::uint64_t k, std::uint64_t n, std::optional<std::uint64_t> population, double c) {
  check_confidence(c);
  FSSL_CHECK(k <= n, ConfigError, "k = {} flagged exceeds n = {} sampled", k, n);
  if (n == 0) return 1.0;
  if (!population) {
    FSSL_CHECK(n <= kMaxExact, ConfigError, "n = {} exceeds 2^53", n);
    if (k == n) return 1.0;
    return Binomial::find_upper_bound_on_p(to_double(n), to_double(k), 1.0 - c);
  }
  const std::uint64_t big_n = *population;
  FSSL_CHECK(n <= big_n, ConfigError, "n = {} sampled exceeds the population N = {}", n, big_n);
  // Pr[X <= k | m] falls as m grows: bisect for the last m where it is still >= 1 - c. m = k keeps
  // Pr = 1; above N - (n - k) fewer than n - k clean messages remain and X > k for sure.
  const auto plausible = [&](std::uint64_t m) { return hypergeometric_tails(big_n, m, n, k + 1).below >= 1.0 - c; };
  std::uint64_t lo = k, hi = big_n - (n - k);
  if (plausible(hi)) return to_double(hi) / to_double(big_n);
  while (hi - lo > 1) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    (plausible(mid) ? lo : hi) = mid;
  }
  return to_double(lo) / to_double(big_n);
}

CapacityPlan capacity_plan(const CapacityInputs& in) {
  FSSL_CHECK(in.messages_per_day > 0.0, ConfigError, "messages per day = {} must be positive", in.messages_per_day);
  FSSL_CHECK(in.prompt_tokens >= 0.0 && in.output_tokens >= 0.0, ConfigError,
             "token counts per message ({} prompt, {} output) must be non-negative", in.prompt_tokens, in.output_tokens);
  FSSL_CHECK(in.inference_gpus >= 0.0, ConfigError, "inference GPUs = {} must be non-negative", in.inference_gpus);
  FSSL_CHECK(in.verifier_tokens_per_s > 0.0, ConfigError, "verifier tok/s = {} must be positive",
             in.verifier_tokens_per_s);
  FSSL_CHECK(in.prefill_advantage > 0.0, ConfigError, "prefill advantage = {} must be positive", in.prefill_advantage);
  FSSL_CHECK(in.malicious_fraction > 0.0 && in.malicious_fraction <= 1.0, ConfigError,
             "malicious fraction = {} must lie in (0, 1]", in.malicious_fraction);
  check_confidence(in.confidence);
  CapacityPlan plan;
  if (in.sampling_fraction) {
    const double f = *in.sampling_fraction;
    FSSL_CHECK(f > 0.0 && f <= 1.0, ConfigError, "sampling fraction = {} must lie in (0, 1]", f);
    plan.samples_per_day = static_cast<std::uint64_t>(std::llround(f * in.messages_per_day));
    plan.sampling_fraction = f;
  } else {
    plan.samples_per_day = in.alarm ? samples_needed_alarm(in.alarm->p0, in.alarm->detection, in.malicious_fraction,
                                                           in.alarm->alpha, in.confidence)
                                    : samples_needed(in.malicious_fraction, in.confidence, in.catches);
    plan.sampling_fraction = to_double(plan.samples_per_day) / in.messages_per_day;
    // Verifying more than a day's traffic is no plan; the caller can ask what f = 1 achieves.
    FSSL_CHECK(plan.sampling_fraction <= 1.0, ConfigError,
               "{} samples a day are needed but only {} messages arrive; fix the sampling fraction at 1 to see "
               "the confidence a full audit reaches",
               plan.samples_per_day, in.messages_per_day);
  }
  plan.tokens_per_day = to_double(plan.samples_per_day) * (in.prompt_tokens + in.output_tokens);
  plan.verifier_gpus = plan.tokens_per_day / (86400.0 * in.verifier_tokens_per_s);
  plan.verifier_ratio_gpus = plan.sampling_fraction / in.prefill_advantage * in.inference_gpus;
  plan.expected_catches = plan.sampling_fraction * in.malicious_fraction * in.messages_per_day *
                          (in.alarm ? in.alarm->detection : 1.0);
  plan.catch_probability = in.alarm ? alarm_power(plan.samples_per_day, in.alarm->p0, in.alarm->detection,
                                                  in.malicious_fraction, in.alarm->alpha)
                                    : binomial_at_least(plan.samples_per_day, in.malicious_fraction, in.catches);
  return plan;
}

double exfiltration_days(double secret_bytes, double traffic_bytes_per_day, double info_fraction) {
  FSSL_CHECK(secret_bytes >= 0.0, ConfigError, "secret bytes = {} must be non-negative", secret_bytes);
  FSSL_CHECK(traffic_bytes_per_day > 0.0, ConfigError, "traffic bytes per day = {} must be positive",
             traffic_bytes_per_day);
  FSSL_CHECK(info_fraction > 0.0 && info_fraction <= 1.0, ConfigError, "information fraction = {} must lie in (0, 1]",
             info_fraction);
  return secret_bytes / (traffic_bytes_per_day * info_fraction);
}

}  // namespace fssl
