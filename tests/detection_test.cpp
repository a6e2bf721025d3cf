// Detection confidence and capacity planning (detection.h) against independent values only: the
// inverse-binomial table of verification-math.md §8.1, the f·m thresholds of §8.2, the 1 : 200,000
// ratio of §8.3, the paper's exfiltration example, closed forms derived by hand, exact fractions
// of small urns, and Boost's own 32-bit hypergeometric. Also `fssl plan` as users run it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/math/distributions/hypergeometric.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fssl/detection.h"
#include "fssl/error.h"
#include "test_util.h"

namespace fssl {
namespace {

// Relative tolerance for values that are closed forms evaluated in double precision.
constexpr double kRel = 1e-12;

struct SamplesCase {
  double p, c;
  std::uint64_t k, n;
};

TEST(Detection, SamplesNeededReproducesTheInverseBinomialTable) {
  const SamplesCase table[] = {
      {0.01, 0.99, 1, 459},          {0.01, 0.99, 100, 12460},         {0.01, 0.99, 1000, 107466},
      {0.01, 0.999999, 1, 1375},     {0.01, 0.999999, 100, 15464},     {0.01, 0.999999, 1000, 115679},
      {0.001, 0.99, 1, 4603},        {0.001, 0.99, 100, 124710},       {0.001, 0.99, 1000, 1074995},
      {0.001, 0.999999, 1, 13809},   {0.001, 0.999999, 100, 154892},   {0.001, 0.999999, 1000, 1157499},
  };
  for (const SamplesCase& t : table) {
    EXPECT_EQ(samples_needed(t.p, t.c, t.k), t.n) << "p " << t.p << " c " << t.c << " k " << t.k;
  }
}

TEST(Detection, SamplesNeededIsTheSmallestSufficientNAndFastAtSmallP) {
  const auto start = std::chrono::steady_clock::now();
  for (double p : {1e-4, 3e-3, 0.2}) {
    for (std::uint64_t k : {1u, 7u, 1000u}) {
      const std::uint64_t n = samples_needed(p, 0.999, k);
      EXPECT_GE(binomial_at_least(n, p, k), 0.999) << p << " " << k;
      EXPECT_LT(binomial_at_least(n - 1, p, k), 0.999) << p << " " << k;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 1.0);
  EXPECT_EQ(samples_needed(1.0, 0.5, 5), 5u);  // every message is malicious
  EXPECT_EQ(samples_needed(0.3, 0.5, 0), 0u);
  EXPECT_THROW(samples_needed(0.0, 0.99, 1), ConfigError);
  EXPECT_THROW(samples_needed(0.01, 1.0, 1), ConfigError);
}

TEST(Detection, BinomialAtLeastOneIsOneMinusMissProbability) {
  for (double p : {1e-6, 0.01, 0.37}) {
    for (std::uint64_t n : {1u, 459u, 100000u}) {
      const double expected = -std::expm1(static_cast<double>(n) * std::log1p(-p));  // 1 - (1 - p)^n
      EXPECT_NEAR(binomial_at_least(n, p, 1), expected, kRel * expected) << p << " " << n;
    }
  }
  EXPECT_DOUBLE_EQ(binomial_at_least(10, 0.5, 0), 1.0);
  EXPECT_DOUBLE_EQ(binomial_at_least(10, 0.5, 11), 0.0);
  EXPECT_NEAR(binomial_at_least(4, 0.5, 3), 5.0 / 16.0, kRel);  // (4 + 1) / 2^4
  EXPECT_THROW(binomial_at_least(10, 1.5, 1), ConfigError);
}

TEST(Detection, ExpectedCatchesNeededMatchesTheUrnThresholds) {
  EXPECT_NEAR(expected_catches_needed(0.99), 4.61, 0.005);
  EXPECT_NEAR(expected_catches_needed(0.999999), 13.8, 0.05);
  // Bernoulli sampling: (1 - f)^m <= exp(-f m), so f m at the threshold reaches the confidence.
  const double f = 1.0 / 20000.0;
  const auto m = static_cast<std::uint64_t>(std::ceil(expected_catches_needed(0.999999) / f));
  EXPECT_GE(bernoulli_at_least(m, f, 1), 0.999999);
  EXPECT_NEAR(bernoulli_at_least(3, 0.5, 2), 0.5, kRel);  // (3 + 1) / 8
}

TEST(Detection, HypergeometricMatchesExactFractionsOfASmallUrn) {
  // N = 10, m = 3 red, n = 4 drawn; C(10, 4) = 210.
  EXPECT_NEAR(hypergeometric_at_least(10, 3, 4, 1), 1.0 - 35.0 / 210.0, kRel);  // 1 - C(7, 4) / 210
  EXPECT_NEAR(hypergeometric_at_least(10, 3, 4, 2), 70.0 / 210.0, kRel);        // (3·21 + 7) / 210
  EXPECT_NEAR(hypergeometric_at_least(10, 3, 4, 3), 7.0 / 210.0, kRel);         // C(7, 1) / 210
  EXPECT_DOUBLE_EQ(hypergeometric_at_least(10, 3, 4, 4), 0.0);
  EXPECT_DOUBLE_EQ(hypergeometric_at_least(10, 8, 4, 2), 1.0);  // at most 2 clean: X >= 2 surely
  EXPECT_THROW(hypergeometric_at_least(10, 11, 4, 1), ConfigError);
}

TEST(Detection, HypergeometricWithOneMaliciousIsTheSampledShareEvenAtABillion) {
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t big_n : {std::uint64_t{100}, std::uint64_t{1000000000}, std::uint64_t{10000000000}}) {
    for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{37}, big_n / 3}) {
      const double expected = static_cast<double>(n) / static_cast<double>(big_n);
      EXPECT_NEAR(hypergeometric_at_least(big_n, 1, n, 1), expected, 1e-9 * expected) << big_n << " " << n;
    }
  }
  // A billion messages, a tenth malicious, a third sampled: wide support, still no O(N) work.
  const double mid = hypergeometric_at_least(1000000000, 100000000, 333333333, 33333334);
  EXPECT_GT(mid, 0.4);
  EXPECT_LT(mid, 0.6);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 1.0);
}

