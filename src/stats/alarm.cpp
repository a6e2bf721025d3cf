// Message- and audit-level alarm control (alarm.h; verification-math.md §14). Binomial tails and
// Clopper-Pearson bounds come from detection.h (Boost.Math's incomplete beta).
#include "fssl/alarm.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <numeric>

#include "fssl/detection.h"
#include "fssl/error.h"
#include "fssl/results.h"

namespace fssl {
namespace {

constexpr std::uint64_t kMaxExact = std::uint64_t{1} << 53;

void check_fraction(double x, const char* name, bool open_below) {
  FSSL_CHECK(std::isfinite(x) && (open_below ? x > 0.0 : x >= 0.0) && x <= 1.0, ConfigError,
             "{} = {} must lie in {}0, 1]", name, x, open_below ? "(" : "[");
}

// One-sided upper bound on a binomial proportion (detection.h's binomial form).
double cp_upper(std::uint64_t k, std::uint64_t n, double confidence) {
  return malicious_fraction_upper(k, n, std::nullopt, confidence);
}

}  // namespace

double message_evidence(const TokenScores& tokens) {
  double sum = 0.0;
  for (float m : tokens.margin) {
    if (std::isfinite(m) && m > 0.0f) sum += static_cast<double>(m);
  }
  return sum;
}

std::uint64_t impossible_tokens(const TokenScores& tokens, double widest_threshold, std::int64_t rank_cutoff) {
  std::uint64_t n = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const double m = tokens.margin[t];
    n += std::isinf(m) || (m > widest_threshold && tokens.logit_rank[t] > rank_cutoff) ? 1 : 0;
  }
  return n;
}

MessageThreshold message_threshold(std::vector<double> honest, double target, double confidence) {
  check_fraction(target, "target message FPR", true);
  FSSL_CHECK(confidence > 0.0 && confidence < 1.0, ConfigError, "confidence = {} must lie in (0, 1)", confidence);
  MessageThreshold out;
  out.target = target;
  out.confidence = confidence;
  out.messages = honest.size();
  // Rule of three: with no exceedance the bound is 1 - (1 - c)^(1/N) <= f* iff N >= ln(1/(1-c)) / -ln(1-f*).
  out.messages_needed =
      static_cast<std::uint64_t>(std::ceil(std::log(1.0 - confidence) / std::log1p(-target) - 1e-9));
  if (honest.empty()) return out;
  std::sort(honest.begin(), honest.end(), std::greater<>());
  // k* grows with N; CP upper(k) grows with k: walk k up while it certifies.
  std::int64_t k = -1;
  while (static_cast<std::uint64_t>(k + 1) < honest.size() &&
         cp_upper(static_cast<std::uint64_t>(k + 1), honest.size(), confidence) <= target) {
    ++k;
  }
  out.order_k = k;
  out.certified = k >= 0;
  out.threshold = honest[static_cast<std::size_t>(std::max<std::int64_t>(k, 0))];
  out.exceeding = static_cast<std::uint64_t>(
      std::count_if(honest.begin(), honest.end(), [&](double v) { return v > out.threshold; }));
  out.p0 = static_cast<double>(out.exceeding) / static_cast<double>(honest.size());
  out.p0_upper = cp_upper(static_cast<std::uint64_t>(std::max<std::int64_t>(k, 0)), honest.size(), confidence);
  return out;
}

std::uint64_t alarm_quantile(std::uint64_t n, double p0, double alpha) {
  check_fraction(p0, "p0", false);
  check_fraction(alpha, "alarm probability", true);
  FSSL_CHECK(n <= kMaxExact, ConfigError, "n = {} exceeds 2^53", n);
  // P[X > q] = P[X >= q + 1] falls with q; q = n always qualifies.
  std::uint64_t lo = 0, hi = n;
  if (binomial_at_least(n, p0, 1) <= alpha) return 0;
  while (hi - lo > 1) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    (binomial_at_least(n, p0, mid + 1) <= alpha ? hi : lo) = mid;
  }
  return hi;
}