TEST(Detection, HypergeometricAgreesWithBoost) {
  double max_diff = 0.0;
  for (unsigned big_n : {50u, 5000u, 200000u}) {
    for (unsigned m : {1u, big_n / 7, big_n / 2}) {
      for (unsigned n : {3u, big_n / 10, big_n - 1}) {
        const boost::math::hypergeometric_distribution<double> d(m, n, big_n);
        const unsigned lo = n + m > big_n ? n + m - big_n : 0, hi = std::min(n, m);
        for (unsigned k = lo + 1; k <= hi; k += std::max(1u, (hi - lo) / 13)) {
          const double boost_value = boost::math::cdf(boost::math::complement(d, k - 1));
          const double ours = hypergeometric_at_least(big_n, m, n, k);
          const double diff = std::fabs(ours - boost_value) / std::max(boost_value, 1e-300);
          max_diff = std::max(max_diff, boost_value > 1e-250 ? diff : 0.0);
        }
      }
    }
  }
  std::printf("max relative diff vs Boost: %.3g\n", max_diff);
  EXPECT_LT(max_diff, 1e-9);
}

TEST(Detection, ClopperPearsonClosedFormsAndSymmetry) {
  for (std::uint64_t n : {1u, 10u, 459u}) {
    for (double c : {0.9, 0.95, 0.999999}) {
      const double alpha = 1.0 - c;
      const double edge = std::pow(alpha / 2.0, 1.0 / static_cast<double>(n));
      const Interval none = clopper_pearson(0, n, c);
      EXPECT_DOUBLE_EQ(none.lower, 0.0);
      EXPECT_NEAR(none.upper, 1.0 - edge, kRel);  // (1 - p)^n = alpha / 2
      const Interval all = clopper_pearson(n, n, c);
      EXPECT_NEAR(all.lower, edge, kRel);  // p^n = alpha / 2
      EXPECT_DOUBLE_EQ(all.upper, 1.0);
      for (std::uint64_t k = 0; k <= n; k += std::max<std::uint64_t>(1, n / 5)) {
        EXPECT_NEAR(clopper_pearson(k, n, c).lower, 1.0 - clopper_pearson(n - k, n, c).upper, 1e-12) << k << "/" << n;
      }
    }
  }
  // n = 2, k = 1: Pr[X <= 1] = 1 - p^2 and Pr[X >= 1] = 1 - (1 - p)^2 each equal alpha / 2.
  const Interval half = clopper_pearson(1, 2, 0.95);
  EXPECT_NEAR(half.upper, std::sqrt(1.0 - 0.025), kRel);
  EXPECT_NEAR(half.lower, 1.0 - std::sqrt(1.0 - 0.025), kRel);
  const Interval empty = clopper_pearson(0, 0, 0.95);
  EXPECT_DOUBLE_EQ(empty.lower, 0.0);
  EXPECT_DOUBLE_EQ(empty.upper, 1.0);
  EXPECT_THROW(clopper_pearson(3, 2, 0.95), ConfigError);
}

TEST(Detection, MaliciousFractionUpperBinomialAndExactUrn) {
  // N unknown, nothing flagged: (1 - p)^n = 1 - c, the rule of three at 95 %.
  for (std::uint64_t n : {10u, 459u, 100000u}) {
    const double expected = 1.0 - std::pow(0.05, 1.0 / static_cast<double>(n));
    EXPECT_NEAR(malicious_fraction_upper(0, n, std::nullopt, 0.95), expected, kRel) << n;
  }
  EXPECT_NEAR(malicious_fraction_upper(0, 100000, std::nullopt, 0.95) * 100000, 3.0, 0.01);
  EXPECT_DOUBLE_EQ(malicious_fraction_upper(4, 4, std::nullopt, 0.95), 1.0);
  // N = 10, n = 4, k = 0: Pr[X = 0 | m] = C(10 - m, 4) / 210 = 1/6 (m = 3), 1/14 (m = 4), 1/42 (m = 5).
  EXPECT_DOUBLE_EQ(malicious_fraction_upper(0, 4, 10, 0.95), 0.4);
  EXPECT_DOUBLE_EQ(malicious_fraction_upper(0, 4, 10, 0.90), 0.3);
  EXPECT_DOUBLE_EQ(malicious_fraction_upper(2, 10, 10, 0.99), 0.2);  // the whole urn was sampled
  EXPECT_DOUBLE_EQ(malicious_fraction_upper(4, 4, 10, 0.99), 1.0);
  // A billion messages: sampling without replacement is barely tighter than the binomial bound.
  const auto start = std::chrono::steady_clock::now();
  const double urn = malicious_fraction_upper(3, 100000, 1000000000, 0.999999);
  const double binomial = malicious_fraction_upper(3, 100000, std::nullopt, 0.999999);
  EXPECT_LE(urn, binomial + 1e-9);
  EXPECT_NEAR(urn, binomial, 2e-3 * binomial);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
  EXPECT_THROW(malicious_fraction_upper(1, 20, 10, 0.95), ConfigError);
}

TEST(Detection, CapacityPlanReproducesTheVerifierRatio) {
  CapacityInputs in;
  in.messages_per_day = 5e8;  // 1 TB/day of 2 KB messages
  in.prompt_tokens = 600;
  in.output_tokens = 500;
  in.inference_gpus = 200000;
  in.verifier_tokens_per_s = 25000;
  in.prefill_advantage = 10;
  in.sampling_fraction = 1.0 / 20000.0;
  const CapacityPlan fixed = capacity_plan(in);
  EXPECT_NEAR(fixed.verifier_ratio_gpus, 1.0, kRel);  // f = 1/20,000, s = 10: 1 per 200,000
  EXPECT_EQ(fixed.samples_per_day, 25000u);
  EXPECT_NEAR(fixed.tokens_per_day, 25000.0 * 1100.0, kRel * 2.75e7);
  EXPECT_NEAR(fixed.verifier_gpus, 2.75e7 / (86400.0 * 25000.0), 1e-12);
  EXPECT_NEAR(fixed.expected_catches, 250.0, 1e-9);  // f p M = 5e8 / 20000 / 100
  in.inference_gpus = 30000;
  in.prefill_advantage = 3;
  in.sampling_fraction = 1.0 / 10000.0;
  EXPECT_NEAR(capacity_plan(in).verifier_ratio_gpus, 1.0, kRel);  // 1 : 30,000

  in.sampling_fraction.reset();  // derived from p = 1 %, c = 99 %, k = 1
  const CapacityPlan derived = capacity_plan(in);
  EXPECT_EQ(derived.samples_per_day, 459u);
  EXPECT_NEAR(derived.sampling_fraction, 459.0 / 5e8, kRel);
  EXPECT_NEAR(derived.catch_probability, 1.0 - std::pow(0.99, 459.0), kRel);
  in.messages_per_day = 100;  // fewer messages than samples needed
  EXPECT_THROW(capacity_plan(in), ConfigError);
}

TEST(Detection, ExfiltrationTimelineMatchesThePaperExample) {
  EXPECT_DOUBLE_EQ(exfiltration_days(1e12, 1e12, 1.0), 1.0);
  EXPECT_NEAR(exfiltration_days(1e12, 1e12, 0.005), 200.0, 1e-9);
  EXPECT_THROW(exfiltration_days(1e12, 0.0, 0.5), ConfigError);
  EXPECT_THROW(exfiltration_days(1e12, 1e12, 0.0), ConfigError);
}

using test::CommandResult;