std::vector<bool> weighted_holm(const std::vector<double>& p, const std::vector<double>& w, double alpha) {
  FSSL_CHECK(p.size() == w.size(), ConfigError, "weighted_holm: {} p-values and {} weights", p.size(), w.size());
  for (double x : w) FSSL_CHECK(x > 0.0 && std::isfinite(x), ConfigError, "weighted_holm: weight {} is not positive", x);
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  // The order of p / w is fixed while hypotheses are removed, so one sort serves every step.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] * w[b] < p[b] * w[a]; });
  double remaining = std::accumulate(w.begin(), w.end(), 0.0);
  std::vector<bool> rejected(p.size(), false);
  for (std::size_t i : order) {
    if (!(p[i] <= alpha * w[i] / remaining)) break;
    rejected[i] = true;
    remaining -= w[i];
  }
  return rejected;
}

double alarm_power(std::uint64_t n, double p0, double detection, double share, double alpha) {
  check_fraction(detection, "detection rate", false);
  check_fraction(share, "malicious share", false);
  const std::uint64_t q = alarm_quantile(n, p0, alpha);
  const double p1 = std::clamp(share * detection + (1.0 - share) * p0, 0.0, 1.0);
  return q >= n ? 0.0 : binomial_at_least(n, p1, q + 1);
}

std::optional<double> min_detectable_share(std::uint64_t n, double p0, double detection, double alpha, double power) {
  check_fraction(power, "power", true);
  if (detection <= p0 || alarm_power(n, p0, detection, 1.0, alpha) < power) return std::nullopt;
  double lo = 0.0, hi = 1.0;
  while (hi - lo > 1e-9) {
    const double mid = 0.5 * (lo + hi);
    (alarm_power(n, p0, detection, mid, alpha) >= power ? hi : lo) = mid;
  }
  return hi;
}

std::uint64_t samples_needed_alarm(double p0, double detection, double share, double alpha, double power) {
  check_fraction(power, "power", true);
  const double p1 = share * detection + (1.0 - share) * p0;
  FSSL_CHECK(p1 > p0, ConfigError, "an adversary flagged at rate {} on share {} is indistinguishable from honest p0 = {}",
             detection, share, p0);
  std::uint64_t hi = 1;
  while (alarm_power(hi, p0, detection, share, alpha) < power) {
    FSSL_CHECK(hi < kMaxExact / 2, ConfigError, "no audit of up to 2^53 messages reaches power {}", power);
    hi *= 2;
  }
  std::uint64_t lo = hi / 2;  // power(lo) < power, or lo = 0
  while (hi - lo > 1) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    (alarm_power(mid, p0, detection, share, alpha) >= power ? hi : lo) = mid;
  }
  return hi;
}

double roc_auc(std::vector<double> honest, std::vector<double> adversarial) {
  FSSL_CHECK(!honest.empty() && !adversarial.empty(), ConfigError, "roc_auc: {} honest and {} adversarial values",
             honest.size(), adversarial.size());
  std::sort(honest.begin(), honest.end());
  double wins = 0.0;
  for (double a : adversarial) {
    const auto lower = std::lower_bound(honest.begin(), honest.end(), a);
    const auto upper = std::upper_bound(lower, honest.end(), a);
    wins += static_cast<double>(lower - honest.begin()) + 0.5 * static_cast<double>(upper - lower);
  }
  return wins / (static_cast<double>(honest.size()) * static_cast<double>(adversarial.size()));
}

std::vector<RocPoint> roc_curve(std::vector<double> honest, std::vector<double> adversarial, std::size_t max_points) {
  FSSL_CHECK(!honest.empty() && !adversarial.empty() && max_points >= 2, ConfigError,
             "roc_curve: {} honest, {} adversarial values, {} points", honest.size(), adversarial.size(), max_points);
  std::sort(honest.begin(), honest.end());
  std::sort(adversarial.begin(), adversarial.end());
  std::vector<double> cuts;
  std::merge(honest.begin(), honest.end(), adversarial.begin(), adversarial.end(), std::back_inserter(cuts));
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  cuts.insert(cuts.begin(), -std::numeric_limits<double>::infinity());  // everything flagged: (1, 1)
  const auto above = [](const std::vector<double>& v, double t) {
    return static_cast<double>(v.end() - std::upper_bound(v.begin(), v.end(), t)) / static_cast<double>(v.size());
  };
  std::vector<RocPoint> all;
  for (double t : cuts) all.push_back({t, above(honest, t), above(adversarial, t)});
  if (all.size() <= max_points) return all;
  std::vector<RocPoint> out;
  for (std::size_t i = 0; i < max_points; ++i) out.push_back(all[i * (all.size() - 1) / (max_points - 1)]);
  return out;
}

}  // namespace fssl