// stdout only: --json output must parse as it is.
CommandResult fssl(const std::string& args) { return test::run_fssl(args, false); }

// Each run of the binary costs ~0.5 s (libtorch start-up): at most three per test.
const char* const kFleet =
    "--messages-per-day 1e6 --prompt-tokens 600 --output-tokens 500 --inference-gpus 1000 --verifier-tok-s 25000";

TEST(Detection, PlanCommandPrintsJsonReproducingTheTable) {
  const CommandResult r =
      fssl(std::string("plan ") + kFleet + " --confidence 0.99 --malicious-fraction 0.01 --catches 1 --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["samples_per_day"].get<std::uint64_t>(), 459u);
  EXPECT_NEAR(j["exfiltration"]["days_full_capacity"].get<double>(), 1.0, kRel);
  EXPECT_NEAR(j["exfiltration"]["days_at_info_percent"].get<double>(), 200.0, 1e-9);
  EXPECT_NEAR(j["exfiltration"]["slowdown"].get<double>(), 200.0, 1e-9);
}

TEST(Detection, PlanCommandTakesEveryOptionFromAConfigFile) {
  test::TempDir dir;
  std::ofstream(dir / "plan.ini") << "[plan]\nmessages-per-day = 1e6\nprompt-tokens = 600\noutput-tokens = 500\n"
                                     "inference-gpus = 1000\nverifier-tok-s = 25000\nconfidence = 0.999999\n"
                                     "malicious-fraction = 0.001\ncatches = 100\nprefill-advantage = 5\n"
                                     "model-bytes = 2e12\ntraffic-bytes-per-day = 1e12\ninfo-percent = 1\njson = true\n";
  const CommandResult file = fssl("plan --config " + (dir / "plan.ini"));
  ASSERT_EQ(file.code, 0) << file.output;
  const nlohmann::json g = nlohmann::json::parse(file.output);
  EXPECT_EQ(g["samples_per_day"].get<std::uint64_t>(), 154892u);
  EXPECT_NEAR(g["exfiltration"]["days_at_info_percent"].get<double>(), 200.0, 1e-9);
  EXPECT_DOUBLE_EQ(g["inputs"]["prefill_advantage"].get<double>(), 5.0);
  std::ofstream(dir / "fixed.ini") << "[plan]\nsampling-fraction = 0.01\n";
  const CommandResult fixed = fssl(std::string("plan ") + kFleet + " --config " + (dir / "fixed.ini"));
  ASSERT_EQ(fixed.code, 0) << fixed.output;
  EXPECT_NE(fixed.output.find("#   samples per day"), std::string::npos) << fixed.output;
  EXPECT_NE(fixed.output.find("10000 of 1e+06"), std::string::npos) << fixed.output;
}

// Without a fleet, the sampling question alone: 1 - 0.99^459 = 0.99010 >= 0.99 > 1 - 0.99^458
// (verification-math.md §8.1); the number stands alone on the last line, for scripts.
TEST(Detection, PlanCommandAnswersTheSampleSizeAlone) {
  const CommandResult r = fssl("plan --malicious-fraction 0.01 --confidence 0.99 --catches 1");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\n459\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("verifier GPUs"), std::string::npos) << r.output;
  EXPECT_EQ(fssl("plan --messages-per-day 1e6 --catches 1 2>/dev/null").code, 2);  // fleet options go together
}

TEST(Detection, PlanCommandRejectsBadOptionsWithExitCodeTwo) {
  EXPECT_EQ(fssl(std::string("plan ") + kFleet + " --bogus 1 2>/dev/null").code, 2);
  EXPECT_EQ(fssl(std::string("plan ") + kFleet + " --confidence 1.5 2>/dev/null").code, 2);
}

}  // namespace
}  // namespace fssl

namespace fssl {
namespace {

// configs/plan-paper.ini is the paper's worked example: it must keep reproducing it.
TEST(Detection, PaperConfigReproducesTheWorkedExample) {
  const test::CommandResult r =
      test::run_fssl(std::string("plan --json --config ") + FSSL_SOURCE_DIR + "/configs/plan-paper.ini", false);
  ASSERT_EQ(r.code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_NEAR(j["verifier_ratio_gpus"].get<double>(), 1.0, 1e-12);  // 1 verifier per 200,000 inference GPUs
  EXPECT_NEAR(j["exfiltration"]["days_full_capacity"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(j["exfiltration"]["days_at_info_percent"].get<double>(), 200.0, 1e-9);  // 1 TB/day -> 5 GB/day
  EXPECT_EQ(j["samples_per_day"].get<std::uint64_t>(), 25000u);
}

}  // namespace
}  // namespace fssl
